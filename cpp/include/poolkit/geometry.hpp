// poolkit/geometry.hpp: all window math of poolkit, per spatial axis and per output index.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

namespace poolkit {

using index_t = std::int64_t;
/// A count that may exceed int64 (taps of a whole axis), exact up to 2**128 - 1.
using count_t = unsigned __int128;

/// Half-open range of input taps [begin, end) on the dilation grid: begin, begin + step, ...
struct Span {
  index_t begin;
  index_t end;

  /// Number of taps in the span on a grid of `step`.
  constexpr index_t taps(index_t step) const noexcept {
    if (end <= begin) return 0;
    return step == 1 ? end - begin : (end - begin - 1) / step + 1;  // no division per row
  }
};

/// Why an axis configuration is unusable (the Python layer turns each into a message).
enum class AxisStatus : int {
  ok = 0,
  overflow = 1,      // the size arithmetic does not fit in int64
  no_output = 2,     // the output length would be < 1
  empty_window = 3,  // some window holds no input element
};

/// One spatial axis of a pooling problem: input length, window, and the derived output length.
struct Axis {
  index_t in = 1;
  index_t kernel = 1;
  index_t stride = 1;
  index_t pad_before = 0;
  index_t pad_after = 0;
  index_t dilation = 1;
  index_t out = 1;

  /// Extent of one window in input elements: d * (k - 1) + 1.
  constexpr index_t extent() const noexcept { return dilation * (kernel - 1) + 1; }

  /// First input position covered by window `o` (may be negative: leading padding).
  constexpr index_t start(index_t o) const noexcept { return o * stride - pad_before; }

  /// The in-bounds taps of window `o`, stepping by `dilation`; begin == end when none.
  /// Overflow-free for every axis plan_axis accepts (in + pads and the extent fit in int64).
  constexpr Span window(index_t o) const noexcept {
    const index_t first = start(o);
    const index_t reach = dilation * (kernel - 1);  // last tap - first tap
    index_t begin = first;
    if (first < 0) {  // the first tap at or after 0 on the dilation grid
      const index_t r = -first % dilation;
      begin = r == 0 ? 0 : dilation - r;
    }
    const index_t end = reach >= in - first ? in : first + reach + 1;
    return Span{begin, begin < end ? end : begin};
  }

  /// The outputs whose windows lie wholly inside the input, every tap in bounds: [begin, end).
  constexpr Span inner_outputs() const noexcept {
    const index_t first = pad_before / stride + (pad_before % stride != 0);  // start(o) >= 0
    const index_t room = in - 1 - dilation * (kernel - 1) + pad_before;  // start(o) <= room
    index_t last = room >= 0 ? room / stride + 1 : 0;
    if (last > out) last = out;
    return Span{first, last > first ? last : first};
  }

  /// Number of taps of window `o` inside the input.
  constexpr index_t taps_inside(index_t o) const noexcept { return window(o).taps(dilation); }

  /// This axis's factor of window `o`'s average divisor (PyTorch's rules): the taps inside
  /// the padded extent with count_include_pad, else the taps inside the input.
  constexpr index_t divisor_factor(index_t o, bool count_include_pad) const noexcept {
    return count_include_pad ? taps_padded(o) : taps_inside(o);
  }

