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

/// Every element type poolkit pools, as X(enumerator, scalar type): the one list that DType,
/// dispatch() and the kernels compiled apart (POOLKIT_KERNEL_INSTANCES, poolkit.hpp) follow.
#define POOLKIT_DTYPES(X)                                                                    \
  X(f16, ::poolkit::float16_t) X(bf16, ::poolkit::bfloat16_t) X(f32, float) X(f64, double)     \
  X(i8, ::std::int8_t) X(u8, ::std::uint8_t) X(i16, ::std::int16_t) X(u16, ::std::uint16_t)   \
  X(i32, ::std::int32_t) X(i64, ::std::int64_t)

/// The element types; the Python dtype table maps onto these names.
#define POOLKIT_ENUMERATOR(name, type) name,
enum class DType : int { POOLKIT_DTYPES(POOLKIT_ENUMERATOR) };
#undef POOLKIT_ENUMERATOR

/// The scalar type of a dtype.
template <DType D>
struct scalar_of;
#define POOLKIT_SCALAR_OF(name, scalar) \
  template <>                           \
  struct scalar_of<DType::name> {       \
    using type = scalar;                \
  };
POOLKIT_DTYPES(POOLKIT_SCALAR_OF)
#undef POOLKIT_SCALAR_OF

template <typename T>
struct type_tag {
  using type = T;
};

/// Call `f(type_tag<T>{})` with the scalar type named by `dtype`.
template <typename F>
decltype(auto) dispatch(DType dtype, F&& f) {
#define POOLKIT_CASE(name, scalar) \
  case DType::name:                \
    return f(type_tag<scalar>{});
  switch (dtype) { POOLKIT_DTYPES(POOLKIT_CASE) }
#undef POOLKIT_CASE
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
