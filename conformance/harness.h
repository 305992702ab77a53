// Runs one case on every selected target: a fresh fixture per target, the kernel first as the
// oracle, then each other target compared line by line with the kernel's transcript. Results go
// to GoogleTest (failures) and to the conformance matrix (everything).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/kernel_version.h"
#include "base/result.h"
#include "conformance/fixture.h"
#include "conformance/kernel_features.h"
#include "conformance/matrix.h"
#include "conformance/run.h"
#include "conformance/target.h"
#include "scratch/scratch.h"

namespace ovlab::conformance {

struct CaseDef {
  std::string family;     // "open", "rename", ... (the matrix groups by it)
  std::string checklist;  // docs/semantics.md ids, space separated: "CU1 PM1"
  std::string description;
  Fixture fixture = StandardFixture();
  TargetConfig config;
  std::function<void(CaseRun&)> body;
  // Non-empty for a case that needs a kernel option this kernel may refuse ("metacopy=on"): a
  // kernel mount failure then skips the case with this and the kernel's reason, never fails.
  std::string kernel_option_needed;
};

// Called from a TEST/TEST_P body; the case id is the current GoogleTest name.
void RunCase(const CaseDef& def);

// The same for the common shape: the standard fixture (or `fixture`), one body.
void RunCase(std::string family, std::string checklist, std::string description,
             std::function<void(CaseRun&)> body, TargetConfig config = {},
             Fixture fixture = StandardFixture());

struct SuiteOptions {
  std::vector<std::string> targets;  // the kernel oracle is always added
  std::string matrix_out;            // "" writes no matrix
  // Filesystem the fixtures live on: "tmpfs", "ext4" or "xfs"; "" picks tmpfs when it keeps
  // user.* and trusted.* xattrs (Linux >= 6.6), else ext4.
  std::string backing;
};

// Process-wide state: the scratch filesystem all case directories live on, target availability,
// and the matrix being recorded.
class Suite {
 public:
  static Suite& Get();
  Status Init(const SuiteOptions& options);
  // Removes the scratch filesystem and writes the matrix (if asked); safe to call twice.
  Status Finish();

  const std::vector<std::string>& targets() const { return targets_; }
  // "" when the target runs here, else why it is skipped.
  std::string UnavailableReason(const std::string& target) const;
  std::string NewCaseDir();
  // The backing the fixtures live on ("tmpfs", "ext4", "xfs"), and why it was chosen.
  std::string backing() const;
  Matrix& matrix() { return matrix_; }
  // The running kernel, and the behaviour changes it predates (kernel_features.h).
  const KernelVersion& kernel_version() const { return kernel_version_; }
  const std::vector<const KernelFeature*>& missing_features() const { return missing_features_; }

 private:
  Suite() = default;
  Result<std::unique_ptr<scratch::ScratchFs>> MakeFixtureFs(const std::string& backing);
  std::string backing_note_;
  KernelVersion kernel_version_ = KernelVersion::Running();
  std::vector<const KernelFeature*> missing_features_ = MissingFeatures(kernel_version_);
  std::vector<std::string> targets_;
  std::vector<std::pair<std::string, std::string>> unavailable_;
  std::unique_ptr<scratch::ScratchFs> scratch_;
  std::string matrix_out_;
  int next_case_ = 0;
  Matrix matrix_;
};

}  // namespace ovlab::conformance
