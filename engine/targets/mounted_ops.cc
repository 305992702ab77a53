#include "targets/mounted_ops.h"

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
#include <cstdint>
#include <vector>

namespace ovlab::targets {
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

// Descriptors this object opened, indexed by fd: O(1) on the hot path (lookups open and close
// thousands of times per instance), and CloseAll finds them all before an unmount.
struct MountedOps::Handles {
  std::vector<uint8_t> open;
  void Insert(int fd) {
    if (static_cast<size_t>(fd) >= open.size()) open.resize(static_cast<size_t>(fd) * 2 + 16);
    open[static_cast<size_t>(fd)] = 1;
  }
  bool Erase(int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= open.size() || !open[static_cast<size_t>(fd)])
      return false;
    open[static_cast<size_t>(fd)] = 0;
    return true;
  }
};

MountedOps::MountedOps(std::string root)
    : root_(std::move(root)), handles_(std::make_unique<Handles>()) {}

MountedOps::~MountedOps() {
  CloseAll();
}

void MountedOps::CloseAll() {
  for (size_t fd = 0; fd < handles_->open.size(); ++fd) {
    if (handles_->open[fd]) ::close(static_cast<int>(fd));
  }
  handles_->open.clear();
}

std::string MountedOps::HostPath(const std::string& path) const {
  if (path.empty() || path == "/") return root_;
  return root_ + (path.front() == '/' ? "" : "/") + path;
}

SysResult<int> MountedOps::Open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(HostPath(path).c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return SysFail(errno);
  handles_->Insert(fd);
  return fd;
}

SysResult<void> MountedOps::Close(int handle) {
  if (!handles_->Erase(handle)) return SysFail(EBADF);
  return Check(::close(handle));
}

SysResult<std::string> MountedOps::Read(int handle, size_t max) {
  std::string buf(max, '\0');
  ssize_t n = ::read(handle, buf.data(), max);
  if (n < 0) return SysFail(errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

SysResult<size_t> MountedOps::Write(int handle, const std::string& data) {
  ssize_t n = ::write(handle, data.data(), data.size());
  if (n < 0) return SysFail(errno);
  return static_cast<size_t>(n);
}

SysResult<size_t> MountedOps::Pwrite(int handle, const void* buf, size_t size, off_t offset) {
  ssize_t n = ::pwrite(handle, buf, size, offset);
  if (n < 0) return SysFail(errno);
  return static_cast<size_t>(n);
}

SysResult<size_t> MountedOps::Pread(int handle, void* buf, size_t size, off_t offset) {
  ssize_t n = ::pread(handle, buf, size, offset);
  if (n < 0) return SysFail(errno);
  return static_cast<size_t>(n);
}

SysResult<void> MountedOps::Fsync(int handle) {
  return Check(::fsync(handle));
}

SysResult<struct stat> MountedOps::Fstat(int handle) {
  struct stat st;
  if (::fstat(handle, &st) != 0) return SysFail(errno);
  return st;
}

SysResult<void> MountedOps::Ftruncate(int handle, off_t size) {
  return Check(::ftruncate(handle, size));
}

SysResult<struct stat> MountedOps::Stat(const std::string& path) {
  struct stat st;
  if (::stat(HostPath(path).c_str(), &st) != 0) return SysFail(errno);
  return st;
}

SysResult<struct stat> MountedOps::Lstat(const std::string& path) {
  struct stat st;
  if (::lstat(HostPath(path).c_str(), &st) != 0) return SysFail(errno);
  return st;
}

SysResult<void> MountedOps::Truncate(const std::string& path, off_t size) {
  return Check(::truncate(HostPath(path).c_str(), size));
}
SysResult<void> MountedOps::Mkdir(const std::string& path, mode_t mode) {
  return Check(::mkdir(HostPath(path).c_str(), mode));
}
SysResult<void> MountedOps::Rmdir(const std::string& path) {
  return Check(::rmdir(HostPath(path).c_str()));
}
SysResult<void> MountedOps::Unlink(const std::string& path) {
  return Check(::unlink(HostPath(path).c_str()));
}
SysResult<void> MountedOps::Rename(const std::string& from, const std::string& to, unsigned flags) {
  return Check(
      ::renameat2(AT_FDCWD, HostPath(from).c_str(), AT_FDCWD, HostPath(to).c_str(), flags));
}
SysResult<void> MountedOps::Link(const std::string& from, const std::string& to) {
  return Check(::link(HostPath(from).c_str(), HostPath(to).c_str()));
}
SysResult<void> MountedOps::Symlink(const std::string& target, const std::string& path) {
  return Check(::symlink(target.c_str(), HostPath(path).c_str()));
}

SysResult<std::string> MountedOps::Readlink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(HostPath(path).c_str(), buf, sizeof buf);
  if (n < 0) return SysFail(errno);
  return std::string(buf, static_cast<size_t>(n));
}

SysResult<void> MountedOps::Mknod(const std::string& path, mode_t mode, dev_t dev) {
  return Check(::mknod(HostPath(path).c_str(), mode, dev));
}
SysResult<void> MountedOps::Chmod(const std::string& path, mode_t mode) {
  return Check(::chmod(HostPath(path).c_str(), mode));
}
SysResult<void> MountedOps::Lchown(const std::string& path, uid_t uid, gid_t gid) {
  return Check(::lchown(HostPath(path).c_str(), uid, gid));
}
SysResult<void> MountedOps::Utimens(const std::string& path, const struct timespec times[2],
                                    int flags) {
  return Check(::utimensat(AT_FDCWD, HostPath(path).c_str(), times, flags));
}

SysResult<void> MountedOps::SetXattr(const std::string& path, const std::string& name,
                                     const std::string& value, int flags) {
  return Check(
      ::lsetxattr(HostPath(path).c_str(), name.c_str(), value.data(), value.size(), flags));
}

SysResult<std::string> MountedOps::GetXattr(const std::string& path, const std::string& name) {
  std::string buf(65536, '\0');
  ssize_t n = ::lgetxattr(HostPath(path).c_str(), name.c_str(), buf.data(), buf.size());
  if (n < 0) return SysFail(errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

SysResult<std::vector<std::string>> MountedOps::ListXattr(const std::string& path) {
  std::string buf(65536, '\0');
  ssize_t n = ::llistxattr(HostPath(path).c_str(), buf.data(), buf.size());
  if (n < 0) return SysFail(errno);
  std::vector<std::string> names;
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    std::string name(buf.c_str() + i);
    i += name.size() + 1;
    names.push_back(std::move(name));
  }
  return names;
}

SysResult<void> MountedOps::RemoveXattr(const std::string& path, const std::string& name) {
  return Check(::lremovexattr(HostPath(path).c_str(), name.c_str()));
}

SysResult<void> MountedOps::Access(const std::string& path, int mode) {
  return Check(::access(HostPath(path).c_str(), mode));
}

SysResult<std::vector<DirEntry>> MountedOps::ReadDir(int handle, size_t max) {
  std::vector<DirEntry> out;
  // 32 KiB per getdents64, as glibc's readdir(3) reads.
  alignas(8) static thread_local char buf[32768];
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

SysResult<void> MountedOps::SeekDir(int handle, int64_t offset) {
  if (::lseek(handle, offset, SEEK_SET) < 0) return SysFail(errno);
  return {};
}

int MountedOps::RunAs(const Cred& cred, const std::function<int(Ops&)>& op) {
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

}  // namespace ovlab::targets
