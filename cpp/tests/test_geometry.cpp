// cpp/tests/test_geometry.cpp: poolkit's window math against the naive oracle for every small
// axis configuration, SAME padding against its definition, and sizes at the int64 edges.
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "check.hpp"
#include "naive_axis.hpp"
#include "poolkit/geometry.hpp"

using naive::wide;
using poolkit::AxisStatus;
using check::failures;
using poolkit::index_t;

namespace {

constexpr index_t kMax = std::numeric_limits<index_t>::max();

poolkit::Axis to_axis(const naive::AxisArgs& n) {
  poolkit::Axis a;
  a.in = n.in;
  a.kernel = n.k;
  a.stride = n.s;
  a.pad_before = n.pb;
  a.pad_after = n.pa;
  a.dilation = n.d;
  return a;
}

/// Whether span `s`, stepped by `d`, visits exactly the in-bounds taps `w` (its end may lie
/// anywhere after the last tap and before the next grid point); begin == end when none.
bool same_taps(const poolkit::Span& s, const naive::Taps& w, std::int64_t d) {
  if (w.inside == 0) return s.begin == s.end;
  return s.begin == w.begin && s.end >= w.end && s.end < wide{w.end} + d;
}

#define AXIS_FMT "in %lld k %lld s %lld pads %lld %lld d %lld ceil %d"
#define AXIS_ARGS(n)                                                                \
  static_cast<long long>((n).in), static_cast<long long>((n).k),                   \
      static_cast<long long>((n).s), static_cast<long long>((n).pb),               \
      static_cast<long long>((n).pa), static_cast<long long>((n).d), (n).ceil ? 1 : 0

/// Every axis with in 1..8, kernel 1..6, stride 1..4, pads 0..6 each side, dilation 1..3, both
/// ceil modes: plan_axis's status and length, then each window's taps and the inner outputs.
/// Returns the number of configurations.
long exhaustive_axes() {
  long configs = 0;
  naive::AxisArgs n;
  for (n.in = 1; n.in <= 8; ++n.in)
    for (n.k = 1; n.k <= 6; ++n.k)
      for (n.s = 1; n.s <= 4; ++n.s)
        for (n.pb = 0; n.pb <= 6; ++n.pb)
          for (n.pa = 0; n.pa <= 6; ++n.pa)
            for (n.d = 1; n.d <= 3; ++n.d)
              for (int c = 0; c < 2; ++c) {
                n.ceil = c == 1;
                ++configs;
                poolkit::Axis a = to_axis(n);
                std::int64_t want_out = 0;
                const AxisStatus want = naive::status(n, &want_out);
                const AxisStatus got = poolkit::plan_axis(a, n.ceil);
                CHECK(got == want, "plan_axis status %d, expected %d (" AXIS_FMT ")",
                      static_cast<int>(got), static_cast<int>(want), AXIS_ARGS(n));
                if (got == AxisStatus::ok)
                  CHECK(a.out == want_out, "out %lld, expected %lld (" AXIS_FMT ")",
                        static_cast<long long>(a.out), static_cast<long long>(want_out),
                        AXIS_ARGS(n));
                // The per-window functions must also be right where some window is empty
                // (begin == end, no taps): check every window the output length names.
                const std::int64_t windows = naive::out_len(n, 1 << 20);
                a.out = windows;
                std::int64_t total = 0, inner_begin = -1, inner_end = -1;
                for (std::int64_t o = 0; o < windows; ++o) {
                  const naive::Taps w = naive::window_taps(n, o);
                  const poolkit::Span s = a.window(o);
                  CHECK(same_taps(s, w, n.d), "window(%lld) = [%lld, %lld), expected [%lld, %lld) (" AXIS_FMT
                        ")", static_cast<long long>(o), static_cast<long long>(s.begin),
                        static_cast<long long>(s.end), static_cast<long long>(w.begin),
                        static_cast<long long>(w.end), AXIS_ARGS(n));
                  CHECK(a.taps_inside(o) == w.inside, "taps_inside(%lld) = %lld, expected %lld (" AXIS_FMT
                        ")", static_cast<long long>(o), static_cast<long long>(a.taps_inside(o)),
                        static_cast<long long>(w.inside), AXIS_ARGS(n));
                  CHECK(a.taps_padded(o) == w.padded, "taps_padded(%lld) = %lld, expected %lld (" AXIS_FMT
                        ")", static_cast<long long>(o), static_cast<long long>(a.taps_padded(o)),
                        static_cast<long long>(w.padded), AXIS_ARGS(n));
                  total += w.inside;
                  if (w.all_inside) {
                    if (inner_begin < 0) inner_begin = o;
                    CHECK(inner_end < 0 || inner_end == o, "inner outputs not contiguous");
                    inner_end = o + 1;
                  }
                }
                if (windows < 1) continue;
                if (got == AxisStatus::ok)  // defined for planned axes only
                  CHECK(poolkit::taps_inside_total(a) == static_cast<poolkit::count_t>(total),
                        "taps_inside_total %lld, expected %lld (" AXIS_FMT ")",
                        static_cast<long long>(poolkit::taps_inside_total(a)),
                        static_cast<long long>(total), AXIS_ARGS(n));
                const poolkit::Span inner = a.inner_outputs();
                const bool same_inner = inner_begin < 0 ? inner.begin == inner.end
                                                        : inner.begin == inner_begin &&
                                                              inner.end == inner_end;
                CHECK(same_inner, "inner_outputs [%lld, %lld), expected [%lld, %lld) (" AXIS_FMT ")",
                      static_cast<long long>(inner.begin), static_cast<long long>(inner.end),
                      static_cast<long long>(inner_begin), static_cast<long long>(inner_end),
                      AXIS_ARGS(n));
              }
  return configs;
}

/// plan_same_padding against its definition: the least total padding that gives
/// ceil(in / stride) outputs, the odd element after; then plan_axis on the result. Returns the
/// number of configurations.
long same_padding() {
  long configs = 0;
  naive::AxisArgs n;
  for (n.in = 1; n.in <= 40; ++n.in)
    for (n.k = 1; n.k <= 6; ++n.k)
      for (n.s = 1; n.s <= 6; ++n.s)
        for (n.d = 1; n.d <= 3; ++n.d) {
          ++configs;
          std::int64_t want_out = 0;  // starts 0, s, 2s, ... inside the input
          while (want_out * n.s < n.in) ++want_out;
          std::int64_t total = 0;
          for (;; ++total) {
            n.pb = total / 2;
            n.pa = total - n.pb;
            if (naive::out_len(n, 1 << 20) >= want_out) break;
          }
          CHECK(naive::out_len(n, 1 << 20) == want_out, "no padding gives exactly ceil(in/s)");
          poolkit::Axis a = to_axis(n);
          a.pad_before = a.pad_after = -1;  // must be overwritten
          CHECK(poolkit::plan_same_padding(a) == AxisStatus::ok, "same status (" AXIS_FMT ")",
                AXIS_ARGS(n));
          CHECK(a.pad_before == n.pb && a.pad_after == n.pa,
                "same pads %lld %lld, expected %lld %lld (" AXIS_FMT ")",
                static_cast<long long>(a.pad_before), static_cast<long long>(a.pad_after),
                static_cast<long long>(n.pb), static_cast<long long>(n.pa), AXIS_ARGS(n));
          std::int64_t out = 0;
          const AxisStatus want = naive::status(n, &out);
          const AxisStatus got = poolkit::plan_axis(a, false);
          CHECK(got == want, "same then plan_axis: %d, expected %d (" AXIS_FMT ")",
                static_cast<int>(got), static_cast<int>(want), AXIS_ARGS(n));
          if (got == AxisStatus::ok)
            CHECK(a.out == want_out, "same out %lld, expected %lld (" AXIS_FMT ")",
                  static_cast<long long>(a.out), static_cast<long long>(want_out), AXIS_ARGS(n));
        }
  return configs;
}

/// Random axes too large for the exhaustive sweep but small enough to enumerate: dilations
/// above the input length (where plan_axis counts the windows that miss the input in closed
/// form), long paddings and strides, and the closed-form tap total on every valid one.
/// Returns the number of valid configurations.
long random_mid_axes() {
  std::uint64_t state = 0x9e3779b97f4a7c15u;
  auto pick = [&state](std::int64_t lo, std::int64_t hi) {  // splitmix64, uniform in [lo, hi]
    state += 0x9e3779b97f4a7c15u;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return lo + static_cast<std::int64_t>(z % static_cast<std::uint64_t>(hi - lo + 1));
  };
  long valid = 0;
  for (int i = 0; i < 200000; ++i) {
    naive::AxisArgs n;
    n.in = pick(1, 40);
    n.d = pick(0, 3) == 0 ? pick(1, 4) : n.in + pick(1, 300);
    n.k = pick(1, 7);
    n.s = pick(1, 400);
    const std::int64_t extent = n.d * (n.k - 1) + 1;
    n.pb = pick(0, extent - 1);
    n.pa = pick(0, 1) == 0 ? pick(0, 3) : pick(0, extent + 500);
    n.ceil = pick(0, 1) == 1;
    std::int64_t want_out = 0;
    const AxisStatus want = naive::status(n, &want_out);
    poolkit::Axis a = to_axis(n);
    const AxisStatus got = poolkit::plan_axis(a, n.ceil);
    CHECK(got == want, "mid plan_axis status %d, expected %d (" AXIS_FMT ")",
          static_cast<int>(got), static_cast<int>(want), AXIS_ARGS(n));
    if (got != AxisStatus::ok || want != AxisStatus::ok) continue;
    ++valid;
    CHECK(a.out == want_out, "mid out %lld, expected %lld (" AXIS_FMT ")",
          static_cast<long long>(a.out), static_cast<long long>(want_out), AXIS_ARGS(n));
    std::int64_t total = 0;
    for (std::int64_t o = 0; o < want_out; ++o) total += naive::window_taps(n, o).inside;
    CHECK(poolkit::taps_inside_total(a) == static_cast<poolkit::count_t>(total),
          "mid taps_inside_total %lld, expected %lld (" AXIS_FMT ")",
          static_cast<long long>(poolkit::taps_inside_total(a)), static_cast<long long>(total),
          AXIS_ARGS(n));
  }
  return valid;
}

// ---- sizes at the int64 edges ------------------------------------------------------------
// Tap-by-tap enumeration is hopeless here, so the expectations below are exact 128-bit
// arithmetic on the definitions. The point is that poolkit reports overflow instead of
// wrapping (UBSan aborts the sanitizer build on any signed overflow) and stays exact up to
// the last representable value.

/// Taps of window o in closed form (128-bit): the in-bounds ones and those in the padded extent.
naive::Taps wide_window(const naive::AxisArgs& n, wide o) {
  naive::Taps w;
  const wide first = o * n.s - n.pb;
  const wide t0 = first >= 0 ? 0 : (-first + n.d - 1) / n.d;  // first tap at >= 0
  wide t1 = first > wide{n.in} - 1 ? -1 : (wide{n.in} - 1 - first) / n.d;  // last tap < in
  if (t1 > n.k - 1) t1 = n.k - 1;
  if (t0 <= t1) {
    w.begin = static_cast<std::int64_t>(first + t0 * n.d);
    w.end = static_cast<std::int64_t>(first + t1 * n.d + 1);
    w.inside = static_cast<std::int64_t>(t1 - t0 + 1);
  }
  w.all_inside = t0 == 0 && t1 == n.k - 1;
  const wide room = wide{n.in} + n.pa - first;  // first >= -pb for every window
  const wide fit = room > 0 ? (room - 1) / n.d + 1 : 0;
  w.padded = static_cast<std::int64_t>(fit < n.k ? fit : n.k);
  return w;
}

/// Window length per PyTorch's formula in 128 bits (no overflow possible at int64 inputs).
wide wide_out_len(const naive::AxisArgs& n) {
  const wide room = wide{n.in} + n.pb + n.pa - (wide{n.d} * (n.k - 1) + 1);
  auto floor_div = [](wide a, wide b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  wide out = floor_div(room + (n.ceil ? n.s - 1 : 0), n.s) + 1;
  if (n.ceil && out > 0 && (out - 1) * n.s - n.pb >= n.in) --out;
  return out;
}

long edge_configs = 0, edge_skipped = 0;

/// One axis at the int64 edges: status, length, and the first and last windows.
void edge_axis(const naive::AxisArgs& n) {
  ++edge_configs;
  const wide span = wide{n.d} * (n.k - 1) + 1;
  const bool overflow = span > kMax || wide{n.in} + n.pb + n.pa > kMax;
  const wide out = overflow ? 0 : wide_out_len(n);
  AxisStatus want = overflow ? AxisStatus::overflow
                    : out < 1 ? AxisStatus::no_output
                              : AxisStatus::ok;
  if (want == AxisStatus::ok) {
    // Windows starting at or after 0 hold their first tap exactly when they start inside the
    // input, and starts grow with o: only the last one can miss. Windows starting in the
    // leading padding are enumerated where few; with dilation <= in the first in-bounds
    // candidate of each lies inside the input, and the candidate tap index only shrinks
    // as o grows, so window 0 decides for all. Otherwise the case is skipped (counted).
    if (wide_window(n, out - 1).inside == 0) want = AxisStatus::empty_window;
    const wide leading = std::min<wide>(out, (wide{n.pb} + n.s - 1) / n.s);
    if (leading <= 4096) {
      for (wide o = 0; o < leading && want == AxisStatus::ok; ++o)
        if (wide_window(n, o).inside == 0) want = AxisStatus::empty_window;
    } else if (n.d <= n.in) {
      if (wide_window(n, 0).inside == 0) want = AxisStatus::empty_window;
    } else {
      ++edge_skipped;  // too many windows for this oracle to enumerate
      return;
    }
  }
  poolkit::Axis a = to_axis(n);
  const AxisStatus got = poolkit::plan_axis(a, n.ceil);
  CHECK(got == want, "edge plan_axis status %d, expected %d (" AXIS_FMT ")",
        static_cast<int>(got), static_cast<int>(want), AXIS_ARGS(n));
  if (got != AxisStatus::ok || want != AxisStatus::ok) return;
  CHECK(a.out == out, "edge out %lld (" AXIS_FMT ")", static_cast<long long>(a.out),
        AXIS_ARGS(n));
  // The window math the kernels use, on the first and last windows.
  const index_t last = a.out - 1;
  for (index_t o : {index_t{0}, index_t{1}, last - 1, last}) {
    if (o < 0 || o > last) continue;
    const naive::Taps w = wide_window(n, o);
    const poolkit::Span s = a.window(o);
    CHECK(same_taps(s, w, n.d) && a.taps_inside(o) == w.inside &&
              a.taps_padded(o) == w.padded,
          "edge window %lld: [%lld, %lld) %lld %lld, expected [%lld, %lld) %lld %lld (" AXIS_FMT
          ")", static_cast<long long>(o), static_cast<long long>(s.begin),
          static_cast<long long>(s.end), static_cast<long long>(a.taps_inside(o)),
          static_cast<long long>(a.taps_padded(o)), static_cast<long long>(w.begin),
          static_cast<long long>(w.end), static_cast<long long>(w.inside),
          static_cast<long long>(w.padded), AXIS_ARGS(n));
  }
  // inner_outputs: a range of windows with every tap in bounds, bounded by windows without.
  const poolkit::Span inner = a.inner_outputs();
  if (inner.begin < inner.end) {
    CHECK(inner.end <= a.out && wide_window(n, inner.begin).all_inside && wide_window(n, inner.end - 1).all_inside &&
              (inner.begin == 0 || !wide_window(n, inner.begin - 1).all_inside) &&
              (inner.end == a.out || !wide_window(n, inner.end).all_inside),
          "edge inner_outputs [%lld, %lld) (" AXIS_FMT ")", static_cast<long long>(inner.begin),
          static_cast<long long>(inner.end), AXIS_ARGS(n));
  } else {  // empty: begin == end, wherever
    CHECK(inner.begin == inner.end && !wide_window(n, 0).all_inside &&
              !wide_window(n, last).all_inside,
          "edge inner_outputs empty (" AXIS_FMT ")", AXIS_ARGS(n));
  }
}

/// Every combination of lengths from a list of int64 edge values, then SAME padding on them.
void edge_sweep() {
  const index_t big = index_t{1} << 62;
  const index_t sizes[] = {1, 2, 3, 5, index_t{1} << 31, big - 1, big, big + 1,
                           kMax - 2, kMax - 1, kMax};
  const index_t pads[] = {0, 1, 3, big, kMax - 4, kMax - 1, kMax};
  naive::AxisArgs n;
  for (index_t in : sizes)
    for (index_t k : sizes)
      for (index_t s : sizes)
        for (index_t d : sizes)
          for (index_t pb : pads)
            for (index_t pa : pads)
              for (int c = 0; c < 2; ++c) {
                n.in = in;
                n.k = k;
                n.s = s;
                n.d = d;
                n.pb = pb;
                n.pa = pa;
                n.ceil = c == 1;
                edge_axis(n);
              }
  // SAME padding at the edges: the pads are the exact definition, or overflow is reported
  // when they (or the padded length) do not fit.
  for (index_t in : sizes)
    for (index_t k : sizes)
      for (index_t s : sizes)
        for (index_t d : sizes) {
          poolkit::Axis a;
          a.in = in;
          a.kernel = k;
          a.stride = s;
          a.dilation = d;
          const wide out = wide{in} / s + (in % s != 0);
          const wide need = (out - 1) * s + wide{d} * (k - 1) + 1 - in;
          const wide total = need > 0 ? need : 0;
          const AxisStatus got = poolkit::plan_same_padding(a);
          if (wide{d} * (k - 1) + 1 > kMax || total > kMax) {
            CHECK(got == AxisStatus::overflow || poolkit::plan_axis(a, false) ==
                                                     AxisStatus::overflow,
                  "same at the edge: no overflow (in %lld k %lld s %lld d %lld)",
                  static_cast<long long>(in), static_cast<long long>(k),
                  static_cast<long long>(s), static_cast<long long>(d));
            continue;
          }
          CHECK(got == AxisStatus::ok && a.pad_before == total / 2 &&
                    a.pad_after == total - total / 2,
                "same at the edge: status %d pads %lld %lld (in %lld k %lld s %lld d %lld)",
                static_cast<int>(got), static_cast<long long>(a.pad_before),
                static_cast<long long>(a.pad_after), static_cast<long long>(in),
                static_cast<long long>(k), static_cast<long long>(s),
                static_cast<long long>(d));
        }
}

}  // namespace

int main() {
  const long axes = exhaustive_axes();
  std::printf("exhaustive: %ld axis configurations\n", axes);
  std::fflush(stdout);  // a sanitizer abort below must not swallow it
  const long mid = random_mid_axes();
  std::printf("random mid-size axes: %ld valid of 200000\n", mid);
  std::fflush(stdout);
  const long same = same_padding();
  std::printf("same padding: %ld configurations\n", same);
  std::fflush(stdout);
  edge_sweep();
  std::printf("int64 edges: %ld configurations (%ld with too many leading windows to "
              "enumerate skipped)\n", edge_configs, edge_skipped);
  std::printf("%s: %d failed checks\n", failures == 0 ? "passed" : "FAILED", failures);
  return failures == 0 ? 0 : 1;
}
