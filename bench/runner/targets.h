// The union targets ovlab-bench measures and how each gets an image:
//  - driver targets (overlay2, overlay, vfs, and fuse once that driver is registered) build the
//    image through their own driver and show a container layer through Driver::Get;
//  - daemon targets (fuse-overlayfs, unionfs-fuse, and fuse as the ovlab-fuse binary while no
//    `fuse` driver is registered) mount over the layers of an overlay2 store;
//  - engine is the in-process union engine over the same overlay2 layers.
// btrfs is a driver target on the btrfs backing only (a subvolume snapshot per layer, no union);
// devicemapper is listed so a run says why it is skipped (no device-mapper on this kernel).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scratch/scratch.h"

namespace ovlab::bench {

enum class TargetKind { kDriver, kDaemon, kEngine };

struct TargetInfo {
  std::string name;
  TargetKind kind = TargetKind::kDriver;
  bool kernel_overlay = false;   // mounts kernel overlayfs (deep stacks up to 500 lowers)
  bool has_store_model = false;  // inode_usage applies: the driver stores the image itself
  // The view is one plain directory tree (vfs, btrfs): lookups cost the same at any depth.
  bool flat = false;
  // The only backing filesystem the target runs on (btrfs needs btrfs), none = any.
  std::optional<scratch::Backing> only_backing;
  // A userspace daemon serves its calls (the FUSE targets, driver or not): a cold start restarts
  // it, and the caller's CPU time misses the daemon's work.
  bool daemon = false;
  // It runs ovlab-fuse: takes the run's --fuse-options.
  bool ovlab_fuse = false;
  // Its copy-up's data copy can be set to an io::CopyStrategy (the engine's option, ovlab-fuse's
  // -o ovlab_copy=): copy_up rows with a strategy:NAME key.
  bool copy_strategy = false;
  // What its first write to a lower file copies (the copy_up counter bytes_copied):
  // false where the layers are whole trees (vfs, btrfs) and a write changes a file the container's
  // layer holds already;
  bool copies_up = true;
  // whether the data copy is a reflink where the backing has them (not unionfs-fuse's);
  bool clones_on_reflink = true;
  // whether open(O_TRUNC) copies the data first (the FUSE peers) instead of nothing (the kernel).
  bool truncate_copies_data = false;
  // O_DIRECT reads work: unionfs-fuse opens its lower file O_DIRECT too and reads it into
  // libfuse's unaligned buffer (EINVAL), so it has no seqread_direct row.
  bool direct_reads = true;
};

// Every target name, in report order.
const std::vector<std::string>& AllTargetNames();
// "" when `name` can run here, else the reason (for the skip line and the JSON context).
std::string TargetUnavailableReason(const std::string& name);
TargetInfo DescribeTarget(const std::string& name);
// What runs and with which options, for the JSON context key target.<name>.
std::string TargetContext(const std::string& name);
// The ovlab-fuse binary to run ("" when none was built and OVLAB_FUSE is unset).
std::string OvlabFuseBinary();
// Extra ovlab-fuse -o options for every target that runs it (ovlab-bench --fuse-options OPTS,
// comma-separated as after -o); "" = its defaults. Set once before the run.
void SetExtraFuseOptions(const std::string& options);
const std::string& ExtraFuseOptions();
// Points the `fuse` driver at that binary (OVLAB_FUSE_BINARY, unless already set).
void ExportOvlabFuseBinary();

}  // namespace ovlab::bench
