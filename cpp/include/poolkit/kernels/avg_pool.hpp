// poolkit/kernels/avg_pool.hpp: average pooling with PyTorch's divisor rules.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "poolkit/dtypes.hpp"
#include "poolkit/levels.hpp"
#include "poolkit/problem.hpp"

namespace poolkit {

/// How an average is divided: `divisor_override` > 0 wins; otherwise `count_include_pad`
/// chooses between the taps inside the padded extent and the taps inside the input.
struct AvgOptions {
  bool count_include_pad = true;
  index_t divisor_override = 0;
};

namespace detail {

/// How the average divides integer sums: exactly in integers, or in double or float where
/// the sums and divisors allow it (divide_round_in).
enum class IntDivision { exact, in_double, in_float };

/// Window sums of T (or of partial sums already in Sum), accumulated in Sum: accum_t<T>, or
/// int32 for 8- and 16-bit integers whose windows cannot overflow it (see avg_pool). With
/// kDivide each sum is divided by its window's divisor and rounded once to T: the override,
/// or the product of the axes' factors. Without (the first pass of the separable algorithm)
/// the sum itself is stored.
template <typename T, bool kDivide, typename Sum = accum_t<T>>
struct AvgOp {
  using Acc = Sum;
  using Out = std::conditional_t<kDivide, T, Acc>;
  /// A divisor as the division takes it: converted to Acc for floating types (as divide_round
  /// converts it), an integer otherwise.
  using Divisor = std::conditional_t<is_float_v<T>, Acc, index_t>;
  /// The running state of one window.
  struct State {
    Acc sum;
  };
  /// The states of a block of lanes.
  struct Block {
    Acc sum[kLanes];
    State get(index_t c) const noexcept { return {sum[c]}; }
    void set(index_t c, State s) noexcept { sum[c] = s.sum; }
    /// set for a window held in registers (see MaxOp::take).
    void hold(index_t c, State s) noexcept { set(c, s); }
  };
  /// Nothing to do with the loop nest's block at its end (see MaxOp::finish).
  void finish(const Block&) const noexcept {}
  Out* out;
  AvgOptions options{};
  /// Each axis's divisor factor per output position (D's, H's and W's; W's the override, and
  /// the others 1, where there is one).
  const index_t *d_factor = nullptr, *h_factor = nullptr, *w_factor = nullptr;
  index_t w_out = 0;     // output columns
  index_t channels = 1;  // elements per site
  /// The divisors of an output row, in slots: one per column, or with lane_divisors() one per
  /// position (column * channels + channel; the same where sites hold one channel), and
  /// kLanes more after them (read by vector lanes that are dropped). They are those of the
  /// rows whose D and H factors multiply to `table_factor`, filled on the first row with a new
  /// product. Most rows share one (every window inside the padded extent), so the row's
  /// divisors cost a load, not a multiply and a conversion per output.
  Divisor* divisors = nullptr;
  /// Whether the inner columns of the geometry the loop runs share W's divisor factor: true for
  /// the direct algorithm on the input itself; on a staged copy and in the separable
  /// algorithm's second pass (whose W axis is trivial) every column is inner, so only where
  /// W's factors are all equal. Otherwise lanes over inner columns take a divisor each
  /// (lane_divisors).
  bool uniform_inner = true;
  /// Where every integer sum and divisor lie that divide_round_in<F, T> is exact: in float,
  /// in double, or neither.
  IntDivision division = IntDivision::exact;
  /// The product of D's and H's factors that the table's divisors hold (each op serves one
  /// job).
  mutable index_t table_factor = 0;

