// Docker's legacy overlay (v1) driver. Image layers are full trees: <id>/root/, a child hard-links
// every regular file of its parent's root. Container (rw) layers are <id>/upper/ work/ merged/
// and lower-id naming the image layer whose root is the single lowerdir. Everything is reached
// through the home's ConfinedDir, and a layer's directories and lower-id are checked (ReadLayer)
// before they are used.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
#include "layout/layer_id.h"
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
constexpr size_t kMaxLowerIdBytes = 4096;  // an id is at most 128 bytes

// A layer as its directory shows it, checked.
struct Layer {
  bool image = false;    // root/; else a container layer: upper/, work/ and lower-id
  std::string lower_id;  // a container layer's image layer
};

class OverlayDriver final : public Driver {
 public:
  OverlayDriver(const DriverOptions& options, layout::ConfinedDir home, ParentRecords parents)
      : options_(options), home_(std::move(home)), parents_(std::move(parents)) {}

  std::string Name() const override { return kName; }
  std::string Home() const override { return home_.path(); }

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    if (auto st = layout::ValidateLayerId(id); !st) return st;
    auto exists = home_.Exists(id);
    if (!exists) return std::unexpected(exists.error());
    if (*exists) return Fail(EEXIST, "layer " + id + " already exists");
    const std::string& parent = options.parent;
    Layer parent_layer;
    if (!parent.empty()) {
      auto read = ReadLayer(parent);
      if (!read && read.error().code == ENOENT && !RequireLayer(parent)) {
        return Fail(ENOENT, "parent layer " + parent + " does not exist: create it first");
      }
      if (!read) return std::unexpected(read.error());
      parent_layer = *read;
      if (!options.rw && !parent_layer.image) {
        return Fail(EINVAL, "overlay: layer " + parent +
                                " is a container layer; an image layer "
                                "needs an image layer as its parent");
      }
    }
    auto tmp = home_.MakeTempDir(std::string(layout::kTempPrefix) + id + "-", kHomeMode);
    if (!tmp) return std::unexpected(tmp.error());
    Rollback undo;
    undo.Add([this, dir = *tmp] { (void)home_.RemoveTree(dir); });
    if (auto st = FillLayer(*tmp, parent, parent_layer, options.rw); !st) return st;
    if (!parent.empty()) {
      if (auto st = parents_.Write(id, parent); !st) return st;
      undo.Add([this, id] { parents_.Erase(id); });
    }
    if (auto st = home_.Rename(*tmp, id); !st) return st;
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
    return parents_.RemoveLayer(id, home_);
  }

  Result<std::string> Get(const std::string& id) override {
    auto layer = ReadLayer(id);
    if (!layer) return std::unexpected(layer.error());
    if (layer->image) return Root(id);
    auto st = refs_.Acquire(home_, MergedRel(id), [&](const std::string& target) {
      return MountContainer(id, *layer, target);
    });
    if (!st) return std::unexpected(WithContext(st.error(), "mount layer " + id));
    return Merged(id);
  }

  ovlab::Status Put(const std::string& id) override {
    auto layer = ReadLayer(id);
    if (!layer) return std::unexpected(layer.error());
    if (layer->image) return {};
    return refs_.Release(home_, MergedRel(id));
  }

  bool Exists(const std::string& id) const override { return RequireLayer(id).has_value(); }

  Result<std::vector<std::string>> List() const override { return layout::ListLayerDirs(home_); }

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
    auto layer = ReadLayer(id);
    if (!layer) return std::unexpected(layer.error());
    if (layer->image) {
      return layout::ApplyStagedDiff(staged, Root(id), layout::WhiteoutStyle::kDelete);
    }
    return layout::ApplyStagedDiff(staged, Upper(id), layout::WhiteoutStyle::kOverlay);
  }

  StatusFields Status() const override {
    return {{"Backing Filesystem", BackingFsName(home_.path())},
            {"Supports d_type", DTypeText(DirHasDType(home_.path(), /*may_write=*/false))}};
  }

  // An image layer owns the inodes its parent does not share with it: every directory, symlink
  // and special file, plus regular files it added or replaced.
  Result<LayerUsage> Usage(const std::string& id) const override {
    auto layer = ReadLayer(id);
    if (!layer) return std::unexpected(layer.error());
    if (!layer->image) return TreeUsage(Upper(id));
    auto parent = Parent(id);
    if (!parent) return std::unexpected(parent.error());
    if (parent->empty()) return TreeUsage(Root(id));
    auto parent_layer = ReadLayer(*parent);
    if (!parent_layer) return std::unexpected(parent_layer.error());
    if (!parent_layer->image) return TreeUsage(Root(id));
    auto shared = TreeInodes(Root(*parent));
    if (!shared) return std::unexpected(shared.error());
    return TreeUsage(Root(id), &*shared);
  }

  Result<std::vector<Change>> Changes(const std::string& id) override {
    auto layer = ReadLayer(id);
    if (!layer) return std::unexpected(layer.error());
    auto parent = Parent(id);
    if (!parent) return std::unexpected(parent.error());
    Layer parent_layer;
    if (!parent->empty()) {
      auto read = ReadLayer(*parent);
      if (!read) return std::unexpected(read.error());
      parent_layer = *read;
    }
    if (layer->image) return TreeChanges(parent->empty() ? "" : Root(*parent), Root(id));
    if (*parent == layer->lower_id) {
      return UpperChanges(Upper(id), TreeView(Root(layer->lower_id)));
    }
    // On a container layer (the -init case) the upper holds the parent's upper too: compare the
    // parent's view and this one, both read in place over their image layer (mounted where only
    // the kernel can read them).
    if (!ViewReadsTheLayers(mount::ProbeOverlayFeatures(), options_.mount_options)) {
      return MountedChanges(*parent, id);
    }
    TreeView old_view({Upper(*parent), Root(parent_layer.lower_id)});
    TreeView new_view({Upper(id), Root(layer->lower_id)});
    return TreeChanges(&old_view, new_view);
  }

  Result<std::map<std::string, std::string>> Metadata(const std::string& id) const override {
    auto layer = ReadLayer(id);
    if (!layer) return std::unexpected(layer.error());
    if (layer->image) return std::map<std::string, std::string>{{"RootDir", Root(id)}};
    return std::map<std::string, std::string>{{"LowerDir", Root(layer->lower_id)},
                                              {"UpperDir", Upper(id)},
                                              {"WorkDir", JoinPath(Dir(id), "work")},
                                              {"MergedDir", Merged(id)}};
  }

  Result<std::vector<CheckFinding>> Check(bool repair) override {
    auto names = home_.List();
    if (!names) return std::unexpected(names.error());
    std::sort(names->begin(), names->end());
    std::vector<CheckFinding> findings;
    std::vector<std::string> layers;
    std::set<std::string> mountable;
    for (const auto& n : *names) {
      if (StartsWith(n, layout::kTempPrefix)) {
        bool repaired = repair && home_.RemoveTree(n).has_value();
        findings.push_back({"", "leftover of an interrupted create: " + home_.PathOf(n), repaired});
        continue;
      }
      if (!layout::ValidateLayerId(n)) continue;  // .parents
      if (auto st = RequireLayer(n); !st) {
        findings.push_back({n, st.error().message, false});
        continue;
      }
      layers.push_back(n);
      auto layer = ReadLayer(n);
      if (!layer) {
        findings.push_back({n, layer.error().message, false});
        continue;
      }
      if (layer->image) continue;
      mountable.insert(n);
      if (auto merged = OpenMountPoint(home_, MergedRel(n)); !merged) {
        findings.push_back({n, merged.error().message, false});
      }
    }
    if (auto st = parents_.Check(home_, repair, findings); !st) return std::unexpected(st.error());
    if (auto st = CheckLayerMounts(home_, layers, mountable, "overlay", repair, findings); !st) {
      return std::unexpected(st.error());
    }
    return findings;
  }

 private:
  std::string Dir(const std::string& id) const { return home_.PathOf(id); }
  std::string Root(const std::string& id) const { return JoinPath(Dir(id), "root"); }
  std::string Upper(const std::string& id) const { return JoinPath(Dir(id), "upper"); }
  std::string Merged(const std::string& id) const { return JoinPath(Dir(id), "merged"); }
  std::string MergedRel(const std::string& id) const { return id + "/merged"; }

  ovlab::Status RequireLayer(const std::string& id) const {
    if (auto st = layout::ValidateLayerId(id); !st) return st;
    return layout::RequireLayerDir(home_, id);
  }

  ovlab::Status RequireDir(const std::string& rel) const {
    auto fd = home_.Open(rel, O_PATH | O_DIRECTORY);
    if (!fd) return std::unexpected(fd.error());
    return {};
  }

  // An image layer: a layer directory holding a root/ directory.
  ovlab::Status RequireImageLayer(const std::string& id) const {
    if (auto st = RequireLayer(id); !st) return st;
    auto st = RequireDir(id + "/root");
    if (st || st.error().code != ENOENT) return st;
    return Fail(EINVAL, "layer " + id + " is no image layer (it has no root/)");
  }

  // root/, or upper/, work/ and a lower-id naming an image layer, none of them a symlink.
  Result<Layer> ReadLayer(const std::string& id) const {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto has_root = home_.Exists(id + "/root");
    if (!has_root) return std::unexpected(has_root.error());
    if (*has_root) {
      if (auto st = RequireDir(id + "/root"); !st) return std::unexpected(st.error());
      return Layer{true, ""};
    }
    for (const char* dir : {"/upper", "/work"}) {
      if (auto st = RequireDir(id + dir); !st) return std::unexpected(st.error());
    }
    std::string rel = id + "/lower-id";
    auto lower_id = home_.ReadFile(rel, kMaxLowerIdBytes);
    if (!lower_id) return std::unexpected(lower_id.error());
    if (!layout::ValidateLayerId(*lower_id)) {
      return Fail(EINVAL, home_.PathOf(rel) + " holds " + JsonQuote(*lower_id) +
                              ", not the id of an image layer: the layer is damaged (remove it)");
    }
    if (auto st = RequireImageLayer(*lower_id); !st) {
      return std::unexpected(WithContext(st.error(), home_.PathOf(rel) + " names " + *lower_id));
    }
    return Layer{false, *lower_id};
  }

  // As overlay2's: the kernel gets the checked directories as /proc/self/fd/N.
  ovlab::Status MountContainer(const std::string& id, const Layer& layer,
                               const std::string& target) {
    std::vector<UniqueFd> held;
    auto hold = [&](const std::string& rel) -> Result<std::string> {
      auto fd = home_.Open(rel, O_PATH | O_DIRECTORY);
      if (!fd) return std::unexpected(fd.error());
      held.push_back(std::move(*fd));
      return FdName(held.back().get());
    };
    auto lower = hold(layer.lower_id + "/root");
    auto upper = hold(id + "/upper");
    auto work = hold(id + "/work");
    for (const auto* r : {&lower, &upper, &work}) {
      if (!*r) return std::unexpected(r->error());
    }
    mount::OverlaySpec spec;
    spec.relative_base = kProcSelfFd;
    spec.lowers = {*lower};
    spec.upper = *upper;
    spec.work = *work;
    spec.options = options_.mount_options;
    auto info = mount::MountOverlay(spec, target);
    if (!info) return std::unexpected(info.error());
    return {};
  }

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

  // What moby's overlay Create (plus ApplyDiff for image layers) leaves in the layer directory
  // (`tmp`, in the home).
  ovlab::Status FillLayer(const std::string& tmp, const std::string& parent,
                          const Layer& parent_layer, bool rw) {
    if (parent.empty()) return home_.MakeDir(tmp + "/root", kRootMode);
    if (!rw) return layout::LinkTree(Root(parent), home_.PathOf(tmp + "/root"));
    std::string lower_id = parent;
    if (parent_layer.image) {
      auto root = home_.Stat(parent + "/root");
      if (!root) return std::unexpected(root.error());
      if (auto st = home_.MakeDir(tmp + "/upper", root->st_mode & 07777); !st) return st;
    } else {
      // On a container layer: start from a copy of its upper, over the same image layer.
      lower_id = parent_layer.lower_id;
      auto copied = io::CopyTree(Upper(parent), home_.PathOf(tmp + "/upper"));
      if (!copied) return std::unexpected(copied.error());
    }
    if (auto st = home_.MakeDir(tmp + "/work", kWorkMode); !st) return st;
    return home_.WriteFile(tmp + "/lower-id", lower_id, kLowerIdMode);
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
  auto parents = ParentRecords::Open(*home, options.create_store);
  if (!parents) return std::unexpected(parents.error());
  return std::unique_ptr<Driver>(new OverlayDriver(options, std::move(*home), std::move(*parents)));
}

}  // namespace ovlab::drivers
