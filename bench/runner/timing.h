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

}  // namespace ovlab::bench
