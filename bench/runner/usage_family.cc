// inode_usage: what an image and a container cost in inodes and bytes, measured as statfs deltas
// of the backing filesystem and as `du` (the drivers' Usage), beside the analytic expectation.
#include <sys/statvfs.h>

#include <algorithm>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/container.h"
#include "drivers/tree_stats.h"
#include "generators/expectation.h"
#include "generators/image_builder.h"
#include "runner/families.h"
#include "runner/targets.h"
#include "runner/timing.h"

namespace ovlab::bench {
namespace {

using scratch::Backing;

struct FsUse {
  uint64_t inodes = 0, bytes = 0;
};

// statfs of the backing filesystem at `fs`. btrfs has no inode counts in statfs (f_files = 0):
// there the inodes are those of the store at `store`, counted by walking it (each subvolume's
// inodes separately, as they are separate inode items; snapshots share the blocks holding them,
// which shows in the bytes).
Result<FsUse> Used(const std::string& fs, Backing b, const std::string& store) {
  struct statvfs sv {};
  if (::statvfs(fs.c_str(), &sv) != 0) return FailErrno(errno, "statvfs " + fs);
  FsUse use{sv.f_files - sv.f_ffree, (sv.f_blocks - sv.f_bfree) * sv.f_frsize};
  if (b == Backing::kBtrfs) {
    auto walked = drivers::TreeUsage(store);
    if (!walked) return std::unexpected(walked.error());
    use.inodes = walked->inodes;
  }
  return use;
}

uint64_t DuBytes(drivers::Driver& driver, const std::vector<std::string>& layers) {
  uint64_t bytes = 0;
  for (const auto& id : layers) {
    if (auto u = driver.Usage(id)) bytes += u->bytes;
  }
  return bytes;
}

void Report(benchmark::State& state, const FsUse& before, const FsUse& after,
            const UsageExpectation& expected, uint64_t du) {
  state.counters["inodes"] = static_cast<double>(after.inodes - before.inodes);
  state.counters["inodes_expected"] = static_cast<double>(expected.inodes);
  state.counters["bytes_used"] = static_cast<double>(after.bytes - before.bytes);
  state.counters["bytes_expected"] = static_cast<double>(expected.data_bytes);
  state.counters["bytes_du"] = static_cast<double>(du);
}

// One repetition: a fresh store in a fresh directory, the image (and container) built, measured,
// and removed again.
void UsageInstance(Session& s, const std::string& target, Backing b, const ImageProfile& profile,
                   bool container, benchmark::State& state) {
  s.DropStack();
  ImagePlan plan = PlanImage(profile, s.seed());
  targets::InodeModel model = Spec(target).inode_model;
  auto expected = container ? ExpectContainerUsage(model, plan) : ExpectImageUsage(model, plan);
  if (!expected) return SkipWithError(state, "no analytic model for " + target);
  std::string dir = s.NewPath(b, "usage");
  std::string staging = JoinPath(dir, "staging");
  if (auto st = MakeDirs(staging); !st) return SkipWithError(state, st.error().message);
  std::string store = JoinPath(dir, "store");
  for (auto _ : state) {
    auto driver = drivers::OpenDriver(Spec(target).driver, {store, 128, {}});
    if (!driver) {
      SkipWithError(state, driver.error().message);
      break;
    }
    BuiltImage image;
    if (container) {
      auto built = BuildImage(**driver, plan, "img", staging);
      if (!built) {
        SkipWithError(state, built.error().message);
        break;
      }
      image = *built;
    }
    ::sync();
    auto before = Used(s.Scratch(b).path(), b, store);
    std::vector<std::string> measured;
    auto [st, seconds] = Timed([&]() -> Status {
      if (container) {
        measured = {"ctr-init", "ctr"};
        return drivers::CreateContainer(**driver, "ctr", image.top());
      }
      auto built = BuildImage(**driver, plan, "img", staging);
      if (!built) return std::unexpected(built.error());
      image = *built;
      measured = image.layer_ids;
      return {};
    });
    ::sync();
    auto after = Used(s.Scratch(b).path(), b, store);
    if (st && before && after) {
      state.SetIterationTime(seconds);
      Report(state, *before, *after, *expected, DuBytes(**driver, measured));
    }
    if (container && st) {
      (void)(*driver)->Remove("ctr");
      (void)(*driver)->Remove("ctr-init");
    }
    (void)RemoveImage(**driver, image);
    if (!st || !before || !after) {
      SkipWithError(state, !st ? st.error().message : "statvfs failed");
      break;
    }
  }
  (void)RemoveTree(dir);
}

}  // namespace

void RegisterInodeUsage(Session& s, const std::string& target, Backing b) {
  if (!(Spec(target).inode_model != targets::InodeModel::kNone)) return;
  for (const auto& name : s.plan().usage_profiles) {
    const ImageProfile* profile = FindProfile(name);
    if (!profile) continue;
    for (bool container : {false, true}) {
      if (container && !s.plan().usage_container) continue;
      std::string id =
          StrPrintf("inode_usage/%s/%s/profile:%s%s", target.c_str(), scratch::BackingName(b),
                    name.c_str(), container ? "/container" : "");
      // The counts are deterministic: three repetitions give the aggregates the reports read.
      s.Add(
          id, 1,
          [&s, target, b, profile = *profile, container](benchmark::State& st) {
            UsageInstance(s, target, b, profile, container, st);
          },
          std::min(s.repetitions(), 3));
    }
  }
}

}  // namespace ovlab::bench
