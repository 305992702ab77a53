// Manual timing of one operation: setup stays outside, only `op` is inside the window.
#pragma once

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
