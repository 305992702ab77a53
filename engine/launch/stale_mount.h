// Mounts left by a FUSE daemon that died: every access gives ENOTCONN ("Transport endpoint is not
// connected") until the mount is detached.
#pragma once

#include <string>

#include "base/result.h"

namespace ovlab::launch {

// True when `path` is a FUSE mount point whose daemon is gone (stat gives ENOTCONN or
// ECONNABORTED).
bool IsStaleFuseMount(const std::string& path);

// Detaches `path` (umount2 MNT_DETACH) when it is a FUSE mount whose daemon is gone. Returns true
// when something was cleaned, false when there was nothing to do (not mounted, or the daemon is
// alive: a live mount is left alone).
Result<bool> CleanupStaleMount(const std::string& path);

}  // namespace ovlab::launch
