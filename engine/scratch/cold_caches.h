// The state a cold measurement starts from, the same for every benchmark.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab::scratch {

// sync(2); then, for each of `quiesce` (mount points), freeze and thaw the filesystem so its
// deferred metadata writeback (xfs pushes its log items to their places lazily) is done and not
// left to run during the measurement; then vm/drop_caches = `level` (1 page cache, 2 dentries
// and inodes, 3 both). Needs root.
Status DropKernelCaches(int level = 3, const std::vector<std::string>& quiesce = {});

}  // namespace ovlab::scratch
