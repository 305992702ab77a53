// The `fuse` driver: Docker's overlay2 layout, mounted by ovlab-fuse (the userspace union engine
// behind FUSE) instead of the kernel. Everything but mounting is the overlay2 driver itself, kept
// under <root>/fuse (so its home is <root>/fuse/overlay2); Get starts an ovlab-fuse daemon on the
// layer's merged/ directory and Put unmounts it, which ends the daemon.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "drivers/builtin_drivers.h"
#include "drivers/mount_refs.h"
#include "drivers/tree_stats.h"
#include "layout/overlay2_layout.h"

namespace ovlab::drivers {
namespace {

constexpr char kName[] = "fuse";
constexpr char kBinaryName[] = "ovlab-fuse";

// ovlab-fuse: $OVLAB_FUSE_BINARY, else PATH, else beside this program (installed) or in the
// build tree's engine/fuse (this program built in engine/<module>/).
Result<std::string> FindOvlabFuse() {
  if (const char* env = std::getenv("OVLAB_FUSE_BINARY"); env && *env) {
    if (::access(env, X_OK) == 0) return std::string(env);
    return Fail(ENOENT, std::string("OVLAB_FUSE_BINARY=") + env + " is not an executable file");
  }
  if (HaveProgram(kBinaryName)) return std::string(kBinaryName);
  auto self = ReadLink("/proc/self/exe");
  if (self) {
    std::string dir = DirName(*self);
    for (const std::string& c :
         {JoinPath(dir, kBinaryName), JoinPath(DirName(dir), std::string("fuse/") + kBinaryName)}) {
      if (::access(c.c_str(), X_OK) == 0) return c;
    }
  }
  return Fail(ENOENT,
              "fuse driver: ovlab-fuse was not found: install it (cmake --install) or set "
              "OVLAB_FUSE_BINARY to its path");
}

// A mount whose daemon died answers ENOTCONN (or ECONNABORTED): detach it so the layer can be
// mounted again.
bool DetachDeadMount(const std::string& merged) {
  struct stat st {};
  if (::stat(merged.c_str(), &st) == 0 || !IsDisconnectedErrno(errno)) return false;
  return ::umount2(merged.c_str(), MNT_DETACH) == 0;
}

class FuseDriver final : public Driver {
 public:
  FuseDriver(const DriverOptions& options, std::unique_ptr<Driver> layers, std::string binary)
      : options_(options), layers_(std::move(layers)), binary_(std::move(binary)) {}

  std::string Name() const override { return kName; }
  std::string Home() const override { return layers_->Home(); }

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    return layers_->Create(id, options);
  }
  ovlab::Status Remove(const std::string& id) override { return layers_->Remove(id); }
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
  Result<std::vector<CheckFinding>> Check(bool repair) override { return layers_->Check(repair); }

  Result<std::string> Get(const std::string& id) override {
    auto lower = LowerOf(id);
    if (!lower) return std::unexpected(lower.error());
    auto p = layout::PathsOf(Home(), id);
    if (lower->empty()) return p.diff;  // a base layer is its diff, as with overlay2
    ForgetDeadMount(p.merged);
    auto st = refs_.Acquire(p.merged, [&]() -> ovlab::Status { return MountLayer(id, *lower); });
    if (!st) return std::unexpected(WithContext(st.error(), "mount layer " + id));
    return p.merged;
  }

  ovlab::Status Put(const std::string& id) override {
    auto lower = LowerOf(id);
    if (!lower) return std::unexpected(lower.error());
    if (lower->empty()) return {};
    std::string merged = layout::PathsOf(Home(), id).merged;
    if (ForgetDeadMount(merged)) {
      ::rmdir(merged.c_str());
      return {};
    }
    return refs_.Release(merged);
  }

  StatusFields Status() const override {
    StatusFields fields = layers_->Status();
    fields.insert(fields.begin(), {"Mounted by", binary_});
    return fields;
  }

  Result<std::vector<Change>> Changes(const std::string& id) override {
    auto parent = Parent(id);
    if (!parent) return std::unexpected(parent.error());
    std::string diff = layout::PathsOf(Home(), id).diff;
    if (parent->empty()) return TreeChanges("", diff);
    auto below = Get(*parent);
    if (!below) return std::unexpected(below.error());
    auto changes = UpperChanges(diff, *below);
    if (auto st = Put(*parent); !st && changes) return std::unexpected(st.error());
    return changes;
  }

 private:
  Result<std::vector<std::string>> LowerOf(const std::string& id) const {
    if (auto st = ValidateLayerId(id); !st) return std::unexpected(st.error());
    if (!Exists(id)) return Fail(ENOENT, "layer " + id + " does not exist in " + Home());
    return layout::ReadLower(Home(), id);
  }

  // A dead daemon's mount is detached and every reference to it dropped: it serves nobody, and
  // the next Get mounts afresh.
  bool ForgetDeadMount(const std::string& merged) {
    if (!DetachDeadMount(merged)) return false;
    while (refs_.Release(merged)) {
    }
    return true;
  }

  // Same stack as overlay2's kernel mount: a committed layer (one with children) mounts
  // read-only with its own diff as the top lower; ovlab-fuse takes absolute diff paths.
  ovlab::Status MountLayer(const std::string& id, const std::vector<std::string>& lower) {
    auto p = layout::PathsOf(Home(), id);
    bool committed = PathExists(p.committed);
    std::vector<std::string> lowers;
    if (committed) lowers.push_back(EscapeOptionPath(p.diff));
    for (const auto& entry : lower) {
      auto layer = layout::LayerOfLowerEntry(Home(), entry);
      if (!layer) return std::unexpected(layer.error());
      lowers.push_back(EscapeOptionPath(layout::PathsOf(Home(), *layer).diff));
    }
    std::string opts = "lowerdir=" + Join(lowers, ":");
    if (!committed) {
      opts += ",upperdir=" + EscapeOptionPath(p.diff) + ",workdir=" + EscapeOptionPath(p.work);
    }
    for (const auto& o : options_.mount_options) opts += "," + o;
    auto out = RunChecked({binary_, "-o", opts, p.merged});
    if (!out) return std::unexpected(out.error());
    return {};
  }

  DriverOptions options_;
  std::unique_ptr<Driver> layers_;  // the overlay2 driver: layout, layers, usage, check
  std::string binary_;
  MountRefs refs_;
};

}  // namespace

Result<std::unique_ptr<Driver>> NewFuseDriver(const DriverOptions& options) {
  auto binary = FindOvlabFuse();
  if (!binary) return std::unexpected(binary.error());
  DriverOptions layer_options = options;
  layer_options.root = JoinPath(options.root, kName);
  if (auto st = MakeDirs(layer_options.root, 0711); !st) return std::unexpected(st.error());
  auto layers = NewOverlay2Driver(layer_options);
  if (!layers) return std::unexpected(layers.error());
  return std::unique_ptr<Driver>(new FuseDriver(options, std::move(*layers), std::move(*binary)));
}

}  // namespace ovlab::drivers
