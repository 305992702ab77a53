// Docker's overlay2 driver: the layout of layout/overlay2_layout.h, mounted by the kernel.
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/builtin_drivers.h"
#include "drivers/mount_refs.h"
#include "drivers/overlay2_check.h"
#include "drivers/parent_records.h"
#include "drivers/tree_stats.h"
#include "layout/apply_diff.h"
#include "layout/overlay2_layout.h"
#include "mount/mount.h"

namespace ovlab::drivers {
namespace {

constexpr char kName[] = "overlay2";

class Overlay2Driver final : public Driver {
 public:
  explicit Overlay2Driver(const DriverOptions& options)
      : options_(options),
        home_(JoinPath(options.root, kName)),
        features_(mount::ProbeOverlayFeatures()) {}

  std::string Name() const override { return kName; }
  std::string Home() const override { return home_; }

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    if (auto st = ValidateLayerId(id); !st) return st;
    if (id == layout::kLinkDir) {
      return Fail(EINVAL, "invalid layer id \"l\": overlay2 keeps its short links there");
    }
    if (!options.parent.empty()) {
      if (auto st = ValidateLayerId(options.parent); !st) return st;
    }
    return layout::CreateLayer(home_, id, options.parent, options_.max_depth);
  }

  ovlab::Status Remove(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    auto p = layout::PathsOf(home_, id);
    if (refs_.InUse(p.merged)) {
      return Fail(EBUSY, "layer " + id + " is mounted at " + p.merged + ": unmount it first");
    }
    auto children = Children(id);
    if (!children) return std::unexpected(children.error());
    if (auto st = RefuseIfChildren(id, *children); !st) return st;
    return layout::RemoveLayer(home_, id);
  }

  Result<std::string> Get(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto p = layout::PathsOf(home_, id);
    auto lower = layout::ReadLower(home_, id);
    if (!lower) return std::unexpected(lower.error());
    if (lower->empty()) return p.diff;  // a base layer is its diff, as in Docker
    auto st = refs_.Acquire(p.merged, [&]() -> ovlab::Status { return MountLayer(id, *lower); });
    if (!st) return std::unexpected(WithContext(st.error(), "mount layer " + id));
    return p.merged;
  }

  ovlab::Status Put(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    auto lower = layout::ReadLower(home_, id);
    if (!lower) return std::unexpected(lower.error());
    if (lower->empty()) return {};  // nothing was mounted
    return refs_.Release(layout::PathsOf(home_, id).merged);
  }

  bool Exists(const std::string& id) const override {
    return ValidateLayerId(id) && PathExists(layout::PathsOf(home_, id).dir);
  }

  Result<std::vector<std::string>> List() const override { return layout::ListLayers(home_); }

  Result<std::string> Parent(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto lower = layout::ReadLower(home_, id);
    if (!lower) return std::unexpected(lower.error());
    if (lower->empty()) return std::string();
    return layout::LayerOfLowerEntry(home_, lower->front());
  }

  ovlab::Status ApplyDiff(const std::string& id, const std::string& staged) override {
    if (auto st = RequireLayer(id); !st) return st;
    return layout::ApplyStagedDiff(staged, layout::PathsOf(home_, id).diff,
                                   layout::WhiteoutStyle::kOverlay);
  }

  StatusFields Status() const override {
    auto yes_no = [](bool b) { return std::string(b ? "true" : "false"); };
    auto dtype = mount::SupportsDType(home_);
    bool native_diff = !features_.redirect_dir_default && !features_.metacopy_default;
    return {{"Backing Filesystem", BackingFsName(home_)},
            {"Supports d_type", yes_no(dtype && *dtype)},
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
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    return TreeUsage(layout::PathsOf(home_, id).diff);
  }

  Result<std::vector<Change>> Changes(const std::string& id) override {
    auto parent = Parent(id);
    if (!parent) return std::unexpected(parent.error());
    return ChangesOverParent(*this, layout::PathsOf(home_, id).diff, *parent);
  }

  Result<std::map<std::string, std::string>> Metadata(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto p = layout::PathsOf(home_, id);
    auto lower = layout::ReadLower(home_, id);
    if (!lower) return std::unexpected(lower.error());
    std::map<std::string, std::string> data{
        {"UpperDir", p.diff}, {"WorkDir", p.work}, {"MergedDir", p.merged}};
    std::vector<std::string> lower_dirs;
    for (const auto& entry : *lower) {
      auto layer = layout::LayerOfLowerEntry(home_, entry);
      if (!layer) return std::unexpected(layer.error());
      lower_dirs.push_back(layout::PathsOf(home_, *layer).diff);
    }
    if (!lower_dirs.empty()) data["LowerDir"] = Join(lower_dirs, ":");
    return data;
  }

  Result<std::vector<CheckFinding>> Check(bool repair) override {
    return CheckOverlay2Home(home_, repair);
  }

 private:
  ovlab::Status RequireLayer(const std::string& id) const {
    if (auto st = ValidateLayerId(id); !st) return st;
    if (!PathExists(layout::PathsOf(home_, id).dir)) {
      return Fail(ENOENT, "layer " + id + " does not exist in " + home_);
    }
    return {};
  }

  // Committed layers (those with children) mount read-only: their own diff becomes the top lower.
  // Paths are relative to the home, as Docker mounts after chdir; MountOverlay picks absolute
  // paths, lowerdir+ or a chdir'ed thread depending on length and kernel.
  ovlab::Status MountLayer(const std::string& id, const std::vector<std::string>& lower) {
    auto p = layout::PathsOf(home_, id);
    mount::OverlaySpec spec;
    spec.relative_base = home_;
    bool committed = PathExists(p.committed);
    if (committed) spec.lowers.push_back(id + "/diff");
    spec.lowers.insert(spec.lowers.end(), lower.begin(), lower.end());
    if (!committed) {
      spec.upper = id + "/diff";
      spec.work = id + "/work";
    }
    bool index_given = std::any_of(options_.mount_options.begin(), options_.mount_options.end(),
                                   [](const std::string& o) { return StartsWith(o, "index="); });
    if (!index_given) spec.options.push_back("index=off");  // Docker turns the index off
    spec.options.insert(spec.options.end(), options_.mount_options.begin(),
                        options_.mount_options.end());
    auto info = mount::MountOverlay(spec, p.merged, mount::OverlayMethod::kAuto);
    if (!info) return std::unexpected(info.error());
    return {};
  }

  Result<std::vector<std::string>> Children(const std::string& id) const {
    auto short_id = layout::ReadShortId(home_, id);
    if (!short_id) return std::vector<std::string>{};  // no link: nobody can name it
    std::string entry = std::string(layout::kLinkDir) + "/" + *short_id;
    auto layers = layout::ListLayers(home_);
    if (!layers) return layers;
    std::vector<std::string> children;
    for (const auto& l : *layers) {
      auto lower = layout::ReadLower(home_, l);
      if (lower && !lower->empty() && lower->front() == entry) children.push_back(l);
    }
    return children;
  }

  DriverOptions options_;
  std::string home_;
  mount::OverlayFeatures features_;
  MountRefs refs_;
};

}  // namespace

Result<std::unique_ptr<Driver>> NewOverlay2Driver(const DriverOptions& options) {
  std::string home = JoinPath(options.root, kName);
  if (auto st = layout::PrepareHome(home); !st) return std::unexpected(st.error());
  return std::unique_ptr<Driver>(new Overlay2Driver(options));
}

}  // namespace ovlab::drivers
