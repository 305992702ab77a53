// The targets the suite knows, by name, and how each is made (or why it cannot run here).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "conformance/target.h"

namespace ovlab::conformance {

// How a target's results are judged against the kernel's.
enum class Role {
  kOracle,     // kernel: must follow the documented rules
  kMustMatch,  // engine, fuse: any difference from the kernel is a failure
  kPeer,       // fuse-overlayfs, unionfs-fuse: differences are recorded as known deviations
};
const char* RoleName(Role r);

struct TargetInfo {
  std::string name;
  Role role = Role::kPeer;
  std::string description;
};

// Every target name accepted by --target, in report order.
const std::vector<TargetInfo>& KnownTargets();
const TargetInfo* FindTarget(const std::string& name);

// A fresh, not yet set up target; the error message is the reason it cannot run here (used as
// the skip reason).
Result<std::unique_ptr<Target>> MakeTarget(const std::string& name);

// Reasons a target cannot run at all on this machine ("" when it can): checked once per run.
std::string TargetUnavailableReason(const std::string& name);

std::unique_ptr<Target> MakeKernelTarget();
// `program` is started in the foreground with `argv` built per mount; see targets.cc.
std::unique_ptr<Target> MakeFuseOverlayfsTarget();
std::unique_ptr<Target> MakeUnionfsFuseTarget();
std::unique_ptr<Target> MakeOvlabFuseTarget(const std::string& binary);
// The in-process union engine; nullptr when this build has no engine.
Result<std::unique_ptr<Target>> MakeEngineTarget();

// The ovlab-fuse binary of this build, or "" when it was not built.
std::string OvlabFuseBinary();

}  // namespace ovlab::conformance
