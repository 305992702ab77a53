#include "runner/run_plan.h"

#include <algorithm>
#include <cerrno>

#include "runner/targets.h"

namespace ovlab::bench {
namespace {

constexpr uint64_t KiB = 1ull << 10, MiB = 1ull << 20, GiB = 1ull << 30;
using scratch::Backing;

RunPlan Quick() {
  RunPlan p;
  p.profile = "quick";
  p.repetitions = 3;
  p.scratch_bytes = 2 * GiB;
  p.backings = {Backing::kExt4, Backing::kBtrfs};  // btrfs: the btrfs target, overlay2 copy_up
  p.copy_up_only[Backing::kBtrfs] = {"overlay2"};
  p.copy_variants_on_all_backings = false;
  p.dense_sizes = {4 * KiB, MiB};
  p.second_sizes = {MiB};
  p.cold_sizes = {MiB};
  p.warm_sizes = {4 * KiB};
  p.cold_backings = p.warm_backings = {Backing::kExt4};
  p.strategy_sizes = {4 * KiB};
  p.strategy_backings = {Backing::kExt4};
  p.dd_sizes = {MiB};
  p.dd_targets = {"overlay2"};
  p.usage_profiles = {"mini"};
  p.usage_container = false;
  p.depths = {1, 16};
  p.cold_depths = {16};
  p.stat_wheres = {"bottom", "missing"};
  p.open_wheres = {"bottom"};
  p.cold_wheres = {"bottom"};
  p.wide_readdir_layers = 4;
  p.wide_readdir_entries = 200;
  p.random_file_bytes = 8 * MiB;
  p.random_writes = 128;
  p.create_files = 200;
  p.append_files = 64;
  p.fsync_writes = 20;
  p.seq_bytes = 8 * MiB;
  p.create_unlink_files = 200;
  return p;
}

RunPlan Default() {
  RunPlan p;
  p.profile = "default";
  p.repetitions = 5;
  p.scratch_bytes = 8 * GiB;
  // btrfs last: there the btrfs target runs every family (it needs that backing), the other
  // targets copy_up only as on xfs-reflink and tmpfs.
  p.backings = {Backing::kExt4, Backing::kXfsReflink, Backing::kTmpfs, Backing::kBtrfs};
  p.copy_up_only[Backing::kBtrfs] = {"overlay2", "engine", "fuse-overlayfs"};
  p.copy_variants_on_all_backings =
      false;  // second/chmod/chown/truncate on ext4 (and btrfs's target)
  p.dense_sizes = {4 * KiB, MiB, 64 * MiB};
  p.sparse_sizes = {64 * MiB};
  p.second_sizes = {MiB};
  p.metadata_sizes = {MiB};
  p.truncate_sizes = {64 * MiB};
  // fuse_bench's copy-ups: cold on ext4 and xfs-reflink, warm on xfs-reflink (where the data
  // costs nothing); union_bench's copy strategies at its sizes.
  p.cold_sizes = p.warm_sizes = {64 * MiB};
  p.cold_backings = {Backing::kExt4, Backing::kXfsReflink};
  p.warm_backings = {Backing::kXfsReflink};
  p.strategy_sizes = {4 * KiB, MiB, 64 * MiB};
  p.strategy_backings = {Backing::kExt4, Backing::kXfsReflink};
  p.dd_sizes = {64 * MiB};
  p.dd_targets = {"overlay2"};
  p.usage_profiles = {"slim"};
  p.usage_on_all_backings = false;  // the counts do not depend on the backing (checked in full)
  p.flat_max_depth = 32;
  p.depths = {1, 8, 32, 128};
  p.cold_depths = {128};
  p.stat_wheres = {"top", "middle", "bottom", "missing"};
  // Bottom and missing walk every layer: the deep-lookup cases; top is timed warm with stat.
  p.open_wheres = {"bottom", "missing"};
  p.cold_wheres = {"bottom", "missing"};
  p.wide_readdir_layers = 8;  // fuse_bench's listing (it also had 100 names in every layer)
  p.wide_readdir_entries = 4100;
  p.random_file_bytes = 64 * MiB;
  p.random_writes = 512;
  p.create_files = 1000;
  p.append_files = 128;
  p.fsync_writes = 50;
  // fuse_bench's 1 GiB and 10,000 files are in full: at these sizes the rows cost about 40 s
  // (10,000 files alone took 200 s, fuse-overlayfs 19 s a repetition), see bench/README.md.
  p.seq_bytes = 64 * MiB;
  p.create_unlink_files = 1000;
  return p;
}

RunPlan Full() {
  RunPlan p;
  p.profile = "full";
  p.repetitions = 5;
  p.scratch_bytes = 24 * GiB;
  p.backings = scratch::AllBackings();
  p.narrow_backings = p.backings.size();
  for (uint64_t s = 4 * KiB; s <= GiB; s *= 4) p.dense_sizes.push_back(s);
  p.sparse_sizes = {MiB, 64 * MiB, GiB};
  p.second_sizes = {4 * KiB, 4 * MiB, GiB};
  p.metadata_sizes = {4 * KiB, 64 * MiB, GiB};
  p.truncate_sizes = {4 * KiB, 64 * MiB, GiB};
  p.cold_sizes = p.warm_sizes = {4 * KiB, 64 * MiB};
  p.cold_backings = p.warm_backings = p.strategy_backings = p.backings;
  p.strategy_sizes = {4 * KiB, MiB, 64 * MiB, GiB};
  p.dd_sizes = {4 * MiB, 64 * MiB};
  p.usage_profiles = {"distro", "app", "slim", "deep", "smallfiles", "large"};
  p.depths = {1, 2, 4, 8, 16, 32, 64, 128};
  p.cold_depths = p.depths;
  p.stat_wheres = p.open_wheres = p.cold_wheres = {"top", "middle", "bottom", "missing"};
  p.kernel_extra_depth = 500;
  p.wide_readdir_layers = 8;
  p.wide_readdir_entries = 4100;
  p.random_file_bytes = GiB;
  p.random_writes = 4096;
  p.create_files = 10000;
  p.append_files = 16384;
  p.fsync_writes = 1000;
  p.seq_bytes = GiB;
  p.create_unlink_files = 10000;
  return p;
}

}  // namespace

Result<RunPlan> MakeRunPlan(std::string_view profile) {
  RunPlan p;
  if (profile == "quick") {
    p = Quick();
  } else if (profile == "default") {
    p = Default();
  } else if (profile == "full") {
    p = Full();
  } else {
    return Fail(EINVAL, "unknown --profile '" + std::string(profile) +
                            "': use quick (< 2 min), default (< 10 min) or full");
  }
  for (const auto& t : targets::AllTargets()) p.targets.emplace_back(t.name);
  return p;
}

bool RunPlan::CopyUpOn(Backing b, const std::string& target) const {
  auto only = copy_up_only.find(b);
  return only == copy_up_only.end() ||
         std::find(only->second.begin(), only->second.end(), target) != only->second.end();
}

int CopyUpIterations(uint64_t bytes) {
  if (bytes <= 256 * KiB) return 8;
  if (bytes <= 4 * MiB) return 3;
  return 1;
}

}  // namespace ovlab::bench
