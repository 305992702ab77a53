// Analytic inode and byte expectations for an image under each driver, from Docker's layout rules
// (engine/layout, engine/drivers): vfs = a full tree per layer (btrfs: the same inode items in
// every snapshot, their blocks shared); overlay v1 = every directory and symlink of the whole
// tree per layer plus the regular files the layer adds (the rest are hard links); overlay2 = what
// each layer adds. Plus each driver's per-layer bookkeeping files.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "generators/image_plan.h"
#include "targets/target.h"

namespace ovlab::bench {

struct UsageExpectation {
  uint64_t inodes = 0;
  uint64_t data_bytes = 0;  // apparent bytes of the regular files stored (allocation is >= this)
};

// Inodes a fresh store consumes for the whole image (the driver's home already made);
// nullopt for InodeModel::kNone.
std::optional<UsageExpectation> ExpectImageUsage(targets::InodeModel model, const ImagePlan& plan);

// Inodes CreateContainer consumes on top of the image: Docker's init layer (6 dirs, 5 files,
// 1 symlink, written through a mount, so overlay's work/work appears) and the read-write layer.
std::optional<UsageExpectation> ExpectContainerUsage(targets::InodeModel model,
                                                     const ImagePlan& plan);

}  // namespace ovlab::bench
