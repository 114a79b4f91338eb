// poolkit/problem.hpp: one validated pooling call (geometry, memory layout, threads) and the
// split of its work into independent jobs.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

#include "poolkit/dispatch.hpp"
#include "poolkit/geometry.hpp"
#include "poolkit/parallel.hpp"

namespace poolkit {

/// How a call is computed. Direct visits every tap of every window. Separable first reduces
/// each input row along W alone, then those row results along D and H alone: a window of
/// kh x kw taps costs about kw * stride_h + kh instead of kh * kw when windows overlap.
enum class Algorithm : int { automatic = 0, direct = 1, separable = 2 };

inline const char* algorithm_name(Algorithm a) noexcept {
  return a == Algorithm::separable ? "separable" : "direct";
}

/// The algorithm poolkit runs for geometry `g` over sites of `channels` elements (1 for
/// channels-first data): separable where it reads at most 60% of the direct algorithm's taps
/// per output (one more counts the store and reload of each row result; measured, a 3x3
/// stride-1 window, 7 against 9, still runs faster direct). Sites of 2 to 15 channels stay
/// direct: the second pass would run on lanes of a few channels each.
constexpr Algorithm choose_algorithm(const Geometry& g, index_t channels) noexcept {
  if (channels > 1 && channels < 16) return Algorithm::direct;
  const double kw = static_cast<double>(g.w().kernel);
  const double vertical = static_cast<double>(g.d().kernel) * static_cast<double>(g.h().kernel);
  const Axis& h = g.h();
  // Row results that each output row newly needs along H (all of them when windows leave gaps).
  const double rows = static_cast<double>(h.stride < h.extent() ? h.stride : h.kernel);
  const double separable = kw * rows + vertical + 1;
  return kw >= 2 && vertical >= 2 && separable <= 0.6 * kw * vertical ? Algorithm::separable
                                                                       : Algorithm::direct;
}

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
  /// automatic: choose_algorithm(geom, channels); tests force each one.
  Algorithm algorithm = Algorithm::automatic;

