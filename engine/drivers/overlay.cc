// Docker's legacy overlay (v1) driver. Image layers are full trees: <id>/root/, a child hard-links
// every regular file of its parent's root. Container (rw) layers are <id>/upper/ work/ merged/
// and lower-id naming the image layer whose root is the single lowerdir.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "base/strings.h"
#include "drivers/builtin_drivers.h"
#include "drivers/dtype.h"
#include "drivers/mount_refs.h"
#include "drivers/parent_records.h"
#include "drivers/stale_mounts.h"
#include "drivers/store_home.h"
#include "drivers/tree_stats.h"
#include "io/tree_copy.h"
#include "layout/apply_diff.h"
#include "layout/link_tree.h"
#include "layout/overlay2_layout.h"
#include "mount/mount.h"

namespace ovlab::drivers {
namespace {

constexpr char kName[] = "overlay";
constexpr mode_t kHomeMode = 0710;  // moby overlay: home and each layer directory
constexpr mode_t kRootMode = 0755;  // a base layer's root: readable by container users
constexpr mode_t kWorkMode = 0700;
constexpr mode_t kLowerIdMode = 0600;

class OverlayDriver final : public Driver {
 public:
  OverlayDriver(const DriverOptions& options, layout::ConfinedDir home)
      : options_(options), home_(std::move(home)), parents_(home_.path()) {}

  std::string Name() const override { return kName; }
  std::string Home() const override { return home_.path(); }

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    if (auto st = ValidateLayerId(id); !st) return st;
    if (PathExists(Dir(id))) return Fail(EEXIST, "layer " + id + " already exists");
    const std::string& parent = options.parent;
    if (!parent.empty() && !Exists(parent)) {
      return Fail(ENOENT, "parent layer " + parent + " does not exist: create it first");
    }
    if (!parent.empty() && !options.rw && !IsImageLayer(parent)) {
      return Fail(EINVAL, "overlay: layer " + parent +
                              " is a container layer; an image layer "
                              "needs an image layer as its parent");
    }
    auto tmp = MakeTempDir(home_.path(), std::string(layout::kTempPrefix) + id + "-");
    if (!tmp) return std::unexpected(tmp.error());
    Rollback undo;
    undo.Add([dir = *tmp] { (void)RemoveTree(dir); });
    if (::chmod(tmp->c_str(), kHomeMode) != 0) return FailErrno(errno, "chmod " + *tmp);
    auto filled = FillLayer(*tmp, parent, options.rw);
    if (!filled) return filled;
    if (!parent.empty()) {
      if (auto st = parents_.Write(id, parent); !st) return st;
      undo.Add([this, id] { parents_.Erase(id); });
    }
    if (::rename(tmp->c_str(), Dir(id).c_str()) != 0) {
      return FailErrno(errno, "rename " + *tmp + " to " + Dir(id));
    }
    undo.Dismiss();
    return {};
  }

  ovlab::Status Remove(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    auto in_use = refs_.InUse(home_, MergedRel(id));
    if (!in_use) return std::unexpected(in_use.error());
    if (*in_use) {
      return Fail(EBUSY, "layer " + id + " is mounted at " + Merged(id) + ": unmount it first");
    }
    return parents_.RemoveLayer(id, Dir(id));
  }

  Result<std::string> Get(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    if (IsImageLayer(id)) return Root(id);
    auto lower_id = ReadFileText(LowerIdFile(id));
    if (!lower_id) return std::unexpected(lower_id.error());
    auto st = refs_.Acquire(home_, MergedRel(id), [&](const std::string& target) -> ovlab::Status {
      mount::OverlaySpec spec;
      spec.lowers = {Root(*lower_id)};
      spec.upper = JoinPath(Dir(id), "upper");
      spec.work = JoinPath(Dir(id), "work");
      spec.options = options_.mount_options;
      auto info = mount::MountOverlay(spec, target);
      if (!info) return std::unexpected(info.error());
      return {};
    });
    if (!st) return std::unexpected(WithContext(st.error(), "mount layer " + id));
    return Merged(id);
  }