  /// Vector steps where sums accumulate in T itself (float and double), in int32 (8- and
  /// 16-bit integers) or in int16 (8-bit integers), the taps widened as they load: the twins
  /// of begin, take and store, over vectors of lanes of Acc (the Element), their steps those
  /// of `Steps` (the level's VectorSteps). Lanes add in window order, as take does, so sums
  /// match bit for bit.
  static constexpr bool kVector = std::is_same_v<Acc, T> || std::is_same_v<Acc, std::int32_t> ||
                                  std::is_same_v<Acc, std::int16_t>;
  /// Whether a window's sum is the same whatever the order its taps are taken in (see
  /// MaxOp::kAnyOrder): integer sums, exact (those of 8- and 16-bit taps fit a whole window
  /// of the largest magnitude, see avg_pool; wider ones wrap alike in any order), not
  /// floating ones, whose rounding depends on the order of their terms.
  static constexpr bool kAnyOrder = std::is_integral_v<Acc>;
  /// A tap taken twice counts twice (see MaxOp::kIdempotent).
  static constexpr bool kIdempotent = false;
  /// Nor a tap in place of the padding (see MaxOp::kRepeatable): a sum counts it.
  static constexpr bool kRepeatable = false;
  /// Every step exact (see MaxOp::kGuarded).
  static constexpr bool kGuarded = false;
  using Element = Acc;
  template <index_t N>
  using Vector = vec_t<Acc, N>;
  template <typename Steps, typename V>
  static void vbegin(V& sum) noexcept { Steps::fill(sum, Acc(0)); }
  /// The state of the one tap v.
  template <typename Steps, typename V>
  static void vfrom(V& sum, const V& v) noexcept { sum = v; }
  template <typename Steps, typename V>
  static void vtake(V& sum, const V& v) noexcept { Steps::add(sum, v); }
  /// What vstore needs of output row (od, oh), worked out by vrow once per row the vector
  /// steps store: where lanes share a power-of-two divisor (slot_step 0) and the sums are
  /// integers, its exponent `shift`, which vstore divides by in the sums' own lanes (else -1).
  /// The shift is below the lanes' bits - 2, so that a remainder and its half fit in a lane.
  struct VectorRow {
    index_t od, oh;
    int shift;
  };
  VectorRow vrow(index_t od, index_t oh, index_t slot, index_t slot_step) const noexcept {
    VectorRow row{od, oh, -1};
    if constexpr (kDivide && !is_float_v<T>) {
      start_row(od, oh);
      const index_t d = divisors[slot];
      if (slot_step == 0 && (d & (d - 1)) == 0 && d < (index_t{1} << (8 * sizeof(Acc) - 2)))
        row.shift = __builtin_ctzll(static_cast<unsigned long long>(d));
    }
    return row;
  }
  /// Stores the first `lanes` lanes of a vector of sums of output row `row` (see vrow),
  /// divided as store divides them. Integer sums divide in their own lanes by a shift, in
  /// float vectors where that is exact (division), else as a block's do.
  template <typename Steps, typename V, typename N>
  void vstore(const V& sum, N lanes, index_t at, const VectorRow& row, index_t slot,
              index_t slot_step) const noexcept {
    if constexpr (kDivide && !is_float_v<T>) {
      if (row.shift >= 0) return Steps::shift_round_in(out + at, sum, row.shift, lanes);
      if (division != IntDivision::in_float)
        return vstore_wide<Steps>(sum, lanes, at, row.od, row.oh, slot, slot_step);
      start_row(row.od, row.oh);
      Steps::divide_round_in(out + at, sum, divisors + slot, slot_step, lanes);
    } else if constexpr (kDivide) {
      start_row(row.od, row.oh);
      V d, result = sum;
      if (slot_step == 0) Steps::fill(d, divisors[slot]);
      else Steps::load(d, divisors + slot);
      Steps::divide(result, d);
      Steps::store(out + at, result, lanes);
    } else {
      Steps::store(out + at, sum, lanes);
    }
  }
  /// vstore of integer sums that float cannot divide exactly: through a block and store
  /// (kept out of vstore's body, whose registers it had spilled).
  template <typename Steps, typename V, typename N>
  __attribute__((noinline)) void vstore_wide(const V& sum, N lanes, index_t at, index_t od,
                                             index_t oh, index_t slot,
                                             index_t slot_step) const noexcept {
    static_assert(sizeof(V) <= sizeof(Block::sum), "a vector within a block");
    Block block;
    Steps::store(block.sum, sum);
    store(block, lanes, at, od, oh, slot, slot_step);
  }
  /// Lanes may run over the elements of several sites (see lane_divisors).
  static constexpr bool site_lanes() noexcept { return true; }
  /// Whether lanes over inner columns may need divisors of their own (slot_step 1), not the
  /// first lane's; the table then holds one per position of the row.
  bool lane_divisors() const noexcept {
    return kDivide && options.divisor_override <= 0 && !uniform_inner;
  }
  static State begin(index_t) noexcept { return {Acc(0)}; }
  /// The tap `v` (a T, or a partial sum already in Acc), the window's state held in
  /// registers or not (kHeld: see MaxOp::take).
  template <bool kHeld = false, typename S>
  static void take(State& s, S v, index_t) noexcept { s.sum += static_cast<Acc>(v); }
  /// Stores a block's first `lanes` lanes at `at`, output row (od, oh): lane c's divisor the
  /// one in the row's slot + c (slot_step 1), or in `slot` for every lane (0).
  template <typename N>
  void store(const Block& b, N lanes, index_t at, index_t od, index_t oh, index_t slot,
             index_t slot_step) const noexcept {
    if constexpr (kDivide) {
      start_row(od, oh);
      if (slot_step == 0) divide<false>(out + at, b.sum, divisors + slot, lanes, division);
      else divide<true>(out + at, b.sum, divisors + slot, lanes, division);
    } else {
      for (index_t c = 0; c < lanes; ++c) out[at + c] = b.sum[c];
    }
  }
  /// Makes the table hold the divisors of output row (od, oh): two loads and a product
  /// where it holds them already (the vector steps store two output rows in turn, and
  /// computing the row's factors from the geometry had cost the Inception 3 x 3 average 13% of
  /// its instructions).
  void start_row(index_t od, index_t oh) const noexcept {
    const index_t factor = d_factor[od] * h_factor[oh];
    if (factor == table_factor) return;
    table_factor = factor;
    // (Rows of two factors can alternate store by store: the plain loop stays vectorised.)
    const index_t n = w_out, per_column = lane_divisors() ? channels : 1;
    if (per_column == 1) {
      for (index_t o = 0; o < n; ++o) divisors[o] = static_cast<Divisor>(factor * w_factor[o]);
    } else {
      for (index_t o = 0; o < n; ++o)
        std::fill(divisors + o * per_column, divisors + (o + 1) * per_column,
                  static_cast<Divisor>(factor * w_factor[o]));
    }
    std::fill(divisors + n * per_column, divisors + n * per_column + kLanes, Divisor(1));
  }
  /// dst[c] = sum[c] over its divisor (d[c] with kPerLane, else d[0]), for each lane: without
  /// a branch per lane where the sums allow it (`division`), so that the loop vectorises. The
  /// pointers do not alias (nor would the compiler vectorise otherwise).
  template <bool kPerLane, typename N>
  static void divide(T* __restrict dst, const Acc* __restrict sum, const Divisor* __restrict d,
                     N lanes, IntDivision division) noexcept {
    auto divisor = [d](index_t c) { return kPerLane ? d[c] : d[0]; };
    if constexpr (!is_float_v<T>) {
      // Not unrolled whole for a known count of lanes: GCC then fails to vectorise it.
      const index_t n = lanes;
      if (division == IntDivision::in_float) {
#pragma GCC unroll 1
        for (index_t c = 0; c < n; ++c) dst[c] = divide_round_in<float, T>(sum[c], divisor(c));
        return;
      }
      if (division == IntDivision::in_double) {
#pragma GCC unroll 1
        for (index_t c = 0; c < n; ++c) dst[c] = divide_round_in<double, T>(sum[c], divisor(c));
        return;
      }
    }
    for (index_t c = 0; c < lanes; ++c) dst[c] = divide_round<T>(sum[c], divisor(c));
  }
};

/// The taps of a window of `g` (D x H x W kernel), or false where their count overflows.
inline bool window_taps(const Geometry& g, index_t* taps) noexcept {
  return !mul_overflows(g.d().kernel, g.h().kernel, taps) &&
         !mul_overflows(*taps, g.w().kernel, taps);
}

/// avg_pool with sums accumulated in Acc.
template <typename T, typename Acc>
void avg_pool_in(const Problem& p, const T* in, T* out, AvgOptions options) {
  const index_t plane_out = p.out_plane_size();
  const bool separable = p.resolved_algorithm() == Algorithm::separable;
  const Geometry& g = p.geom;
  const Axis& w = g.w();
  // Each axis's divisor factor per output position, D's, H's and W's one after the other
  // (one allocation): the override goes in W's.
  std::vector<index_t> factors(static_cast<std::size_t>(g.d().out + g.h().out + w.out));
  index_t* axis_factors[3];
  index_t* next = factors.data();
  for (int i = 0; i < 3; ++i) {
    const Axis& a = g.axes[i];
    axis_factors[i] = next;
    for (index_t o = 0; o < a.out; ++o)
      next[o] = options.divisor_override <= 0 ? a.divisor_factor(o, options.count_include_pad)
                : i == 2                      ? options.divisor_override
                                              : 1;
    next += a.out;
  }
  const bool uniform_w = std::all_of(axis_factors[2], axis_factors[2] + w.out,
                                     [&](index_t f) { return f == axis_factors[2][0]; });
  // Sums cover at most a whole window; divisors are at most its taps, or the override.
  index_t taps = 0;
  const bool bounded = window_taps(g, &taps);
  const index_t max_divisor = std::max(taps, options.divisor_override);
  const IntDivision division =
      bounded && sums_divide_in<float, T>(taps, max_divisor)    ? IntDivision::in_float
      : bounded && sums_divide_in<double, T>(taps, max_divisor) ? IntDivision::in_double
                                                                 : IntDivision::exact;
  const bool staged = stages(p, sizeof(T));
  run_jobs(p, [&](Workspace& workspace, index_t plane, index_t row_begin, index_t row_end) {
    using Final = AvgOp<T, true, Acc>;
    using Divisor = typename Final::Divisor;
    Final final_op{out + plane * plane_out, options};
    final_op.d_factor = axis_factors[0];
    final_op.h_factor = axis_factors[1];
    final_op.w_factor = axis_factors[2];
    final_op.w_out = w.out;
    final_op.channels = p.channels;
    final_op.divisors = workspace.get<Divisor>(Workspace::kDivisors, w.out * p.channels + kLanes);
    final_op.division = division;
    final_op.uniform_inner = (!separable && !staged) || uniform_w;
    auto pool = [&](const T* src, const Problem& q, index_t r0, index_t r1) {
      if (!separable) return pool_plane_rows(q.simd, src, q, r0, r1, final_op);
      for_each_band(q, r0, r1, sizeof(Acc), false, [&](const Band& b) {
        Acc* mid = workspace.get<Acc>(Workspace::kRows, b.mid_size());
        AvgOp<T, false, Acc> rows{mid};
        pool_plane_rows(q.simd, src + b.in_offset, b.rows, 0, b.rows.geom.out_rows(), rows);
        // Read only by lanes the second pass drops; zero, so that their sums are defined.
        std::fill(mid + b.rows.out_plane_size(), mid + b.mid_size(), Acc(0));
        pool_plane_rows(q.simd, static_cast<const Acc*>(mid), b.columns, b.row_begin, b.row_end,
                        final_op);
      });
    };
    const T* src = in + p.in_offset(plane);
    if (!staged) return pool(src, p, row_begin, row_end);
    for_each_stage(p, src, row_begin, row_end, T(0), false, workspace, pool);
  });
}

/// Average pooling of every plane of `p`, accumulated exactly and rounded once. 8- and
/// 16-bit integers sum in the narrowest of int16 (8-bit only) and int32 that a whole window of
/// their largest magnitude fits in (more lanes per register: int32 against int64 took the
/// uint8 2 x 2 average of a 3 x 4096 x 4096 image 8.09 -> 6.54 ms, C++ driver, 1 thread), in
/// accum_t<T> otherwise. Planes whose windows are clipped run on staged copies padded with
/// zeros (exact: x + 0 == x, and sums start at +0).
template <typename T>
void avg_pool(const Problem& p, const T* in, T* out, AvgOptions options) {
  if (const auto folded = folded_planes(p, sizeof(T))) return avg_pool(*folded, in, out, options);
  if constexpr (!is_float_v<T> && sizeof(T) <= 2) {
    index_t taps = 0;
    const bool bounded = window_taps(p.geom, &taps);
    if constexpr (sizeof(T) == 1) {
      if (bounded && taps <= index_t{INT16_MAX} / largest_magnitude<T>())
        return avg_pool_in<T, std::int16_t>(p, in, out, options);
    }
    if (bounded && taps <= index_t{INT32_MAX} / largest_magnitude<T>())
      return avg_pool_in<T, std::int32_t>(p, in, out, options);
  }
  avg_pool_in<T, accum_t<T>>(p, in, out, options);
}

}  // namespace detail
}  // namespace poolkit
