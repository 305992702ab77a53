// The one data-copying engine of ovlab (used by union copy-up and the vfs driver).
// Strategies from fastest to slowest; kAuto tries them in that order and falls back on
// EXDEV / EOPNOTSUPP / EINVAL / ENOSYS / ETXTBSY-free errors that mean "not supported here".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.h"

namespace ovlab::io {

enum class CopyStrategy {
  kAuto,
  kClone,          // ioctl FICLONE: O(1) reflink (btrfs, xfs reflink=1)
  kCopyFileRange,  // copy_file_range(2): in-kernel copy
  kIoUring,        // liburing: linked read+write with registered buffers
  kIoUringSplice,  // liburing: splice through a pipe
  kReadWrite,      // plain read/write loop
};
const char* CopyStrategyName(
    CopyStrategy s);  // "auto", "clone", "copy_file_range", "io_uring", ...
std::optional<CopyStrategy> ParseCopyStrategy(std::string_view name);

struct CopyOutcome {
  CopyStrategy used = CopyStrategy::kAuto;  // what actually copied the data
  uint64_t bytes_copied = 0;                // data bytes moved (holes excluded; 0 for clone)
  uint64_t size = 0;                        // resulting file size (== source size)
};

// Copies the whole content of src_fd into dst_fd (an empty regular file), keeping holes
// (SEEK_DATA/SEEK_HOLE) and the exact size. Returns errno on failure (ENOSPC passes through);
// the caller owns cleanup of dst.
SysResult<CopyOutcome> CopyFileData(int src_fd, int dst_fd,
                                    CopyStrategy strategy = CopyStrategy::kAuto);

}  // namespace ovlab::io
