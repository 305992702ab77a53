// The data extents of a file (SEEK_DATA/SEEK_HOLE): what a hole-preserving copy must move.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"

namespace ovlab::io {

struct Extent {
  uint64_t offset = 0, length = 0;
};

// Data ranges of fd up to size, in order. A filesystem without SEEK_DATA yields one extent.
SysResult<std::vector<Extent>> DataExtents(int fd, uint64_t size);

// Splits extents into pieces of at most `chunk` bytes (for queued I/O).
std::vector<Extent> Chunks(const std::vector<Extent>& extents, uint64_t chunk);

}  // namespace ovlab::io