  ovlab::Status Put(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    if (IsImageLayer(id)) return {};
    return refs_.Release(home_, MergedRel(id));
  }

  bool Exists(const std::string& id) const override {
    return ValidateLayerId(id) && PathExists(Dir(id));
  }

  Result<std::vector<std::string>> List() const override { return layout::ListLayers(home_); }

  Result<std::string> Parent(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    return parents_.Read(id);
  }

  ovlab::Status ApplyDiff(const std::string& id, const std::string& staged) override {
    if (auto st = RequireLayer(id); !st) return st;
    if (IsImageLayer(id)) {
      return layout::ApplyStagedDiff(staged, Root(id), layout::WhiteoutStyle::kDelete);
    }
    return layout::ApplyStagedDiff(staged, JoinPath(Dir(id), "upper"),
                                   layout::WhiteoutStyle::kOverlay);
  }

  StatusFields Status() const override {
    return {{"Backing Filesystem", BackingFsName(home_.path())},
            {"Supports d_type", DTypeText(DirHasDType(home_.path(), /*may_write=*/false))}};
  }

  // An image layer owns the inodes its parent does not share with it: every directory, symlink
  // and special file, plus regular files it added or replaced.
  Result<LayerUsage> Usage(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    if (!IsImageLayer(id)) return TreeUsage(JoinPath(Dir(id), "upper"));
    auto parent = parents_.Read(id);
    if (!parent) return std::unexpected(parent.error());
    if (parent->empty() || !IsImageLayer(*parent)) return TreeUsage(Root(id));
    auto shared = TreeInodes(Root(*parent));
    if (!shared) return std::unexpected(shared.error());
    return TreeUsage(Root(id), &*shared);
  }

  Result<std::vector<Change>> Changes(const std::string& id) override {
    auto parent = Parent(id);
    if (!parent) return std::unexpected(parent.error());
    if (IsImageLayer(id)) return TreeChanges(parent->empty() ? "" : Root(*parent), Root(id));
    auto lower_id = ReadFileText(LowerIdFile(id));
    if (!lower_id) return std::unexpected(lower_id.error());
    if (*parent == *lower_id)
      return UpperChanges(JoinPath(Dir(id), "upper"), TreeView(Root(*lower_id)));
    // On a container layer (the -init case) the upper holds the parent's upper too: compare the
    // parent's view and this one, both read in place over their image layer (mounted where only
    // the kernel can read them).
    if (!ViewReadsTheLayers(mount::ProbeOverlayFeatures(), options_.mount_options)) {
      return MountedChanges(*parent, id);
    }
    auto parent_lower_id = ReadFileText(LowerIdFile(*parent));
    if (!parent_lower_id) return std::unexpected(parent_lower_id.error());
    TreeView old_view({JoinPath(Dir(*parent), "upper"), Root(*parent_lower_id)});
    TreeView new_view({JoinPath(Dir(id), "upper"), Root(*lower_id)});
    return TreeChanges(&old_view, new_view);
  }

  Result<std::map<std::string, std::string>> Metadata(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    if (IsImageLayer(id)) return std::map<std::string, std::string>{{"RootDir", Root(id)}};
    auto lower_id = ReadFileText(LowerIdFile(id));
    if (!lower_id) return std::unexpected(lower_id.error());
    return std::map<std::string, std::string>{{"LowerDir", Root(*lower_id)},
                                              {"UpperDir", JoinPath(Dir(id), "upper")},
                                              {"WorkDir", JoinPath(Dir(id), "work")},
                                              {"MergedDir", Merged(id)}};
  }

