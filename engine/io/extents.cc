#include "io/extents.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ovlab::io {

SysResult<std::vector<Extent>> DataExtents(int fd, uint64_t size) {
  std::vector<Extent> out;
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole up to the end
      if (errno == EINVAL || errno == EOPNOTSUPP) return std::vector<Extent>{{0, size}};
      return SysFail(errno);
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return SysFail(errno);
    uint64_t start = static_cast<uint64_t>(data);
    uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    if (start >= end) break;
    out.push_back({start, end - start});
    pos = end;
  }
  return out;
}

std::vector<Extent> Chunks(const std::vector<Extent>& extents, uint64_t chunk) {
  std::vector<Extent> out;
  for (const auto& e : extents) {
    for (uint64_t off = 0; off < e.length; off += chunk)
      out.push_back({e.offset + off, std::min(chunk, e.length - off)});
  }
  return out;
}

}  // namespace ovlab::io
