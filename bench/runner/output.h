// What ovlab-bench adds once Google Benchmark is done: the count of instances that errored (the
// exit status) and, in the JSON file, the context Google Benchmark's string-only context cannot
// hold: the target table (`ovlab_targets`) and the load average at the end.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "base/result.h"

namespace ovlab::bench {

// The console reporter, counting the instances that errored.
class ErrorCountingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  const std::set<std::string>& errored() const { return errored_; }
  const std::string& first_error() const { return first_error_; }

 private:
  std::set<std::string> errored_;
  std::string first_error_;
};

// Rewrites the JSON at `path` with `extra` merged into its context (atomically).
Status AddToJsonContext(const std::string& path, const nlohmann::json& extra);

}  // namespace ovlab::bench
