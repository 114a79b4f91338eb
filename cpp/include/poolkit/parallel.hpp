// poolkit/parallel.hpp: the thread count and the one parallel loop (serial without OpenMP).
// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>

#include "poolkit/geometry.hpp"

#ifdef _OPENMP
#include <omp.h>
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif
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

/// Whether OpenMP may start a parallel region in this process: not in a child forked after
/// one ran. GNU OpenMP's workers are not in the child, and its first region there hung (a
/// forked child's first threaded call never returned), so such a child runs serially.
inline std::atomic<bool>& threads_usable() noexcept {
  static std::atomic<bool> usable{true};
  return usable;
}
inline void note_parallel_region() noexcept {
#if defined(_OPENMP) && (defined(__unix__) || defined(__APPLE__))
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { threads_usable().store(false); });
    return true;
  }();
  (void)registered;
#endif
}
}  // namespace detail

/// Threads that poolkit's parallel loops use, process-wide (not per calling thread, unlike
/// omp_set_num_threads, so a setting made on one Python thread holds for all of them).
inline int get_num_threads() noexcept { return detail::thread_setting().load(); }
inline void set_num_threads(int n) noexcept { detail::thread_setting().store(n < 1 ? 1 : n); }

/// Run f(i) for i in [0, n), statically split over `threads` threads (serially in a child
/// forked after a parallel loop ran). Each index has exactly one caller, so results cannot
/// depend on the thread count.
template <typename F>
void parallel_for(index_t n, int threads, F&& f) {
#ifdef _OPENMP
  if (threads > 1 && n > 1 && detail::threads_usable().load(std::memory_order_relaxed)) {
    detail::note_parallel_region();
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
