#include "io/copy.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "io/extents.h"
#include "io/uring_copy.h"

namespace ovlab::io {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

struct StrategyName {
  CopyStrategy strategy;
  const char* name;
};
constexpr StrategyName kNames[] = {
    {CopyStrategy::kAuto, "auto"},
    {CopyStrategy::kClone, "clone"},
    {CopyStrategy::kCopyFileRange, "copy_file_range"},
    {CopyStrategy::kIoUring, "io_uring"},
    {CopyStrategy::kIoUringSplice, "io_uring_splice"},
    {CopyStrategy::kReadWrite, "read_write"},
};

// Errors that mean "this way of copying does not work between these files", not "the copy
// failed": kAuto moves on to the next strategy. ENOSPC, EIO, EDQUOT... are real failures.
bool MeansUnsupported(int e) {
  return e == EXDEV || e == EOPNOTSUPP || e == EINVAL || e == ENOSYS || e == EBADF || e == ENOTTY ||
         e == ETXTBSY;
}

SysResult<uint64_t> CopyExtentsReadWrite(int src_fd, int dst_fd,
                                         const std::vector<Extent>& extents) {
  // One buffer per thread: small copies (copy-up of tiny files) do not pay for a 1 MiB allocation.
  thread_local std::unique_ptr<char[]> buf(new char[kBufferBytes]);
  uint64_t copied = 0;
  for (const auto& c : Chunks(extents, kBufferBytes)) {
    uint64_t done = 0;
    while (done < c.length) {
      ssize_t n = ::pread(src_fd, buf.get(), c.length - done, static_cast<off_t>(c.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return SysFail(errno);
      if (n == 0) return SysFail(EIO);  // the source shrank under us
      for (ssize_t w = 0; w < n;) {
        ssize_t m = ::pwrite(dst_fd, buf.get() + w, static_cast<size_t>(n - w),
                             static_cast<off_t>(c.offset + done + static_cast<uint64_t>(w)));
        if (m < 0 && errno == EINTR) continue;
        if (m < 0) return SysFail(errno);
        w += m;
      }
      done += static_cast<uint64_t>(n);
    }
    copied += c.length;
  }
  return copied;
}

SysResult<uint64_t> CopyExtentsCopyFileRange(int src_fd, int dst_fd,
                                             const std::vector<Extent>& extents) {
  uint64_t copied = 0;
  for (const auto& e : extents) {
    loff_t in = static_cast<loff_t>(e.offset), out = in;
    uint64_t left = e.length;
    while (left > 0) {
      ssize_t n = ::copy_file_range(src_fd, &in, dst_fd, &out, left, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return SysFail(errno);
      if (n == 0) return SysFail(EIO);  // the source shrank under us
      left -= static_cast<uint64_t>(n);
    }
    copied += e.length;
  }
  return copied;
}

SysResult<uint64_t> CopyExtents(CopyStrategy s, int src_fd, int dst_fd,
                                const std::vector<Extent>& extents) {
  switch (s) {
    case CopyStrategy::kCopyFileRange:
      return CopyExtentsCopyFileRange(src_fd, dst_fd, extents);
    case CopyStrategy::kIoUring:
      return CopyExtentsIoUring(src_fd, dst_fd, extents);
    case CopyStrategy::kIoUringSplice:
      return CopyExtentsIoUringSplice(src_fd, dst_fd, extents);
    default:
      return CopyExtentsReadWrite(src_fd, dst_fd, extents);
  }
}

// Data strategies: size dst first (so every gap stays a hole and no filesystem preallocates past
// a moving end of file), then move only the data extents.
SysResult<CopyOutcome> CopyData(CopyStrategy s, int src_fd, int dst_fd, uint64_t size) {
  auto extents = DataExtents(src_fd, size);
  if (!extents) return SysFail(extents.error());
  if (::ftruncate(dst_fd, static_cast<off_t>(size)) != 0) return SysFail(errno);
  auto copied = CopyExtents(s, src_fd, dst_fd, *extents);
  if (!copied) return SysFail(copied.error());
  return CopyOutcome{s, *copied, size};
}

SysResult<CopyOutcome> Clone(int src_fd, int dst_fd, uint64_t size) {
  if (::ioctl(dst_fd, FICLONE, src_fd) != 0) return SysFail(errno);
  return CopyOutcome{CopyStrategy::kClone, 0, size};
}

}  // namespace

const char* CopyStrategyName(CopyStrategy s) {
  for (const auto& n : kNames) {
    if (n.strategy == s) return n.name;
  }
  return "?";
}

std::optional<CopyStrategy> ParseCopyStrategy(std::string_view name) {
  for (const auto& n : kNames) {
    if (name == n.name) return n.strategy;
  }
  return std::nullopt;
}

SysResult<CopyOutcome> CopyFileData(int src_fd, int dst_fd, CopyStrategy strategy) {
  struct stat st;
  if (::fstat(src_fd, &st) != 0) return SysFail(errno);
  if (!S_ISREG(st.st_mode)) return SysFail(EINVAL);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  switch (strategy) {
    case CopyStrategy::kClone:
      return Clone(src_fd, dst_fd, size);
    case CopyStrategy::kCopyFileRange:
    case CopyStrategy::kIoUring:
    case CopyStrategy::kIoUringSplice:
    case CopyStrategy::kReadWrite:
      return CopyData(strategy, src_fd, dst_fd, size);
    case CopyStrategy::kAuto:
      break;
  }
  auto cloned = Clone(src_fd, dst_fd, size);
  if (cloned || !MeansUnsupported(cloned.error())) return cloned;
  auto ranged = CopyData(CopyStrategy::kCopyFileRange, src_fd, dst_fd, size);
  if (ranged || !MeansUnsupported(ranged.error())) return ranged;
  // Positional writes: whatever copy_file_range managed is simply rewritten.
  return CopyData(CopyStrategy::kReadWrite, src_fd, dst_fd, size);
}

}  // namespace ovlab::io
