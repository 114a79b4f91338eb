// poolkit/kernels/max_pool.hpp: max pooling with optional argmax indices.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>

#include "poolkit/dtypes.hpp"
#include "poolkit/levels.hpp"
#include "poolkit/problem.hpp"

namespace poolkit {
namespace detail {

/// How max deals with NaN: every tap tested; none tested, the values holding none (checked
/// before: a tap wins where it is larger, the same result in fewer steps); or none tested,
/// the taps summed and the sums checked afterwards (see MaxOp::kGuarded).
enum class NanTest { every_tap, none, afterwards };
template <NanTest kTest>
using NanTests = std::integral_constant<NanTest, kTest>;

/// Max of each window: NaN wins (the first NaN), ties keep the first maximum in window order;
/// a window whose taps all hold lowest<T>() points at its first in-bounds tap. As the first
/// pass of the separable algorithm it writes row maxima and their positions (shifted by
/// `flat_offset` to the plane's); as the second it reads those and looks the winners'
/// positions up in `remap` (the first pass's indices, `channels` per site).
template <typename T, bool kIndices, NanTest kNan = NanTest::every_tap>
struct MaxOp {
  /// Whether the vector steps and the scalar steps of windows held in registers (take<true>:
  /// 2 x 2 and 3 x 3 windows, channels-first edge columns) take the larger tap without the NaN
  /// test, adding every tap they take into sums that go into `guard`: where no sum is a NaN
  /// (saw_nan() false) no tap was one and the results stand; otherwise the caller pools again
  /// testing every tap. Scalar steps over states in memory test each tap (a sum there cost a
  /// load and a store per tap: a 5 x 5 stride-3 max ran 20% slower). Floats and doubles
  /// without indices (a sum of float16 values costs more than the test).
  static constexpr bool kGuarded = kNan == NanTest::afterwards;
  static_assert(!kGuarded || (!kIndices && std::is_floating_point_v<T>), "guarded max");
  /// The running state of one window (with kGuarded, the sum of its taps).
  struct State {
    T best;
    index_t arg;
    T sum;
  };
  /// The states of a block of lanes, a field at a time so that the lane loops vectorise.
  /// With kGuarded, the sums of held windows (hold) add up lane by lane over the loop, which
  /// then hands them to finish.
  struct Block {
    T best[kLanes];
    index_t arg[kLanes];
    T sum[kGuarded ? kLanes : 1] = {};
    State get(index_t c) const noexcept { return {best[c], kIndices ? arg[c] : 0, T(0)}; }
    void set(index_t c, State s) noexcept {
      best[c] = s.best;
      if constexpr (kIndices) arg[c] = s.arg;
    }
    /// set for a window whose taps were taken with take<true>.
    void hold(index_t c, State s) noexcept {
      set(c, s);
      if constexpr (kGuarded) sum[c] += s.sum;
    }
  };
  T* out;
  index_t* indices;
  index_t flat_offset = 0;
  const index_t* remap = nullptr;
  index_t channels = 1;
  /// With kGuarded, the sums of the windows' taps, lane by lane (a NaN where a tap was one,
  /// or where infinities of both signs met).
  T guard[kLanes] = {};

