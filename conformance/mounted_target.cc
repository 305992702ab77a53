#include "conformance/mounted_target.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "base/fs.h"

namespace ovlab::conformance {
namespace {

SysResult<void> Check(int rc) {
  if (rc != 0) return SysFail(errno);
  return {};
}

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

}  // namespace

Status MountedTarget::Setup(const LayerSet& layers, const TargetConfig& config) {
  if (mounted_) return Fail(EBUSY, Name() + ": Setup called twice; call Teardown first");
  config_ = config;
  // The mount point sits beside the upper directory, so everything of a case is in one place.
  mountpoint_ = JoinPath(DirName(layers.upper), "merged-" + Name());
  if (auto s = MakeDirs(mountpoint_); !s) return s;
  if (auto s = MountUnion(layers, mountpoint_); !s) {
    ::rmdir(mountpoint_.c_str());
    return s;
  }
  layers_ = layers;
  mounted_ = true;
  return {};
}

Status MountedTarget::Remount(const LayerSet& layers) {
  CloseAll();
  if (mounted_) {
    if (auto s = UnmountUnion(mountpoint_); !s) return s;
    mounted_ = false;
  }
  if (auto s = MountUnion(layers, mountpoint_); !s) return s;
  layers_ = layers;
  mounted_ = true;
  return {};
}

Status MountedTarget::Teardown() {
  CloseAll();
  Status result;
  if (mounted_) {
    result = UnmountUnion(mountpoint_);
    mounted_ = false;
  }
  if (!mountpoint_.empty()) ::rmdir(mountpoint_.c_str());
  return result;
}

void MountedTarget::CloseAll() {
  for (int fd : handles_) ::close(fd);
  handles_.clear();
}

std::string MountedTarget::At(const std::string& path) const {
  if (path.empty() || path == "/") return mountpoint_;
  return mountpoint_ + (path.front() == '/' ? "" : "/") + path;
}

SysResult<int> MountedTarget::Open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(At(path).c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return SysFail(errno);
  handles_.insert(fd);
  return fd;
}

SysResult<void> MountedTarget::Close(int handle) {
  if (!handles_.erase(handle)) return SysFail(EBADF);
  return Check(::close(handle));
}

SysResult<std::string> MountedTarget::Read(int handle, size_t max) {
  std::string buf(max, '\0');
  ssize_t n = ::read(handle, buf.data(), max);
  if (n < 0) return SysFail(errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

SysResult<size_t> MountedTarget::Write(int handle, const std::string& data) {
  ssize_t n = ::write(handle, data.data(), data.size());
  if (n < 0) return SysFail(errno);
  return static_cast<size_t>(n);
}

SysResult<struct stat> MountedTarget::Fstat(int handle) {
  struct stat st;
  if (::fstat(handle, &st) != 0) return SysFail(errno);
  return st;
}

SysResult<void> MountedTarget::Ftruncate(int handle, off_t size) {
  return Check(::ftruncate(handle, size));
}

SysResult<struct stat> MountedTarget::Stat(const std::string& path) {
  struct stat st;
  if (::stat(At(path).c_str(), &st) != 0) return SysFail(errno);
  return st;
}

SysResult<struct stat> MountedTarget::Lstat(const std::string& path) {
  struct stat st;
  if (::lstat(At(path).c_str(), &st) != 0) return SysFail(errno);
  return st;
}

SysResult<void> MountedTarget::Truncate(const std::string& path, off_t size) {
  return Check(::truncate(At(path).c_str(), size));
}
SysResult<void> MountedTarget::Mkdir(const std::string& path, mode_t mode) {
  return Check(::mkdir(At(path).c_str(), mode));
}
SysResult<void> MountedTarget::Rmdir(const std::string& path) {
  return Check(::rmdir(At(path).c_str()));
}
SysResult<void> MountedTarget::Unlink(const std::string& path) {
  return Check(::unlink(At(path).c_str()));
}
SysResult<void> MountedTarget::Rename(const std::string& from, const std::string& to,
                                      unsigned flags) {
  return Check(::renameat2(AT_FDCWD, At(from).c_str(), AT_FDCWD, At(to).c_str(), flags));
}
SysResult<void> MountedTarget::Link(const std::string& from, const std::string& to) {
  return Check(::link(At(from).c_str(), At(to).c_str()));
}
SysResult<void> MountedTarget::Symlink(const std::string& target, const std::string& path) {
  return Check(::symlink(target.c_str(), At(path).c_str()));
}

SysResult<std::string> MountedTarget::Readlink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(At(path).c_str(), buf, sizeof buf);
  if (n < 0) return SysFail(errno);
  return std::string(buf, static_cast<size_t>(n));
}

SysResult<void> MountedTarget::Mknod(const std::string& path, mode_t mode, dev_t dev) {
  return Check(::mknod(At(path).c_str(), mode, dev));
}
SysResult<void> MountedTarget::Chmod(const std::string& path, mode_t mode) {
  return Check(::chmod(At(path).c_str(), mode));
}
SysResult<void> MountedTarget::Lchown(const std::string& path, uid_t uid, gid_t gid) {
  return Check(::lchown(At(path).c_str(), uid, gid));
}
SysResult<void> MountedTarget::Utimens(const std::string& path, const struct timespec times[2],
                                       int flags) {
  return Check(::utimensat(AT_FDCWD, At(path).c_str(), times, flags));
}

SysResult<void> MountedTarget::SetXattr(const std::string& path, const std::string& name,
                                        const std::string& value, int flags) {
  return Check(::lsetxattr(At(path).c_str(), name.c_str(), value.data(), value.size(), flags));
}

SysResult<std::string> MountedTarget::GetXattr(const std::string& path, const std::string& name) {
  std::string buf(65536, '\0');
  ssize_t n = ::lgetxattr(At(path).c_str(), name.c_str(), buf.data(), buf.size());
  if (n < 0) return SysFail(errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

SysResult<std::vector<std::string>> MountedTarget::ListXattr(const std::string& path) {
  std::string buf(65536, '\0');
  ssize_t n = ::llistxattr(At(path).c_str(), buf.data(), buf.size());
  if (n < 0) return SysFail(errno);
  std::vector<std::string> names;
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    std::string name(buf.c_str() + i);
    i += name.size() + 1;
    names.push_back(std::move(name));
  }
  return names;
}

SysResult<void> MountedTarget::RemoveXattr(const std::string& path, const std::string& name) {
  return Check(::lremovexattr(At(path).c_str(), name.c_str()));
}

SysResult<void> MountedTarget::Access(const std::string& path, int mode) {
  return Check(::access(At(path).c_str(), mode));
}

SysResult<std::vector<DirEntry>> MountedTarget::ReadDir(int handle, size_t max) {
  std::vector<DirEntry> out;
  alignas(8) char buf[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, handle, buf, sizeof buf);
    if (n < 0) return SysFail(errno);
    if (n == 0) return out;
    for (long pos = 0; pos < n;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buf + pos);
      out.push_back(DirEntry{d->d_name, d->d_type, d->d_off});
      pos += d->d_reclen;
      if (max != 0 && out.size() == max) {
        // getdents may have consumed more than we return: continue after the last one kept.
        if (::lseek(handle, d->d_off, SEEK_SET) < 0) return SysFail(errno);
        return out;
      }
    }
  }
}

SysResult<void> MountedTarget::SeekDir(int handle, int64_t offset) {
  if (::lseek(handle, offset, SEEK_SET) < 0) return SysFail(errno);
  return {};
}

int MountedTarget::RunAs(const Cred& cred, const std::function<int(Target&)>& op) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    if (::setgroups(cred.groups.size(), cred.groups.data()) != 0 ||
        ::setresgid(cred.gid, cred.gid, cred.gid) != 0 ||
        ::setresuid(cred.uid, cred.uid, cred.uid) != 0)
      ::_exit(254);
    ::_exit(op(*this) & 0xff);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status)) return EINTR;
  return WEXITSTATUS(status);
}

}  // namespace ovlab::conformance
