// Targets that are a mounted directory: every operation is the real system call on the mount.
// The kernel overlay and the FUSE daemons (ovlab-fuse, fuse-overlayfs, unionfs-fuse) share this
// and differ only in how they mount and unmount.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "conformance/target.h"

namespace ovlab::conformance {

class MountedTarget : public Target {
 public:
  Status Setup(const LayerSet& layers, const TargetConfig& config) override;
  Status Remount(const LayerSet& layers) override;
  Status Teardown() override;

  SysResult<int> Open(const std::string& path, int flags, mode_t mode) override;
  SysResult<void> Close(int handle) override;
  SysResult<std::string> Read(int handle, size_t max) override;
  SysResult<size_t> Write(int handle, const std::string& data) override;
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
  int RunAs(const Cred& cred, const std::function<int(Target&)>& op) override;
  std::string UpperDir() const override { return layers_.upper; }

  const std::string& mountpoint() const { return mountpoint_; }

 protected:
  // Mounts the union of `layers` on `mountpoint` (an empty directory that exists).
  virtual Status MountUnion(const LayerSet& layers, const std::string& mountpoint) = 0;
  virtual Status UnmountUnion(const std::string& mountpoint) = 0;
  const TargetConfig& config() const { return config_; }

 private:
  std::string At(const std::string& path) const;
  void CloseAll();

  LayerSet layers_;
  TargetConfig config_;
  std::string mountpoint_;
  bool mounted_ = false;
  std::set<int> handles_;
};

}  // namespace ovlab::conformance
