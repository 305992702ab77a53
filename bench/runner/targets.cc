#include "runner/targets.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "drivers/driver.h"
#include "mount/mount.h"

#ifndef OVLAB_FUSE_BINARY
#define OVLAB_FUSE_BINARY ""
#endif

namespace ovlab::bench {
namespace {

bool DriverRegistered(const std::string& name) {
  auto names = drivers::RegisteredDrivers();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The program's own version line, "<program>... version..." (warnings and libfuse's lines too).
std::string VersionLine(const std::string& program) {
  auto out = RunCommand({program, "--version"});
  if (!out) return "version unknown";
  for (const auto& line : Split(out->output, '\n')) {
    if (StartsWith(line, program) && line.find("version") != std::string::npos) {
      return std::string(Trim(line));
    }
  }
  return "version unknown";
}

}  // namespace

const std::vector<std::string>& AllTargetNames() {
  static const std::vector<std::string> names = {"overlay2",     "overlay", "vfs",
                                                 "fuse",         "engine",  "fuse-overlayfs",
                                                 "unionfs-fuse", "btrfs",   "devicemapper"};
  return names;
}

std::string OvlabFuseBinary() {
  for (const char* name : {"OVLAB_FUSE", "OVLAB_FUSE_BINARY"}) {
    if (const char* env = std::getenv(name); env && *env) return env;
  }
  std::string built = OVLAB_FUSE_BINARY;
  if (!built.empty() && ::access(built.c_str(), X_OK) == 0) return built;
  return "";
}

TargetInfo DescribeTarget(const std::string& name) {
  TargetInfo info;
  info.name = name;
  if (name == "engine") {
    info.kind = TargetKind::kEngine;
    info.copy_strategy = true;
  } else if (name == "fuse-overlayfs" || name == "unionfs-fuse") {
    info.kind = TargetKind::kDaemon;
    info.daemon = true;
    info.truncate_copies_data = true;
    info.clones_on_reflink = info.direct_reads = name != "unionfs-fuse";
  } else if (name == "fuse") {
    info.kind = DriverRegistered("fuse") ? TargetKind::kDriver : TargetKind::kDaemon;
    info.daemon = info.ovlab_fuse = info.copy_strategy = true;
  } else {
    info.copies_up = name != "vfs" && name != "btrfs";
    info.kernel_overlay = name == "overlay2" || name == "overlay";
    info.has_store_model = true;
    info.flat = name == "vfs" || name == "btrfs";
    if (name == "btrfs") info.only_backing = scratch::Backing::kBtrfs;
  }
  return info;
}

std::string TargetUnavailableReason(const std::string& name) {
  if (std::find(AllTargetNames().begin(), AllTargetNames().end(), name) == AllTargetNames().end()) {
    return "unknown target '" + name + "' (known: " + Join(AllTargetNames(), ", ") + ")";
  }
  if (name == "devicemapper") {
    std::string why = "ovlab has no devicemapper driver";
    if (!PathExists("/dev/mapper/control")) {
      why +=
          " and this kernel has no device-mapper (no /dev/mapper/control); dm-thin runs only "
          "in VMs with distribution kernels";
    }
    return why;
  }
  if (name == "btrfs" && !DriverRegistered("btrfs")) return "no btrfs driver in this build";
  bool overlay = mount::ProbeOverlayFeatures().overlay_available;
  if ((name == "overlay2" || name == "overlay") && !overlay) {
    return "the kernel has no overlay filesystem (modprobe overlay)";
  }
  if (DescribeTarget(name).kind == TargetKind::kDaemon) {
    if (::access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse is not usable here";
    if (name != "fuse" && !HaveProgram(name)) {
      return name + " is not installed (apt-get install " + name + ")";
    }
  }
  if (name == "fuse" && OvlabFuseBinary().empty() && !HaveProgram("ovlab-fuse")) {
    return "ovlab-fuse was neither built here nor installed (set OVLAB_FUSE_BINARY=path)";
  }
  return "";
}

namespace {
std::string& FuseOptionsSlot() {
  static std::string options;
  return options;
}
}  // namespace

void SetExtraFuseOptions(const std::string& options) {
  FuseOptionsSlot() = options;
}

const std::string& ExtraFuseOptions() {
  return FuseOptionsSlot();
}

void ExportOvlabFuseBinary() {
  std::string binary = OvlabFuseBinary();
  if (!binary.empty()) ::setenv("OVLAB_FUSE_BINARY", binary.c_str(), 0);
}

std::string TargetContext(const std::string& name) {
  if (name == "overlay2")
    return "kernel overlay via the overlay2 driver (Docker layout), index=off";
  if (name == "overlay") return "kernel overlay via the overlay v1 driver (hard-link chains)";
  if (name == "vfs") return "vfs driver: a full copy per layer (clone where possible)";
  if (name == "engine") return "ovlab union engine in process, over overlay2 layers";
  if (name == "fuse") {
    std::string options =
        "; options: " + (ExtraFuseOptions().empty() ? "defaults" : ExtraFuseOptions());
    if (DescribeTarget(name).kind == TargetKind::kDriver) {
      return "fuse driver (ovlab-fuse)" + options;
    }
    return "ovlab-fuse " OVLAB_VERSION " daemon over overlay2 layers: " + OvlabFuseBinary() +
           options;
  }
  if (name == "fuse-overlayfs") {
    return VersionLine("fuse-overlayfs") + "; -o lowerdir,upperdir,workdir";
  }
  if (name == "unionfs-fuse") {
    return VersionLine("unionfs-fuse") + "; -o cow, upper=RW:lowers=RO";
  }
  if (name == "btrfs") {
    return "btrfs driver: a writable subvolume snapshot per layer, no mount (the container's "
           "subvolume is the view); btrfs backing only";
  }
  return "";
}

}  // namespace ovlab::bench
