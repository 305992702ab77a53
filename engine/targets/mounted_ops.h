// Ops on a mounted directory: every operation is the real system call on root + path.
#pragma once

#include <memory>
#include <string>

#include "targets/ops.h"

namespace ovlab::targets {

class MountedOps : public Ops {
 public:
  explicit MountedOps(std::string root);
  ~MountedOps() override;

  // Closes every handle still open (before an unmount).
  void CloseAll();

  SysResult<int> Open(const std::string& path, int flags, mode_t mode) override;
  SysResult<void> Close(int handle) override;
  SysResult<std::string> Read(int handle, size_t max) override;
  SysResult<size_t> Write(int handle, const std::string& data) override;
  SysResult<size_t> Pwrite(int handle, const void* buf, size_t size, off_t offset) override;
  SysResult<size_t> Pread(int handle, void* buf, size_t size, off_t offset) override;
  SysResult<void> Fsync(int handle) override;
  SysResult<struct stat> Fstat(int handle) override;
  SysResult<void> Ftruncate(int handle, off_t size) override;
  SysResult<struct stat> Stat(const std::string& path) override;
  SysResult<struct stat> Lstat(const std::string& path) override;
  SysResult<void> Truncate(const std::string& path, off_t size) override;
  SysResult<void> Mkdir(const std::string& path, mode_t mode) override;
  SysResult<void> Rmdir(const std::string& path) override;
  SysResult<void> Unlink(const std::string& path) override;
  SysResult<void> Rename(const std::string& from, const std::string& to, unsigned flags) override;
  SysResult<void> Link(const std::string& from, const std::string& to) override;
  SysResult<void> Symlink(const std::string& target, const std::string& path) override;
  SysResult<std::string> Readlink(const std::string& path) override;
  SysResult<void> Mknod(const std::string& path, mode_t mode, dev_t dev) override;
  SysResult<void> Chmod(const std::string& path, mode_t mode) override;
  SysResult<void> Lchown(const std::string& path, uid_t uid, gid_t gid) override;
  SysResult<void> Utimens(const std::string& path, const struct timespec times[2],
                          int flags) override;
  SysResult<void> SetXattr(const std::string& path, const std::string& name,
                           const std::string& value, int flags) override;
  SysResult<std::string> GetXattr(const std::string& path, const std::string& name) override;
  SysResult<std::vector<std::string>> ListXattr(const std::string& path) override;
  SysResult<void> RemoveXattr(const std::string& path, const std::string& name) override;
  SysResult<void> Access(const std::string& path, int mode) override;
  SysResult<std::vector<DirEntry>> ReadDir(int handle, size_t max) override;
  SysResult<void> SeekDir(int handle, int64_t offset) override;
  int RunAs(const Cred& cred, const std::function<int(Ops&)>& op) override;
  std::string HostPath(const std::string& path) const override;

 private:
  struct Handles;
  std::string root_;
  std::unique_ptr<Handles> handles_;
};

}  // namespace ovlab::targets
