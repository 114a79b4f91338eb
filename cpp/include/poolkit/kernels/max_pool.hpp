// poolkit/kernels/max_pool.hpp: max pooling with optional argmax indices.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>

#include "poolkit/dtypes.hpp"
#include "poolkit/levels.hpp"
#include "poolkit/problem.hpp"

namespace poolkit {
namespace detail {

/// Max of each window: NaN wins (the first NaN), ties keep the first maximum in window order;
/// a window whose taps all hold lowest<T>() points at its first in-bounds tap. As the first
/// pass of the separable algorithm it writes row maxima and their positions (shifted by
/// `flat_offset` to the plane's); as the second it reads those and looks the winners'
/// positions up in `remap` (the first pass's indices, `channels` per site). With kOrdered the
/// values hold no NaN, and a tap wins where it is larger (the same result, fewer steps).
template <typename T, bool kIndices, bool kOrdered = false>
struct MaxOp {
  /// The running state of one window.
  struct State {
    T best;
    index_t arg;
  };
  /// The states of a block of lanes, a field at a time so that the lane loops vectorise.
  struct Block {
    T best[kLanes];
    index_t arg[kLanes];
    State get(index_t c) const noexcept { return {best[c], kIndices ? arg[c] : 0}; }
    void set(index_t c, State s) noexcept {
      best[c] = s.best;
      if constexpr (kIndices) arg[c] = s.arg;
    }
  };
  T* out;
  index_t* indices;
  index_t flat_offset = 0;
  const index_t* remap = nullptr;
  index_t channels = 1;

  /// Whether the vector path takes this op: values only, of a type the vector extension has.
  static constexpr bool kVector = !kIndices && std::is_arithmetic_v<T>;
  /// Whether a window's result is the same whatever the order its taps are taken in: the
  /// first maximum of the first maxima of parts of a window (the first NaN of their first
  /// NaNs) is the window's. Not with indices: ties keep the first in window order.
  static constexpr bool kAnyOrder = !kIndices;
  /// The vector of N window states.
  template <index_t N>
  using Vector = vec_t<T, N>;
  /// The vector twins of begin, take and store, over vectors of lanes, their steps those of
  /// `Steps` (the level's VectorSteps).
  template <typename Steps, typename V>
  static void vbegin(V& best) noexcept { Steps::fill(best, lowest<T>()); }
  /// The state of the one tap v.
  template <typename Steps, typename V>
  static void vfrom(V& best, const V& v) noexcept { best = v; }
  template <typename Steps, typename V>
  static void vtake(V& best, const V& v) noexcept {
    Steps::template take_max<kOrdered>(best, v);
  }
  /// Stores the first `lanes` lanes of a vector of states, as store does a block's.
  template <typename Steps, typename V, typename N>
  void vstore(const V& best, N lanes, index_t at, index_t, index_t, index_t,
              index_t) const noexcept {
    Steps::store(out + at, best, lanes);
  }
  /// Whether lanes may run over the elements of several sites (positions are per lane).
  bool site_lanes() const noexcept { return !kIndices; }
  /// A window whose first in-bounds tap lies at flat position `first`.
  static State begin(index_t first) noexcept { return {lowest<T>(), first}; }
  /// The tap `v` at flat position `flat`.
  static void take(State& s, T v, index_t flat) noexcept {
    const bool wins = kOrdered ? v > s.best : beats(v, s.best);
    s.best = wins ? v : s.best;
    if constexpr (kIndices) s.arg = wins ? flat : s.arg;
  }
  template <typename N>
  void store(const Block& b, N lanes, index_t at, index_t, index_t, index_t,
             index_t) const noexcept {
    copy_lanes(out + at, b.best, lanes);
    if constexpr (kIndices) {
      if (remap) {
        const index_t c0 = at % channels;  // lanes are channels c0, c0 + 1, ... or one site
        for (index_t c = 0; c < lanes; ++c)
          indices[at + c] = remap[b.arg[c] * channels + c0 + (channels > 1 ? c : 0)];
      } else {
        for (index_t c = 0; c < lanes; ++c) indices[at + c] = b.arg[c] + flat_offset;
      }
    }
  }
};

/// Max pooling of every plane of `p`. `indices` (may be null) receives int64 positions flat
/// in each plane's un-padded spatial extent, laid out like `out`. Without indices, planes
/// whose windows are clipped run on staged copies padded with the lowest value (exact: no
/// window is all padding, and the lowest value never beats a tap); where a copy of float or
/// double holds no NaN, without the NaN test. Nothing is checked here.
template <typename T>
void max_pool(const Problem& p, const T* in, T* out, index_t* indices) {
  const index_t plane_out = p.out_plane_size();
  const bool separable = p.resolved_algorithm() == Algorithm::separable;
  const bool staged = !indices && stages(p, sizeof(T));
  auto run = [&](auto with_indices) {
    constexpr bool kIndices = decltype(with_indices)::value;
    run_jobs(p, [&](Workspace& workspace, index_t plane, index_t row_begin, index_t row_end) {
      T* dst = out + plane * plane_out;
      index_t* idx = kIndices ? indices + plane * plane_out : nullptr;
      auto pool_as = [&](auto ordered, const T* src, const Problem& q, index_t r0, index_t r1) {
        using Op = MaxOp<T, kIndices, decltype(ordered)::value>;
        if (!separable) {
          Op op{dst, idx};
          pool_plane_rows(q.simd, src, q, r0, r1, op);
          return;
        }
        for_each_band(q, r0, r1, sizeof(T) + (kIndices ? sizeof(index_t) : 0),
                      [&](const Band& b) {
          T* mid = workspace.get<T>(Workspace::kRows, b.mid_size());
          index_t* mid_idx =
              kIndices ? workspace.get<index_t>(Workspace::kRowIndices, b.mid_size()) : nullptr;
          Op rows{mid, mid_idx, b.flat_offset};
          Op columns{dst, idx, 0, mid_idx, b.channels()};
          pool_plane_rows(q.simd, src + b.in_offset, b.rows, 0, b.rows.geom.out_rows(), rows);
          // What the first pass leaves unwritten, the slack included, is read by lanes the
          // second drops: set, so that nothing reads uninitialised memory.
          std::fill(mid + b.rows.out_plane_size(), mid + b.mid_size(), lowest<T>());
          pool_plane_rows(q.simd, static_cast<const T*>(mid), b.columns, b.row_begin, b.row_end,
                          columns);
        });
      };
      auto pool = [&](const T* src, const Problem& q, index_t r0, index_t r1) {
        if constexpr (!kIndices && std::is_floating_point_v<T>)
          if (q.nan_free) return pool_as(std::true_type{}, src, q, r0, r1);
        pool_as(std::false_type{}, src, q, r0, r1);
      };
      const T* src = in + p.in_offset(plane);
      if (!staged) return pool(src, p, row_begin, row_end);
      for_each_stage(p, src, row_begin, row_end, lowest<T>(), true, workspace, pool);
    });
  };
  if (indices) run(std::true_type{});
  else run(std::false_type{});
}

}  // namespace detail
}  // namespace poolkit
