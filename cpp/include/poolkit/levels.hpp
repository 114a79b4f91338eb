// poolkit/levels.hpp: the loop nest compiled once per instruction-set level, and the call
// that runs it at a chosen level.
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "poolkit/dispatch.hpp"
#include "poolkit/problem.hpp"

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

}  // namespace detail
}  // namespace poolkit
