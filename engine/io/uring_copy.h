// The io_uring copy strategies (liburing). Each returns the data bytes copied or an errno.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "io/extents.h"

namespace ovlab::io {

// Linked READ_FIXED -> WRITE_FIXED pairs over registered buffers, several pairs in flight.
SysResult<uint64_t> CopyExtentsIoUring(int src_fd, int dst_fd, const std::vector<Extent>& extents);
// IORING_OP_SPLICE file -> pipe -> file, a linked pair per chunk.
SysResult<uint64_t> CopyExtentsIoUringSplice(int src_fd, int dst_fd,
                                             const std::vector<Extent>& extents);

}  // namespace ovlab::io
