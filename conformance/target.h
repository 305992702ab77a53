// A conformance target: one union filesystem implementation behind syscall-like operations.
// Cases are written once against this interface and run unchanged on every target (kernel
// overlayfs, the in-process engine, ovlab-fuse, fuse-overlayfs, unionfs-fuse).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab::conformance {

// The directories of one union: lowers uppermost first, plus upper and work (all absolute).
struct LayerSet {
  std::vector<std::string> lowers;
  std::string upper;
  std::string work;
};

// Options a case asks for; a target maps them onto its own option syntax.
struct TargetConfig {
  bool redirect_dir = false;
  bool metacopy = false;  // MC1; the kernel needs redirect_dir=on with it
};

// Who performs an operation (root unless a case says otherwise).
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

class Target {
 public:
  virtual ~Target() = default;

  virtual std::string Name() const = 0;
  virtual std::string Version() const = 0;
  // The options the target runs with, as it would be given on a command line.
  virtual std::string Options() const = 0;

  // Makes the union of `layers` visible; the layers exist and are owned by the caller.
  virtual Status Setup(const LayerSet& layers, const TargetConfig& config) = 0;
  // Unmounts and mounts again over `layers` (the same ones, or new ones after a layer rotation).
  virtual Status Remount(const LayerSet& layers) = 0;
  // Closes every open handle and unmounts; safe to call twice.
  virtual Status Teardown() = 0;

  // Paths are absolute inside the union ("/", "/dir/file", "/dir/" keeps its slash).
  virtual SysResult<int> Open(const std::string& path, int flags, mode_t mode = 0644) = 0;
  virtual SysResult<void> Close(int handle) = 0;
  virtual SysResult<std::string> Read(int handle, size_t max) = 0;
  virtual SysResult<size_t> Write(int handle, const std::string& data) = 0;
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
  // targets run it in a forked child that dropped privileges; the engine passes the Cred.
  virtual int RunAs(const Cred& cred, const std::function<int(Target&)>& op) = 0;

  // Where the union writes: the upper directory of the current layers (placement inspection
  // reads it directly, bypassing the union).
  virtual std::string UpperDir() const = 0;
};

}  // namespace ovlab::conformance
