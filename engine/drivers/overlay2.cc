// Docker's overlay2 driver: the layout of layout/overlay2_layout.h, mounted by the kernel.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/builtin_drivers.h"
#include "drivers/dtype.h"
#include "drivers/mount_refs.h"
#include "drivers/overlay2_check.h"
#include "drivers/parent_records.h"
#include "drivers/store_home.h"
#include "drivers/tree_stats.h"
#include "layout/apply_diff.h"
#include "layout/overlay2_layout.h"
#include "mount/mount.h"

namespace ovlab::drivers {
namespace {

constexpr char kName[] = "overlay2";
// Children are found whatever depth they were made with: the kernel's limit.
constexpr size_t kMaxLowers = 500;

class Overlay2Driver final : public Driver {
 public:
  Overlay2Driver(const DriverOptions& options, layout::ConfinedDir home)
      : options_(options), home_(std::move(home)), features_(mount::ProbeOverlayFeatures()) {}

  std::string Name() const override { return kName; }
  std::string Home() const override { return home_.path(); }

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    if (auto st = layout::ValidateOverlay2Id(id); !st) return st;
    if (!options.parent.empty()) {
      if (auto st = layout::ValidateOverlay2Id(options.parent); !st) return st;
    }
    return layout::CreateLayer(home_, id, options.parent, options_.max_depth);
  }

  ovlab::Status Remove(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    auto p = layout::RelPathsOf(id);
    auto in_use = refs_.InUse(home_, p.merged);
    if (!in_use) return std::unexpected(in_use.error());
    if (*in_use) {
      return Fail(
          EBUSY, "layer " + id + " is mounted at " + home_.PathOf(p.merged) + ": unmount it first");
    }
    auto children = Children(id);
    if (!children) return std::unexpected(children.error());
    if (auto st = RefuseIfChildren(id, *children); !st) return st;
    if (auto st = RefuseIfMountsInside(id); !st) return st;
    return layout::RemoveLayer(home_, id);
  }

  Result<std::string> Get(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto view = layout::OpenLayerView(home_, id, options_.max_depth);
    if (!view) return std::unexpected(view.error());
    if (view->lowers.empty()) return view->diff.path;  // a base layer is its diff, as in Docker
    auto merged = layout::RelPathsOf(id).merged;
    auto st = refs_.Acquire(home_, merged, [&](const std::string& target) -> ovlab::Status {
      return MountLayer(*view, target);
    });
    if (!st) return std::unexpected(WithContext(st.error(), "mount layer " + id));
    return home_.PathOf(merged);
  }

  ovlab::Status Put(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    auto lower = layout::ReadLower(home_, id, options_.max_depth);
    if (!lower) return std::unexpected(lower.error());
    if (lower->empty()) return {};  // nothing was mounted
    return refs_.Release(home_, layout::RelPathsOf(id).merged);
  }

  bool Exists(const std::string& id) const override {
    return layout::ValidateOverlay2Id(id) && layout::RequireLayerDir(home_, id);
  }

  Result<std::vector<std::string>> List() const override { return layout::ListLayers(home_); }

  Result<std::string> Parent(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto lower = layout::ReadLower(home_, id, options_.max_depth);
    if (!lower) return std::unexpected(lower.error());
    if (lower->empty()) return std::string();
    return layout::LayerOfLowerEntry(home_, lower->front());
  }

  ovlab::Status ApplyDiff(const std::string& id, const std::string& staged) override {
    auto diff = DiffOf(id);
    if (!diff) return std::unexpected(diff.error());
    return layout::ApplyStagedDiff(staged, *diff, layout::WhiteoutStyle::kOverlay);
  }

  StatusFields Status() const override {
    auto yes_no = [](bool b) { return std::string(b ? "true" : "false"); };
    auto dtype = DirHasDType(home_.path(), /*may_write=*/false);
    bool native_diff = !features_.redirect_dir_default && !features_.metacopy_default;
    return {{"Backing Filesystem", BackingFsName(home_.path())},
            {"Supports d_type", DTypeText(dtype)},
            {"Using metacopy", yes_no(features_.metacopy_default)},
            {"Native Overlay Diff", yes_no(native_diff)},
            {"userxattr", "false"},
            {"Kernel", features_.kernel_release},
            {"Kernel redirect_dir", yes_no(features_.redirect_dir_default)},
            {"Kernel metacopy", yes_no(features_.metacopy_default)},
            {"Kernel index", yes_no(features_.index_default)},
            {"Kernel xino", features_.xino_auto_default ? "auto" : "off"},
            {"Kernel lowerdir+", yes_no(features_.lowerdir_plus)},
            {"Max depth", std::to_string(options_.max_depth)}};
  }

  Result<LayerUsage> Usage(const std::string& id) const override {
    auto diff = DiffOf(id);
    if (!diff) return std::unexpected(diff.error());
    return TreeUsage(*diff);
  }

  // Docker's native overlay diff: the diff against the layers below, read in place (no mount of
  // the parent, nothing written), unless only the kernel can read them.
  Result<std::vector<Change>> Changes(const std::string& id) override {
    auto parent = Parent(id);
    if (!parent) return std::unexpected(parent.error());
    auto view = layout::OpenLayerView(home_, id, options_.max_depth);
    if (!view) return std::unexpected(view.error());
    if (!ViewReadsTheLayers(features_, options_.mount_options)) {
      return ChangesOverParent(*this, view->diff.path, *parent);
    }
    if (view->lowers.empty()) return TreeChanges("", view->diff.path);
    std::vector<std::string> below;
    for (const auto& l : view->lowers) below.push_back(l.path);
    return UpperChanges(view->diff.path, TreeView(std::move(below)));
  }

