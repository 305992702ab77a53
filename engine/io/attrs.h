// Copying an object's metadata: owner, mode, times, xattrs. Shared by copy-up and the vfs driver.
#pragma once

#include <string_view>

#include "base/result.h"

namespace ovlab::io {

// Keeps an xattr name when it returns true; nullptr keeps all.
using XattrFilter = bool (*)(std::string_view name);

// Copies every xattr (that the filter keeps) from src to dst. Works on O_PATH-free fds of files
// and directories; for symlinks use the path variant (l*xattr).
SysResult<void> CopyXattrs(int src_fd, int dst_fd, XattrFilter keep = nullptr);
SysResult<void> CopyXattrsPath(const char* src, const char* dst, XattrFilter keep = nullptr);
// fchown + fchmod (after chown, so setuid bits survive) + futimens (atime, mtime).
// chown drops security.capability: copy xattrs after this call, not before.
SysResult<void> CopyOwnerModeTimes(int src_fd, int dst_fd);

}  // namespace ovlab::io
