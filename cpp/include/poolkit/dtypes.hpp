// poolkit/dtypes.hpp: the scalar types poolkit pools, their accumulators and their extremes.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "poolkit/geometry.hpp"

namespace poolkit {

/// IEEE binary16, the layout of NumPy's float16 (GCC >= 12 and Clang >= 15 on x86-64 and
/// AArch64 provide _Float16 without any instruction-set flag).
using float16_t = _Float16;

/// bfloat16, the layout of ml_dtypes.bfloat16: the upper half of a float32. It computes as
/// float; converting back rounds to nearest even and keeps NaN a (quiet) NaN.
struct bfloat16_t {
  std::uint16_t bits;

  bfloat16_t() = default;
  explicit constexpr bfloat16_t(float f) noexcept : bits(round_from(f)) {}
  constexpr operator float() const noexcept {
    return __builtin_bit_cast(float, static_cast<std::uint32_t>(bits) << 16);
  }

 private:
  static constexpr std::uint16_t round_from(float f) noexcept {
    const std::uint32_t u = __builtin_bit_cast(std::uint32_t, f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
    return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
};

/// Floating types, the 16-bit ones included (std::is_floating_point is false for them).
template <typename T>
inline constexpr bool is_float_v = std::is_floating_point_v<T> ||
                                   std::is_same_v<T, float16_t> ||
                                   std::is_same_v<T, bfloat16_t>;

namespace detail {

template <typename T>
struct AccumOf {
  using type = T;  // float and double accumulate in their own type, as PyTorch's CPU kernels
};
// Integers sum exactly: 8- and 16-bit values in int64 (2**47 taps cannot overflow it), wider
// ones in 128 bits so that even a window over an entire int64 plane stays exact.
template <> struct AccumOf<float16_t> { using type = float; };  // as PyTorch: float32 sums
template <> struct AccumOf<bfloat16_t> { using type = float; };
template <> struct AccumOf<std::int8_t> { using type = std::int64_t; };
template <> struct AccumOf<std::uint8_t> { using type = std::int64_t; };
template <> struct AccumOf<std::int16_t> { using type = std::int64_t; };
template <> struct AccumOf<std::uint16_t> { using type = std::int64_t; };
template <> struct AccumOf<std::int32_t> { using type = __int128; };
template <> struct AccumOf<std::int64_t> { using type = __int128; };

}  // namespace detail

/// The type a window sum of T is accumulated in.
template <typename T>
using accum_t = typename detail::AccumOf<T>::type;

/// The identity of max: -inf for floating types, the smallest value for integers.
template <typename T>
constexpr T lowest() noexcept {
  if constexpr (is_float_v<T>) return static_cast<T>(-std::numeric_limits<float>::infinity());
  else return std::numeric_limits<T>::lowest();
}

/// NaN test that vanishes for integers.
template <typename T>
constexpr bool is_nan(T v) noexcept {
  if constexpr (is_float_v<T>) return v != v;
  else return false;
}

/// Whether `v` replaces `best` as a window's maximum: larger, or the first NaN (a NaN, once
/// held, is never replaced, so the first NaN in window order wins as the contract says).
template <typename T>
constexpr bool beats(T v, T best) noexcept {
  // !(v <= best) is v > best or v NaN; best == best is false once best is NaN. Two compares,
  // so the lane loops stay short.
  if constexpr (is_float_v<T>) return !(v <= best) && best == best;
  else return v > best;
}

/// The largest magnitude of an integer type of at most 32 bits: max(-lowest, max).
template <typename T>
constexpr index_t largest_magnitude() noexcept {
  return std::max<index_t>(-index_t{std::numeric_limits<T>::lowest()},
                           index_t{std::numeric_limits<T>::max()});
}

/// Whether divide_round_in<F, T> is exact for every sum of at most `taps` values of T and
/// every divisor up to `max_divisor`: |sum| < 2**(p - 2) and divisor < 2**p, for the p digits
/// of F's significand (24 for float, 53 for double).
template <typename F, typename T>
constexpr bool sums_divide_in(index_t taps, index_t max_divisor) noexcept {
  constexpr int kDigits = std::numeric_limits<F>::digits;
  constexpr index_t kExact = index_t{1} << (kDigits - 2);
  if constexpr (is_float_v<T> || sizeof(T) > 4) {
    return false;
  } else {
    return taps >= 0 && taps < kExact / largest_magnitude<T>() &&
           max_divisor < (index_t{1} << kDigits);
  }
}

/// How divide_round_in<F, T> rounds a quotient q in F: (q + kRound) - kRound is q rounded to
/// the nearest integer, ties to even, for |q| < 2**(p - 2); converted to I (int32 for float,
/// whose lanes are twice as many as 64-bit ones; int64 for double), then clamped to
/// [lo, hi], T's range within I's (|q| < 2**(p - 2) fits I, so the clamp is T's where it
/// matters). Shared with its vector twin (VectorSteps::divide_round_in).
template <typename F, typename T>
struct RoundIn {
  static constexpr int kDigits = std::numeric_limits<F>::digits;
  using I = std::conditional_t<sizeof(F) == 4, std::int32_t, index_t>;
  static constexpr I lo = static_cast<I>(std::max<index_t>(std::numeric_limits<T>::lowest(),
                                                           std::numeric_limits<I>::lowest()));
  static constexpr I hi = static_cast<I>(std::min<index_t>(std::numeric_limits<T>::max(),
                                                           std::numeric_limits<I>::max()));
  static constexpr F kRound = F(3) * F(index_t{1} << (kDigits - 2));  // 1.5 * 2**(p - 1)
};

/// `sum / divisor` rounded to the nearest integer, ties to even, saturated to the integer type
/// T, computed in the floating type F, for |sum| < 2**(p - 2) and 0 < divisor < 2**p (p: F's
/// significand digits; the caller guarantees both): both convert to F exactly, and the
/// correctly rounded quotient (|q| < 2**(p - 2)) lies within |q| * 2**-p of the exact one,
/// closer than 1 / (2 * divisor), the least distance between sum / divisor and a
/// half-integer it is not; adding and removing 1.5 * 2**(p - 1) then rounds it as the exact
/// division would. No branch, so loops over lanes vectorise; in float, twice the lanes of
/// double per division (the uint8 2 x 2 average of a 3 x 4096 x 4096 image ran 11.6 ->
/// 7.4 ms).
template <typename F, typename T, typename Acc>
constexpr T divide_round_in(Acc sum, index_t divisor) noexcept {
  using R = RoundIn<F, T>;
  using I = typename R::I;
  // A 128-bit sum goes through int64 (converted directly, it is a library call); a 32-bit
  // one converts directly (through int64 its vector lanes took twice the instructions).
  using Narrow = std::conditional_t<(sizeof(Acc) > 8), index_t, Acc>;
  const F q = static_cast<F>(static_cast<Narrow>(sum)) / static_cast<F>(divisor);
  const I n = static_cast<I>((q + R::kRound) - R::kRound);
  return static_cast<T>(n < R::lo ? R::lo : (n > R::hi ? R::hi : n));
}

/// `sum / divisor` (divisor > 0, an integer: an index_t, or for floating types already
/// converted to Acc) as a T, rounded once: floating types divide in the accumulator type;
/// integers round to nearest with ties to even, then saturate to T.
template <typename T, typename Acc, typename D>
constexpr T divide_round(Acc sum, D divisor) noexcept {
  if constexpr (is_float_v<T>) {
    return static_cast<T>(sum / static_cast<Acc>(divisor));
  } else {
    constexpr index_t kExact = index_t{1} << 51;
    bool in_double = divisor < (index_t{1} << 53);  // and |sum| < kExact (always in 32 bits)
    if constexpr (sizeof(Acc) > 4) in_double = in_double && sum > -Acc{kExact} && sum < Acc{kExact};
    if (in_double) return divide_round_in<double, T>(sum, divisor);
    if constexpr (sizeof(Acc) <= 4) {
      return T(0);  // |sum| < 2**31 over a divisor of at least 2**53 rounds to 0
    } else {
      constexpr Acc lo = std::numeric_limits<T>::lowest();
      constexpr Acc hi = std::numeric_limits<T>::max();
      const Acc d = divisor;
      Acc q = sum / d;
      const Acc r = sum % d;  // takes the sign of sum
      const Acc mag = r < 0 ? -r : r;
      if (mag > d - mag || (mag == d - mag && (q & 1) != 0)) q += sum < 0 ? -1 : 1;
      return static_cast<T>(q < lo ? lo : (q > hi ? hi : q));
    }
  }
}

}  // namespace poolkit
