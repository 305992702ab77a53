#include "generators/expectation.h"

namespace ovlab::bench {
namespace {

// overlay2: <id>/, diff/, link, l/<short>; a child adds work/ and lower, and marks its parent
// with an empty `committed` file.
constexpr uint64_t kOverlay2Base = 4, kOverlay2Child = 6 + 1;
// overlay v1: <id>/ and root/; a child's parent is recorded in .parents/<id>.
constexpr uint64_t kOverlayLayer = 2, kParentRecord = 1;

// Docker's init layer: /dev /dev/pts /dev/shm /proc /sys /etc, five empty files, /etc/mtab.
constexpr uint64_t kInitObjects = 6 + 5 + 1;
// The kernel makes <workdir>/work on the first read-write mount of a layer.
constexpr uint64_t kWorkWork = 1;
// overlay v1 container layer: <id>/, upper/, work/, lower-id, parent record.
constexpr uint64_t kOverlayRwLayer = 5;

}  // namespace

std::optional<UsageExpectation> ExpectContainerUsage(targets::InodeModel model,
                                                     const ImagePlan& plan) {
  if (plan.layers.empty()) return std::nullopt;
  const LayerFacts& top = plan.layers.back().facts;
  UsageExpectation e;
  if (model == targets::InodeModel::kOverlay2) {
    // init: a child layer + the image top's committed mark; rw: a child layer + init's mark.
    e.inodes = kOverlay2Child + kWorkWork + kInitObjects + kOverlay2Child;
  } else if (model == targets::InodeModel::kOverlayV1) {
    // The rw layer starts from a copy of init's upper (its root and the init objects).
    e.inodes = kOverlayRwLayer + kInitObjects + kWorkWork + kOverlayRwLayer + kInitObjects;
  } else if (model == targets::InodeModel::kFullCopy || model == targets::InodeModel::kSnapshot) {
    // init and rw are each the full tree (a copy; on btrfs a snapshot's own inode items).
    uint64_t tree = 1 + top.visible_dirs + top.visible_symlinks + top.visible_file_inodes;
    e.inodes = 2 * (tree + kInitObjects + kParentRecord);
    e.data_bytes = model == targets::InodeModel::kFullCopy ? 2 * top.visible_file_bytes
                                                           : 0;  // snapshots share data
  } else {
    return std::nullopt;
  }
  return e;
}

std::optional<UsageExpectation> ExpectImageUsage(targets::InodeModel model, const ImagePlan& plan) {
  UsageExpectation e;
  for (size_t n = 0; n < plan.layers.size(); ++n) {
    const LayerFacts& f = plan.layers[n].facts;
    bool child = n > 0;
    if (model == targets::InodeModel::kOverlay2) {
      e.inodes += (child ? kOverlay2Child : kOverlay2Base) + f.entry_inodes;
      e.data_bytes += f.new_file_bytes;
    } else if (model == targets::InodeModel::kOverlayV1) {
      e.inodes += kOverlayLayer + (child ? kParentRecord : 0) + f.visible_dirs +
                  f.visible_symlinks + f.new_file_inodes;
      e.data_bytes += f.new_file_bytes;
    } else if (model == targets::InodeModel::kFullCopy || model == targets::InodeModel::kSnapshot) {
      // The layer directory (vfs) or subvolume (btrfs) is the tree's root. A btrfs snapshot
      // holds the full tree's inode items too, but shares the blocks of the parent's: only the
      // files the layer adds take data blocks.
      e.inodes += 1 + (child ? kParentRecord : 0) + f.visible_dirs + f.visible_symlinks +
                  f.visible_file_inodes;
      e.data_bytes +=
          model == targets::InodeModel::kFullCopy ? f.visible_file_bytes : f.new_file_bytes;
    } else {
      return std::nullopt;
    }
  }
  return e;
}

}  // namespace ovlab::bench
