#include "conformance/targets.h"

#include <unistd.h>

#include <cstdlib>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"

#ifndef OVLAB_FUSE_BINARY
#define OVLAB_FUSE_BINARY ""
#endif

namespace ovlab::conformance {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kOracle:
      return "oracle";
    case Role::kMustMatch:
      return "must-match";
    case Role::kPeer:
      return "peer";
  }
  return "?";
}

const std::vector<TargetInfo>& KnownTargets() {
  static const std::vector<TargetInfo> targets = {
      {"kernel", Role::kOracle, "kernel overlayfs (the oracle)"},
      {"engine", Role::kMustMatch, "ovlab union engine, in process"},
      {"fuse", Role::kMustMatch, "ovlab-fuse, the engine behind FUSE"},
      {"fuse-overlayfs", Role::kPeer, "fuse-overlayfs (Debian package)"},
      {"unionfs-fuse", Role::kPeer, "unionfs-fuse in cow mode (Debian package)"},
  };
  return targets;
}

const TargetInfo* FindTarget(const std::string& name) {
  for (const auto& t : KnownTargets())
    if (t.name == name) return &t;
  return nullptr;
}

std::string OvlabFuseBinary() {
  if (const char* env = std::getenv("OVLAB_FUSE"); env && *env) return env;
  std::string built = OVLAB_FUSE_BINARY;
  if (!built.empty() && ::access(built.c_str(), X_OK) == 0) return built;
  return "";
}

std::string TargetUnavailableReason(const std::string& name) {
  if (name == "kernel" || name == "fuse-overlayfs" || name == "unionfs-fuse") {
    if (::access("/sys/module/overlay", F_OK) != 0 && name == "kernel")
      return "the kernel has no overlay module (modprobe overlay)";
    if (name != "kernel" && !HaveProgram(name))
      return name + " is not installed (apt-get install " + name + ")";
    if (name != "kernel" && ::access("/dev/fuse", R_OK | W_OK) != 0)
      return "/dev/fuse is not usable here";
    return "";
  }
  if (name == "fuse") {
    if (OvlabFuseBinary().empty())
      return "ovlab-fuse was not built in this build (engine/fuse); set OVLAB_FUSE=/path to use "
             "another binary";
    return "";
  }
  if (name == "engine") {
    auto t = MakeEngineTarget();
    return t ? "" : t.error().message;
  }
  return "unknown target '" + name + "'";
}

Result<std::unique_ptr<Target>> MakeTarget(const std::string& name) {
  if (std::string why = TargetUnavailableReason(name); !why.empty()) return Fail(ENOTSUP, why);
  if (name == "kernel") return MakeKernelTarget();
  if (name == "engine") return MakeEngineTarget();
  if (name == "fuse") return MakeOvlabFuseTarget(OvlabFuseBinary());
  if (name == "fuse-overlayfs") return MakeFuseOverlayfsTarget();
  if (name == "unionfs-fuse") return MakeUnionfsFuseTarget();
  return Fail(EINVAL, "unknown target '" + name + "'");
}

}  // namespace ovlab::conformance
