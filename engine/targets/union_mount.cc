#include "targets/union_mount.h"

#include <cerrno>

#include "base/strings.h"
#include "launch/daemon_process.h"
#include "launch/programs.h"
#include "mount/mount.h"
#include "scratch/scratch.h"
#include "targets/engine_ops.h"
#include "targets/mounted_ops.h"

namespace ovlab::targets {
namespace {

std::string OnOff(bool b) {
  return b ? "on" : "off";
}

// The kernel's overlayfs, with index=off stated so the result does not depend on the module's
// defaults (Docker's overlay2 mounts with index=off as well).
class KernelUnion final : public UnionMount {
 public:
  KernelUnion(UnionConfig config, std::string mountpoint)
      : config_(std::move(config)), mountpoint_(std::move(mountpoint)), ops_(mountpoint_) {}
  ~KernelUnion() override { (void)Down(); }

  Ops& ops() override { return ops_; }
  std::string Options() const override {
    std::vector<std::string> o;
    if (config_.redirect_dir) o.push_back("redirect_dir=" + OnOff(*config_.redirect_dir));
    o.push_back("index=off");
    if (config_.metacopy) o.push_back("metacopy=" + OnOff(*config_.metacopy));
    return Join(o, ",");
  }
  Status Up(const launch::UnionDirs& dirs) override {
    mount::OverlaySpec spec;
    spec.lowers = dirs.lowers;
    spec.upper = dirs.upper;
    spec.work = dirs.work;
    spec.options = Split(Options(), ',');
    // kAuto switches to lowerdir+ when 500 absolute lower paths no longer fit one page.
    auto info = mount::MountOverlay(spec, mountpoint_);
    if (!info) return std::unexpected(info.error());
    cleanup_token_ = scratch::RegisterCleanupMount(mountpoint_);
    return {};
  }
  Status Down() override {
    if (cleanup_token_ < 0) return {};
    ops_.CloseAll();
    Status st = mount::Unmount(mountpoint_, /*detach=*/true);
    scratch::UnregisterCleanupMount(cleanup_token_);
    cleanup_token_ = -1;
    return st;
  }

 private:
  UnionConfig config_;
  std::string mountpoint_;
  MountedOps ops_;
  int cleanup_token_ = -1;
};

// A userspace daemon in the foreground, our child: it dies with us (DaemonProcess).
class DaemonUnion final : public UnionMount {
 public:
  DaemonUnion(const Daemon& daemon, std::string program, UnionConfig config, std::string mountpoint)
      : daemon_(daemon),
        program_(std::move(program)),
        config_(std::move(config)),
        mountpoint_(std::move(mountpoint)),
        ops_(mountpoint_) {}
  ~DaemonUnion() override { (void)Down(); }

  Ops& ops() override { return ops_; }
  std::string Options() const override {
    std::vector<std::string> o = launch::SyntaxOptions(daemon_.syntax);
    for (auto& option : OptionList()) o.push_back(std::move(option));
    return Join(o, ",");
  }
  Status Up(const launch::UnionDirs& dirs) override {
    launch::DaemonCommand c;
    c.program = program_;
    c.syntax = daemon_.syntax;
    c.dirs = dirs;
    c.options = OptionList();
    c.mountpoint = mountpoint_;
    auto argv = launch::DaemonArgv(c);
    if (!argv) return std::unexpected(argv.error());
    auto started = launch::DaemonProcess::Start(*argv, mountpoint_);
    if (!started) return std::unexpected(started.error());
    process_ = std::move(*started);
    return {};
  }
  Status Down() override {
    if (!process_) return {};
    ops_.CloseAll();
    auto code = process_->Unmount();
    process_.reset();
    if (!code) return std::unexpected(code.error());
    return {};
  }

 private:
  // allow_other: cases run operations as other users through the mount.
  std::vector<std::string> OptionList() const {
    std::vector<std::string> o;
    if (daemon_.union_options) {
      if (config_.redirect_dir) o.push_back("redirect_dir=" + OnOff(*config_.redirect_dir));
      if (config_.metacopy && *config_.metacopy) o.push_back("metacopy=on");
      o.insert(o.end(), config_.fuse_options.begin(), config_.fuse_options.end());
      // After the caller's options, so a strategy:NAME row copies with NAME whatever they say.
      if (config_.copy_strategy) {
        o.push_back(std::string("ovlab_copy=") + io::CopyStrategyName(*config_.copy_strategy));
      }
    }
    o.push_back("allow_other");
    return o;
  }

  Daemon daemon_;
  std::string program_;
  UnionConfig config_;
  std::string mountpoint_;
  MountedOps ops_;
  std::unique_ptr<launch::DaemonProcess> process_;
};

// The engine: Ops go to a Union opened in this process; a Down closes it (its caches go).
class EngineUnion final : public UnionMount {
 public:
  explicit EngineUnion(UnionConfig config) : config_(std::move(config)), ops_(EngineOps::Make()) {}

  Ops& ops() override { return *ops_; }
  std::string Options() const override {
    std::string o = "redirect_dir=" + OnOff(config_.redirect_dir.value_or(false));
    if (config_.metacopy.value_or(false)) o += ",metacopy=on";
    return o;
  }
  Status Up(const launch::UnionDirs& dirs) override {
    unionfs::UnionOptions o;
    o.lowers = dirs.lowers;
    o.upper = dirs.upper;
    o.work = dirs.work;
    o.redirect_dir = config_.redirect_dir.value_or(false);
    o.metacopy = config_.metacopy.value_or(false);
    o.copy_strategy = config_.copy_strategy.value_or(io::CopyStrategy::kAuto);
    return ops_->OpenEngine(o);
  }
  Status Down() override {
    ops_->CloseEngine();
    return {};
  }

 private:
  UnionConfig config_;
  std::unique_ptr<EngineOps> ops_;
};

}  // namespace

Result<std::unique_ptr<UnionMount>> UnionMount::Start(const TargetSpec& target,
                                                      const launch::UnionDirs& dirs,
                                                      const UnionConfig& config,
                                                      const std::string& mountpoint) {
  std::unique_ptr<UnionMount> u;
  if (target.daemon) {
    auto program = launch::FindProgram(target.daemon->program);
    if (!program) return std::unexpected(program.error());
    u = std::make_unique<DaemonUnion>(*target.daemon, *program, config, mountpoint);
  } else if (target.bringup == Bringup::kEngine) {
    u = std::make_unique<EngineUnion>(config);
  } else if (target.bringup == Bringup::kKernelDriver) {
    u = std::make_unique<KernelUnion>(config, mountpoint);
  } else {
    return Fail(EINVAL,
                std::string(target.name) + " is not a union: its driver's layers are the view");
  }
  if (auto st = u->Up(dirs); !st)
    return std::unexpected(WithContext(st.error(), std::string(target.name)));
  return u;
}

}  // namespace ovlab::targets
