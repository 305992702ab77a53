// Manual timing of one operation: setup stays outside, only `op` is inside the window.
#pragma once

#include <time.h>

#include <chrono>
#include <utility>

namespace ovlab::bench {

// Runs op() and returns {its result, seconds it took}.
template <class Op>
auto Timed(Op&& op) {
  auto t0 = std::chrono::steady_clock::now();
  auto result = op();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::make_pair(std::move(result), seconds);
}

// CPU time of the calling thread (user + system), in seconds: unlike the wall clock it leaves out
// the time the thread waits for a CPU, which on a shared machine dominates short system calls.
inline double ThreadCpuSeconds() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The fastest of `batches` timed runs of op() (stopping at the first failure): for short
// CPU-bound operations on a shared machine, a run another process preempted times that process.
template <class Op>
auto FastestOf(int batches, Op&& op) {
  auto best = Timed(op);
  for (int i = 1; i < batches && best.first; ++i) {
    auto next = Timed(op);
    if (!next.first || next.second < best.second) best = std::move(next);
  }
  return best;
}

}  // namespace ovlab::bench
