// cpp/tests/test_parallel.cpp: parallel_for runs each index once, on at most the threads asked
// for, from concurrent callers, after an exception and (POSIX) in a forked child.
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "check.hpp"
#include "poolkit/parallel.hpp"

using poolkit::index_t;

namespace {

/// Runs parallel_for(n, threads) and checks that each index ran once and that no more than
/// `threads` threads (one without OpenMP) took part. Returns the threads that took part.
std::size_t check_each_index_once(index_t n, int threads) {
  std::vector<std::atomic<int>> runs(static_cast<std::size_t>(n));
  std::mutex mutex;
  std::set<std::thread::id> ids;
  poolkit::parallel_for(n, threads, [&](index_t i) {
    runs[static_cast<std::size_t>(i)].fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex);
    ids.insert(std::this_thread::get_id());
  });
  int wrong = 0;
  for (const auto& r : runs) wrong += r.load() != 1;
  CHECK(wrong == 0, "n=%lld threads=%d: %d indices not run exactly once", (long long)n, threads,
        wrong);
#ifdef _OPENMP
  const std::size_t most = static_cast<std::size_t>(threads);
#else
  const std::size_t most = 1;
#endif
  CHECK(ids.size() <= most, "n=%lld threads=%d: %zu threads took part", (long long)n, threads,
        ids.size());
  return ids.size();
}

void test_each_index_once() {
  // Growing and shrinking the thread count between calls: workers started for 16 threads must
  // not join a call for 2.
  for (int threads : {1, 2, 16, 3, 2, 7, 1, 5})
    for (index_t n : {0, 1, 2, 3, 7, 64, 1000, 70000}) check_each_index_once(n, threads);
}

void test_exception_reaches_the_caller() {
  for (int threads : {1, 2, 4}) {
    std::atomic<int> ran{0};
    bool caught = false;
    try {
      poolkit::parallel_for(32, threads, [&](index_t i) {
        ran.fetch_add(1);
        if (i == 17) throw std::runtime_error("task 17");
      });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "task 17";
    }
    CHECK(caught, "threads=%d: the task's exception did not reach the caller", threads);
    CHECK(ran.load() >= 1, "threads=%d: no task ran", threads);
    check_each_index_once(100, threads);  // the workers still serve later calls
  }
}

void test_concurrent_callers() {
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([c] {
      for (int round = 0; round < 200; ++round) check_each_index_once(37 + c, 2 + c % 3);
    });
  for (std::thread& t : callers) t.join();
}

void test_idle_between_calls() {
  // Workers asleep after idling (longer than they spin) are woken by the next call: with tasks
  // that sleep 1 ms, a woken worker has time to take some. Each index still runs once.
  int joined = 0;
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    check_each_index_once(64, 4);
    std::mutex mutex;
    std::set<std::thread::id> ids;
    poolkit::parallel_for(16, 2, [&](index_t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::lock_guard<std::mutex> lock(mutex);
      ids.insert(std::this_thread::get_id());
    });
    joined += ids.size() > 1;
  }
#ifdef _OPENMP
  CHECK(joined > 0, "no worker took part in a call after idling, in 5 calls");
#endif
}

void test_forked_child() {
#if defined(_OPENMP) && (defined(__unix__) || defined(__APPLE__))
  check_each_index_once(64, 4);  // the parent's workers exist
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    check_each_index_once(64, 4);  // the child has none of them
#ifdef __linux__
    // It started its own: the calling thread is not alone.
    std::size_t tasks = 0;
    if (DIR* dir = opendir("/proc/self/task")) {
      while (const dirent* entry = readdir(dir)) tasks += entry->d_name[0] != '.';
      closedir(dir);
    }
    CHECK(tasks > 1, "the forked child runs %zu threads after a call for 4", tasks);
#endif
    std::fflush(stdout);
    _exit(check::failures == 0 ? 0 : 1);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0,
        "the forked child's parallel_for failed (status %d)", status);
#endif
}

}  // namespace

int main() {
  test_each_index_once();
  test_exception_reaches_the_caller();
  test_concurrent_callers();
  test_idle_between_calls();
  test_forked_child();
  std::printf("%s: %d failed checks\n", __FILE__, check::failures);
  return check::failures == 0 ? 0 : 1;
}
