// poolkit/kernels/avg_pool.hpp: average pooling with PyTorch's divisor rules.
// SPDX-License-Identifier: MIT
#pragma once

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

template <typename T>
struct AvgOp {
  using Acc = accum_t<T>;
  struct Block {
    Acc sum[kLanes];
  };
  T* out;
  const Geometry* geom;
  AvgOptions options;

  static void start(Block& b, index_t lanes, index_t, index_t) noexcept {
    for (index_t c = 0; c < lanes; ++c) b.sum[c] = Acc(0);
  }
  /// Lane c adds src[c * stride] (kStride when non-zero).
  template <index_t kStride>
  static void step(Block& b, index_t lanes, const T* src, index_t stride, index_t,
                   index_t) noexcept {
    const index_t st = kStride != 0 ? kStride : stride;
    for (index_t c = 0; c < lanes; ++c) b.sum[c] += static_cast<Acc>(src[c * st]);
  }
  void store(const Block& b, index_t lanes, index_t at, index_t od, index_t oh,
             index_t ow) const noexcept {
    const index_t divisor =
        geom->divisor(od, oh, ow, options.count_include_pad, options.divisor_override);
    for (index_t c = 0; c < lanes; ++c) out[at + c] = divide_round<T>(b.sum[c], divisor);
  }
};

/// Average pooling of every plane of `p`, accumulated in accum_t<T> and rounded once.
template <typename T>
void avg_pool(const Problem& p, const T* in, T* out, AvgOptions options) {
  const index_t plane_out = p.out_plane_size();
  run_jobs(p, [&](index_t plane, index_t row_begin, index_t row_end) {
    AvgOp<T> op{out + plane * plane_out, &p.geom, options};
    const T* src = in + p.in_offset(plane);
    dispatch_simd(p.simd, [&] { pool_plane_rows(src, p, row_begin, row_end, op); });
  });
}

}  // namespace detail
}  // namespace poolkit