  Result<std::map<std::string, std::string>> Metadata(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto p = layout::PathsOf(home_.path(), id);
    auto lower = layout::ReadLower(home_, id, options_.max_depth);
    if (!lower) return std::unexpected(lower.error());
    std::map<std::string, std::string> data{
        {"UpperDir", p.diff}, {"WorkDir", p.work}, {"MergedDir", p.merged}};
    std::vector<std::string> lower_dirs;
    for (const auto& entry : *lower) {
      auto layer = layout::LayerOfLowerEntry(home_, entry);
      if (!layer) return std::unexpected(layer.error());
      lower_dirs.push_back(layout::PathsOf(home_.path(), *layer).diff);
    }
    if (!lower_dirs.empty()) data["LowerDir"] = Join(lower_dirs, ":");
    return data;
  }

  Result<std::vector<CheckFinding>> Check(bool repair) override {
    return CheckOverlay2Home(home_, options_.max_depth, "overlay", repair);
  }

 private:
  ovlab::Status RequireLayer(const std::string& id) const {
    if (auto st = layout::ValidateOverlay2Id(id); !st) return st;
    return layout::RequireLayerDir(home_, id);
  }

  Result<std::string> DiffOf(const std::string& id) const {
    if (auto st = layout::ValidateOverlay2Id(id); !st) return std::unexpected(st.error());
    return layout::DiffPathOf(home_, id);
  }

  // The kernel gets each layer as /proc/self/fd/N of the directory OpenLayerView opened beneath
  // the home, not as a path: it then mounts exactly the directories that were checked, follows no
  // l/ symlink of the store itself, and nothing swapped in since counts. The names ("N", relative
  // to /proc/self/fd) are also shorter than Docker's l/ links, so even 500 lowers fit one page of
  // mount data. Committed layers (those with children) mount read-only: their own diff becomes
  // the top lower.
  ovlab::Status MountLayer(const layout::LayerView& view, const std::string& target) {
    mount::OverlaySpec spec;
    spec.relative_base = kProcSelfFd;
    auto name = [](const layout::ViewDir& d) { return FdName(d.fd.get()); };
    if (view.committed) spec.lowers.push_back(name(view.diff));
    for (const auto& l : view.lowers) spec.lowers.push_back(name(l));
    if (!view.committed) {
      spec.upper = name(view.diff);
      spec.work = name(*view.work);
    }
    bool index_given = std::any_of(options_.mount_options.begin(), options_.mount_options.end(),
                                   [](const std::string& o) { return StartsWith(o, "index="); });
    if (!index_given) spec.options.push_back("index=off");  // Docker turns the index off
    spec.options.insert(spec.options.end(), options_.mount_options.begin(),
                        options_.mount_options.end());
    auto info = mount::MountOverlay(spec, target, mount::OverlayMethod::kAuto);
    if (!info) return std::unexpected(info.error());
    return {};
  }

  // The removal must not fail half-way on a busy mount point: whatever is mounted inside the
  // layer (beyond merged/, refused above) is refused before anything is removed.
  ovlab::Status RefuseIfMountsInside(const std::string& id) const {
    char real[PATH_MAX];
    std::string dir = home_.PathOf(id);
    auto mounts = mount::MountsUnder(::realpath(dir.c_str(), real) ? real : dir);
    if (!mounts) return std::unexpected(mounts.error());
    if (mounts->empty()) return {};
    return Fail(EBUSY, "layer " + id + " has a mount inside, at " + mounts->front().target +
                           ": unmount it first");
  }

  // Layers whose lower starts with this layer's short id (from its link file, or the l/ link
  // that points at it).
  Result<std::vector<std::string>> Children(const std::string& id) const {
    std::vector<std::string> entries;
    if (auto short_id = layout::ReadShortId(home_, id)) {
      entries.push_back(layout::ShortLinkEntry(*short_id));
    }
    if (auto linked = layout::FindShortLinkTo(home_, id)) {
      entries.push_back(layout::ShortLinkEntry(*linked));
    }
    auto layers = layout::ListLayers(home_);
    if (!layers) return layers;
    std::vector<std::string> children;
    for (const auto& l : *layers) {
      auto lower = layout::ReadLower(home_, l, kMaxLowers);
      if (lower && !lower->empty() &&
          std::find(entries.begin(), entries.end(), lower->front()) != entries.end()) {
        children.push_back(l);
      }
    }
    return children;
  }

  DriverOptions options_;
  layout::ConfinedDir home_;
  mount::OverlayFeatures features_;
  MountRefs refs_;
};

}  // namespace

Result<std::unique_ptr<Driver>> NewOverlay2Driver(const DriverOptions& options) {
  auto home = OpenStoreHome(options, kName, layout::kHomeMode);
  if (!home) return std::unexpected(home.error());
  if (options.create_store) {
    if (auto st = layout::PrepareHome(*home); !st) return std::unexpected(st.error());
  }
  return std::unique_ptr<Driver>(new Overlay2Driver(options, std::move(*home)));
}

}  // namespace ovlab::drivers
