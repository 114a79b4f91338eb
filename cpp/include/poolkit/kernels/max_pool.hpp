// poolkit/kernels/max_pool.hpp: max pooling with optional argmax indices.
// SPDX-License-Identifier: MIT
#pragma once

#include "poolkit/dtypes.hpp"
#include "poolkit/problem.hpp"

namespace poolkit {
namespace detail {

/// Max of each window: NaN wins (the first NaN), ties keep the first maximum in window order;
/// a window whose taps all hold lowest<T>() points at its first in-bounds tap.
template <typename T, bool kIndices>
struct MaxOp {
  struct Block {
    T best[kLanes];
    index_t arg[kLanes];
  };
  T* out;
  index_t* indices;

  /// Lane c's window starts at flat position first + c * first_step.
  static void start(Block& b, index_t lanes, index_t first, index_t first_step) noexcept {
    for (index_t c = 0; c < lanes; ++c) {
      b.best[c] = lowest<T>();
      if constexpr (kIndices) b.arg[c] = first + c * first_step;
    }
  }
  /// Lane c reads src[c * stride] (kStride when non-zero), at flat position flat + c * step.
  template <index_t kStride>
  static void step(Block& b, index_t lanes, const T* src, index_t stride, index_t flat,
                   index_t flat_step) noexcept {
    const index_t st = kStride != 0 ? kStride : stride;
    for (index_t c = 0; c < lanes; ++c) {
      const T v = src[c * st];
      const bool wins = beats(v, b.best[c]);
      b.best[c] = wins ? v : b.best[c];
      if constexpr (kIndices) b.arg[c] = wins ? flat + c * flat_step : b.arg[c];
    }
  }
  void store(const Block& b, index_t lanes, index_t at, index_t, index_t,
             index_t) const noexcept {
    for (index_t c = 0; c < lanes; ++c) {
      out[at + c] = b.best[c];
      if constexpr (kIndices) indices[at + c] = b.arg[c];
    }
  }
};

/// Max pooling of every plane of `p`. `indices` (may be null) receives int64 positions flat
/// in each plane's un-padded spatial extent, laid out like `out`. Nothing is checked here.
template <typename T>
void max_pool(const Problem& p, const T* in, T* out, index_t* indices) {
  const index_t plane_out = p.out_plane_size();
  run_jobs(p, [&](index_t plane, index_t row_begin, index_t row_end) {
    const T* src = in + p.in_offset(plane);
    if (indices) {
      MaxOp<T, true> op{out + plane * plane_out, indices + plane * plane_out};
      dispatch_simd(p.simd, [&] { pool_plane_rows(src, p, row_begin, row_end, op); });
    } else {
      MaxOp<T, false> op{out + plane * plane_out, nullptr};
      dispatch_simd(p.simd, [&] { pool_plane_rows(src, p, row_begin, row_end, op); });
    }
  });
}

}  // namespace detail
}  // namespace poolkit
