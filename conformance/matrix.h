// The conformance matrix: per case and target, the verdict with observed and expected results.
// Written as JSON; the schema is documented in conformance/README.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab::conformance {

enum class Verdict { kPass, kFail, kSkip, kKnownDeviation };
const char* VerdictName(Verdict v);  // "pass", "fail", "skip", "known-deviation"

struct TargetResult {
  std::string target;
  Verdict verdict = Verdict::kSkip;
  std::string reason;  // why skipped / failed / deviating (one line); "" on pass
  std::string options;
  std::vector<std::string> observed, expected;
};

struct CaseRecord {
  std::string id;  // GoogleTest full name: "Open/OpenMatrix.Flags/lower_file_O_RDWR"
  std::string family, checklist, description;
  std::vector<TargetResult> results;
};

struct TargetDescription {
  std::string name, role, version, options, skip_reason;
};

class Matrix {
 public:
  void AddTarget(TargetDescription t) { targets_.push_back(std::move(t)); }
  // The filesystem the fixtures lived on and why it was chosen.
  void SetBacking(std::string backing, std::string note) {
    backing_ = std::move(backing);
    backing_note_ = std::move(note);
  }
  void AddCase(CaseRecord c) { cases_.push_back(std::move(c)); }
  const std::vector<CaseRecord>& cases() const { return cases_; }
  // Fills a target's version/options from the first case that ran on it.
  void NoteTargetRun(const std::string& name, const std::string& version,
                     const std::string& options);
  std::string ToJson() const;
  Status Write(const std::string& path) const;

 private:
  std::vector<TargetDescription> targets_;
  std::vector<CaseRecord> cases_;
  std::string backing_ = "tmpfs", backing_note_;
};

}  // namespace ovlab::conformance
