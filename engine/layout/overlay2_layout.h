// Docker's overlay2 on-disk layout under a driver home (<root>/overlay2):
//   <id>/diff/ (0755)  <id>/link (short id, no newline, 0644)  <id>/lower ("l/A:l/B", uppermost
//   first, 0644, only with a parent)  <id>/work/ (0700, only with a parent)  <id>/merged/ (0700,
//   made on mount)  <id>/committed (empty, 0600, on a layer that has children)  l/<short> ->
//   ../<id>/diff
// Modes are those of moby's overlay2 driver (daemon/graphdriver/overlay2/overlay.go).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

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
// Names in a home that are never layers: the link dir and in-progress creations.
inline constexpr char kTempPrefix[] = ".tmp-";

struct Overlay2Paths {
  std::string dir, diff, work, merged, link_file, lower_file, committed;
};
Overlay2Paths PathsOf(const std::string& home, const std::string& id);

// Makes the home (0710) and home/l (0700) if missing.
Status PrepareHome(const std::string& home);

// The child's `lower`: "l/<parent short id>" followed by the parent's lower. Fails when the result
// would name more than max_depth layers.
Result<std::string> ComposeLower(std::string_view parent_short_id, std::string_view parent_lower,
                                 size_t max_depth);

// Creates layer `id` (with `parent`, or a base layer when empty), marking the parent committed.
// All or nothing: the layer is built under a temporary name and renamed into place; on any error
// every step is undone (no directory, l/ link or committed marker is left behind).
Status CreateLayer(const std::string& home, const std::string& id, const std::string& parent,
                   size_t max_depth);
// Removes the layer's l/ link, then its directory.
Status RemoveLayer(const std::string& home, const std::string& id);

// Makes l/<new short id> -> ../<id>/diff and returns the short id.
Result<std::string> CreateShortLink(const std::string& home, const std::string& id);
// "l/<short>" inside the home, and the target its symlink must have: "../<id>/diff".
std::string ShortLinkPath(const std::string& home, const std::string& short_id);
std::string ShortLinkTarget(const std::string& id);

Result<std::string> ReadShortId(const std::string& home, const std::string& id);
// The `lower` entries ("l/XXX"), empty for a base layer.
Result<std::vector<std::string>> ReadLower(const std::string& home, const std::string& id);
// The layer an entry of `lower` ("l/XXX") points to, through its symlink.
Result<std::string> LayerOfLowerEntry(const std::string& home, const std::string& entry);
// Layer ids in the home (directories whose name is not l/ nor a temporary).
Result<std::vector<std::string>> ListLayers(const std::string& home);

}  // namespace ovlab::layout
