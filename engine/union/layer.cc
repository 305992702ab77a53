#include "union/layer.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "base/strings.h"

namespace ovlab::unionfs {

std::string ProcFdPath(int fd) {
  return StrPrintf("/proc/self/fd/%d", fd);
}

std::string ProcFdPath(int dirfd, std::string_view name) {
  return StrPrintf("/proc/self/fd/%d/%.*s", dirfd, static_cast<int>(name.size()), name.data());
}

namespace {

std::string Z(std::string_view s) {
  return std::string(s);
}

}  // namespace

Result<Layer> OpenLayer(const std::string& path) {
  int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, StrPrintf("open layer \"%s\"", path.c_str()));
  Layer layer;
  layer.path = path;
  layer.root.reset(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return FailErrno(errno, StrPrintf("stat layer \"%s\"", path.c_str()));
  layer.dev = st.st_dev;
  return layer;
}

bool IsPlainName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

std::string JoinRel(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

namespace {

// openat2 of `rel` (shorter than PATH_MAX) beneath the directory `dirfd`.
SysResult<UniqueFd> OpenBeneath(int dirfd, std::string_view rel, int flags, mode_t mode) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  std::string path = rel.empty() ? std::string(".") : std::string(rel);
  long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how));
  if (fd < 0) return SysFail(errno);
  return UniqueFd(static_cast<int>(fd));
}

}  // namespace

// A layer path may be longer than one syscall takes (PATH_MAX) while each of its names fits
// NAME_MAX, as in the kernel's overlay, which walks dentries and never needs the whole path: such
// a path is opened in pieces, each directory beneath the one before (so still beneath the root,
// and a symlink anywhere is still ELOOP).
SysResult<UniqueFd> OpenIn(const Layer& layer, std::string_view rel, int flags, mode_t mode) {
  int at = layer.root.get();
  UniqueFd dir;
  while (rel.size() >= PATH_MAX) {
    size_t cut = rel.rfind('/', PATH_MAX - 1);
    if (cut == std::string_view::npos || cut == 0) return SysFail(ENAMETOOLONG);
    auto next = OpenBeneath(at, rel.substr(0, cut), O_PATH | O_DIRECTORY, 0);
    if (!next) return SysFail(next.error());
    dir = std::move(*next);
    at = dir.get();
    rel.remove_prefix(cut + 1);
  }
  return OpenBeneath(at, rel, flags, mode);
}

