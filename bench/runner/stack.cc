#include "runner/stack.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/driver.h"
#include "generators/image_builder.h"
#include "launch/daemon_process.h"
#include "runner/targets.h"
#include "scratch/cold_caches.h"
#include "scratch/scratch.h"
#include "union/union.h"

namespace ovlab::bench {

namespace {
constexpr const char* kContainer = "ctr";
using Clock = std::chrono::steady_clock;
}  // namespace

struct Stack::State {
  std::string target;
  TargetInfo info;
  std::string dir;
  ImagePlan plan;
  std::unique_ptr<drivers::Driver> driver;
  BuiltImage image;
  bool container_made = false;
  bool up = false;
  int cleanup_token = -1;
  std::unique_ptr<launch::DaemonProcess> daemon;
  std::unique_ptr<unionfs::Union> engine;
  std::unique_ptr<View> view;
  uint64_t next_index = 0;
  io::CopyStrategy copy_strategy = io::CopyStrategy::kAuto;

  // The -o options ovlab-fuse gets besides the layers: the run's --fuse-options, then the copy
  // strategy (so a strategy:NAME row uses NAME whatever those say).
  std::vector<std::string> OvlabFuseOptions() const {
    std::vector<std::string> options;
    if (!info.ovlab_fuse) return options;
    if (!ExtraFuseOptions().empty()) options.push_back(ExtraFuseOptions());
    if (copy_strategy != io::CopyStrategy::kAuto) {
      options.push_back(std::string("ovlab_copy=") + io::CopyStrategyName(copy_strategy));
    }
    return options;
  }

  Result<std::vector<std::string>> DaemonArgv() {
    auto meta = driver->Metadata(kContainer);
    if (!meta) return std::unexpected(meta.error());
    std::string lower = (*meta)["LowerDir"], upper = (*meta)["UpperDir"];
    std::string work = (*meta)["WorkDir"], mnt = JoinPath(dir, "mnt");
    if (target == "unionfs-fuse") {
      std::string branches = upper + "=RW";
      for (const auto& l : Split(lower, ':')) branches += ":" + l + "=RO";
      return std::vector<std::string>{"unionfs-fuse", "-f", "-o", "cow", branches, mnt};
    }
    std::string program = info.ovlab_fuse ? OvlabFuseBinary() : target;
    // Layer paths go into an -o option list, which libfuse and ovlab-fuse unescape.
    std::vector<std::string> lowers;
    for (const auto& l : Split(lower, ':')) lowers.push_back(EscapeOptionPath(l));
    std::vector<std::string> argv = {program, "-f", "-o",
                                     "lowerdir=" + Join(lowers, ":") +
                                         ",upperdir=" + EscapeOptionPath(upper) +
                                         ",workdir=" + EscapeOptionPath(work)};
    for (const auto& o : OvlabFuseOptions()) argv.insert(argv.end(), {"-o", o});
    argv.push_back(mnt);
    return argv;
  }

  Status Up() {
    if (info.kind == TargetKind::kDriver) {
      auto merged = driver->Get(kContainer);
      if (!merged) return std::unexpected(merged.error());
      cleanup_token = scratch::RegisterCleanupMount(*merged);
      view = MakeMountedView(*merged);
    } else if (info.kind == TargetKind::kDaemon) {
      auto argv = DaemonArgv();
      if (!argv) return std::unexpected(argv.error());
      std::string mnt = argv->back();
      if (auto st = MakeDirs(mnt); !st) return st;
      auto started = launch::DaemonProcess::Start(*argv, mnt);
      if (!started) return std::unexpected(started.error());
      daemon = std::move(*started);
      view = MakeMountedView(mnt);
    } else {
      auto meta = driver->Metadata(kContainer);
      if (!meta) return std::unexpected(meta.error());
      unionfs::UnionOptions options;
      options.lowers = Split((*meta)["LowerDir"], ':');
      options.upper = (*meta)["UpperDir"];
      options.work = (*meta)["WorkDir"];
      options.copy_strategy = copy_strategy;
      auto opened = unionfs::Union::Open(options);
      if (!opened) return std::unexpected(opened.error());
      engine = std::move(*opened);
      view = MakeEngineView(*engine);
    }
    up = true;
    return {};
  }

