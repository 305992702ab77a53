// Runs a function when the scope ends unless dismissed: the rollback of a multi-step operation
// ("leave nothing half-made") without exceptions.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace ovlab {

class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  // Undo steps run in reverse order of Add.
  ~Rollback() {
    if (armed_) {
      for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
    }
  }
  void Add(std::function<void()> undo) { steps_.push_back(std::move(undo)); }
  // The operation succeeded: keep everything.
  void Dismiss() { armed_ = false; }

 private:
  std::vector<std::function<void()>> steps_;
  bool armed_ = true;
};

}  // namespace ovlab
