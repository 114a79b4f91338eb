// poolkit/dispatch.hpp: the one switch from a runtime dtype to a scalar type, and the one
// choice of the instruction-set level the kernels run at.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "poolkit/dtypes.hpp"

namespace poolkit {

/// The element types poolkit pools; the Python dtype table maps onto these names.
enum class DType : int { f16, bf16, f32, f64, i8, u8, i16, u16, i32, i64 };

template <typename T>
struct type_tag {
  using type = T;
};

/// Call `f(type_tag<T>{})` with the scalar type named by `dtype`.
template <typename F>
decltype(auto) dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f16: return f(type_tag<float16_t>{});
    case DType::bf16: return f(type_tag<bfloat16_t>{});
    case DType::f32: return f(type_tag<float>{});
    case DType::f64: return f(type_tag<double>{});
    case DType::i8: return f(type_tag<std::int8_t>{});
    case DType::u8: return f(type_tag<std::uint8_t>{});
    case DType::i16: return f(type_tag<std::int16_t>{});
    case DType::u16: return f(type_tag<std::uint16_t>{});
    case DType::i32: return f(type_tag<std::int32_t>{});
    case DType::i64: return f(type_tag<std::int64_t>{});
  }
  throw std::logic_error("poolkit: unknown dtype code");
}

/// Instruction-set levels the kernels are built for. Every level compiles the same templates
/// (levels.hpp), the same operations lane by lane, so every level gives bitwise identical
/// results.
enum class Simd : int { baseline = 0, avx2 = 1, avx512 = 2 };

// The levels are compiled through `#pragma GCC target`, which Clang does not take: a Clang
// build holds the baseline alone.
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define POOLKIT_X86_DISPATCH 1
#endif

/// The name of a level as build_info() and POOLKIT_SIMD spell it.
inline const char* simd_name(Simd level) noexcept {
#ifdef POOLKIT_X86_DISPATCH
  switch (level) {
    case Simd::avx512: return "avx512";
    case Simd::avx2: return "avx2";
    case Simd::baseline: return "sse2";
  }
#endif
  (void)level;
  return "scalar";
}

/// The levels this build holds, lowest first.
inline std::vector<Simd> simd_compiled() {
#ifdef POOLKIT_X86_DISPATCH
  return {Simd::baseline, Simd::avx2, Simd::avx512};
#else
  return {Simd::baseline};
#endif
}

/// The highest level this CPU (and its operating system) supports.
inline Simd simd_supported() noexcept {
#ifdef POOLKIT_X86_DISPATCH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return Simd::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Simd::avx2;
#endif
  return Simd::baseline;
}

/// The level of `name` ("avx512", "avx2", or "sse2", "sse", "scalar" for the baseline), or -1
/// for an unknown name.
inline int simd_from_name(const char* name) noexcept {
  for (Simd level : simd_compiled())
    if (std::strcmp(name, simd_name(level)) == 0) return static_cast<int>(level);
  for (const char* alias : {"scalar", "sse", "sse2"})
    if (std::strcmp(name, alias) == 0) return static_cast<int>(Simd::baseline);
  return -1;
}

/// The level kernels run at: the supported one, lowered by the environment variable
/// POOLKIT_SIMD when it names a lower level; chosen once.
inline Simd simd_active() noexcept {
  static const Simd level = [] {
    const Simd best = simd_supported();
    const char* forced = std::getenv("POOLKIT_SIMD");
    const int want = forced ? simd_from_name(forced) : -1;
    return want >= 0 && want < static_cast<int>(best) ? static_cast<Simd>(want) : best;
  }();
  return level;
}

}  // namespace poolkit
