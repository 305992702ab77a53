#include "io/tree_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "io/attrs.h"

namespace ovlab::io {
namespace {

Result<std::vector<std::string>> Names(int dir_fd, const std::string& path) {
  int fd = ::dup(dir_fd);
  if (fd < 0) return FailErrno(errno, "dup " + path);
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return FailErrno(errno, "opendir " + path);
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  return names;
}

// Walks src with directory fds (never following symlinks) and rebuilds it at dst.
class TreeCopier {
 public:
  explicit TreeCopier(CopyStrategy strategy) : strategy_(strategy) {}

  Status CopyEntry(int src_dir, int dst_dir, const std::string& name, const std::string& src,
                   const std::string& dst) {
    struct stat st;
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return FailErrno(errno, "stat " + src);
    bool linkable = !S_ISDIR(st.st_mode) && st.st_nlink > 1;
    if (linkable) {
      auto it = links_.find({st.st_dev, st.st_ino});
      if (it != links_.end()) {
        if (::linkat(AT_FDCWD, it->second.c_str(), dst_dir, name.c_str(), 0) != 0)
          return FailErrno(errno, "link " + dst);
        ++stats_.files;
        return {};
      }
    }
    Status st_copy;
    if (S_ISDIR(st.st_mode)) {
      st_copy = CopyDir(src_dir, dst_dir, name, src, dst);
    } else if (S_ISREG(st.st_mode)) {
      st_copy = CopyRegular(src_dir, dst_dir, name, src, dst);
    } else {
      st_copy = CopySpecial(dst_dir, name, src, dst, st);
    }
    if (!st_copy) return st_copy;
    if (linkable) links_[{st.st_dev, st.st_ino}] = dst;
    return {};
  }

  const TreeCopyStats& stats() const { return stats_; }

 private:
  Status CopyDir(int src_dir, int dst_dir, const std::string& name, const std::string& src,
                 const std::string& dst) {
    UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return FailErrno(errno, "open " + src);
    if (::mkdirat(dst_dir, name.c_str(), 0700) != 0) return FailErrno(errno, "mkdir " + dst);
    UniqueFd d(::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return FailErrno(errno, "open " + dst);
    auto names = Names(s.get(), src);
    if (!names) return std::unexpected(names.error());
    for (const auto& n : *names) {
      if (auto r = CopyEntry(s.get(), d.get(), n, JoinPath(src, n), JoinPath(dst, n)); !r) return r;
    }
    ++stats_.dirs;
    // After the contents, so creating them does not bump the copied times.
    return Metadata(s.get(), d.get(), dst);
  }

  Status CopyRegular(int src_dir, int dst_dir, const std::string& name, const std::string& src,
                     const std::string& dst) {
    UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return FailErrno(errno, "open " + src);
    UniqueFd d(::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0600));
    if (!d) return FailErrno(errno, "create " + dst);
    auto out = CopyFileData(s.get(), d.get(), strategy_);
    if (!out) return FailErrno(out.error(), "copy data of " + src);
    ++stats_.files;
    stats_.bytes_copied += out->bytes_copied;
    return Metadata(s.get(), d.get(), dst);
  }

  // Owner, mode and times, then xattrs (chown would drop security.capability).
  static Status Metadata(int src_fd, int dst_fd, const std::string& dst) {
    if (auto r = CopyOwnerModeTimes(src_fd, dst_fd); !r)
      return FailErrno(r.error(), "attrs " + dst);
    if (auto r = CopyXattrs(src_fd, dst_fd); !r) return FailErrno(r.error(), "xattrs " + dst);
    return {};
  }

  // Symlinks, devices, fifos and sockets: made and described by name, never opened.
  Status CopySpecial(int dst_dir, const std::string& name, const std::string& src,
                     const std::string& dst, const struct stat& st) {
    if (S_ISLNK(st.st_mode)) {
      auto target = ReadLink(src);
      if (!target) return std::unexpected(target.error());
      if (::symlinkat(target->c_str(), dst_dir, name.c_str()) != 0)
        return FailErrno(errno, "symlink " + dst);
    } else if (::mknodat(dst_dir, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
      return FailErrno(errno, "mknod " + dst);
    }
    ++stats_.others;
    if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
      return FailErrno(errno, "chown " + dst);
    if (!S_ISLNK(st.st_mode) && ::fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, 0) != 0)
      return FailErrno(errno, "chmod " + dst);
    if (auto r = CopyXattrsPath(src.c_str(), dst.c_str()); !r)
      return FailErrno(r.error(), "xattrs " + dst);
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dst_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return FailErrno(errno, "utimes " + dst);
    return {};
  }

  CopyStrategy strategy_;
  TreeCopyStats stats_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // source inode -> first copy
};

}  // namespace

Result<TreeCopyStats> CopyTree(const std::string& src, const std::string& dst,
                               CopyStrategy strategy) {
  if (PathExists(dst))
    return Fail(EEXIST, "copy tree: destination " + dst + " exists; CopyTree creates it");
  if (!PathExists(src)) return FailErrno(ENOENT, "copy tree: source " + src);
  TreeCopier copier(strategy);
  auto st = copier.CopyEntry(AT_FDCWD, AT_FDCWD, src, src, dst);
  if (!st) {
    (void)RemoveTree(dst);  // nothing half-made stays behind
    return std::unexpected(WithContext(st.error(), "copy tree " + src + " to " + dst));
  }
  return copier.stats();
}

}  // namespace ovlab::io