SysResult<UniqueFd> OpenNameAt(int dirfd, std::string_view name, int flags) {
  if (!IsPlainName(name)) return SysFail(EINVAL);
  int fd = ::openat(dirfd, std::string(name).c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return SysFail(errno);
  return UniqueFd(fd);
}

SysResult<UniqueFd> OpenDirIn(const Layer& layer, std::string_view rel) {
  return OpenIn(layer, rel, O_PATH | O_DIRECTORY);
}

SysResult<struct stat> StatIn(const Layer& layer, std::string_view rel) {
  if (IsPlainName(rel)) {
    // One name below the root: nothing to resolve, no symlink can be crossed.
    return StatAt(layer.root.get(), rel);
  }
  auto fd = OpenIn(layer, rel, O_PATH | O_NOFOLLOW);
  if (!fd) return SysFail(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return SysFail(errno);
  return st;
}

SysResult<struct stat> StatAt(int dirfd, std::string_view name) {
  struct stat st {};
  if (::fstatat(dirfd, Z(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return SysFail(errno);
  return st;
}

SysResult<std::string> ReadLinkAt(int dirfd, std::string_view name) {
  std::string buf(PATH_MAX, '\0');
  ssize_t n = ::readlinkat(dirfd, Z(name).c_str(), buf.data(), buf.size());
  if (n < 0) return SysFail(errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

namespace {

// A getxattr-like call `get(buf, size)` with the usual size probe.
template <class Get>
SysResult<std::string> ReadXattrValue(Get get) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    ssize_t n = get(nullptr, 0);
    if (n < 0) return SysFail(errno);
    std::string value(static_cast<size_t>(n), '\0');
    if (n == 0) return value;
    ssize_t m = get(value.data(), value.size());
    if (m >= 0) {
      value.resize(static_cast<size_t>(m));
      return value;
    }
    if (errno != ERANGE) return SysFail(errno);
  }
  return SysFail(ERANGE);
}

// getxattr on `path`; `follow` selects getxattr vs lgetxattr.
SysResult<std::string> GetXattrPath(const std::string& path, std::string_view name, bool follow) {
  std::string xname(name);
  return ReadXattrValue([&](char* buf, size_t size) {
    return follow ? ::getxattr(path.c_str(), xname.c_str(), buf, size)
                  : ::lgetxattr(path.c_str(), xname.c_str(), buf, size);
  });
}

}  // namespace

// An O_PATH fd does not take f*xattr calls; its /proc/self/fd magic link, followed, reaches the
// very object (also a symlink opened with O_PATH | O_NOFOLLOW).
SysResult<std::string> GetXattrFd(int fd, std::string_view name) {
  return GetXattrPath(ProcFdPath(fd), name, true);
}

SysResult<void> SetXattrFd(int fd, std::string_view name, std::string_view value, int flags) {
  if (::setxattr(ProcFdPath(fd).c_str(), Z(name).c_str(), value.data(), value.size(), flags) != 0)
    return SysFail(errno);
  return {};
}

SysResult<void> RemoveXattrFd(int fd, std::string_view name) {
  if (::removexattr(ProcFdPath(fd).c_str(), Z(name).c_str()) != 0) return SysFail(errno);
  return {};
}

namespace {

// A listxattr-like call `list(buf, size)` with the usual size probe, split into names.
template <class List>
SysResult<std::vector<std::string>> ReadXattrNames(List list) {
  auto raw = ReadXattrValue(list);
  if (!raw) return SysFail(raw.error());
  std::vector<std::string> names;
  for (const auto& name : Split(*raw, '\0')) {
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

SysResult<std::vector<std::string>> ListXattrPath(const std::string& path, bool follow) {
  return ReadXattrNames([&](char* buf, size_t size) {
    return follow ? ::listxattr(path.c_str(), buf, size) : ::llistxattr(path.c_str(), buf, size);
  });
}

}  // namespace

SysResult<std::vector<std::string>> ListXattrFd(int fd) {
  return ListXattrPath(ProcFdPath(fd), true);
}

SysResult<std::vector<std::string>> ListXattrAt(int dirfd, std::string_view name) {
  return ListXattrPath(ProcFdPath(dirfd, name), false);
}

SysResult<std::string> GetXattrOfOpenFd(int fd, std::string_view name) {
  std::string xname(name);
  return ReadXattrValue(
      [&](char* buf, size_t size) { return ::fgetxattr(fd, xname.c_str(), buf, size); });
}

SysResult<std::vector<std::string>> ListXattrOfOpenFd(int fd) {
  return ReadXattrNames([&](char* buf, size_t size) { return ::flistxattr(fd, buf, size); });
}

SysResult<void> SetXattrOfOpenFd(int fd, std::string_view name, std::string_view value) {
  if (::fsetxattr(fd, Z(name).c_str(), value.data(), value.size(), 0) != 0) return SysFail(errno);
  return {};
}

SysResult<std::string> GetXattrAt(int dirfd, std::string_view name, std::string_view xname) {
  return GetXattrPath(ProcFdPath(dirfd, name), xname, false);
}

SysResult<void> SetXattrAt(int dirfd, std::string_view name, std::string_view xname,
                           std::string_view value, int flags) {
  if (::lsetxattr(ProcFdPath(dirfd, name).c_str(), Z(xname).c_str(), value.data(), value.size(),
                  flags) != 0)
    return SysFail(errno);
  return {};
}

SysResult<std::vector<RawDirEntry>> ReadDirFd(int dir_fd, DotEntries dots) {
  std::vector<RawDirEntry> out;
  alignas(8) char buf[32768];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir_fd, buf, sizeof(buf));
    if (n < 0) return SysFail(errno);
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + pos);
      pos += d->d_reclen;
      std::string_view name(d->d_name);
      if (dots == DotEntries::kSkip && (name == "." || name == "..")) continue;
      out.push_back(RawDirEntry{std::string(name), static_cast<ino_t>(d->d_ino), d->d_type});
    }
  }
  return out;
}

}  // namespace ovlab::unionfs