  /// Whether the vector path takes this op: values only, of a type the vector extension has.
  static constexpr bool kVector = !kIndices && std::is_arithmetic_v<T>;
  /// Whether a window's result is the same whatever the order its taps are taken in: the
  /// first maximum of the first maxima of parts of a window (the first NaN of their first
  /// NaNs) is the window's. Not with indices: ties keep the first in window order.
  static constexpr bool kAnyOrder = !kIndices;
  /// Whether the vector steps may take a window as parts that overlap (a tap taken twice
  /// changes nothing), the parts in window order: the first maximum (the first NaN) of
  /// overlapping parts' is the window's. Not for guarded ops, whose sums count every tap.
  static constexpr bool kIdempotent = kVector && !kGuarded;
  /// Whether the vector steps may take a window's first in-bounds tap again in place of each
  /// tap in the padding before it (see VectorRun::lead): the first maximum (the first NaN)
  /// stays the window's, and a guarded op's sums still hold a NaN where a tap was one.
  static constexpr bool kRepeatable = kVector;
  /// The type of the vector steps' lanes, and the vector of N window states.
  using Element = T;
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
    Steps::template take_max<kNan != NanTest::every_tap>(best, v);
  }
  /// The block the loop nest used, at its end: its held windows' sums go into `guard`.
  void finish(const Block& b) noexcept {
    if constexpr (kGuarded)
      for (index_t c = 0; c < kLanes; ++c) guard[c] += b.sum[c];
  }
  /// guard += sum, over the vector's lanes (with kGuarded, the vector steps' taps summed by
  /// the loop nest).
  template <typename Steps, typename V>
  void vguard(const V& sum) noexcept {
    static_assert(sizeof(V) <= sizeof guard, "a vector within the guard");
    V g;
    Steps::load(g, guard);
    Steps::add(g, sum);
    Steps::store(guard, g);
  }
  /// Whether a tap taken since the op was made may have been a NaN (with kGuarded: false
  /// otherwise).
  bool saw_nan() const noexcept {
    int nan = 0;  // or-ed, an int: the loop vectorises
    for (index_t c = 0; c < kLanes; ++c) nan |= guard[c] != guard[c];
    return nan != 0;
  }
  /// Nothing to work out per output row (see AvgOp::vrow).
  struct VectorRow {};
  VectorRow vrow(index_t, index_t, index_t, index_t) const noexcept { return {}; }
  /// Stores the first `lanes` lanes of a vector of states, as store does a block's.
  template <typename Steps, typename V, typename N>
  void vstore(const V& best, N lanes, index_t at, const VectorRow&, index_t,
              index_t) const noexcept {
    Steps::store(out + at, best, lanes);
  }
  /// Whether lanes may run over the elements of several sites (positions are per lane).
  bool site_lanes() const noexcept { return !kIndices; }
  /// Lanes need nothing of their own at store (see AvgOp::lane_divisors).
  static constexpr bool lane_divisors() noexcept { return false; }
  /// A window whose first in-bounds tap lies at flat position `first`.
  static State begin(index_t first) noexcept { return {lowest<T>(), first, T(0)}; }
  /// The tap `v` at flat position `flat`. kHeld: the window's state stays in registers from
  /// its first tap to its last, then goes to Block::hold (a guarded op sums the tap, not
  /// testing it).
  template <bool kHeld = false>
  static void take(State& s, T v, index_t flat) noexcept {
    constexpr bool kSum = kGuarded && kHeld;
    const bool wins = kNan == NanTest::none || kSum ? v > s.best : beats(v, s.best);
    s.best = wins ? v : s.best;
    if constexpr (kIndices) s.arg = wins ? flat : s.arg;
    if constexpr (kSum) s.sum += v;
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
/// double holds no NaN, without the NaN test. Elsewhere float and double without indices run
/// guarded (MaxOp::kGuarded): a job whose input held a NaN is pooled twice. Nothing is
/// checked here.
template <typename T>
void max_pool(const Problem& p, const T* in, T* out, index_t* indices) {
  if (!indices)
    if (const auto folded = folded_planes(p, sizeof(T))) return max_pool(*folded, in, out, indices);
  const index_t plane_out = p.out_plane_size();
  const bool separable = p.resolved_algorithm() == Algorithm::separable;
  const bool staged = !indices && stages(p, sizeof(T));
  auto run = [&](auto with_indices) {
    constexpr bool kIndices = decltype(with_indices)::value;
    run_jobs(p, [&](Workspace& workspace, index_t plane, index_t row_begin, index_t row_end) {
      T* dst = out + plane * plane_out;
      index_t* idx = kIndices ? indices + plane * plane_out : nullptr;
      // Runs go(test), which pools with MaxOp's NaN test `test` and returns saw_nan(), as
      // the values call for: no test where `nan_free` says they hold no NaN; else, for float
      // and double without indices, the taps checked afterwards, then every tap if that saw a
      // NaN (pooling again). (Only float and double without indices skip tests: nothing else
      // is ever found free of NaN, and each variant compiled costs build time.)
      constexpr bool kSkips = !kIndices && std::is_floating_point_v<T>;
      auto tested = [&](bool nan_free, auto&& go) {
        if constexpr (kSkips) {
          if (nan_free) {
            go(NanTests<NanTest::none>{});
            return;
          }
          if (!go(NanTests<NanTest::afterwards>{})) return;
        }
        go(NanTests<NanTest::every_tap>{});
      };
      auto pool = [&](const T* src, const Problem& q, index_t r0, index_t r1) {
        if (!separable) {
          tested(q.nan_free, [&](auto test) {
            MaxOp<T, kIndices, decltype(test)::value> op{dst, idx};
            pool_plane_rows(q.simd, src, q, r0, r1, op);
            return op.saw_nan();
          });
          return;
        }
        for_each_band(q, r0, r1, sizeof(T) + (kIndices ? sizeof(index_t) : 0), true,
                      [&](const Band& b) {
          T* mid = workspace.get<T>(Workspace::kRows, b.mid_size());
          index_t* mid_idx =
              kIndices ? workspace.get<index_t>(Workspace::kRowIndices, b.mid_size()) : nullptr;
          // Where each input element is a tap of several row windows, the band's input rows
          // are checked for NaN first: a pass over them costs less than a guarded row pass's
          // sum of every tap (the YOLO 5 x 5 stride-1 max, 256-channel sites: 3.6 -> 2.85 ms).
          bool clean = q.nan_free;
          if constexpr (kSkips)
            if (!clean && q.geom.w().kernel > q.geom.w().stride)
              clean = rows_nan_free(q.simd, src + b.in_offset, b.rows);
          tested(clean, [&](auto test) {
            MaxOp<T, kIndices, decltype(test)::value> rows{mid, mid_idx, b.flat_offset};
            pool_plane_rows(q.simd, src + b.in_offset, b.rows, 0, b.rows.geom.out_rows(), rows);
            return rows.saw_nan();
          });
          // What the first pass leaves unwritten, the slack included, is read by lanes the
          // second drops: set, so that nothing reads uninitialised memory.
          const index_t written = b.rows.out_plane_size();
          std::fill(mid + written, mid + b.mid_size(), lowest<T>());
          auto columns = [&](auto test) {
            MaxOp<T, kIndices, decltype(test)::value> op{dst, idx, 0, mid_idx, b.channels()};
            pool_plane_rows(q.simd, static_cast<const T*>(mid), b.columns, b.row_begin,
                            b.row_end, op);
          };
          // The row maxima hold a NaN only where the input did; unless q says it holds none,
          // they are checked (a guarded row pass that saw none may still have taken NaN
          // through its tested steps, and a pass over mid costs a fraction of one over its
          // window rows).
          if constexpr (kSkips)
            if (clean || !any_nan(q.simd, static_cast<const T*>(mid), written))
              return columns(NanTests<NanTest::none>{});
          columns(NanTests<NanTest::every_tap>{});
        });
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
