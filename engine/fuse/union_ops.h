// The FUSE low-level operations, each one a thin translation of a request into a call of the
// union engine's node-level API (engine/union/union.h) and of its result into a reply.
//
// FUSE node ids ARE the engine's NodeIds: the engine counts lookups per node and never reuses an
// id, so no second table is needed; every reply that hands the kernel an entry (lookup, create,
// mkdir, mknod, symlink, link, readdirplus) stands for one engine lookup, and FORGET gives them
// back. A reply the kernel refuses (interrupted request) gives its lookup back at once.
#pragma once

#include <fuse_lowlevel.h>

#include <cstddef>
#include <mutex>
#include <utility>

#include "fuse/command_line.h"
#include "fuse/detached_nodes.h"
#include "union/union.h"

namespace ovlab::fuse {

// Gives the memory of forgotten nodes back to the system. glibc keeps what a thread frees in
// that thread's arena for its next allocations; worker threads take turns, so after a burst of
// creates each arena held megabytes of freed nodes (50,000 creates and unlinks: RSS 4 MiB ->
// 37 MiB, and more as other threads got arenas). malloc_trim returns the free pages of every
// arena: once per kTrimAfter nodes forgotten, and whenever the nodes left fall to half of what
// they were at the last trim. Nodes freed in another order than they were made (rm -rf of a
// tree filled round-robin) keep most pages partly used until the last of them goes: the
// halving trims catch that tail too, log2(nodes) trims in all.
class ForgottenMemory {
 public:
  static constexpr size_t kTrimAfter = 2048;  // about 1 MiB of nodes and their caches
  // Runs `forget` (engine Forget calls) and trims when the nodes it freed call for it.
  template <typename Forget>
  void Forgetting(const unionfs::Union& engine, Forget&& forget) {
    std::lock_guard lock(mu_);
    const size_t before = engine.NodeCount();
    std::forward<Forget>(forget)();
    const size_t after = engine.NodeCount();
    if (after < before) Forgotten(before - after, after);
  }
  // The engine's node count once no forget or trim is under way: the memory of what it no
  // longer counts is given back (what SIGUSR1 reports, see daemon.h).
  size_t SettledNodeCount(const unionfs::Union& engine);

 private:
  void Forgotten(size_t freed, size_t left);
  std::mutex mu_;
  size_t pending_ = 0;
  size_t left_at_trim_ = 0;
};

// What every request handler reaches through fuse_req_userdata().
struct ServerContext {
  unionfs::Union* engine = nullptr;
  SpeedOptions speed;
  fuse_session* session = nullptr;  // for invalidation notices to the kernel
  DetachedNodes detached;           // removed names the kernel still holds
  ForgottenMemory memory;
};

// The operation table; copy_file_range is left out when speed.copy_file_range is off, so the
// kernel falls back to its generic read/write copy.
fuse_lowlevel_ops UnionOperations(const SpeedOptions& speed);

}  // namespace ovlab::fuse
