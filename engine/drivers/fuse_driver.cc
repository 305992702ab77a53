// The `fuse` driver: Docker's overlay2 layout, mounted by ovlab-fuse (the userspace union engine
// behind FUSE) instead of the kernel. Everything but mounting is the overlay2 driver itself, kept
// under <root>/fuse (so its home is <root>/fuse/overlay2); Get starts an ovlab-fuse daemon on the
// layer's merged/ directory and Put unmounts it, which ends the daemon.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "drivers/builtin_drivers.h"
#include "drivers/mount_refs.h"
#include "drivers/overlay2_check.h"
#include "drivers/store_home.h"
#include "drivers/tree_stats.h"
#include "launch/programs.h"
#include "launch/union_argv.h"
#include "layout/overlay2_layout.h"

namespace ovlab::drivers {
namespace {

constexpr char kName[] = "fuse";
constexpr char kMountType[] = "fuse.ovlab-fuse";  // what ovlab-fuse's mounts show as their type

// A mount whose daemon died answers ENOTCONN (or ECONNABORTED) to statfs, which always asks the
// daemon (stat may answer from cached attributes).
bool IsDeadMount(const layout::ConfinedDir& home, const std::string& merged) {
  auto fd = OpenMountPoint(home, merged);
  if (!fd || !*fd) return false;
  struct statfs fs;
  return ::fstatfs(fd->get(), &fs) != 0 && IsDisconnectedErrno(errno);
}

// Detaches a dead daemon's mount, as `fusermount3 -u` would, so that the layer can be mounted
// again or removed. Unmounted through the fd: exactly the directory checked.
bool DetachDeadMount(const layout::ConfinedDir& home, const std::string& merged) {
  if (!IsDeadMount(home, merged)) return false;
  auto fd = OpenMountPoint(home, merged);
  return fd && *fd && ::umount2(ProcFdPath(fd->get()).c_str(), MNT_DETACH) == 0;
}

class FuseDriver final : public Driver {
 public:
  FuseDriver(const DriverOptions& options, std::unique_ptr<Driver> layers, layout::ConfinedDir home,
             std::string binary)
      : options_(options),
        layers_(std::move(layers)),
        home_(std::move(home)),
        binary_(std::move(binary)) {}

  std::string Name() const override { return kName; }
  std::string Home() const override { return layers_->Home(); }

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    return layers_->Create(id, options);
  }
  // A dead daemon's mount serves nobody and would fail the removal half-way (stat merged:
  // Transport endpoint is not connected): it is detached first, then the layer goes as a whole.
  ovlab::Status Remove(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    ForgetDeadMount(layout::RelPathsOf(id).merged);
    return layers_->Remove(id);
  }
  bool Exists(const std::string& id) const override { return layers_->Exists(id); }
  Result<std::vector<std::string>> List() const override { return layers_->List(); }
  Result<std::string> Parent(const std::string& id) const override { return layers_->Parent(id); }
  ovlab::Status ApplyDiff(const std::string& id, const std::string& staged) override {
    return layers_->ApplyDiff(id, staged);
  }
  Result<LayerUsage> Usage(const std::string& id) const override { return layers_->Usage(id); }
  Result<std::map<std::string, std::string>> Metadata(const std::string& id) const override {
    return layers_->Metadata(id);
  }
  // overlay2's check, with ovlab-fuse's mounts as the layers' own, and dead daemons' mounts found
  // (repair: detach, as `fusermount3 -u`).
  Result<std::vector<CheckFinding>> Check(bool repair) override {
    auto findings = CheckOverlay2Home(home_, options_.max_depth, kMountType, repair);
    if (!findings) return findings;
    auto layers = layout::ListLayers(home_);
    if (!layers) return std::unexpected(layers.error());
    for (const auto& id : *layers) {
      std::string merged = layout::RelPathsOf(id).merged;
      if (!IsDeadMount(home_, merged)) continue;
      bool repaired = repair && ForgetDeadMount(merged) && home_.RemoveDir(merged).has_value();
      findings->push_back(
          {id, "the ovlab-fuse daemon of " + home_.PathOf(merged) + " is gone", repaired});
    }
    return findings;
  }

