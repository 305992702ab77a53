// The system calls a benchmark family or a conformance case makes on a union, written once and
// run on every target: a mounted directory (kernel overlay, a driver's layer, a FUSE daemon)
// through the real calls, or the in-process union engine through its path-level API.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab::targets {

// Who performs an operation (root unless a caller says otherwise).
struct Cred {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

struct DirEntry {
  std::string name;
  unsigned char type = 0;   // DT_*
  int64_t next_offset = 0;  // pass to SeekDir to continue after this entry
};

class Ops {
 public:
  virtual ~Ops() = default;

  // Paths are absolute inside the union ("/", "/dir/file", "/dir/" keeps its slash).
  // Handles are small integers; every handle still open is closed when the union goes down.
  virtual SysResult<int> Open(const std::string& path, int flags, mode_t mode = 0644) = 0;
  virtual SysResult<void> Close(int handle) = 0;
  // read(2)/write(2) at the handle's offset; Pread/Pwrite at `offset` (Pwrite's is ignored
  // with O_APPEND, as pwrite(2) does on Linux).
  virtual SysResult<std::string> Read(int handle, size_t max) = 0;
  virtual SysResult<size_t> Write(int handle, const std::string& data) = 0;
  virtual SysResult<size_t> Pwrite(int handle, const void* buf, size_t size, off_t offset) = 0;
  virtual SysResult<size_t> Pread(int handle, void* buf, size_t size, off_t offset) = 0;
  virtual SysResult<void> Fsync(int handle) = 0;
  virtual SysResult<struct stat> Fstat(int handle) = 0;
  virtual SysResult<void> Ftruncate(int handle, off_t size) = 0;

  virtual SysResult<struct stat> Stat(const std::string& path) = 0;
  virtual SysResult<struct stat> Lstat(const std::string& path) = 0;
  virtual SysResult<void> Truncate(const std::string& path, off_t size) = 0;
  virtual SysResult<void> Mkdir(const std::string& path, mode_t mode) = 0;
  virtual SysResult<void> Rmdir(const std::string& path) = 0;
  virtual SysResult<void> Unlink(const std::string& path) = 0;
  virtual SysResult<void> Rename(const std::string& from, const std::string& to,
                                 unsigned flags = 0) = 0;
  virtual SysResult<void> Link(const std::string& from, const std::string& to) = 0;
  virtual SysResult<void> Symlink(const std::string& target, const std::string& path) = 0;
  virtual SysResult<std::string> Readlink(const std::string& path) = 0;
  virtual SysResult<void> Mknod(const std::string& path, mode_t mode, dev_t dev) = 0;
  virtual SysResult<void> Chmod(const std::string& path, mode_t mode) = 0;
  // Does not follow a final symlink (lchown).
  virtual SysResult<void> Lchown(const std::string& path, uid_t uid, gid_t gid) = 0;
  // times[0] atime, times[1] mtime; AT_SYMLINK_NOFOLLOW allowed in flags.
  virtual SysResult<void> Utimens(const std::string& path, const struct timespec times[2],
                                  int flags) = 0;
  // The xattr calls do not follow a final symlink (l*xattr).
  virtual SysResult<void> SetXattr(const std::string& path, const std::string& name,
                                   const std::string& value, int flags) = 0;
  virtual SysResult<std::string> GetXattr(const std::string& path, const std::string& name) = 0;
  virtual SysResult<std::vector<std::string>> ListXattr(const std::string& path) = 0;
  virtual SysResult<void> RemoveXattr(const std::string& path, const std::string& name) = 0;
  virtual SysResult<void> Access(const std::string& path, int mode) = 0;

  // Directory streams: a handle from Open(path, O_RDONLY | O_DIRECTORY).
  // Reads at most `max` entries from the current position (0: to the end), "." and ".." included.
  virtual SysResult<std::vector<DirEntry>> ReadDir(int handle, size_t max) = 0;
  virtual SysResult<void> SeekDir(int handle, int64_t offset) = 0;

  // Runs `op` with the credentials of `cred` and returns its errno (0 on success). Mounted
  // unions run it in a forked child that dropped privileges; the engine passes the Cred.
  virtual int RunAs(const Cred& cred, const std::function<int(Ops&)>& op) = 0;

  // The host path of `path` for other programs (dd), "" when the union is not mounted (engine).
  virtual std::string HostPath(const std::string& path) const = 0;
};

// The number of entries of `dir` without "." and "..".
SysResult<size_t> CountEntries(Ops& ops, const std::string& dir);
// Opens with `flags`, writes all of `size` bytes at `offset`, closes.
SysResult<void> WriteAt(Ops& ops, const std::string& path, int flags, const void* buf, size_t size,
                        off_t offset);

}  // namespace ovlab::targets
