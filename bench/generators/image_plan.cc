#include "generators/image_plan.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "base/fs.h"
#include "base/strings.h"
#include "generators/random.h"

namespace ovlab::bench {
namespace {

constexpr mode_t kDirMode = 0755;

// What the merged image holds at a path after the layers applied so far.
struct Visible {
  EntryKind kind = EntryKind::kFile;  // kDir, kFile or kSymlink
  uint64_t inode = 0;                 // regular files: which inode (hard links share one)
  uint64_t size = 0;
  uint64_t content_seed = 0;
  mode_t mode = 0644;
  bool mutable_ = false;  // generated tree files: upper layers may overwrite, delete, chmod them
};

class Planner {
 public:
  Planner(const ImageProfile& profile, uint64_t seed) : p_(profile), rng_(seed) {}

  ImagePlan Plan(uint64_t seed) {
    ImagePlan plan;
    plan.profile = p_.name;
    plan.seed = seed;
    for (uint32_t layer = 0; layer < std::max<uint32_t>(p_.layers, 1); ++layer) {
      layer_ = layer;
      entries_.clear();
      if (layer == 0) {
        PlanBase();
      } else {
        PlanUpper();
      }
      PlanCommon();
      plan.layers.push_back(Finish());
    }
    return plan;
  }

 private:
  uint64_t RandomSize() {
    if (p_.max_size <= p_.min_size) return p_.min_size;
    double lo = std::log(static_cast<double>(std::max<uint64_t>(p_.min_size, 1)));
    double hi = std::log(static_cast<double>(p_.max_size));
    return static_cast<uint64_t>(std::exp(lo + (hi - lo) * rng_.Unit()));
  }

  const std::string& RandomDir() { return dirs_[rng_.Below(dirs_.size())]; }

  // Adds `path`'s ancestors to this layer (a tar layer carries the parents of what it changes).
  void AddParents(const std::string& path) {
    std::string dir = DirName(path);
    if (dir == "/" || dir.empty() || layer_dirs_.count(dir)) return;
    AddParents(dir);
    layer_dirs_.insert(dir);
    PlanEntry e;
    e.kind = EntryKind::kDir;
    e.path = dir;
    e.mode = kDirMode;
    entries_.push_back(e);
    if (!visible_.count(dir)) visible_[dir] = Visible{EntryKind::kDir};
  }

  void AddFile(const std::string& path, uint64_t size, bool sparse, bool mutable_) {
    AddParents(path);
    PlanEntry e;
    e.kind = EntryKind::kFile;
    e.path = path;
    e.size = size;
    e.sparse = sparse;
    e.content_seed = rng_.Next();
    e.mode = (rng_.Below(8) == 0) ? 0755 : 0644;
    e.xattr = p_.xattr > 0 && rng_.Unit() < p_.xattr;
    entries_.push_back(e);
    visible_[path] =
        Visible{EntryKind::kFile, next_inode_++, size, e.content_seed, e.mode, mutable_};
    new_files_.push_back(path);
  }

  void AddSymlink(const std::string& path, const std::string& target) {
    AddParents(path);
    PlanEntry e;
    e.kind = EntryKind::kSymlink;
    e.path = path;
    e.target = target;
    e.mode = 0777;
    entries_.push_back(e);
    visible_[path] = Visible{EntryKind::kSymlink};
  }

  void PlanBase() {
    dirs_ = {"/"};
    std::vector<uint32_t> depth_of = {0};
    uint32_t spine = std::min(p_.depth, p_.dirs);
    for (uint32_t i = 1; i <= p_.dirs; ++i) {
      size_t parent = i - 1;  // the spine first: the deepest level is always reached
      if (i > spine) {
        do {
          parent = rng_.Below(dirs_.size());
        } while (depth_of[parent] >= p_.depth);
      }
      dirs_.push_back(JoinPath(dirs_[parent], StrPrintf("d%u", i)));
      depth_of.push_back(depth_of[parent] + 1);
      AddParents(JoinPath(dirs_.back(), "x"));
    }
    for (uint32_t i = 0; i < p_.base_files; ++i) {
      AddFile(JoinPath(RandomDir(), StrPrintf("f%u", i)), RandomSize(), false, true);
    }
    for (const auto& f : p_.fixed_files) AddFile(f.path, f.size, f.sparse, false);
  }

  // Files the profile's fractions may touch, in a seeded order.
  std::vector<std::string> ShuffledMutableFiles() {
    std::vector<std::string> files;
    for (const auto& [path, v] : visible_) {
      if (v.kind == EntryKind::kFile && v.mutable_) files.push_back(path);
    }
    for (size_t i = files.size(); i > 1; --i) std::swap(files[i - 1], files[rng_.Below(i)]);
    return files;
  }