  Algorithm resolved_algorithm() const noexcept {
    return algorithm == Algorithm::automatic ? choose_algorithm(geom, channels) : algorithm;
  }

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

/// A lane count known at compile time.
template <index_t N>
using Lanes = std::integral_constant<index_t, N>;

/// dst[c] = src[c] for c < n <= kLanes. A run-time n goes in blocks of 16: a plain copy loop
/// of unknown length becomes a call to memcpy (or `rep movs`), which costs more than these
/// short runs.
template <typename T, typename N>
inline void copy_lanes(T* dst, const T* src, N n) noexcept {
  index_t c = 0;
  if constexpr (std::is_same_v<N, index_t>)
    for (; c + 16 <= n; c += 16)
      for (index_t k = 0; k < 16; ++k) dst[c + k] = src[c + k];
  for (; c < n; ++c) dst[c] = src[c];
}

/// Where lane c of a step reads, relative to lane 0: c * kStride elements.
template <index_t kStride>
struct FixedStride {
  constexpr index_t operator()(index_t c) const noexcept { return c * kStride; }
};
/// c * stride elements, the stride known at run time.
struct AnyStride {
  index_t stride;
  constexpr index_t operator()(index_t c) const noexcept { return c * stride; }
};
/// offset[c] elements: lanes over the channels of sites that lie several elements apart.
struct OffsetTable {
  const index_t* offset;
  index_t operator()(index_t c) const noexcept { return offset[c]; }
};

/// The one loop nest of direct pooling: for every output of rows [row_begin, row_end) of one
/// plane, visit each in-bounds tap of its window in row-major order, up to kLanes outputs at
/// a time. `Op` defines a window's running state (`State`, `begin`, `take`), the states of a
/// block of lanes (`Block`, with `get` and `set`) and `store` (of a block's lanes, given output
/// (od, oh, ow) of the first lane and the step of ow from lane to lane: 1 for columns, 0
/// otherwise).
///
/// Lanes are the channels of one site by default. With kColumns they run over the outputs of
/// the inner columns (whose windows lie wholly inside the input), column by column and within
/// a column channel by channel, `lane` giving where each reads: for channels-first data (one
/// channel) adjacent columns; for channels-last data whose sites hold few channels, whole
/// sites at a time, which keeps the lanes full. The columns at the edges, whose windows are
/// clipped, go one by one.
///
/// Each tap is one pass over the lanes, their states kept in memory. The commonest windows,
/// 2 x 2 and 3 x 3 with every tap inside the input, go unrolled instead: a lane's whole
/// window in one pass, its state in a register from the first tap to the last, in blocks of
/// 16 lanes (the last block moved back to end with the lanes, so it overlaps the one before;
/// the lanes computed twice store the same values twice). Not where lanes lie a run-time
/// distance apart, nor for 3 x 3 windows (or taps not one element apart) over lanes 2 apart:
/// the compiler's vector code for those is slower than the pass per tap.
template <bool kColumns, typename T, typename Op, typename Lane>
void pool_rows(const T* in, const Problem& p, index_t row_begin, index_t row_end, Op& op,
               Lane lane) noexcept {
  using State = typename Op::State;
  const Geometry& g = p.geom;
  const Axis& ax = g.w();
  const index_t out_h = g.h().out, out_w = ax.out, in_h = g.h().in, in_w = ax.in;
  const index_t sd = p.in_strides[0], sh = p.in_strides[1], sw = p.in_strides[2];
  const index_t dd = g.d().dilation, dh = g.h().dilation, dw = ax.dilation;
  const index_t channels = p.channels;
  const Span inner = kColumns ? ax.inner_outputs() : Span{0, 0};
  const index_t inner_lanes = (inner.end - inner.begin) * channels;
  // A table of offsets describes whole sites, so its blocks start at sites; unit strides
  // take full blocks from any channel on.
  const index_t block_lanes =
      std::is_same_v<Lane, OffsetTable> ? (kLanes / channels) * channels : kLanes;
  const index_t column_step = channels > 1 ? 0 : 1;  // of ow from lane to lane
  // Of the flat position from lane to lane over columns: the W stride for channels-first
  // data. Lanes over sites are taken only by ops that need no positions, so 0 there (lane
  // times stride could even overflow: there are `channels` lanes per site).
  const index_t column_stride = channels > 1 ? 0 : ax.stride;
  // The unrolled window's extent (2 or 3 taps a side), 0 for none.
  const index_t square = g.d().kernel == 1 && g.h().kernel == ax.kernel ? ax.kernel : 0;
  constexpr bool kUnit = std::is_same_v<Lane, FixedStride<1>>;
  constexpr bool kPairs = std::is_same_v<Lane, FixedStride<2>>;
  const index_t unroll =
      (square == 2 && kUnit) || (square == 2 && kPairs && dw * sw == 1) || (square == 3 && kUnit)
          ? square
          : 0;
  typename Op::Block block;

  // Lanes [0, lanes) over windows of which lane c's first tap is src[lane(c)] at flat
  // position first + c * first_step, tap (i, j, t) lying i * dd, j * dh, t * dw further:
  // each tap one pass over the lanes.
  auto windows = [&](index_t lanes, const T* src, index_t first, index_t first_step,
                     index_t nz, index_t ny, index_t nx, auto at_lane) {
    for (index_t c = 0; c < lanes; ++c) block.set(c, Op::begin(first + c * first_step));
    for (index_t i = 0; i < nz; ++i)
      for (index_t j = 0; j < ny; ++j)
        for (index_t t = 0; t < nx; ++t) {
          const T* tap = src + i * dd * sd + j * dh * sh + t * dw * sw;
          const index_t flat = first + (i * dd * in_h + j * dh) * in_w + t * dw;
          for (index_t c = 0; c < lanes; ++c) {
            State s = block.get(c);
            Op::take(s, tap[at_lane(c)], flat + c * first_step);
            block.set(c, s);
          }
        }
  };
  // The same over 16 lanes whose windows are k x k taps (k = unroll), unrolled. Taps one
  // element apart are spelled so: at a run-time distance the compiler cannot pair the loads
  // of neighbouring taps. (Only the variants a lane policy can meet are compiled.)
  auto unrolled = [&](const T* src, index_t first, index_t first_step, auto at_lane) {
    if constexpr (kUnit || kPairs) {
      auto go = [&](auto k, auto tap_step) {
        for (index_t c = 0; c < 16; ++c) {
          State s = Op::begin(first + c * first_step);
          for (index_t j = 0; j < k; ++j)
            for (index_t t = 0; t < k; ++t)
              Op::take(s, src[j * dh * sh + t * tap_step + at_lane(c)],
                       first + j * dh * in_w + t * dw + c * first_step);
          block.set(c, s);
        }
      };
      auto sizes = [&](auto tap_step) {
        if (unroll == 2) go(Lanes<2>{}, tap_step);
        else if constexpr (kUnit) go(Lanes<3>{}, tap_step);
      };
      const index_t tap_step = dw * sw;
      if constexpr (!kColumns) sizes(tap_step);  // channels of a site: taps a site apart
      else if constexpr (kPairs) sizes(Lanes<1>{});
      else if (tap_step == 1) sizes(Lanes<1>{});
      else sizes(tap_step);
    }
  };

  for (index_t row = row_begin; row < row_end; ++row) {
    const index_t od = row / out_h, oh = row % out_h;
    const Span zs = g.d().window(od), ys = g.h().window(oh);
    // Taps are counted, not stepped to the end, so that no position past the last one (which
    // may not fit in int64 when the dilation is huge) is ever computed.
    const index_t nz = zs.taps(dd), ny = ys.taps(dh);
    const bool whole_rows = unroll > 0 && ny == unroll;
    const index_t row_first = (zs.begin * in_h + ys.begin) * in_w;
    const T* row_src = in + zs.begin * sd + ys.begin * sh;
    for (index_t ow = 0; ow < out_w;) {
      if (kColumns && ow == inner.begin && inner_lanes > 0) {
        if (whole_rows && inner_lanes >= 16) {
          for (index_t b = 0; b < inner_lanes; b += 16) {
            const index_t u = inner.begin * channels + std::min(b, inner_lanes - 16);
            const index_t col = u / channels, x0 = ax.start(col);
            unrolled(row_src + x0 * sw + u % channels, row_first + x0, column_stride, lane);
            op.store(block, Lanes<16>{}, row * out_w * channels + u, od, oh, col, column_step);
          }
        } else {
          for (index_t u = inner.begin * channels; u < inner.end * channels; u += block_lanes) {
            const index_t lanes = std::min(block_lanes, inner.end * channels - u);
            const index_t col = u / channels, x0 = ax.start(col);
            windows(lanes, row_src + x0 * sw + u % channels, row_first + x0, column_stride, nz,
                    ny, ax.kernel, lane);
            op.store(block, lanes, row * out_w * channels + u, od, oh, col, column_step);
          }
        }
        ow = inner.end;
        continue;
      }
      const Span xs = ax.window(ow);
      const index_t nx = xs.taps(dw);
      const T* src = row_src + xs.begin * sw;
      const index_t at = (row * out_w + ow) * channels;
      if (whole_rows && nx == unroll && channels >= 16) {
        for (index_t b = 0; b < channels; b += 16) {
          const index_t c0 = std::min(b, channels - 16);
          unrolled(src + c0, row_first + xs.begin, 0, FixedStride<1>{});
          op.store(block, Lanes<16>{}, at + c0, od, oh, ow, 0);
        }
      } else {
        for (index_t c0 = 0; c0 < channels; c0 += kLanes) {
          const index_t lanes = std::min(kLanes, channels - c0);
          windows(lanes, src + c0, row_first + xs.begin, 0, nz, ny, nx, FixedStride<1>{});
          op.store(block, lanes, at + c0, od, oh, ow, 0);
        }
      }
      ++ow;
    }
  }
}

/// pool_rows for one plane, choosing its lanes: output columns for channels-first data, with
/// the common column strides (1 and 2 elements) known at compile time; for channels-last data
/// whole sites where they hold at most half a lane block of channels, lie contiguously and
/// `op` can take such lanes (Op::site_lanes()), else the channels of each site.
template <typename T, typename Op>
void pool_plane_rows(const T* in, const Problem& p, index_t row_begin, index_t row_end,
                     Op& op) noexcept {
  const Axis& w = p.geom.w();
  const index_t c = p.channels;
  if (c != 1) {
    if (c > kLanes / 2 || p.in_strides[2] != c || !op.site_lanes())
      return pool_rows<false>(in, p, row_begin, row_end, op, FixedStride<1>{});
    if (w.stride == 1) return pool_rows<true>(in, p, row_begin, row_end, op, FixedStride<1>{});
    // Channel j % c of the (j / c)-th site, sites w.stride apart; only lanes over inner
    // columns are ever read (their offsets fit: they lie in the input).
    const Span inner = w.inner_outputs();
    const index_t used = std::min(kLanes / c, inner.end - inner.begin) * c;
    index_t offset[kLanes] = {};
    for (index_t j = 0; j < used; ++j) offset[j] = (j / c) * w.stride * c + j % c;
    return pool_rows<true>(in, p, row_begin, row_end, op, OffsetTable{offset});
  }
  const Span inner = w.inner_outputs();
  const index_t lane_stride = inner.end - inner.begin > 1 ? w.stride * p.in_strides[2] : 0;
  if (lane_stride == 1) pool_rows<true>(in, p, row_begin, row_end, op, FixedStride<1>{});
  else if (lane_stride == 2) pool_rows<true>(in, p, row_begin, row_end, op, FixedStride<2>{});
  else pool_rows<true>(in, p, row_begin, row_end, op, AnyStride{lane_stride});
}

/// One band of a separable job: output rows [row_begin, row_end) of a plane and the input
/// rows they need. `rows` pools those input rows along W alone into the band's row results
/// ("mid": rows x out_w sites of `channels` elements, C-contiguous); `columns` pools mid
/// along D and H alone into the output rows, its vertical axes shifted to the band's first
/// row (the divisors and tap counts of the original geometry still apply to every output).
struct Band {
  Problem rows;
  Problem columns;
  index_t row_begin = 0, row_end = 0;  // output rows of the plane
  index_t mid_rows = 0;                // rows of mid (= output rows of `rows`)
  index_t in_offset = 0;               // input elements before the band's first input row
  index_t flat_offset = 0;             // flat spatial position of that row in the plane
  index_t mid_size() const noexcept { return mid_rows * columns.geom.w().in * channels(); }
  index_t channels() const noexcept { return rows.channels; }
};

/// The band of output rows [row_begin, row_end) of `p` (a 1-d or 2-d pool bands over H, a
/// 3-d one over D, each band holding whole D slices then).
inline Band make_band(const Problem& p, index_t row_begin, index_t row_end) {
  const Geometry& g = p.geom;
  const Axis &d = g.d(), &h = g.h(), &w = g.w();
  const bool over_h = d.in == 1 && d.out == 1 && d.kernel == 1;
  // The first and one past the last input position any window of outputs [o0, o1] touches:
  // windows starting in the leading padding may begin anywhere in [0, dilation).
  auto reach = [](const Axis& a, index_t o0, index_t o1, index_t* first, index_t* end) {
    *first = a.start(o0) < 0 ? 0 : a.start(o0);
    *end = a.window(o1).end;
  };
  index_t z0 = 0, z1 = 1, y0 = 0, y1 = h.in;
  if (over_h) reach(h, row_begin, row_end - 1, &y0, &y1);
  else reach(d, row_begin / h.out, (row_end - 1) / h.out, &z0, &z1);

  auto trivial = [](index_t n) {
    Axis a;
    a.in = a.out = n;
    return a;
  };
  Band b;
  b.row_begin = row_begin;
  b.row_end = row_end;
  b.mid_rows = (z1 - z0) * (y1 - y0);
  b.in_offset = z0 * p.in_strides[0] + y0 * p.in_strides[1];
  b.flat_offset = (z0 * h.in + y0) * w.in;

  b.rows = p;
  b.rows.outer_shape.clear();
  b.rows.outer_strides.clear();
  b.rows.planes = 1;
  b.rows.threads = 1;
  b.rows.algorithm = Algorithm::direct;
  b.rows.geom.axes[0] = trivial(z1 - z0);
  b.rows.geom.axes[1] = trivial(y1 - y0);

  b.columns = b.rows;
  Axis& cd = b.columns.geom.axes[0];
  Axis& ch = b.columns.geom.axes[1];
  cd = d;
  cd.in = z1 - z0;
  cd.pad_before += z0;
  ch = h;
  ch.in = y1 - y0;
  ch.pad_before += y0;
  b.columns.geom.axes[2] = trivial(w.out);
  b.columns.in_strides[2] = p.channels;
  b.columns.in_strides[1] = w.out * p.channels;
  b.columns.in_strides[0] = (y1 - y0) * w.out * p.channels;
  return b;
}

/// Call f(band) over bands covering output rows [row_begin, row_end) of `p`, each small
/// enough that its row results (of `mid_bytes` bytes per element) stay in cache.
template <typename F>
void for_each_band(const Problem& p, index_t row_begin, index_t row_end, index_t mid_bytes,
                   F&& f) {
  constexpr index_t kBudget = 512 * 1024;  // bytes of row results per band: within L2
  const Geometry& g = p.geom;
  const index_t row_bytes = g.w().out * p.channels * mid_bytes;
  const bool over_h = g.d().in == 1 && g.d().out == 1 && g.d().kernel == 1;
  // Output rows per band: the mid rows of n output rows are about (n - 1) * stride + extent.
  const Axis& a = over_h ? g.h() : g.d();
  const index_t per_row = over_h ? row_bytes : row_bytes * g.h().in;
  const index_t fit = kBudget / std::max<index_t>(per_row, 1);
  index_t n = fit > a.extent() ? (fit - a.extent()) / a.stride + 1 : 1;
  if (!over_h) n *= g.h().out;  // whole D slices
  for (index_t r = row_begin; r < row_end; r += n) f(make_band(p, r, std::min(row_end, r + n)));
}

}  // namespace detail
}  // namespace poolkit
