// cpp/tests/test_parallel.cpp: parallel_for runs each index once, on at most the threads asked
// for, from concurrent callers and (POSIX) in a child forked after a parallel loop ran.
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
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

void test_concurrent_callers() {
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([c] {
      for (int round = 0; round < 200; ++round) check_each_index_once(37 + c, 2 + c % 3);
    });
  for (std::thread& t : callers) t.join();
}

void test_forked_child() {
#if defined(_OPENMP) && (defined(__unix__) || defined(__APPLE__))
  check_each_index_once(64, 4);  // a parallel loop ran in the parent
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {  // GNU OpenMP hung here; the child must finish, serially
    alarm(60);
    const std::size_t threads = check_each_index_once(64, 4);
    CHECK(threads == 1, "the forked child ran on %zu threads", threads);
    std::fflush(stdout);
    _exit(check::failures == 0 ? 0 : 1);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0,
        "the forked child's parallel_for failed or hung (status %d)", status);
#endif
}

}  // namespace

int main() {
  test_each_index_once();
  test_concurrent_callers();
  test_forked_child();
  std::printf("%s: %d failed checks\n", __FILE__, check::failures);
  return check::failures == 0 ? 0 : 1;
}
