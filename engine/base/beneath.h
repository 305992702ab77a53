// Opening a path beneath a directory without following any symlink: how ovlab keeps what it does
// inside a store inside that store, whatever the store holds.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ovlab {

// openat2(2) of the relative `path` beneath dir_fd, with O_CLOEXEC added and RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: a symlink anywhere on the way, the last component
// included (unless flags hold O_PATH | O_NOFOLLOW), is refused instead of followed, and so is a
// path that would leave dir_fd ("..", absolute). `dir_name` names dir_fd in errors; a refused
// symlink is named with its target ("<dir_name>/a/b is a symlink to /x").
Result<UniqueFd> OpenBeneath(int dir_fd, std::string_view dir_name, std::string_view path,
                             int flags, mode_t mode = 0);

}  // namespace ovlab
