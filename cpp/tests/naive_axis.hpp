// cpp/tests/naive_axis.hpp: one pooling axis worked out window by window and tap by tap, the
// oracle of poolkit's C++ tests. It shares no code with poolkit/geometry.hpp on purpose.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <limits>

#include "poolkit/geometry.hpp"  // AxisStatus only: the vocabulary, none of the math

namespace naive {

// Positions are computed in 128 bits so that strides, pads and dilations near 2**63 can be
// stated without the oracle itself overflowing.
using wide = __int128;

/// One axis as the user states it.
struct AxisArgs {
  std::int64_t in = 1, k = 1, s = 1, pb = 0, pa = 0, d = 1;
  bool ceil = false;
};

/// Position of tap t of window o (negative: leading padding).
inline wide tap(const AxisArgs& a, wide o, std::int64_t t) {
  return o * a.s - a.pb + wide{t} * a.d;
}

/// Number of windows, counted one start at one time, stopping once it exceeds `cap`. Without
/// ceil_mode a window counts when its last tap lies inside the padded extent; with it, one more
/// window counts as long as the one before it (the one before the first starts at -stride)
/// leaves the end of the padded extent uncovered, and a last window starting past the input
/// and the leading padding is dropped again (PyTorch's rule).
inline std::int64_t out_len(const AxisArgs& a, std::int64_t cap) {
  const wide padded_end = wide{a.in} + a.pa;  // one past the last padded position
  std::int64_t n = 0;
  if (a.ceil) {
    while (n <= cap && tap(a, n - 1, a.k - 1) < padded_end - 1) ++n;
    if (n > 0 && tap(a, n - 1, 0) >= a.in) --n;
  } else {
    while (n <= cap && tap(a, n, a.k - 1) < padded_end) ++n;
  }
  return n;
}

/// The taps of one window: the first and one past the last in-bounds position (equal when
/// none is in bounds), how many are in bounds, how many lie in the padded extent, and whether
/// every tap is in bounds.
struct Taps {
  std::int64_t begin = 0, end = 0, inside = 0, padded = 0;
  bool all_inside = true;
};

inline Taps window_taps(const AxisArgs& a, std::int64_t o) {
  Taps w;
  bool any = false;
  for (std::int64_t t = 0; t < a.k; ++t) {
    const wide pos = tap(a, o, t);
    const bool in_bounds = pos >= 0 && pos < a.in;
    w.padded += pos >= -wide{a.pb} && pos < wide{a.in} + a.pa;
    w.all_inside &= in_bounds;
    if (!in_bounds) continue;
    if (!any) w.begin = static_cast<std::int64_t>(pos);
    w.end = static_cast<std::int64_t>(pos) + 1;
    any = true;
    ++w.inside;
  }
  if (!any) w.end = w.begin;
  return w;
}

/// What plan_axis must report for `a` and, unless the output is empty, the output length in
/// `out`. Overflow means the window extent or the padded length exceeds 2**63 - 1; the tap by
/// tap enumeration needs a small kernel (every size else may be huge).
inline poolkit::AxisStatus status(const AxisArgs& a, std::int64_t* out) {
  constexpr wide kMax = std::numeric_limits<std::int64_t>::max();
  *out = 0;
  if (wide{a.d} * (a.k - 1) + 1 > kMax || wide{a.in} + a.pb + a.pa > kMax)
    return poolkit::AxisStatus::overflow;
  // A position lies in at most k windows (one per tap index), so more than in * k windows
  // cannot all hold an input element: no need to count further.
  const std::int64_t cap = a.in * a.k + 1;
  *out = out_len(a, cap);
  if (*out < 1) return poolkit::AxisStatus::no_output;
  if (*out > cap) return poolkit::AxisStatus::empty_window;
  for (std::int64_t o = 0; o < *out; ++o)
    if (window_taps(a, o).inside == 0) return poolkit::AxisStatus::empty_window;
  return poolkit::AxisStatus::ok;
}

}  // namespace naive
