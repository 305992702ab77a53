// What a --profile runs: targets, backing filesystems and the parameters of every family.
// quick < 2 min and default < 10 min on a 2-core machine; full is everything the issue names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "scratch/scratch.h"

namespace ovlab::bench {

struct RunPlan {
  std::string profile;
  int repetitions = 5;
  uint64_t scratch_bytes = 0;  // size of each scratch filesystem
  std::vector<std::string> targets;
  std::vector<scratch::Backing> backings;
  // Expensive families run on the first `narrow_backings` backings only (lookup, readdir,
  // write_heavy, mount); copy_up, bound and inode_usage run on every backing.
  size_t narrow_backings = 1;
  // copy_up on the other backings runs for every target, except on the backings listed here:
  // there for these targets only (and for a target bound to that backing).
  std::map<scratch::Backing, std::vector<std::string>> copy_up_only;
  // second/chmod/chown/truncate copy-ups on every backing, else on the narrow ones only.
  bool copy_variants_on_all_backings = true;
  bool CopyUpOn(scratch::Backing b, const std::string& target) const;

  // copy_up: first write of one byte; `second` write; chmod/chown (metadata) copy-up; `truncate`:
  // open(O_TRUNC) and one byte written (the kernel copies no data for it).
  std::vector<uint64_t> dense_sizes, sparse_sizes, second_sizes, metadata_sizes, truncate_sizes;
  // copy_up variants of the first write to a dense file, on the backings listed with them:
  // `cold`: caches dropped after sync with the backing frozen and thawed first (its deferred
  // metadata writeback done), FUSE daemons restarted, the engine reopened; `warm`: the name
  // looked up and every cache kept, so the rest of a copy-up shows where the data costs nothing.
  std::vector<uint64_t> cold_sizes, warm_sizes;
  std::vector<scratch::Backing> cold_backings, warm_backings;
  // strategy:NAME copy-ups (dense, first write) for the targets whose data copy can be chosen
  // (TargetInfo::copy_strategy): every io::CopyStrategy but auto (the rows without the key),
  // clone only on backings that reflink.
  std::vector<uint64_t> strategy_sizes;
  std::vector<scratch::Backing> strategy_backings;
  // bound/dd: the independent copy-up measurement (dd conv=notrunc on the copy_up stack's mount)
  // for these dense sizes and targets, where the copy-up copies data; no targets = every one.
  std::vector<uint64_t> dd_sizes;
  std::vector<std::string> dd_targets;
  // inode_usage: named image profiles (per image) and whether a container is measured too.
  std::vector<std::string> usage_profiles;
  bool usage_container = true;
  bool usage_on_all_backings = true;  // else on the narrow backings only
  // lookup / readdir / mount: image depths (layers); cold runs on cold_depths only; the names
  // looked up (top, middle, bottom, missing) with stat, with open, and cold.
  std::vector<uint32_t> depths, cold_depths;
  std::vector<std::string> stat_wheres, open_wheres, cold_wheres;
  uint32_t kernel_extra_depth = 0;  // a deeper stack for kernel targets only (500), 0 = none
  // readdir of a wide listing (fuse_bench's: 4,100 names over 8 layers), warm and cold; the deep
  // stacks list 4 names a layer. 0 layers = none.
  uint32_t wide_readdir_layers = 0, wide_readdir_entries = 0;
  // Flat targets (vfs, btrfs: lookups cost the same at any depth) build a deep stack by copying
  // the tree (vfs) or snapshotting it (btrfs, a transaction each) once per layer: the deepest
  // stack built for them (0 = no limit).
  uint32_t flat_max_depth = 0;
  // write_heavy
  uint64_t random_file_bytes = 0;
  uint32_t random_writes = 0, create_files = 0, append_files = 0, fsync_writes = 0;
  // Sequential write of a new file, buffered and O_DIRECT reads of a lower file, 1 MiB requests;
  // files created and unlinked again in a new directory.
  uint64_t seq_bytes = 0;
  uint32_t create_unlink_files = 0;
};

// quick | default | full; the error names the known profiles.
Result<RunPlan> MakeRunPlan(std::string_view profile);

// Iterations of a copy-up instance of `bytes` (each needs its own fresh lower file).
int CopyUpIterations(uint64_t bytes);

}  // namespace ovlab::bench
