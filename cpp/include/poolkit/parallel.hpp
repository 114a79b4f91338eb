// poolkit/parallel.hpp: the thread count and the one parallel loop (serial without OpenMP).
// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>

#include "poolkit/geometry.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace poolkit {

namespace detail {
inline int default_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();  // honours OMP_NUM_THREADS
#else
  return 1;
#endif
}
inline std::atomic<int>& thread_setting() noexcept {
  static std::atomic<int> n{default_threads()};
  return n;
}
}  // namespace detail

/// Threads that poolkit's parallel loops use, process-wide (not per calling thread, unlike
/// omp_set_num_threads, so a setting made on one Python thread holds for all of them).
inline int get_num_threads() noexcept { return detail::thread_setting().load(); }
inline void set_num_threads(int n) noexcept { detail::thread_setting().store(n < 1 ? 1 : n); }

/// Run f(i) for i in [0, n), statically split over `threads` threads. Each index has exactly
/// one caller, so results cannot depend on the thread count.
template <typename F>
void parallel_for(index_t n, int threads, F&& f) {
#ifdef _OPENMP
  if (threads > 1 && n > 1) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (index_t i = 0; i < n; ++i) f(i);
    return;
  }
#else
  (void)threads;
#endif
  for (index_t i = 0; i < n; ++i) f(i);
}

}  // namespace poolkit
