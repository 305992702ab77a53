// The FUSE low-level operations, each one a thin translation of a request into a call of the
// union engine's node-level API (engine/union/union.h) and of its result into a reply.
//
// FUSE node ids ARE the engine's NodeIds: the engine counts lookups per node and never reuses an
// id, so no second table is needed; every reply that hands the kernel an entry (lookup, create,
// mkdir, mknod, symlink, link, readdirplus) stands for one engine lookup, and FORGET gives them
// back. A reply the kernel refuses (interrupted request) gives its lookup back at once.
#pragma once

#include <fuse_lowlevel.h>

#include "fuse/command_line.h"
#include "fuse/detached_nodes.h"
#include "union/union.h"

namespace ovlab::fuse {

// What every request handler reaches through fuse_req_userdata().
struct ServerContext {
  unionfs::Union* engine = nullptr;
  SpeedOptions speed;
  fuse_session* session = nullptr;  // for invalidation notices to the kernel
  DetachedNodes detached;           // removed names the kernel still holds
};

// The operation table; copy_file_range is left out when speed.copy_file_range is off, so the
// kernel falls back to its generic read/write copy.
fuse_lowlevel_ops UnionOperations(const SpeedOptions& speed);

}  // namespace ovlab::fuse
