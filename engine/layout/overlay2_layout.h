// Docker's overlay2 on-disk layout under a driver home (<root>/overlay2):
//   <id>/diff/ (0755)  <id>/link (short id, no newline, 0644)  <id>/lower ("l/A:l/B", uppermost
//   first, 0644, only with a parent)  <id>/work/ (0700, only with a parent)  <id>/merged/ (0700,
//   made on mount)  <id>/committed (empty, 0600, on a layer that has children)  l/<short> ->
//   ../<id>/diff
// Modes are those of moby's overlay2 driver (daemon/graphdriver/overlay2/overlay.go).
//
// Everything here goes through the home's ConfinedDir (no symlink is followed; the l/ links are
// read, checked and resolved by hand), and every file read from the store is checked against what
// Docker writes before it is used: a store that differs is damaged, or hostile, and the error says
// which file and how.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "layout/confined_dir.h"
#include "layout/layer_id.h"

namespace ovlab::layout {

inline constexpr char kLinkDir[] = "l";
inline constexpr mode_t kHomeMode = 0710;
inline constexpr mode_t kLinkDirMode = 0700;
inline constexpr mode_t kLayerDirMode = 0710;
inline constexpr mode_t kDiffDirMode = 0755;
inline constexpr mode_t kWorkDirMode = 0700;
inline constexpr mode_t kMergedDirMode = 0700;
inline constexpr mode_t kLinkFileMode = 0644;
inline constexpr mode_t kLowerFileMode = 0644;
inline constexpr mode_t kCommittedFileMode = 0600;
// Names in a home that are never layers: the link dir and in-progress creations and removals.
inline constexpr char kTempPrefix[] = ".tmp-";
// Docker's overlay2 keeps its quota's block device node here (quota.NewControl).
inline constexpr char kBackingFsBlockDev[] = "backingFsBlockDev";

// A layer id (ValidateLayerId) that is none of the names Docker's overlay2 keeps in its home.
Status ValidateOverlay2Id(std::string_view id);

// Paths as they are named in messages and shown to users (Metadata, mount points).
struct Overlay2Paths {
  std::string dir, diff, work, merged, link_file, lower_file, committed;
};
Overlay2Paths PathsOf(const std::string& home, const std::string& id);
// The same names relative to the home, for ConfinedDir.
Overlay2Paths RelPathsOf(const std::string& id);

// Makes home/l (0700) if missing.
Status PrepareHome(const ConfinedDir& home);

// The child's `lower`: "l/<parent short id>" followed by the parent's lower. Fails when the result
// would name more than max_depth layers.
Result<std::string> ComposeLower(std::string_view parent_short_id, std::string_view parent_lower,
                                 size_t max_depth);

// Creates layer `id` (with `parent`, or a base layer when empty), marking the parent committed.
// All or nothing: the layer is built under a temporary name and renamed into place; on any error
// every step is undone (no directory, l/ link or committed marker is left behind).
Status CreateLayer(const ConfinedDir& home, const std::string& id, const std::string& parent,
                   size_t max_depth);
// All or nothing as far as the store can tell: after checking the layer, its directory is renamed
// to a temporary name (from then on the layer is gone as a whole), then its l/ link (only one
// that points at it) and the renamed tree go. A tree that cannot be removed is reported and left
// as a leftover for check --repair.
Status RemoveLayer(const ConfinedDir& home, const std::string& id);

// Makes l/<new short id> -> ../<id>/diff and returns the short id.
Result<std::string> CreateShortLink(const ConfinedDir& home, const std::string& id);
// "l/<short>", and the target its symlink must have: "../<id>/diff".
std::string ShortLinkEntry(std::string_view short_id);
std::string ShortLinkTarget(const std::string& id);
// The short id of the l/ symlink pointing at the layer, if any.
std::optional<std::string> FindShortLinkTo(const ConfinedDir& home, const std::string& id);

// The path of the layer's diff/, once checked to be a directory below the home (for tree walks).
Result<std::string> DiffPathOf(const ConfinedDir& home, const std::string& id);
// `link`: exactly 26 base32 characters.
Result<std::string> ReadShortId(const ConfinedDir& home, const std::string& id);
// `lower`: its entries ("l/<short>"), uppermost first; none for a base layer (no lower file).
// An empty or malformed file, or one naming more than max_depth layers, is an error.
Result<std::vector<std::string>> ReadLower(const ConfinedDir& home, const std::string& id,
                                           size_t max_depth);
// The layer an entry of `lower` names: its l/ symlink must be exactly ../<id>/diff, as made by
// CreateShortLink, and <id>/diff a directory.
Result<std::string> LayerOfLowerEntry(const ConfinedDir& home, const std::string& entry);
// `committed`: absent (false) or empty (true), as Docker writes it.
Result<bool> IsCommitted(const ConfinedDir& home, const std::string& id);
// Layer ids in the home: its directories that are not l/ nor temporaries, sorted.
Result<std::vector<std::string>> ListLayers(const ConfinedDir& home);

// A directory of a layer's view, opened (O_PATH) beneath the home, and its path.
struct ViewDir {
  UniqueFd fd;
  std::string path;
};
// The directories a layer's view is made of.
struct LayerView {
  ViewDir diff;                 // the layer's own
  std::optional<ViewDir> work;  // with a parent, unless committed
  std::vector<ViewDir> lowers;  // the diffs `lower` names, uppermost first; none for a base layer
  bool committed = false;       // it has children: its view is read-only, its diff the top lower
};
// Every file the view depends on checked, every directory opened beneath the home.
Result<LayerView> OpenLayerView(const ConfinedDir& home, const std::string& id, size_t max_depth);

}  // namespace ovlab::layout
