#include "targets/ops.h"

#include <fcntl.h>

#include <cerrno>

namespace ovlab::targets {

SysResult<size_t> CountEntries(Ops& ops, const std::string& dir) {
  auto h = ops.Open(dir, O_RDONLY | O_DIRECTORY);
  if (!h) return SysFail(h.error());
  auto entries = ops.ReadDir(*h, 0);
  (void)ops.Close(*h);
  if (!entries) return SysFail(entries.error());
  size_t n = 0;
  for (const auto& e : *entries) n += e.name != "." && e.name != "..";
  return n;
}

SysResult<void> WriteAt(Ops& ops, const std::string& path, int flags, const void* buf, size_t size,
                        off_t offset) {
  auto h = ops.Open(path, flags);
  if (!h) return SysFail(h.error());
  auto n = ops.Pwrite(*h, buf, size, offset);
  auto closed = ops.Close(*h);
  if (!n) return SysFail(n.error());
  if (*n != size) return SysFail(EIO);
  return closed;
}

}  // namespace ovlab::targets