  void PlanUpper() {
    std::vector<std::string> pool = ShuffledMutableFiles();
    size_t n = pool.size(), next = 0;
    auto take = [&](double fraction) {
      size_t k = static_cast<size_t>(std::llround(fraction * static_cast<double>(n)));
      std::vector<std::string> out;
      for (; k > 0 && next < pool.size(); --k) out.push_back(pool[next++]);
      return out;
    };
    for (const auto& path : take(p_.overwrite)) AddFile(path, RandomSize(), false, true);
    for (const auto& path : take(p_.chmod)) {
      Visible old = visible_[path];
      AddFile(path, old.size, false, true);
      entries_.back().content_seed = old.content_seed;  // same bytes, other mode
      entries_.back().mode = old.mode == 0644 ? 0600 : 0644;
    }
    for (const auto& path : take(p_.remove)) {
      AddParents(path);
      PlanEntry e;
      e.kind = EntryKind::kWhiteout;
      e.path = path;
      entries_.push_back(e);
      visible_.erase(path);
    }
    for (uint32_t i = 0; i < p_.files_per_layer; ++i) {
      AddFile(JoinPath(RandomDir(), StrPrintf("l%u_f%u", layer_, i)), RandomSize(), false, true);
    }
  }

  void PlanCommon() {
    std::vector<std::string> fresh = new_files_;
    for (uint32_t i = 0; i < p_.hardlinks_per_layer && !fresh.empty(); ++i) {
      const std::string& target = fresh[rng_.Below(fresh.size())];
      std::string path = JoinPath(DirName(target), StrPrintf("l%u_h%u", layer_, i));
      PlanEntry e;
      e.kind = EntryKind::kHardlink;
      e.path = path;
      e.target = target;
      entries_.push_back(e);
      Visible v = visible_[target];
      v.mutable_ = false;  // keeps the analytic count simple: links are never split later
      visible_[path] = v;
      visible_[target].mutable_ = false;
    }
    for (uint32_t i = 0; i < p_.symlinks_per_layer; ++i) {
      AddSymlink(JoinPath(RandomDir(), StrPrintf("l%u_s%u", layer_, i)),
                 JoinPath(RandomDir(), StrPrintf("f%llu", static_cast<unsigned long long>(
                                                              rng_.Below(p_.base_files + 1)))));
    }
    uint32_t layers = std::max<uint32_t>(p_.layers, 1);
    for (uint32_t i = p_.spread_entries * layer_ / layers;
         i < p_.spread_entries * (layer_ + 1) / layers; ++i) {
      AddFile(JoinPath(kSpreadDir, StrPrintf("s%u", i)), 64, false, false);
    }
    AddFile(LayerMarker(layer_), 0, false, false);
  }

  LayerPlan Finish() {
    LayerPlan out;
    // Parents before children, everything else in plan order after its directory exists.
    std::stable_partition(entries_.begin(), entries_.end(),
                          [](const PlanEntry& e) { return e.kind == EntryKind::kDir; });
    std::stable_sort(entries_.begin(), entries_.end(), [](const PlanEntry& a, const PlanEntry& b) {
      bool ad = a.kind == EntryKind::kDir, bd = b.kind == EntryKind::kDir;
      if (ad != bd) return ad;
      return ad && a.path < b.path;
    });
    LayerFacts& f = out.facts;
    std::set<uint64_t> new_inodes;
    for (const auto& e : entries_) {
      if (e.kind != EntryKind::kHardlink) ++f.entry_inodes;
      if (e.kind == EntryKind::kFile) {
        uint64_t inode = visible_.count(e.path) ? visible_[e.path].inode : 0;
        if (new_inodes.insert(inode).second) f.new_file_bytes += e.size;
      }
    }
    f.new_file_inodes = new_inodes.size();
    std::set<uint64_t> inodes;
    for (const auto& [path, v] : visible_) {
      if (v.kind == EntryKind::kDir) ++f.visible_dirs;
      if (v.kind == EntryKind::kSymlink) ++f.visible_symlinks;
      if (v.kind == EntryKind::kFile && inodes.insert(v.inode).second) {
        f.visible_file_bytes += v.size;
      }
    }
    f.visible_file_inodes = inodes.size();
    out.entries = std::move(entries_);
    entries_.clear();
    layer_dirs_.clear();
    new_files_.clear();
    return out;
  }

  const ImageProfile& p_;
  SplitMix64 rng_;
  uint32_t layer_ = 0;
  std::vector<std::string> dirs_;  // the base tree's directories, "/" first
  std::map<std::string, Visible> visible_;
  uint64_t next_inode_ = 1;
  std::vector<PlanEntry> entries_;
  std::set<std::string> layer_dirs_;
  std::vector<std::string> new_files_;
};

}  // namespace

ImagePlan PlanImage(const ImageProfile& profile, uint64_t seed) {
  return Planner(profile, seed).Plan(seed);
}

std::string LayerMarker(uint32_t layer) {
  return StrPrintf("/.ovlab/layer-%u", layer);
}

}  // namespace ovlab::bench
