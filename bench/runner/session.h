// One ovlab-bench run: the plan, the scratch filesystems (made before the run so their mkfs
// lines can go into the JSON context), the stack cache, and the registered instances with the
// progress line. Instances are registered backing by backing and target by target, so a
// one-entry stack cache is enough: consecutive instances share their image.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/result.h"
#include "generators/profile.h"
#include "runner/run_plan.h"
#include "runner/stack.h"
#include "scratch/scratch.h"

namespace ovlab::bench {

using BenchFn = std::function<void(benchmark::State&)>;

class Session {
 public:
  Session(RunPlan plan, std::string scratch_parent, uint64_t seed);
  ~Session();

  const RunPlan& plan() const { return plan_; }
  uint64_t seed() const { return seed_; }
  // Repetitions actually run (--benchmark_repetitions may override the plan).
  int repetitions() const { return repetitions_; }
  void set_repetitions(int n) { repetitions_ = n; }

  // Makes the scratch filesystem of `b`; the error is the reason its instances are skipped.
  Status PrepareBacking(scratch::Backing b);
  bool HasBacking(scratch::Backing b) const { return scratch_.count(b) > 0; }
  const scratch::ScratchFs& Scratch(scratch::Backing b) const { return *scratch_.at(b); }
  // A fresh, not yet existing path on the scratch filesystem of `b`.
  std::string NewPath(scratch::Backing b, const std::string& prefix);
  // 0, 1, 2, ...: unique names within the run.
  uint64_t NextId() { return next_path_++; }

  // The stack of `profile` for target on b, built unless it is the cached one (which is then
  // destroyed first: one stack at a time keeps the scratch filesystems small).
  Result<Stack*> GetStack(const std::string& target, scratch::Backing b,
                          const ImageProfile& profile, size_t max_depth = 128,
                          io::CopyStrategy copy_strategy = io::CopyStrategy::kAuto);
  void DropStack();

  // Registers an instance (manual time, fixed iterations) with the progress line around it.
  // repetitions > 0 overrides the run's (deterministic counts need fewer).
  void Add(const std::string& name, int iterations, BenchFn fn, int repetitions = 0);
  // The registered instances `filter` selects (Google Benchmark's regex syntax), with the
  // suffixes Google Benchmark appends.
  std::vector<std::string> SelectedNames(const std::string& filter) const;
  void StartClock(size_t selected);

  // Destroys the stack and the scratch filesystems.
  void Shutdown();

 private:
  void Progress(const std::string& name);

  RunPlan plan_;
  std::string scratch_parent_;
  uint64_t seed_;
  int repetitions_;
  std::map<scratch::Backing, std::unique_ptr<scratch::ScratchFs>> scratch_;
  uint64_t next_path_ = 0;
  std::string stack_key_;
  std::unique_ptr<Stack> stack_;
  std::vector<std::string> names_;
  std::map<std::string, bool> started_;
  size_t selected_ = 0, done_ = 0;
  std::chrono::steady_clock::time_point t0_;
};

// Reports a failure of the instance (Google Benchmark marks the run as errored).
void SkipWithError(benchmark::State& state, const std::string& message);

}  // namespace ovlab::bench
