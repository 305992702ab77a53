#include "targets/target.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/driver.h"
#include "mount/mount.h"

namespace ovlab::targets {
namespace {

using scratch::Backing;

constexpr Daemon kOvlabFuseDaemon{launch::kOvlabFuse, launch::Syntax::kOverlay, true};
constexpr Daemon kFuseOverlayfs{{"fuse-overlayfs", "OVLAB_FUSE_OVERLAYFS", "fuse-overlayfs"},
                                launch::Syntax::kOverlayNoColon,
                                false};
constexpr Daemon kUnionfsFuse{
    {"unionfs-fuse", "OVLAB_UNIONFS_FUSE", "unionfs-fuse"}, launch::Syntax::kUnionfs, false};

// Devices a driver needs from the kernel, with what to do without them.
struct KernelNeed {
  std::string_view target;
  const char* path;
  const char* missing;
};
constexpr KernelNeed kKernelNeeds[] = {
    {"devicemapper", "/dev/mapper/control",
     "this kernel has no device-mapper (no /dev/mapper/control); dm-thin runs in the Debian-kernel "
     "guests of vagrant/run-kernels"},
};

std::vector<TargetSpec> MakeTable() {
  std::vector<TargetSpec> t;
  t.push_back({.name = "overlay2",
               .summary = "kernel overlayfs through Docker's overlay2 driver (index=off)",
               .bringup = Bringup::kKernelDriver,
               .driver = "overlay2",
               .role = Role::kOracle,
               .conformance_name = "kernel",
               .inode_model = InodeModel::kOverlay2,
               .deep_lowers = true});
  t.push_back({.name = "overlay",
               .summary = "kernel overlayfs through Docker's overlay (v1) driver: hard-link chains",
               .bringup = Bringup::kKernelDriver,
               .driver = "overlay",
               .inode_model = InodeModel::kOverlayV1,
               .deep_lowers = true});
  t.push_back({.name = "vfs",
               .summary = "vfs driver: a full copy per layer (clone where possible), no union",
               .bringup = Bringup::kLayerDriver,
               .driver = "vfs",
               .inode_model = InodeModel::kFullCopy,
               .copies_up = false,
               .flat = true});
  t.push_back({.name = "fuse",
               .summary = "ovlab-fuse: ovlab's union engine behind FUSE, over overlay2 layers",
               .bringup = Bringup::kDaemon,
               .driver = "overlay2",
               .daemon = kOvlabFuseDaemon,
               .role = Role::kMustMatch,
               .conformance_name = "fuse",
               .copy_strategies = true});
  t.push_back({.name = "engine",
               .summary = "ovlab's union engine in process, over overlay2 layers",
               .bringup = Bringup::kEngine,
               .driver = "overlay2",
               .role = Role::kMustMatch,
               .conformance_name = "engine",
               .copy_strategies = true});
  t.push_back({.name = "fuse-overlayfs",
               .summary = "fuse-overlayfs over overlay2 layers",
               .bringup = Bringup::kDaemon,
               .driver = "overlay2",
               .daemon = kFuseOverlayfs,
               .role = Role::kPeer,
               .conformance_name = "fuse-overlayfs",
               .durable_copy_up = false,
               .truncate_copies_data = true});
  t.push_back({.name = "unionfs-fuse",
               .summary = "unionfs-fuse in copy-on-write mode over overlay2 layers",
               .bringup = Bringup::kDaemon,
               .driver = "overlay2",
               .daemon = kUnionfsFuse,
               .role = Role::kPeer,
               .conformance_name = "unionfs-fuse",
               .durable_copy_up = false,
               .truncate_copies_data = true,
               .clones_on_reflink = false,
               .direct_reads = false});
  t.push_back({.name = "btrfs",
               .summary = "btrfs driver: a writable subvolume snapshot per layer, no union",
               .bringup = Bringup::kLayerDriver,
               .driver = "btrfs",
               .only_backing = Backing::kBtrfs,
               .inode_model = InodeModel::kSnapshot,
               .copies_up = false,
               .flat = true});
  t.push_back({.name = "devicemapper",
               .summary = "devicemapper driver: a dm-thin snapshot per layer",
               .bringup = Bringup::kLayerDriver,
               .driver = "devicemapper",
               .copies_up = false,
               .flat = true});
  return t;
}

bool DriverRegistered(std::string_view name) {
  auto names = drivers::RegisteredDrivers();
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

const std::vector<TargetSpec>& AllTargets() {
  static const std::vector<TargetSpec> table = MakeTable();
  return table;
}

const TargetSpec* FindTarget(std::string_view name) {
  for (const auto& t : AllTargets())
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<const TargetSpec*> ConformanceTargets() {
  std::vector<const TargetSpec*> out;
  for (const auto& t : AllTargets())
    if (t.role != Role::kNone) out.push_back(&t);
  return out;
}

const TargetSpec* FindConformanceTarget(std::string_view name) {
  for (const auto* t : ConformanceTargets())
    if (t->conformance_name == name) return t;
  return nullptr;
}

bool InUserspace(const TargetSpec& t) {
  return t.bringup == Bringup::kDaemon || t.bringup == Bringup::kEngine;
}

std::string TargetNames() {
  std::vector<std::string> names;
  for (const auto& t : AllTargets()) names.emplace_back(t.name);
  return Join(names, ", ");
}

std::string UnavailableReason(const TargetSpec& t) {
  std::vector<std::string> why;
  if (t.bringup == Bringup::kKernelDriver || t.bringup == Bringup::kLayerDriver) {
    if (!DriverRegistered(t.driver))
      why.push_back("ovlab has no " + std::string(t.driver) + " driver");
  }
  for (const auto& need : kKernelNeeds) {
    if (need.target == t.name && !PathExists(need.path)) why.push_back(need.missing);
  }
  if (!why.empty()) return Join(why, " and ");
  if (t.bringup == Bringup::kKernelDriver && !mount::ProbeOverlayFeatures().overlay_available) {
    return "the kernel has no overlay filesystem (modprobe overlay)";
  }
  if (t.daemon) {
    if (::access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse is not usable here";
    auto found = launch::FindProgram(t.daemon->program);
    if (!found) return found.error().message;
  }
  return "";
}

std::string VersionOf(const TargetSpec& t) {
  if (t.daemon) {
    auto path = launch::FindProgram(t.daemon->program);
    return path ? launch::VersionLine(*path, t.daemon->program.name) : "not found";
  }
  if (t.bringup == Bringup::kKernelDriver) {
    struct utsname u {};
    return ::uname(&u) == 0 ? std::string("Linux ") + u.release : "Linux";
  }
  return "ovlab " OVLAB_VERSION;
}

const char* BringupName(Bringup b) {
  switch (b) {
    case Bringup::kKernelDriver:
      return "kernel-driver";
    case Bringup::kLayerDriver:
      return "layer-driver";
    case Bringup::kDaemon:
      return "daemon";
    case Bringup::kEngine:
      return "engine";
  }
  return "?";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kNone:
      return "none";
    case Role::kOracle:
      return "oracle";
    case Role::kMustMatch:
      return "must-match";
    case Role::kPeer:
      return "peer";
  }
  return "?";
}

const char* InodeModelName(InodeModel m) {
  switch (m) {
    case InodeModel::kNone:
      return "none";
    case InodeModel::kOverlay2:
      return "overlay2";
    case InodeModel::kOverlayV1:
      return "overlay";
    case InodeModel::kFullCopy:
      return "full-copy";
    case InodeModel::kSnapshot:
      return "snapshot";
  }
  return "?";
}

}  // namespace ovlab::targets
