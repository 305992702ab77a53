#include "layout/confined_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "base/beneath.h"
#include "base/fs.h"
#include "layout/short_id.h"

namespace ovlab::layout {
namespace {

constexpr int kTempNameAttempts = 5;

}  // namespace

Result<ConfinedDir> ConfinedDir::Open(const std::string& path) {
  auto fd = OpenPath(path, O_PATH | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  return ConfinedDir(path, std::move(*fd));
}

std::string ConfinedDir::PathOf(std::string_view rel) const {
  return rel.empty() ? path_ : JoinPath(path_, rel);
}

Result<ConfinedDir> ConfinedDir::Dir(std::string_view rel) const {
  auto fd = Open(rel, O_PATH | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  return ConfinedDir(PathOf(rel), std::move(*fd));
}

Result<UniqueFd> ConfinedDir::Open(std::string_view rel, int flags, mode_t mode) const {
  return OpenBeneath(fd_.get(), path_, rel, flags, mode);
}

Result<ConfinedDir::Entry> ConfinedDir::EntryOf(std::string_view rel) const {
  Entry e;
  size_t slash = rel.rfind('/');
  e.name = std::string(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
  if (e.name.empty() || e.name == "." || e.name == "..") {
    return Fail(EINVAL, "\"" + std::string(rel) + "\" names no entry of " + path_);
  }
  if (slash == std::string_view::npos) {
    e.dir_fd = fd_.get();
    return e;
  }
  auto dir = Open(rel.substr(0, slash), O_PATH | O_DIRECTORY);
  if (!dir) return std::unexpected(dir.error());
  e.owned = std::move(*dir);
  e.dir_fd = e.owned.get();
  return e;
}

Result<struct stat> ConfinedDir::Stat(std::string_view rel) const {
  struct stat st;
  if (rel.empty()) {
    if (::fstat(fd_.get(), &st) != 0) return FailErrno(errno, "stat " + path_);
    return st;
  }
  auto e = EntryOf(rel);
  if (!e) return std::unexpected(e.error());
  if (::fstatat(e->dir_fd, e->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return FailErrno(errno, "stat " + PathOf(rel));
  }
  return st;
}

Result<bool> ConfinedDir::Exists(std::string_view rel) const {
  auto st = Stat(rel);
  if (st) return true;
  if (st.error().code == ENOENT) return false;
  return std::unexpected(st.error());
}

Result<std::string> ConfinedDir::ReadLink(std::string_view rel) const {
  auto e = EntryOf(rel);
  if (!e) return std::unexpected(e.error());
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(e->dir_fd, e->name.c_str(), buf, sizeof buf);
  if (n < 0) return FailErrno(errno, "readlink " + PathOf(rel));
  return std::string(buf, static_cast<size_t>(n));
}

// O_NONBLOCK: opening a FIFO planted in the store must not hang; it is refused after fstat.
Result<std::string> ConfinedDir::ReadFile(std::string_view rel, size_t max_bytes) const {
  auto fd = Open(rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) return std::unexpected(fd.error());
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return FailErrno(errno, "stat " + PathOf(rel));
  if (!S_ISREG(st.st_mode)) return Fail(EINVAL, PathOf(rel) + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Fail(EFBIG, PathOf(rel) + " holds " + std::to_string(st.st_size) +
                           " bytes, more than the " + std::to_string(max_bytes) +
                           " such a file ever has");
  }
  return ReadFdText(fd->get(), PathOf(rel));
}

Status ConfinedDir::WriteFile(std::string_view rel, std::string_view content, mode_t mode) const {
  auto e = EntryOf(rel);
  if (!e) return std::unexpected(e.error());
  if (auto st = WriteFileAtomicAt(e->dir_fd, e->name, content, mode); !st) {
    return std::unexpected(WithContext(st.error(), "write " + PathOf(rel)));
  }
  return {};
}

Status ConfinedDir::MakeDir(std::string_view rel, mode_t mode) const {
  auto e = EntryOf(rel);
  if (!e) return std::unexpected(e.error());
  if (::mkdirat(e->dir_fd, e->name.c_str(), mode) != 0) {
    return FailErrno(errno, "mkdir " + PathOf(rel));
  }
  // The umask may have cut bits: set them on the directory just made, opened without following.
  auto made = Open(rel, O_RDONLY | O_DIRECTORY);
  Status st = made ? Status() : Status(std::unexpected(made.error()));
  if (st && ::fchmod(made->get(), mode) != 0) st = FailErrno(errno, "chmod " + PathOf(rel));
  if (!st) ::unlinkat(e->dir_fd, e->name.c_str(), AT_REMOVEDIR);
  return st;
}

// The random part comes from a short id; the callers' prefixes start with a dot, which no layer
// id does.
Result<std::string> ConfinedDir::WithTempName(
    std::string_view prefix, const std::function<Status(const std::string&)>& make) const {
  for (int i = 0; i < kTempNameAttempts; ++i) {
    auto random = NewShortId();
    if (!random) return std::unexpected(random.error());
    std::string name = std::string(prefix) + random->substr(0, 8);
    auto st = make(name);
    if (st) return name;
    if (st.error().code != EEXIST) return std::unexpected(st.error());
  }
  return Fail(EEXIST, "could not pick a free temporary name in " + path_);
}

Result<std::string> ConfinedDir::MakeTempDir(std::string_view prefix, mode_t mode) const {
  return WithTempName(prefix, [&](const std::string& name) { return MakeDir(name, mode); });
}

Result<std::string> ConfinedDir::RenameToTemp(std::string_view from,
                                              std::string_view prefix) const {
  size_t slash = from.rfind('/');
  std::string dir(slash == std::string_view::npos ? "" : from.substr(0, slash + 1));
  auto name = WithTempName(prefix, [&](const std::string& n) { return Rename(from, dir + n); });
  if (!name) return name;
  return dir + *name;
}

Status ConfinedDir::Symlink(const std::string& target, std::string_view rel) const {
  auto e = EntryOf(rel);
  if (!e) return std::unexpected(e.error());
  if (::symlinkat(target.c_str(), e->dir_fd, e->name.c_str()) != 0) {
    return FailErrno(errno, "symlink " + PathOf(rel));
  }
  return {};
}

Status ConfinedDir::Unlink(std::string_view rel) const {
  auto e = EntryOf(rel);
  if (!e) return std::unexpected(e.error());
  if (::unlinkat(e->dir_fd, e->name.c_str(), 0) != 0 && errno != ENOENT) {
    return FailErrno(errno, "unlink " + PathOf(rel));
  }
  return {};
}

Status ConfinedDir::RemoveDir(std::string_view rel) const {
  auto e = EntryOf(rel);
  if (!e) return std::unexpected(e.error());
  if (::unlinkat(e->dir_fd, e->name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return FailErrno(errno, "rmdir " + PathOf(rel));
  }
  return {};
}

Status ConfinedDir::RemoveTree(std::string_view rel) const {
  auto e = EntryOf(rel);
  if (!e) return std::unexpected(e.error());
  if (auto st = RemoveTreeAt(e->dir_fd, e->name); !st) {
    return std::unexpected(WithContext(st.error(), "remove " + PathOf(rel)));
  }
  return {};
}

Status ConfinedDir::Rename(std::string_view from, std::string_view to) const {
  auto a = EntryOf(from);
  if (!a) return std::unexpected(a.error());
  auto b = EntryOf(to);
  if (!b) return std::unexpected(b.error());
  if (::renameat2(a->dir_fd, a->name.c_str(), b->dir_fd, b->name.c_str(), RENAME_NOREPLACE) != 0) {
    return FailErrno(errno, "rename " + PathOf(from) + " to " + PathOf(to));
  }
  return {};
}

Result<std::vector<std::string>> ConfinedDir::List(std::string_view rel) const {
  auto fd = Open(rel, O_RDONLY | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  return ListDirFd(fd->get(), PathOf(rel));
}

}  // namespace ovlab::layout
