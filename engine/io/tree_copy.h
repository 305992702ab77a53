// Whole-tree copy (vfs driver layers, overlay v1 base layers, fixtures): regular files through
// CopyFileData, directories, symlinks, devices, fifos, sockets; owner, mode, times and xattrs kept.
#pragma once

#include <string>

#include "base/result.h"
#include "io/copy.h"

namespace ovlab::io {

struct TreeCopyStats {
  uint64_t files = 0, dirs = 0, others = 0, bytes_copied = 0;
};

// Copies src into dst (dst must not exist). Hard links within src stay hard links in dst.
Result<TreeCopyStats> CopyTree(const std::string& src, const std::string& dst,
                               CopyStrategy strategy = CopyStrategy::kAuto);

}  // namespace ovlab::io
