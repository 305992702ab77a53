#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace ovlab {

Result<UniqueFd> OpenPath(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return FailErrno(errno, "open " + path);
  return UniqueFd(fd);
}

Result<std::string> ReadFileText(const std::string& path) {
  auto fd = OpenPath(path, O_RDONLY | O_NOFOLLOW);
  if (!fd) return std::unexpected(fd.error());
  return ReadFdText(fd->get(), path);
}

Result<std::string> ReadFdText(int fd, const std::string& what) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(errno, "read " + what);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

static Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(errno, "write " + what);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  return WriteFileAtomicAt(AT_FDCWD, path, content, mode);
}

// O_EXCL: a file already at the temporary name (a crashed writer's, or a hard link planted there)
// is unlinked, never written through.
static Result<UniqueFd> CreateTemp(int dir_fd, const std::string& tmp, mode_t mode) {
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(dir_fd, tmp.c_str(), flags, mode);
  if (fd < 0 && errno == EEXIST && ::unlinkat(dir_fd, tmp.c_str(), 0) == 0) {
    fd = ::openat(dir_fd, tmp.c_str(), flags, mode);
  }
  if (fd < 0) return FailErrno(errno, "open " + tmp);
  return UniqueFd(fd);
}

Status WriteFileAtomicAt(int dir_fd, const std::string& name, std::string_view content,
                         mode_t mode) {
  std::string tmp = name + ".tmp-" + std::to_string(::getpid());
  auto fd = CreateTemp(dir_fd, tmp, mode);
  if (!fd) return std::unexpected(fd.error());
  Status st = WriteAll(fd->get(), content, tmp);
  if (st && ::fchmod(fd->get(), mode) != 0) st = FailErrno(errno, "chmod " + tmp);
  if (st && ::fsync(fd->get()) != 0) st = FailErrno(errno, "fsync " + tmp);
  if (st && ::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
    st = FailErrno(errno, "rename to " + name);
  }
  if (!st) ::unlinkat(dir_fd, tmp.c_str(), 0);
  return st;
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return FailErrno(ENOTDIR, "mkdir " + path);
  }
  std::string parent = DirName(path);
  if (parent != path) {
    if (auto s = MakeDirs(parent, mode); !s) return s;
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return FailErrno(errno, "mkdir " + path);
  return {};
}

Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) return FailErrno(errno, "mkdir " + path);
  if (::chmod(path.c_str(), mode) != 0) {
    int err = errno;
    ::rmdir(path.c_str());
    return FailErrno(err, "chmod " + path);
  }
  return {};
}

Status RemoveTreeAt(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return FailErrno(errno, "stat " + name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
      return FailErrno(errno, "unlink " + name);
    return {};
  }
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open " + name);
  struct stat dst;
  if (::fstat(fd, &dst) == 0 && dst.st_dev != st.st_dev) {
    ::close(fd);
    return FailErrno(EBUSY, "remove " + name + " (a mount point)");
  }
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return FailErrno(errno, "opendir " + name);
  }
  Status result;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  for (const auto& n : names) {
    if (auto s = RemoveTreeAt(::dirfd(dir), n); !s) {
      result = std::unexpected(WithContext(s.error(), name));
      break;
    }
  }
  ::closedir(dir);
  if (!result) return result;
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return FailErrno(errno, "rmdir " + name);
  return {};
}

Status RemoveTree(const std::string& path) {
  return RemoveTreeAt(AT_FDCWD, path);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Result<struct stat> LStat(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return FailErrno(errno, "stat " + path);
  return st;
}

Result<std::string> ReadLink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return FailErrno(errno, "readlink " + path);
  return std::string(buf, static_cast<size_t>(n));
}

// Reads and closes dir.
static std::vector<std::string> ReadNames(DIR* dir) {
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  return names;
}

Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return FailErrno(errno, "opendir " + path);
  return ReadNames(dir);
}

Result<std::vector<std::string>> ListDirFd(int dir_fd, const std::string& what) {
  int fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return FailErrno(errno, "dup " + what);
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    int e = errno;
    ::close(fd);
    return FailErrno(e, "opendir " + what);
  }
  ::rewinddir(dir);  // the dup shares the offset: start from the beginning
  return ReadNames(dir);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  if (out.back() != '/') out += '/';
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += b;
  return out;
}

std::string BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto pos = path.rfind('/');
  return std::string(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

std::string DirName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

Result<std::string> MakeTempDir(const std::string& parent, std::string_view prefix) {
  std::string tmpl = JoinPath(parent, std::string(prefix) + "XXXXXX");
  if (!::mkdtemp(tmpl.data())) return FailErrno(errno, "mkdtemp " + tmpl);
  return tmpl;
}

}  // namespace ovlab
