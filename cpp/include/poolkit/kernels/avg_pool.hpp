// poolkit/kernels/avg_pool.hpp: average pooling with PyTorch's divisor rules.
// SPDX-License-Identifier: MIT
#pragma once

#include <vector>

#include "poolkit/dtypes.hpp"
#include "poolkit/problem.hpp"

namespace poolkit {

/// How an average is divided: `divisor_override` > 0 wins; otherwise `count_include_pad`
/// chooses between the taps inside the padded extent and the taps inside the input.
struct AvgOptions {
  bool count_include_pad = true;
  index_t divisor_override = 0;
};

namespace detail {

/// Window sums of T (or of partial sums already in accum_t<T>), accumulated in accum_t<T>.
/// With kDivide each sum is divided by its window's divisor and rounded once to T: the
/// override, or the product of the axes' factors, W's looked up in `w_factor` per output
/// column. Without (the first pass of the separable algorithm) the sum itself is stored.
template <typename T, bool kDivide>
struct AvgOp {
  using Acc = accum_t<T>;
  using Out = std::conditional_t<kDivide, T, Acc>;
  /// The running state of one window.
  struct State {
    Acc sum;
  };
  /// The states of a block of lanes.
  struct Block {
    Acc sum[kLanes];
    State get(index_t c) const noexcept { return {sum[c]}; }
    void set(index_t c, State s) noexcept { sum[c] = s.sum; }
  };
  Out* out;
  const Geometry* geom = nullptr;
  AvgOptions options{};
  const index_t* w_factor = nullptr;
  /// Whether the inner columns of the geometry the loop runs share W's divisor factor: true for
  /// the direct algorithm; not for the separable one's second pass, whose W axis is trivial.
  bool uniform_inner = true;

  /// Whether lanes may run over the elements of several sites (store sees the first's column).
  bool site_lanes() const noexcept {
    return !kDivide || options.divisor_override > 0 || uniform_inner;
  }
  static State begin(index_t) noexcept { return {Acc(0)}; }
  /// The tap `v` (a T, or a partial sum already in Acc).
  template <typename S>
  static void take(State& s, S v, index_t) noexcept { s.sum += static_cast<Acc>(v); }
  template <typename N>
  void store(const Block& b, N lanes, index_t at, index_t od, index_t oh, index_t ow,
             index_t ow_step) const noexcept {
    if constexpr (kDivide) {
      if (options.divisor_override > 0) {
        for (index_t c = 0; c < lanes; ++c)
          out[at + c] = divide_round<T>(b.sum[c], options.divisor_override);
        return;
      }
      const bool pad = options.count_include_pad;
      const index_t outer = geom->d().divisor_factor(od, pad) * geom->h().divisor_factor(oh, pad);
      const index_t* wf = w_factor + ow;
      for (index_t c = 0; c < lanes; ++c)
        out[at + c] = divide_round<T>(b.sum[c], outer * wf[c * ow_step]);
    } else {
      for (index_t c = 0; c < lanes; ++c) out[at + c] = b.sum[c];
    }
  }
};

/// Average pooling of every plane of `p`, accumulated in accum_t<T> and rounded once.
template <typename T>
void avg_pool(const Problem& p, const T* in, T* out, AvgOptions options) {
  using Acc = accum_t<T>;
  const index_t plane_out = p.out_plane_size();
  const bool separable = p.resolved_algorithm() == Algorithm::separable;
  const Axis& w = p.geom.w();
  std::vector<index_t> w_factor(static_cast<std::size_t>(w.out));
  for (index_t o = 0; o < w.out; ++o) w_factor[static_cast<std::size_t>(o)] =
      w.divisor_factor(o, options.count_include_pad);
  run_jobs(p, [&](index_t plane, index_t row_begin, index_t row_end) {
    const T* src = in + p.in_offset(plane);
    AvgOp<T, true> final_op{out + plane * plane_out, &p.geom, options, w_factor.data()};
    if (!separable) {
      dispatch_simd(p.simd, [&] { pool_plane_rows(src, p, row_begin, row_end, final_op); });
      return;
    }
    final_op.uniform_inner = false;
    std::vector<Acc> mid;
    for_each_band(p, row_begin, row_end, sizeof(Acc), [&](const Band& b) {
      mid.resize(static_cast<std::size_t>(b.mid_size()));
      AvgOp<T, false> rows{mid.data()};
      dispatch_simd(p.simd, [&] {
        pool_plane_rows(src + b.in_offset, b.rows, 0, b.mid_rows, rows);
        pool_plane_rows(mid.data(), b.columns, b.row_begin, b.row_end, final_op);
      });
    });
  });
}

}  // namespace detail
}  // namespace poolkit