  Result<std::vector<CheckFinding>> Check(bool repair) override {
    auto layers = List();
    if (!layers) return std::unexpected(layers.error());
    std::vector<CheckFinding> findings;
    std::set<std::string> mountable;
    for (const auto& id : *layers) {
      if (IsImageLayer(id)) continue;
      mountable.insert(id);
      auto lower_id = ReadFileText(LowerIdFile(id));
      if (!lower_id || !IsImageLayer(*lower_id)) {
        findings.push_back(
            {id, "lower-id names no image layer: the layer cannot be mounted", false});
      }
    }
    auto names = ListDir(home_.path());
    if (!names) return std::unexpected(names.error());
    for (const auto& n : *names) {
      if (!StartsWith(n, layout::kTempPrefix)) continue;
      bool repaired = repair && home_.RemoveTree(n).has_value();
      findings.push_back({"", "leftover of an interrupted create: " + home_.PathOf(n), repaired});
    }
    if (auto st = CheckLayerMounts(home_, *layers, mountable, "overlay", repair, findings); !st) {
      return std::unexpected(st.error());
    }
    return findings;
  }

 private:
  Result<std::vector<Change>> MountedChanges(const std::string& parent, const std::string& id) {
    auto old_view = Get(parent);
    if (!old_view) return std::unexpected(old_view.error());
    auto new_view = Get(id);
    Result<std::vector<Change>> changes =
        new_view ? TreeChanges(*old_view, *new_view) : std::unexpected(new_view.error());
    if (new_view) (void)Put(id);
    (void)Put(parent);
    return changes;
  }

  std::string Dir(const std::string& id) const { return home_.PathOf(id); }
  std::string MergedRel(const std::string& id) const { return id + "/merged"; }
  std::string Root(const std::string& id) const { return JoinPath(Dir(id), "root"); }
  std::string Merged(const std::string& id) const { return JoinPath(Dir(id), "merged"); }
  std::string LowerIdFile(const std::string& id) const { return JoinPath(Dir(id), "lower-id"); }
  bool IsImageLayer(const std::string& id) const { return PathExists(Root(id)); }

  ovlab::Status RequireLayer(const std::string& id) const {
    if (auto st = ValidateLayerId(id); !st) return st;
    if (!PathExists(Dir(id))) {
      return Fail(ENOENT, "layer " + id + " does not exist in " + home_.path());
    }
    return {};
  }

  // What moby's overlay Create (plus ApplyDiff for image layers) leaves in the layer directory.
  ovlab::Status FillLayer(const std::string& dir, const std::string& parent, bool rw) {
    if (parent.empty()) return MakeDir(JoinPath(dir, "root"), kRootMode);
    if (!rw) return layout::LinkTree(Root(parent), JoinPath(dir, "root"));
    std::string upper = JoinPath(dir, "upper");
    std::string lower_id = parent;
    if (IsImageLayer(parent)) {
      auto root = LStat(Root(parent));
      if (!root) return std::unexpected(root.error());
      if (auto st = MakeDir(upper, root->st_mode & 07777); !st) return st;
    } else {
      // On a container layer: start from a copy of its upper, over the same image layer.
      auto inherited = ReadFileText(LowerIdFile(parent));
      if (!inherited) return std::unexpected(inherited.error());
      lower_id = *inherited;
      auto copied = io::CopyTree(JoinPath(Dir(parent), "upper"), upper);
      if (!copied) return std::unexpected(copied.error());
    }
    if (auto st = MakeDir(JoinPath(dir, "work"), kWorkMode); !st) return st;
    return WriteFileAtomic(JoinPath(dir, "lower-id"), lower_id, kLowerIdMode);
  }

  DriverOptions options_;
  layout::ConfinedDir home_;
  ParentRecords parents_;
  MountRefs refs_;
};

}  // namespace

Result<std::unique_ptr<Driver>> NewOverlayDriver(const DriverOptions& options) {
  auto home = OpenStoreHome(options, kName, kHomeMode);
  if (!home) return std::unexpected(home.error());
  if (options.create_store) {
    if (auto st = ParentRecords(home->path()).Prepare(); !st) return std::unexpected(st.error());
  }
  return std::unique_ptr<Driver>(new OverlayDriver(options, std::move(*home)));
}

}  // namespace ovlab::drivers
