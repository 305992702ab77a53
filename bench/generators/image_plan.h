// The deterministic plan of a synthetic image: every entry of every layer, in the form of an
// unpacked OCI layer (whiteouts as `.wh.<name>`), plus the per-layer facts the analytic inode
// expectations are computed from. Same profile and seed -> the same plan, byte for byte.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "generators/profile.h"

namespace ovlab::bench {

enum class EntryKind { kDir, kFile, kSymlink, kHardlink, kWhiteout };

struct PlanEntry {
  EntryKind kind = EntryKind::kFile;
  std::string path;           // absolute in the image: "/d1/d7/f12"
  mode_t mode = 0644;         // permission bits (dirs and files)
  uint64_t size = 0;          // files
  uint64_t content_seed = 0;  // files: what FillContent writes
  bool sparse = false;        // files
  bool xattr = false;         // files: user.ovlab.seed is set
  std::string target;         // symlinks: link text; hard links: the path linked to
};

// What one layer holds and what the image looks like once it is applied.
struct LayerFacts {
  uint64_t entry_inodes = 0;     // inodes of the layer as a diff (dirs, files, symlinks, whiteouts)
  uint64_t new_file_inodes = 0;  // regular-file inodes the layer adds (hard links counted once)
  uint64_t new_file_bytes = 0;
  uint64_t visible_dirs = 0;  // in the merged tree after this layer, root excluded
  uint64_t visible_symlinks = 0;
  uint64_t visible_file_inodes = 0;  // distinct regular-file inodes of the merged tree
  uint64_t visible_file_bytes = 0;
};

struct LayerPlan {
  std::vector<PlanEntry> entries;  // a directory always comes before what it holds
  LayerFacts facts;
};

struct ImagePlan {
  std::string profile;
  uint64_t seed = 0;
  std::vector<LayerPlan> layers;  // bottom first
};

ImagePlan PlanImage(const ImageProfile& profile, uint64_t seed);

// The marker file every layer n holds (deep-lower lookups find it in exactly that layer).
std::string LayerMarker(uint32_t layer);
// A name no layer holds.
inline constexpr const char* kMissingName = "/.ovlab/missing";
// The directory merged from every layer (profile.spread_entries files).
inline constexpr const char* kSpreadDir = "/spread";

}  // namespace ovlab::bench