  Result<std::string> Get(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    auto view = layout::OpenLayerView(home_, id, options_.max_depth);
    if (!view) return std::unexpected(view.error());
    if (view->lowers.empty()) return view->diff.path;  // a base layer is its diff, as overlay2
    std::string merged = layout::RelPathsOf(id).merged;
    ForgetDeadMount(merged);
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
    if (lower->empty()) return {};
    std::string merged = layout::RelPathsOf(id).merged;
    if (ForgetDeadMount(merged)) return home_.RemoveDir(merged);
    return refs_.Release(home_, merged);
  }

  StatusFields Status() const override {
    StatusFields fields = layers_->Status();
    fields.insert(fields.begin(), {"Mounted by", binary_});
    return fields;
  }

  // overlay2's: the layers read in place, the same view ovlab-fuse serves.
  Result<std::vector<Change>> Changes(const std::string& id) override {
    return layers_->Changes(id);
  }

 private:
  ovlab::Status RequireLayer(const std::string& id) const {
    if (auto st = layout::ValidateOverlay2Id(id); !st) return st;
    return layout::RequireLayerDir(home_, id);
  }

  // A dead daemon's mount is detached and every reference to it dropped: it serves nobody, and
  // the next Get mounts afresh.
  bool ForgetDeadMount(const std::string& merged) {
    if (!DetachDeadMount(home_, merged)) return false;
    refs_.Forget(home_, merged);
    return true;
  }

  // Same stack as overlay2's kernel mount: a committed layer (one with children) mounts
  // read-only with its own diff as the top lower. ovlab-fuse, another process, gets the paths of
  // the directories OpenLayerView checked (an fd of this process would mean nothing to it).
  ovlab::Status MountLayer(const layout::LayerView& view, const std::string& target) {
    launch::DaemonCommand c;
    c.program = binary_;
    c.syntax = launch::Syntax::kOverlay;
    if (view.committed) c.dirs.lowers.push_back(view.diff.path);
    for (const auto& l : view.lowers) c.dirs.lowers.push_back(l.path);
    if (!view.committed) {
      c.dirs.upper = view.diff.path;
      c.dirs.work = view.work->path;
    }
    c.options = options_.mount_options;
    c.mountpoint = target;
    c.foreground = false;  // the daemon serves the mount after `ovlab mount` has returned
    auto argv = launch::DaemonArgv(c);
    if (!argv) return std::unexpected(argv.error());
    auto out = RunChecked(*argv);
    if (!out) return std::unexpected(out.error());
    return {};
  }

  DriverOptions options_;
  std::unique_ptr<Driver> layers_;  // the overlay2 driver: layout, layers, usage, check
  layout::ConfinedDir home_;        // its home
  std::string binary_;
  MountRefs refs_;
};

}  // namespace

Result<std::unique_ptr<Driver>> NewFuseDriver(const DriverOptions& options) {
  auto binary = launch::FindProgram(launch::kOvlabFuse);
  if (!binary) return std::unexpected(binary.error());
  auto fuse_root = OpenStoreHome(options, kName, 0711);
  if (!fuse_root) return std::unexpected(fuse_root.error());
  DriverOptions layer_options = options;
  layer_options.root = fuse_root->path();
  auto layers = NewOverlay2Driver(layer_options);
  if (!layers) return std::unexpected(layers.error());
  auto home = fuse_root->Dir(BaseName((*layers)->Home()));
  if (!home) return std::unexpected(home.error());
  return std::unique_ptr<Driver>(
      new FuseDriver(options, std::move(*layers), std::move(*home), std::move(*binary)));
}

}  // namespace ovlab::drivers
