// What the drivers whose layers are full trees share (vfs: a copy per layer; btrfs: a subvolume
// snapshot per layer): layer <home>/<layers dir>/<id>, parent in ParentRecords, diffs applied
// with whiteouts turned into deletions, Docker's naive diff against the parent's tree. Layers
// and records are reached through ConfinedDirs: a symlink there is refused, never followed.
#pragma once

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/driver.h"
#include "drivers/parent_records.h"
#include "drivers/store_home.h"
#include "drivers/tree_stats.h"
#include "layout/apply_diff.h"
#include "layout/confined_dir.h"
#include "layout/layer_id.h"

namespace ovlab::drivers {

// What a full-tree driver keeps: its home, the directory of its layers, and parent records.
struct FullTreeStore {
  layout::ConfinedDir home, layers;
  ParentRecords parents;
};
// Opens <root>/<name>, its `layers_dir` and .parents, made (with `mode`) when missing if
// options.create_store.
inline Result<FullTreeStore> OpenFullTreeStore(const DriverOptions& options,
                                               const std::string& name,
                                               const std::string& layers_dir, mode_t mode) {
  auto home = OpenStoreHome(options, name, mode);
  if (!home) return std::unexpected(home.error());
  auto layers = OpenStoreDir(*home, layers_dir, mode, options.create_store);
  if (!layers) return std::unexpected(layers.error());
  auto parents = ParentRecords::Open(*home, options.create_store);
  if (!parents) return std::unexpected(parents.error());
  return FullTreeStore{std::move(*home), std::move(*layers), std::move(*parents)};
}

class FullTreeDriver : public Driver {
 public:
  std::string Name() const override { return name_; }
  std::string Home() const override { return home_; }

  bool Exists(const std::string& id) const override { return RequireLayer(id).has_value(); }

  Result<std::vector<std::string>> List() const override { return layout::ListLayerDirs(layers_); }

  // The record is checked: it must hold the id of an existing layer.
  Result<std::string> Parent(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto parent = parents_.Read(id);
    if (!parent || parent->empty()) return parent;
    if (auto st = RequireLayer(*parent); !st) {
      return std::unexpected(WithContext(st.error(), parents_.PathOf(id) + " names " + *parent));
    }
    return parent;
  }

  ovlab::Status ApplyDiff(const std::string& id, const std::string& staged) override {
    auto dir = DirOf(id);
    if (!dir) return std::unexpected(dir.error());
    return layout::ApplyStagedDiff(staged, *dir, layout::WhiteoutStyle::kDelete);
  }

  Result<std::vector<Change>> Changes(const std::string& id) override {
    auto dir = DirOf(id);
    if (!dir) return std::unexpected(dir.error());
    auto parent = Parent(id);
    if (!parent) return std::unexpected(parent.error());
    return TreeChanges(parent->empty() ? "" : Dir(*parent), *dir);
  }

  Result<std::map<std::string, std::string>> Metadata(const std::string& id) const override {
    auto dir = DirOf(id);
    if (!dir) return std::unexpected(dir.error());
    return std::map<std::string, std::string>{{"SourceDir", *dir}};
  }

 protected:
  FullTreeDriver(const std::string& name, FullTreeStore store)
      : name_(name),
        home_(store.home.path()),
        layers_(std::move(store.layers)),
        parents_(std::move(store.parents)) {}

  const layout::ConfinedDir& Layers() const { return layers_; }
  std::string Dir(const std::string& id) const { return layers_.PathOf(id); }
  ovlab::Status RequireLayer(const std::string& id) const {
    if (auto st = layout::ValidateLayerId(id); !st) return st;
    return layout::RequireLayerDir(layers_, id);
  }
  // The layer's directory, checked, as a path for the tree walks.
  Result<std::string> DirOf(const std::string& id) const {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    return Dir(id);
  }
  // A parent for Create: a missing one is named so; anything else there is refused as it is.
  ovlab::Status RequireParent(const std::string& parent) const {
    auto st = RequireLayer(parent);
    if (st || st.error().code != ENOENT) return st;
    return Fail(ENOENT, "parent layer " + parent + " does not exist: create it first");
  }
  // Entries of the layers directory that are no layer directory (a symlink), and parent records
  // naming no layer.
  Result<std::vector<CheckFinding>> CheckLayersAndRecords(bool repair) const {
    std::vector<CheckFinding> findings;
    auto names = layers_.List();
    if (!names) return std::unexpected(names.error());
    std::sort(names->begin(), names->end());
    for (const auto& n : *names) {
      if (!layout::ValidateLayerId(n)) continue;  // temporaries: the driver's own check
      if (auto st = layout::RequireLayerDir(layers_, n); !st) {
        findings.push_back({n, st.error().message, false});
      }
    }
    if (auto st = parents_.Check(layers_, repair, findings); !st) {
      return std::unexpected(st.error());
    }
    return findings;
  }

  const std::string name_;
  const std::string home_;
  const layout::ConfinedDir layers_;
  const ParentRecords parents_;
};

}  // namespace ovlab::drivers
