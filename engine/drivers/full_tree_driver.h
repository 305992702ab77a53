// What the drivers whose layers are full trees share (vfs: a copy per layer; btrfs: a subvolume
// snapshot per layer): layer <home>/<layers dir>/<id>, parent in ParentRecords, diffs applied
// with whiteouts turned into deletions, Docker's naive diff against the parent's tree.
#pragma once

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "base/fs.h"
#include "drivers/driver.h"
#include "drivers/parent_records.h"
#include "drivers/tree_stats.h"
#include "layout/apply_diff.h"
#include "layout/overlay2_layout.h"

namespace ovlab::drivers {

class FullTreeDriver : public Driver {
 public:
  std::string Name() const override { return name_; }
  std::string Home() const override { return home_; }

  bool Exists(const std::string& id) const override {
    return ValidateLayerId(id) && PathExists(Dir(id));
  }

  Result<std::vector<std::string>> List() const override {
    auto dir = layout::ConfinedDir::Open(layers_);
    if (!dir) return std::unexpected(dir.error());
    return layout::ListLayers(*dir);
  }

  Result<std::string> Parent(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    return parents_.Read(id);
  }

  ovlab::Status ApplyDiff(const std::string& id, const std::string& staged) override {
    if (auto st = RequireLayer(id); !st) return st;
    return layout::ApplyStagedDiff(staged, Dir(id), layout::WhiteoutStyle::kDelete);
  }

  Result<std::vector<Change>> Changes(const std::string& id) override {
    auto parent = Parent(id);
    if (!parent) return std::unexpected(parent.error());
    return TreeChanges(parent->empty() ? "" : Dir(*parent), Dir(id));
  }

  Result<std::map<std::string, std::string>> Metadata(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    return std::map<std::string, std::string>{{"SourceDir", Dir(id)}};
  }

 protected:
  // Layers live in <root>/<name>/<layers_dir>/.
  FullTreeDriver(const std::string& name, const std::string& root, const std::string& layers_dir)
      : name_(name),
        home_(JoinPath(root, name)),
        layers_(JoinPath(home_, layers_dir)),
        parents_(home_) {}

  const std::string& LayersDir() const { return layers_; }
  std::string Dir(const std::string& id) const { return JoinPath(layers_, id); }
  ovlab::Status RequireLayer(const std::string& id) const {
    if (auto st = ValidateLayerId(id); !st) return st;
    if (!PathExists(Dir(id))) return Fail(ENOENT, "layer " + id + " does not exist in " + home_);
    return {};
  }

  const std::string name_;
  const std::string home_;
  const std::string layers_;
  const ParentRecords parents_;
};

}  // namespace ovlab::drivers