  Status Down() {
    if (!up) return {};
    up = false;
    view.reset();
    if (info.kind == TargetKind::kDriver) {
      Status st = driver->Put(kContainer);
      scratch::UnregisterCleanupMount(cleanup_token);
      cleanup_token = -1;
      return st;
    }
    if (daemon) {
      auto code = daemon->Unmount();
      daemon.reset();
      if (!code) return std::unexpected(code.error());
    }
    engine.reset();
    return {};
  }
};

Stack::Stack(std::unique_ptr<State> state) : state_(std::move(state)) {}
Stack::~Stack() {
  (void)Destroy();
}

Result<std::unique_ptr<Stack>> Stack::Create(const std::string& target, const std::string& dir,
                                             const ImagePlan& plan, size_t max_depth,
                                             io::CopyStrategy copy_strategy) {
  if (PathExists(dir)) return Fail(EEXIST, "stack directory " + dir + " exists already");
  auto state = std::make_unique<State>();
  state->target = target;
  state->info = DescribeTarget(target);
  state->dir = dir;
  state->plan = plan;
  state->copy_strategy = copy_strategy;
  std::unique_ptr<Stack> stack(new Stack(std::move(state)));
  State& s = *stack->state_;
  if (auto st = MakeDirs(JoinPath(dir, "staging")); !st) return std::unexpected(st.error());
  std::string driver_name = s.info.kind == TargetKind::kDriver ? target : "overlay2";
  auto driver =
      drivers::OpenDriver(driver_name, {JoinPath(dir, "store"), max_depth, s.OvlabFuseOptions()});
  if (!driver) return std::unexpected(WithContext(driver.error(), target));
  s.driver = std::move(*driver);
  auto image = BuildImage(*s.driver, plan, "img", JoinPath(dir, "staging"));
  if (!image) return std::unexpected(WithContext(image.error(), target + ": build image"));
  s.image = *image;
  drivers::CreateOptions rw;
  rw.parent = s.image.top();
  rw.rw = true;
  if (auto st = s.driver->Create(kContainer, rw); !st) return std::unexpected(st.error());
  s.container_made = true;
  if (auto st = s.Up(); !st) return std::unexpected(WithContext(st.error(), target + ": mount"));
  return stack;
}

View& Stack::view() {
  return *state_->view;
}
drivers::Driver& Stack::driver() {
  return *state_->driver;
}
const std::string& Stack::image_top() const {
  return state_->image.top();
}
const ImagePlan& Stack::plan() const {
  return state_->plan;
}
const std::string& Stack::target() const {
  return state_->target;
}
uint64_t Stack::NextIndex() {
  return state_->next_index++;
}

Status Stack::MakeCold(const std::vector<std::string>& quiesce) {
  // FUSE daemons keep their own caches: they are restarted (the fuse driver's with Put/Get).
  bool restart = state_->info.kind != TargetKind::kDriver || state_->info.daemon;
  if (restart) {
    if (auto st = state_->Down(); !st) return st;
  }
  if (auto st = scratch::DropKernelCaches(3, quiesce); !st) return st;
  if (restart) return state_->Up();
  return {};
}

Result<double> Stack::TimedRemount() {
  if (auto st = state_->Down(); !st) return std::unexpected(st.error());
  auto t0 = Clock::now();
  if (auto st = state_->Up(); !st) return std::unexpected(st.error());
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Status Stack::Destroy() {
  if (!state_) return {};
  State& s = *state_;
  Status first = s.Down();
  auto keep_first = [&first](Status st) {
    if (!st && first) first = st;
  };
  if (s.container_made) keep_first(s.driver->Remove(kContainer));
  s.container_made = false;
  if (s.driver) keep_first(RemoveImage(*s.driver, s.image));
  s.image = {};
  s.driver.reset();
  keep_first(RemoveTree(s.dir));
  state_.reset();
  return first;
}

}  // namespace ovlab::bench