  /// Number of taps of window `o` inside the padded extent [-pad_before, in + pad_after):
  /// windows reaching past the trailing padding (ceil_mode overhang) count only what is inside.
  constexpr index_t taps_padded(index_t o) const noexcept {
    const index_t first = start(o);  // >= -pad_before for every valid o
    const index_t room = in + pad_after - first;
    const index_t fit = room > 0 ? (dilation == 1 ? room : (room - 1) / dilation + 1) : 0;
    return fit < kernel ? fit : kernel;
  }
};

namespace detail {

constexpr bool add_overflows(index_t a, index_t b, index_t* r) noexcept {
  return __builtin_add_overflow(a, b, r);
}
constexpr bool mul_overflows(index_t a, index_t b, index_t* r) noexcept {
  return __builtin_mul_overflow(a, b, r);
}

constexpr index_t floor_div(index_t a, index_t b) noexcept {  // b > 0
  const index_t q = a / b;
  return a % b < 0 ? q - 1 : q;
}

/// sum over i in [0, n) of floor((a * i + b) / m), for m >= 1, modulo 2**128: exact whenever
/// the true sum lies below 2**128. O(log m) steps of Euclid's kind, so sums over 2**62 terms
/// cost nothing.
constexpr count_t floor_sum(count_t n, count_t m, count_t a, count_t b) noexcept {
  count_t total = 0;
  while (n != 0) {
    total += (n * (n - 1) / 2) * (a / m) + n * (b / m);
    a %= m;
    b %= m;
    // The lattice points under the line, counted column-wise, are the points under the
    // mirrored line counted row-wise: swap the roles of a and m.
    const count_t top = a * n + b;
    if (top < m) break;
    n = top / m;
    b = top % m;
    const count_t t = m;
    m = a;
    a = t;
  }
  return total;
}

}  // namespace detail

/// Fill `a.out` from the other fields (all validated: in, kernel, stride, dilation >= 1 and
/// pads >= 0) and report whether the configuration is usable. With ceil_mode the last window
/// must start inside the input or the leading padding (PyTorch's rule).
constexpr AxisStatus plan_axis(Axis& a, bool ceil_mode) noexcept {
  using namespace detail;
  index_t span = 0, padded = 0, reach = 0, last_start = 0;
  if (mul_overflows(a.dilation, a.kernel - 1, &span) || add_overflows(span, 1, &span) ||
      add_overflows(a.in, a.pad_before, &padded) || add_overflows(padded, a.pad_after, &padded))
    return AxisStatus::overflow;
  // Starts of windows run over [0, room] relative to -pad_before; with ceil_mode one more
  // window may start before the end of the input (room > -stride still gives one output).
  const index_t room = padded - span;
  index_t out = floor_div(room, a.stride) + 1;
  if (ceil_mode) {
    if (room % a.stride != 0) ++out;
    index_t last = 0;  // the last window must not start in the trailing padding
    if (mul_overflows(out - 1, a.stride, &last) || last >= a.in + a.pad_before) --out;
  }
  if (out < 1) return AxisStatus::no_output;
  a.out = out;
  if (mul_overflows(out - 1, a.stride, &reach)) return AxisStatus::overflow;
  last_start = reach - a.pad_before;
  // Windows that start inside the input always hold their first tap. The last window must not
  // start past the input; windows starting in the leading padding may step over a short axis.
  if (last_start >= a.in) return AxisStatus::empty_window;
  if (a.pad_before > span - 1) return AxisStatus::empty_window;  // first window all padding
  // A window starting in the leading padding reaches 0 (the first one does), so its first tap
  // at or after 0 lies at (start mod dilation); when the input is shorter than the dilation
  // that tap alone can be inside. Count, in closed form, the windows whose tap misses.
  if (a.in < a.dilation) {
    const index_t leading = a.pad_before / a.stride + (a.pad_before % a.stride != 0);
    const count_t n = static_cast<count_t>(leading < out ? leading : out);
    const count_t d = static_cast<count_t>(a.dilation);
    const count_t s = static_cast<count_t>(a.stride) % d;
    const count_t b = (d - static_cast<count_t>(a.pad_before) % d) % d;  // start(0) mod d
    // [(x mod d) >= in] == floor((x + d - in) / d) - floor(x / d) for x >= 0 and in < d.
    const count_t missing = floor_sum(n, d, s, b + d - static_cast<count_t>(a.in)) -
                            floor_sum(n, d, s, b);
    if (missing != 0) return AxisStatus::empty_window;
  }
  return AxisStatus::ok;
}

/// Set TensorFlow/ONNX SAME_UPPER padding on `a` (in, kernel, stride, dilation validated
/// >= 1): the pads that give ceil(in / stride) outputs, the odd element after.
constexpr AxisStatus plan_same_padding(Axis& a) noexcept {
  using namespace detail;
  const index_t out = a.in / a.stride + (a.in % a.stride != 0);
  index_t need = 0, span = 0;
  if (mul_overflows(a.dilation, a.kernel - 1, &span) ||
      mul_overflows(out - 1, a.stride, &need) || add_overflows(need, span - a.in + 1, &need))
    return AxisStatus::overflow;
  const index_t total = need > 0 ? need : 0;
  a.pad_before = total / 2;
  a.pad_after = total - total / 2;
  return AxisStatus::ok;
}

/// Up to three spatial axes (depth, height, width); lower-dimensional pools leave the leading
/// axes trivial (in = kernel = out = 1), so one loop nest serves 1-d, 2-d and 3-d.
struct Geometry {
  Axis axes[3];

  constexpr const Axis& d() const noexcept { return axes[0]; }
  constexpr const Axis& h() const noexcept { return axes[1]; }
  constexpr const Axis& w() const noexcept { return axes[2]; }
  constexpr index_t in_size() const noexcept { return axes[0].in * axes[1].in * axes[2].in; }
  constexpr index_t out_size() const noexcept {
    return axes[0].out * axes[1].out * axes[2].out;
  }
  /// Output "rows": every (od, oh) pair, the unit that threads split a plane by.
  constexpr index_t out_rows() const noexcept { return axes[0].out * axes[1].out; }
};

/// Sum over the outputs of one planned axis of the taps that read an input element, in
/// closed form (an axis may hold 2**62 outputs). Tap t of window o lies at o*s - pb + t*d; the
/// in-bounds taps of a window run from index B(o) = max(0, ceil((pb - o*s) / d)) to
/// A(o) = min(k - 1, floor((in - 1 + pb - o*s) / d)), so the total is
/// sum(A) - sum(B) + out, each sum a floor_sum over a run of windows.
constexpr count_t taps_inside_total(const Axis& a) noexcept {
  const index_t s = a.stride, pb = a.pad_before, out = a.out;
  const count_t d = static_cast<count_t>(a.dilation);
  // B(o) > 0 only for windows starting in the leading padding, o < L; counted from the last
  // of them (o = L - 1 - j) the numerator pb - o*s grows by s with j.
  const index_t leading = pb / s + (pb % s != 0);
  const index_t n_lead = leading < out ? leading : out;
  const count_t sum_b =
      n_lead == 0 ? 0
                  : detail::floor_sum(static_cast<count_t>(n_lead), d, static_cast<count_t>(s),
                                      static_cast<count_t>(pb - (n_lead - 1) * s) + d - 1);
  // A(o) = k - 1 while o*s <= pb + in - extent; after that, counted from the last window, the
  // numerator in - 1 + pb - o*s grows by s.
  const index_t room = pb + a.in - a.extent();
  const index_t n_full = room < 0 ? 0 : (room / s + 1 < out ? room / s + 1 : out);
  const count_t sum_a =
      static_cast<count_t>(a.kernel - 1) * static_cast<count_t>(n_full) +
      detail::floor_sum(static_cast<count_t>(out - n_full), d, static_cast<count_t>(s),
                        static_cast<count_t>(a.in - 1 + pb - (out - 1) * s));
  return sum_a - sum_b + static_cast<count_t>(out);
}

}  // namespace poolkit
