#include "runner/stack.h"

#include <cerrno>
#include <chrono>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/driver.h"
#include "generators/image_builder.h"
#include "runner/targets.h"
#include "scratch/cold_caches.h"
#include "scratch/scratch.h"
#include "targets/mounted_ops.h"
#include "targets/union_mount.h"

namespace ovlab::bench {

namespace {
constexpr const char* kContainer = "ctr";
using Clock = std::chrono::steady_clock;
}  // namespace

struct Stack::State {
  const targets::TargetSpec* target = nullptr;
  std::string dir;
  ImagePlan plan;
  std::unique_ptr<drivers::Driver> driver;
  BuiltImage image;
  bool container_made = false;
  bool up = false;
  // Driver targets: the container layer's mount (Driver::Get) and Ops on it.
  int cleanup_token = -1;
  std::unique_ptr<targets::MountedOps> mounted;
  // Daemons and the engine: their union over the container's layers.
  targets::UnionConfig config;
  std::unique_ptr<targets::UnionMount> union_mount;
  uint64_t next_index = 0;

  bool DriverShowsView() const {
    return target->bringup == targets::Bringup::kKernelDriver ||
           target->bringup == targets::Bringup::kLayerDriver;
  }

  // The container's layers as the overlay2 store keeps them (Docker's GraphDriver data).
  Result<launch::UnionDirs> ContainerDirs() {
    auto meta = driver->Metadata(kContainer);
    if (!meta) return std::unexpected(meta.error());
    return launch::UnionDirs{Split((*meta)["LowerDir"], ':'), (*meta)["UpperDir"],
                             (*meta)["WorkDir"]};
  }

  Status Up() {
    if (DriverShowsView()) {
      auto merged = driver->Get(kContainer);
      if (!merged) return std::unexpected(merged.error());
      cleanup_token = scratch::RegisterCleanupMount(*merged);
      mounted = std::make_unique<targets::MountedOps>(*merged);
    } else {
      auto dirs = ContainerDirs();
      if (!dirs) return std::unexpected(dirs.error());
      if (union_mount) {
        if (auto st = union_mount->Up(*dirs); !st) return st;
      } else {
        std::string mnt = JoinPath(dir, "mnt");
        if (auto st = MakeDirs(mnt); !st) return st;
        auto started = targets::UnionMount::Start(*target, *dirs, config, mnt);
        if (!started) return std::unexpected(started.error());
        union_mount = std::move(*started);
      }
    }
    up = true;
    return {};
  }

  Status Down() {
    if (!up) return {};
    up = false;
    if (!DriverShowsView()) return union_mount->Down();
    mounted.reset();
    Status st = driver->Put(kContainer);
    scratch::UnregisterCleanupMount(cleanup_token);
    cleanup_token = -1;
    return st;
  }
};

Stack::Stack(std::unique_ptr<State> state) : state_(std::move(state)) {}
Stack::~Stack() {
  (void)Destroy();
}

Result<std::unique_ptr<Stack>> Stack::Create(const targets::TargetSpec& target,
                                             const std::string& dir, const ImagePlan& plan,
                                             size_t max_depth, io::CopyStrategy copy_strategy) {
  if (PathExists(dir)) return Fail(EEXIST, "stack directory " + dir + " exists already");
  std::string name(target.name);
  auto state = std::make_unique<State>();
  state->target = &target;
  state->dir = dir;
  state->plan = plan;
  state->config.fuse_options = FuseOptions();
  if (copy_strategy != io::CopyStrategy::kAuto) state->config.copy_strategy = copy_strategy;
  std::unique_ptr<Stack> stack(new Stack(std::move(state)));
  State& s = *stack->state_;
  if (auto st = MakeDirs(JoinPath(dir, "staging")); !st) return std::unexpected(st.error());
  auto driver = drivers::OpenDriver(target.driver, {JoinPath(dir, "store"), max_depth, {}});
  if (!driver) return std::unexpected(WithContext(driver.error(), name));
  s.driver = std::move(*driver);
  auto image = BuildImage(*s.driver, plan, "img", JoinPath(dir, "staging"));
  if (!image) return std::unexpected(WithContext(image.error(), name + ": build image"));
  s.image = *image;
  drivers::CreateOptions rw;
  rw.parent = s.image.top();
  rw.rw = true;
  if (auto st = s.driver->Create(kContainer, rw); !st) return std::unexpected(st.error());
  s.container_made = true;
  if (auto st = s.Up(); !st) return std::unexpected(WithContext(st.error(), name + ": mount"));
  return stack;
}

Ops& Stack::ops() {
  State& s = *state_;
  return s.mounted ? static_cast<Ops&>(*s.mounted) : s.union_mount->ops();
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
const targets::TargetSpec& Stack::target() const {
  return *state_->target;
}
uint64_t Stack::NextIndex() {
  return state_->next_index++;
}

Status Stack::MakeCold(const std::vector<std::string>& quiesce) {
  // Daemons and the engine keep their own caches: they are restarted.
  bool restart = targets::InUserspace(*state_->target);
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
  s.union_mount.reset();
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
