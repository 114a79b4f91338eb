// poolkit/levels.hpp: the loop nest compiled once per instruction-set level, the call that
// runs it at a chosen level, and the staged copies it runs on.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <utility>

#include "poolkit/dispatch.hpp"
#include "poolkit/problem.hpp"

#ifdef POOLKIT_X86_DISPATCH
#include <immintrin.h>  // for the widening loads of rows.inc (VectorSteps::load)
#endif

namespace poolkit {
namespace detail {

namespace level_base {
// No explicit vector code at the baseline: SSE2 lacks compares it needs (unsigned bytes,
// 64-bit lanes), and its auto-vectorised pass per tap ran faster (3 x 3 stride-2 max 16 ms
// against 29 ms).
inline constexpr index_t kVectorBytes = 0;
#include "poolkit/rows.inc"
}  // namespace level_base

#ifdef POOLKIT_X86_DISPATCH
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,popcnt")
namespace level_avx2 {
inline constexpr index_t kVectorBytes = 32;
#include "poolkit/rows.inc"
}  // namespace level_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi,bmi2,popcnt")
namespace level_avx512 {
inline constexpr index_t kVectorBytes = 64;
#include "poolkit/rows.inc"
}  // namespace level_avx512
#pragma GCC pop_options
#endif

/// pool_plane_rows compiled for `level` (which the CPU must support).
template <typename T, typename Op>
void pool_plane_rows(Simd level, const T* in, const Problem& p, index_t row_begin,
                     index_t row_end, Op& op) noexcept {
#ifdef POOLKIT_X86_DISPATCH
  if (level == Simd::avx512) return level_avx512::pool_plane_rows(in, p, row_begin, row_end, op);
  if (level == Simd::avx2) return level_avx2::pool_plane_rows(in, p, row_begin, row_end, op);
#endif
  (void)level;
  level_base::pool_plane_rows(in, p, row_begin, row_end, op);
}

/// any_nan compiled for `level`.
template <typename T>
bool any_nan(Simd level, const T* v, index_t n) noexcept {
#ifdef POOLKIT_X86_DISPATCH
  if (level == Simd::avx512) return level_avx512::any_nan(v, n);
  if (level == Simd::avx2) return level_avx2::any_nan(v, n);
#endif
  (void)level;
  return level_base::any_nan(v, n);
}

/// Whether the rows of `rows` (a band's row pass: its D and H axes trivial) hold no NaN,
/// from `src` on: false also where rows are not checked (sites not contiguous along W).
template <typename T>
bool rows_nan_free(Simd level, const T* src, const Problem& rows) noexcept {
  const index_t sd = rows.in_strides[0], sh = rows.in_strides[1], c = rows.channels;
  if (rows.in_strides[2] != c) return false;
  const index_t n = rows.geom.w().in * c, h = rows.geom.h().in;
  const bool merged = sh == n;  // a slice's rows one after the other: checked as one
  for (index_t z = 0; z < rows.geom.d().in; ++z) {
    if (merged && any_nan(level, src + z * sd, n * h)) return false;
    for (index_t y = 0; y < h && !merged; ++y)
      if (any_nan(level, src + z * sd + y * sh, n)) return false;
  }
  return true;
}

/// stage_rows compiled for `p.simd`.
template <typename T>
T* stage_rows(T* dst, const T* plane, const Problem& p, Reach rz, Reach ry, Reach rw, T fill,
              bool* nan, Workspace::StageLayout& known) noexcept {
#ifdef POOLKIT_X86_DISPATCH
  if (p.simd == Simd::avx512)
    return level_avx512::stage_rows(dst, plane, p, rz, ry, rw, fill, nan, known);
  if (p.simd == Simd::avx2)
    return level_avx2::stage_rows(dst, plane, p, rz, ry, rw, fill, nan, known);
#endif
  return level_base::stage_rows(dst, plane, p, rz, ry, rw, fill, nan, known);
}

/// Call f(src, q, row_begin, row_end) over output rows [row_begin, row_end) of one
/// channels-first plane (its first element at `plane`) of a problem that stages(): in bands,
/// each a contiguous copy (in `workspace`) of the input rows its windows reach, the padding
/// and overhang written out as `fill` (the value no window result changes by: the lowest value
/// for max, zero for a sum). `q` is `p` over that copy: its windows are never clipped, so every
/// output is an inner one, its outputs keep their numbers (the divisors and tap counts of `p`
/// still apply), and its rows may be read past their end (`slack`: the copy holds kSlack more
/// elements, also `fill`). With `find_nan` (max needs it, sums do not), `q.nan_free` says
/// whether the copy (of float or double) holds no NaN. Bands hold about 48 KB of copy, within
/// L1 and L2.
template <typename T, typename F>
void for_each_stage(const Problem& p, const T* plane, index_t row_begin, index_t row_end,
                    T fill, bool find_nan, Workspace& workspace, F&& f) {
  constexpr index_t kBudget = 48 * 1024;  // bytes of copy per band
  const Geometry& g = p.geom;
  const Axis &d = g.d(), &h = g.h(), &w = g.w();
  const bool over_h = d.in == 1 && d.out == 1 && d.kernel == 1;
  const Reach rw = reach_of(w, 0, w.out - 1);
  const index_t width = rw.end - rw.first;
  // Bands over H rows for 1-d and 2-d pools, over whole D slices (all H rows) for 3-d ones.
  const Axis& band_axis = over_h ? h : d;
  const Reach rh = reach_of(h, 0, h.out - 1);
  const index_t slice = over_h ? width : width * (rh.end - rh.first);  // elements per step
  const index_t fit = kBudget / static_cast<index_t>(sizeof(T)) / slice;
  index_t n = fit > band_axis.extent() ? (fit - band_axis.extent()) / band_axis.stride + 1 : 1;
  if (!over_h) n *= h.out;

  Problem q = p.one_plane();
  q.algorithm = p.resolved_algorithm();
  // An axis of q over padded positions [first, end) of p's: window o starts at
  // start(o) - first, and nothing is clipped (no output outside the band is computed).
  auto shifted = [](const Axis& a, Reach r) {
    Axis s = a;
    s.in = r.end - r.first;
    s.pad_before = a.pad_before + r.first;
    s.pad_after = 0;
    return s;
  };
  for (index_t r0 = row_begin; r0 < row_end; r0 += n) {
    const index_t r1 = std::min(row_end, r0 + n);
    const Reach rz = over_h ? Reach{0, 1} : reach_of(d, r0 / h.out, (r1 - 1) / h.out);
    const Reach ry = over_h ? reach_of(h, r0, r1 - 1) : rh;
    const index_t rows = ry.end - ry.first;
    T* const buffer = workspace.get<T>(Workspace::kStage, (rz.end - rz.first) * rows * width +
                                                           kSlack);
    const bool check = find_nan && std::is_floating_point_v<T>;
    bool nan = false;
    T* dst = stage_rows(buffer, plane, p, rz, ry, rw, fill, check ? &nan : nullptr,
                        workspace.stage);
    q.geom.axes[0] = over_h ? d : shifted(d, rz);
    q.geom.axes[1] = shifted(h, ry);
    q.geom.axes[2] = shifted(w, rw);
    q.in_strides[2] = 1;
    q.in_strides[1] = width;
    q.in_strides[0] = rows * width;
    q.slack = true;
    q.cached = true;
    std::fill(dst, dst + kSlack, fill);
    q.nan_free = check && !nan;
    f(static_cast<const T*>(buffer), static_cast<const Problem&>(q), r0, r1);
  }
}

}  // namespace detail
}  // namespace poolkit
