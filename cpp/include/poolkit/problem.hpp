// poolkit/problem.hpp: one validated pooling call (geometry, memory layout, threads) and the
// split of its work into independent jobs.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <vector>

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

/// Channels handled together at one spatial site; bounds the per-window state on the stack.
inline constexpr index_t kLanes = 64;

/// The one loop nest of direct pooling: for every output of rows [row_begin, row_end) of one
/// plane, visit each in-bounds tap of its window in row-major order, for a block of up to
/// kLanes channels at a time. `Op` keeps the block's running state in `Op::Block` (arrays over
/// the lanes, so the lane loops vectorise) and supplies `start`, `step` and `store`. With
/// kSingleChannel (channels-first data) the block is the constant single lane.
template <bool kSingleChannel, typename T, typename Op>
void pool_rows(const T* in, const Problem& p, index_t row_begin, index_t row_end,
               Op& op) noexcept {
  const Geometry& g = p.geom;
  const index_t out_h = g.h().out, out_w = g.w().out, in_h = g.h().in, in_w = g.w().in;
  const index_t sd = p.in_strides[0], sh = p.in_strides[1], sw = p.in_strides[2];
  const index_t dd = g.d().dilation, dh = g.h().dilation, dw = g.w().dilation;
  const index_t channels = kSingleChannel ? 1 : p.channels;
  typename Op::Block block;
  for (index_t row = row_begin; row < row_end; ++row) {
    const index_t od = row / out_h, oh = row % out_h;
    const Span zs = g.d().window(od), ys = g.h().window(oh);
    for (index_t ow = 0; ow < out_w; ++ow) {
      const Span xs = g.w().window(ow);
      const index_t first = (zs.begin * in_h + ys.begin) * in_w + xs.begin;
      const index_t at = (row * out_w + ow) * channels;
      for (index_t c0 = 0; c0 < channels; c0 += kLanes) {
        const index_t lanes = kSingleChannel ? 1 : std::min(kLanes, channels - c0);
        op.start(block, lanes, first);
        for (index_t z = zs.begin; z < zs.end; z += dd)
          for (index_t y = ys.begin; y < ys.end; y += dh)
            for (index_t x = xs.begin; x < xs.end; x += dw)
              op.step(block, lanes, in + z * sd + y * sh + x * sw + c0,
                      (z * in_h + y) * in_w + x);
        op.store(block, lanes, at + c0, od, oh, ow);
      }
    }
  }
}

/// pool_rows for one plane, choosing the single-channel build where it applies.
template <typename T, typename Op>
void pool_plane_rows(const T* in, const Problem& p, index_t row_begin, index_t row_end,
                     Op& op) noexcept {
  if (p.channels == 1) pool_rows<true>(in, p, row_begin, row_end, op);
  else pool_rows<false>(in, p, row_begin, row_end, op);
}

}  // namespace detail
}  // namespace poolkit
