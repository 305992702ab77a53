// The operations the benchmark families time, on one union target: a mounted directory (kernel
// overlay, vfs, FUSE daemons) through real system calls, or the in-process union engine through
// its path-level API. Families are written once against this and run on every target.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace ovlab::unionfs {
class Union;
}

namespace ovlab::bench {

using Handle = uint64_t;

class View {
 public:
  virtual ~View() = default;
  // Paths are absolute inside the union: "/subject/f0".
  virtual SysResult<Handle> Open(const std::string& path, int flags, mode_t mode = 0644) = 0;
  virtual SysResult<void> Close(Handle h) = 0;
  // With O_APPEND the offset is ignored (as pwrite(2) does on Linux).
  virtual SysResult<size_t> Pwrite(Handle h, const void* buf, size_t size, off_t offset) = 0;
  // Opened with O_DIRECT, buf, size and offset must be aligned as the filesystem wants (4096).
  virtual SysResult<size_t> Pread(Handle h, void* buf, size_t size, off_t offset) = 0;
  virtual SysResult<void> Fsync(Handle h) = 0;
  virtual SysResult<struct stat> Stat(const std::string& path) = 0;
  virtual SysResult<void> Chmod(const std::string& path, mode_t mode) = 0;
  virtual SysResult<void> Chown(const std::string& path, uid_t uid, gid_t gid) = 0;
  virtual SysResult<void> Unlink(const std::string& path) = 0;
  virtual SysResult<void> Mkdir(const std::string& path, mode_t mode) = 0;
  // Reads the whole merged listing; returns the number of entries without "." and "..".
  virtual SysResult<size_t> CountEntries(const std::string& dir) = 0;
  // The host path of `path` for other programs (dd), "" when the view is not a mount (engine).
  virtual std::string HostPath(const std::string& path) const = 0;
};

// System calls on `root` + path.
std::unique_ptr<View> MakeMountedView(const std::string& root);
// The engine's path-level calls as root (the Union must outlive the view).
std::unique_ptr<View> MakeEngineView(unionfs::Union& engine);

// Opens, writes all of `size` bytes at `offset`, closes: a helper for families.
SysResult<void> WriteAt(View& view, const std::string& path, int flags, const void* buf,
                        size_t size, off_t offset);

}  // namespace ovlab::bench
