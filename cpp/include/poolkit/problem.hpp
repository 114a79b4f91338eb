// poolkit/problem.hpp: one validated pooling call (geometry, memory layout, threads) and the
// split of its work into independent jobs.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <vector>

#include "poolkit/dispatch.hpp"
#include "poolkit/geometry.hpp"
#include "poolkit/parallel.hpp"

namespace poolkit {

/// A pooling call over `planes` independent planes. Each spatial site of a plane holds
/// `channels` contiguous elements: 1 for channels-first data (a plane is one channel), C for
/// channels-last (a plane is one image). Input strides are in elements and may be negative;
/// the output is C-contiguous: plane, then (d, h, w), then channel.
struct Problem {
  Geometry geom;
  index_t planes = 1;
  index_t channels = 1;
  index_t in_strides[3] = {0, 0, 1};    // d, h, w
  std::vector<index_t> outer_shape;    // the axes that enumerate planes, outermost first
  std::vector<index_t> outer_strides;  // their input strides in elements
  int threads = 1;
  /// Calls with fewer window taps than this run on the calling thread: waking a team of
  /// threads costs more than such a call.
  double min_parallel_taps = 65536;
  /// Instruction-set level of the kernels; at most simd_supported().
  Simd simd = simd_active();

  /// Offset of plane `p`'s first element in the input.
  index_t in_offset(index_t p) const noexcept {
    index_t offset = 0;
    for (std::size_t i = outer_shape.size(); i-- > 0;) {
      offset += (p % outer_shape[i]) * outer_strides[i];
      p /= outer_shape[i];
    }
    return offset;
  }
  /// Elements one plane holds in the output.
  index_t out_plane_size() const noexcept { return geom.out_size() * channels; }
};

namespace detail {

/// Call f(plane, row_begin, row_end) over all output rows of all planes, in parallel. Planes
/// are split into row blocks only when there are fewer planes than threads, so that one large
/// image still occupies every thread; every output element has exactly one writer.
template <typename F>
void run_jobs(const Problem& p, F&& f) {
  const Geometry& g = p.geom;
  const index_t rows = g.out_rows();
  const double taps = static_cast<double>(p.planes) * static_cast<double>(p.out_plane_size()) *
                      static_cast<double>(g.d().kernel) * static_cast<double>(g.h().kernel) *
                      static_cast<double>(g.w().kernel);
  const int threads = taps < p.min_parallel_taps ? 1 : std::max(p.threads, 1);
  const index_t per_plane =
      p.planes >= threads ? 1 : std::min(rows, (4 * index_t{threads} + p.planes - 1) / p.planes);
  const index_t block = (rows + per_plane - 1) / per_plane;
  parallel_for(p.planes * per_plane, threads, [&](index_t job) {
    const index_t plane = job / per_plane;
    const index_t begin = (job % per_plane) * block;
    const index_t end = std::min(rows, begin + block);
    if (begin < end) f(plane, begin, end);
  });
}

/// Lanes one step handles together: channels of a site (channels-last data) or, for
/// channels-first data, adjacent output columns. Bounds the per-window state on the stack.
inline constexpr index_t kLanes = 64;

/// The one loop nest of direct pooling: for every output of rows [row_begin, row_end) of one
/// plane, visit each in-bounds tap of its window in row-major order, kLanes outputs at a
/// time. `Op` keeps their running state in `Op::Block` (arrays over the lanes, so the lane
/// loops vectorise) and supplies `start`, `step` and `store`. Lanes are the channels of one
/// site when a site holds several (channels-last), otherwise (kColumns) adjacent output
/// columns whose windows lie wholly inside the input, which read the input kStride elements
/// apart (0: a run-time stride); the columns at the edges, whose windows are clipped, go one
/// by one.
template <bool kColumns, index_t kStride, typename T, typename Op>
void pool_rows(const T* in, const Problem& p, index_t row_begin, index_t row_end,
               Op& op) noexcept {
  const Geometry& g = p.geom;
  const Axis& ax = g.w();
  const index_t out_h = g.h().out, out_w = ax.out, in_h = g.h().in, in_w = ax.in;
  const index_t sd = p.in_strides[0], sh = p.in_strides[1], sw = p.in_strides[2];
  const index_t dd = g.d().dilation, dh = g.h().dilation, dw = ax.dilation;
  const index_t channels = kColumns ? 1 : p.channels;
  const Span inner = kColumns ? ax.inner_outputs() : Span{0, 0};
  // Input elements between adjacent inner columns (which fits: both lie in the input).
  const index_t lane_stride = inner.end - inner.begin > 1 ? ax.stride * sw : 0;
  typename Op::Block block;
  for (index_t row = row_begin; row < row_end; ++row) {
    const index_t od = row / out_h, oh = row % out_h;
    const Span zs = g.d().window(od), ys = g.h().window(oh);
    // Taps are counted, not stepped to the end, so that no position past the last one (which
    // may not fit in int64 when the dilation is huge) is ever computed.
    const index_t nz = zs.taps(dd), ny = ys.taps(dh);
    for (index_t ow = 0; ow < out_w;) {
      if (kColumns && ow == inner.begin && inner.end > inner.begin) {
        for (; ow < inner.end; ow += kLanes) {
          const index_t lanes = std::min(kLanes, inner.end - ow);
          const index_t x0 = ax.start(ow);
          op.start(block, lanes, (zs.begin * in_h + ys.begin) * in_w + x0, ax.stride);
          for (index_t i = 0; i < nz; ++i)
            for (index_t j = 0; j < ny; ++j)
              for (index_t t = 0; t < ax.kernel; ++t) {
                const index_t z = zs.begin + i * dd, y = ys.begin + j * dh, x = x0 + t * dw;
                op.template step<kStride>(block, lanes, in + z * sd + y * sh + x * sw,
                                          lane_stride, (z * in_h + y) * in_w + x, ax.stride);
              }
          op.store(block, lanes, row * out_w + ow, od, oh, ow);  // inner divisors agree
        }
        ow = inner.end;
        continue;
      }
      const Span xs = ax.window(ow);
      const index_t nx = xs.taps(dw);
      const index_t first = (zs.begin * in_h + ys.begin) * in_w + xs.begin;
      const index_t at = (row * out_w + ow) * channels;
      for (index_t c0 = 0; c0 < channels; c0 += kLanes) {
        const index_t lanes = kColumns ? 1 : std::min(kLanes, channels - c0);
        op.start(block, lanes, first, 0);
        for (index_t i = 0; i < nz; ++i)
          for (index_t j = 0; j < ny; ++j)
            for (index_t t = 0; t < nx; ++t) {
              const index_t z = zs.begin + i * dd, y = ys.begin + j * dh, x = xs.begin + t * dw;
              op.template step<1>(block, lanes, in + z * sd + y * sh + x * sw + c0, 1,
                                  (z * in_h + y) * in_w + x, 0);
            }
        op.store(block, lanes, at + c0, od, oh, ow);
      }
      ++ow;
    }
  }
}

/// pool_rows for one plane, choosing its lanes: channels where a site holds several, else
/// output columns, with the common column strides (1 and 2 elements) known at compile time.
template <typename T, typename Op>
void pool_plane_rows(const T* in, const Problem& p, index_t row_begin, index_t row_end,
                     Op& op) noexcept {
  const Axis& w = p.geom.w();
  const Span inner = w.inner_outputs();
  const index_t lane_stride = inner.end - inner.begin > 1 ? w.stride * p.in_strides[2] : 0;
  if (p.channels != 1) pool_rows<false, 1>(in, p, row_begin, row_end, op);
  else if (lane_stride == 1) pool_rows<true, 1>(in, p, row_begin, row_end, op);
  else if (lane_stride == 2) pool_rows<true, 2>(in, p, row_begin, row_end, op);
  else pool_rows<true, 0>(in, p, row_begin, row_end, op);
}

}  // namespace detail
}  // namespace poolkit
