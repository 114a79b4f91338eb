// poolkit/parallel.hpp: the thread count and the one parallel loop (serial without OpenMP).
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "poolkit/geometry.hpp"

#ifdef _OPENMP
#include <omp.h>
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif
#ifdef __linux__
#include <sched.h>
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
}  // namespace detail

/// Threads that poolkit's parallel loops use, process-wide (not per calling thread, unlike
/// omp_set_num_threads, so a setting made on one Python thread holds for all of them).
inline int get_num_threads() noexcept { return detail::thread_setting().load(); }
inline void set_num_threads(int n) noexcept { detail::thread_setting().store(n < 1 ? 1 : n); }

#ifdef _OPENMP
namespace detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// poolkit's workers. Threads run only in builds with OpenMP, whose runtime gives the default
/// count, but the loop runs here rather than in an OpenMP parallel region: a region ends at a
/// barrier where the caller waits for every thread of the team, started or not. A worker woken
/// after the process sat idle is often queued on the caller's own CPU, and the caller, spinning
/// at that barrier, keeps it from running: traced on 2 cores, the NHWC Inception 3 x 3 average
/// took 4.8 ms (median) when each call came 50 ms after the last, against 0.41 ms back to back
/// and 0.8 ms on one thread. Here tasks are claimed one at a time from a shared ticket, by the
/// caller as well, and the caller waits only for the tasks a worker has claimed: a worker that
/// has not started by the time the tasks run out has none to wait for.
class Pool {
 public:
  using Task = void (*)(void* context, index_t task);
  /// Tasks per call at most, and workers at most (beside the caller).
  static constexpr index_t kMaxTasks = 0xffff;
  static constexpr int kMaxHelpers = 4095;

  /// Runs task(context, i) for each i in [0, tasks), each once, on the calling thread and up
  /// to `helpers` workers, and returns when all have run, rethrowing the first exception a task
  /// threw. Returns false, running nothing, when another thread's call holds the pool.
  bool run(index_t tasks, int helpers, Task task, void* context) {
    std::unique_lock<std::mutex> call(call_mutex_, std::try_to_lock);
    if (!call.owns_lock()) return false;
    helpers = grow(std::min(helpers, kMaxHelpers));
    task_ = task;
    context_ = context;
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
#ifdef __linux__
    caller_cpu_.store(sched_getcpu(), std::memory_order_relaxed);
#endif
    generation_ = generation_ == 0xffffffffu ? 1 : generation_ + 1;  // 0: no call yet
    ticket_.store(std::uint64_t{generation_} << 32 | static_cast<std::uint64_t>(tasks) << 16,
                  std::memory_order_release);
    for (int k = 0; k < helpers; ++k) workers_[k]->call.store(generation_);
    if (sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lock(sleep_mutex_); }
      wake_.notify_all();
    }
    claim(generation_);
    for (unsigned spins = 0; done_.load(std::memory_order_acquire) != tasks; ++spins) {
      if (spins < 256) cpu_relax();
      else std::this_thread::yield();  // a claimed task's worker may be queued on this CPU
    }
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  struct alignas(64) Worker {
    std::atomic<std::uint32_t> call{0};  // the generation this worker is asked to join
    std::thread thread;
  };
  /// How long a worker waits for the next call, yielding its CPU to any other thread that
  /// wants it, before it sleeps: calls from a loop find the workers awake.
  static constexpr std::chrono::microseconds kSpin{1000};

  // ticket_: the call's generation (32 bits), its task count (16) and the next task (16). A
  // claim is a compare-exchange of the whole, so a worker late for one call cannot claim a
  // task of the next.
  void claim(std::uint32_t generation) {
    for (;;) {
      std::uint64_t t = ticket_.load(std::memory_order_acquire);
      const index_t next = static_cast<index_t>(t & 0xffff);
      if (static_cast<std::uint32_t>(t >> 32) != generation ||
          next >= static_cast<index_t>(t >> 16 & 0xffff))
        return;
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
      try {
        task_(context_, next);
      } catch (...) {
        std::lock_guard<std::mutex> lock(sleep_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  void serve(Worker& w) {
    std::uint32_t seen = 0;
    for (;;) {
      std::uint32_t g = w.call.load();
      const auto until = std::chrono::steady_clock::now() + kSpin;
      for (unsigned spins = 1; g == seen; ++spins, g = w.call.load()) {
        if (spins % 8 == 0 && on_caller_cpu()) std::this_thread::yield();
        else cpu_relax();
        if (spins % 64 == 0 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(sleep_mutex_);
          sleepers_.fetch_add(1);
          wake_.wait(lock, [&] { return w.call.load() != seen; });
          sleepers_.fetch_sub(1);
        }
      }
      seen = g;
      claim(g);
    }
  }

  /// Whether this thread runs on the CPU the last call started on, where waiting without
  /// yielding would keep the caller from running (true where that is not known). Elsewhere a
  /// waiting worker keeps its CPU, as OpenMP's do: a worker that yields it to other
  /// libraries' spinning threads missed calls (the two-thread bench rows ran at one-thread
  /// speed with ONNX Runtime loaded).
  bool on_caller_cpu() const noexcept {
#ifdef __linux__
    return sched_getcpu() == caller_cpu_.load(std::memory_order_relaxed);
#else
    return true;
#endif
  }

  /// Starts workers until there are `helpers` (fewer if the system refuses a thread); returns
  /// how many there are.
  int grow(int helpers) {
    while (static_cast<int>(workers_.size()) < helpers) {
      auto w = std::make_unique<Worker>();
      try {
        Worker* raw = w.get();
        w->thread = std::thread([this, raw] { serve(*raw); });
        w->thread.detach();
      } catch (const std::system_error&) {
        break;
      }
      workers_.push_back(std::move(w));
    }
    return std::min(helpers, static_cast<int>(workers_.size()));
  }

  std::mutex call_mutex_;  // one call at a time
  std::vector<std::unique_ptr<Worker>> workers_;
  std::uint32_t generation_ = 0;
  Task task_ = nullptr;
  void* context_ = nullptr;
  std::exception_ptr error_;
  alignas(64) std::atomic<std::uint64_t> ticket_{0};
  alignas(64) std::atomic<index_t> done_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<int> caller_cpu_{-1};  // where the last call started (Linux)
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
};

/// The process's Pool. Never destroyed: its workers are detached and sleep through exit. A
/// child process made by fork has none of its parent's workers, so it starts a new Pool.
inline std::atomic<Pool*>& pool_slot() noexcept {
  static std::atomic<Pool*> slot{[] {
#if defined(__unix__) || defined(__APPLE__)
    pthread_atfork(nullptr, nullptr, [] { pool_slot().store(new Pool); });
#endif
    return new Pool;
  }()};
  return slot;
}

}  // namespace detail
#endif

/// Run f(i) for i in [0, n), over up to `threads` threads: the calling thread and poolkit's
/// workers, each taking the next index until none is left. Each index has exactly one caller,
/// so results cannot depend on the thread count. While another thread's call holds the
/// workers, the calling thread runs every index itself.
template <typename F>
void parallel_for(index_t n, int threads, F&& f) {
#ifdef _OPENMP
  if (threads > 1 && n > 1) {
    using Fn = std::remove_reference_t<F>;
    const index_t tasks = std::min(n, detail::Pool::kMaxTasks);
    struct Context {
      Fn* f;
      index_t n, tasks;
    } context{&f, n, tasks};
    const auto task = [](void* c, index_t t) {
      const Context& x = *static_cast<Context*>(c);
      // Indices [n * t / tasks, n * (t + 1) / tasks), without overflow.
      const index_t q = x.n / x.tasks, r = x.n % x.tasks;
      const index_t first = t * q + std::min(t, r), last = first + q + (t < r ? 1 : 0);
      for (index_t i = first; i < last; ++i) (*x.f)(i);
    };
    const int helpers = static_cast<int>(std::min<index_t>(threads, tasks)) - 1;
    if (detail::pool_slot().load()->run(tasks, helpers, task, &context)) return;
  }
#else
  (void)threads;
#endif
  for (index_t i = 0; i < n; ++i) f(i);
}

}  // namespace poolkit
