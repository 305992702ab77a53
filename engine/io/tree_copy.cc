#include "io/tree_copy.h"

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

// One side of a copy step: an entry `name` in directory fd `dir`, known to people as `path`.
struct Node {
  int dir;
  std::string name, path;
  Node Child(int child_dir, const std::string& n) const {
    return {child_dir, n, JoinPath(path, n)};
  }
};

// Walks src with directory fds (never following symlinks) and rebuilds it at dst.
class TreeCopier {
 public:
  explicit TreeCopier(CopyStrategy strategy) : strategy_(strategy) {}

  Status CopyEntry(const Node& src, const Node& dst) {
    struct stat st;
    if (::fstatat(src.dir, src.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return FailErrno(errno, "stat " + src.path);
    bool linkable = !S_ISDIR(st.st_mode) && st.st_nlink > 1;
    if (linkable) {
      auto it = links_.find({st.st_dev, st.st_ino});
      if (it != links_.end()) {
        if (::linkat(AT_FDCWD, it->second.c_str(), dst.dir, dst.name.c_str(), 0) != 0)
          return FailErrno(errno, "link " + dst.path);
        ++stats_.files;
        return {};
      }
    }
    Status copied;
    if (S_ISDIR(st.st_mode)) {
      copied = CopyDir(src, dst);
    } else if (S_ISREG(st.st_mode)) {
      copied = CopyRegular(src, dst);
    } else {
      copied = CopySpecial(src, dst, st);
    }
    if (!copied) return copied;
    if (linkable) links_[{st.st_dev, st.st_ino}] = dst.path;
    return {};
  }

  const TreeCopyStats& stats() const { return stats_; }

 private:
  Status CopyDir(const Node& src, const Node& dst) {
    UniqueFd s(
        ::openat(src.dir, src.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return FailErrno(errno, "open " + src.path);
    if (::mkdirat(dst.dir, dst.name.c_str(), 0700) != 0)
      return FailErrno(errno, "mkdir " + dst.path);
    UniqueFd d(
        ::openat(dst.dir, dst.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return FailErrno(errno, "open " + dst.path);
    auto names = ListDirFd(s.get(), src.path);
    if (!names) return std::unexpected(names.error());
    for (const auto& n : *names) {
      if (auto r = CopyEntry(src.Child(s.get(), n), dst.Child(d.get(), n)); !r) return r;
    }
    ++stats_.dirs;
    // After the contents, so creating them does not bump the copied times.
    return Metadata(s.get(), d.get(), dst.path);
  }

  Status CopyRegular(const Node& src, const Node& dst) {
    UniqueFd s(::openat(src.dir, src.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return FailErrno(errno, "open " + src.path);
    UniqueFd d(::openat(dst.dir, dst.name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!d) return FailErrno(errno, "create " + dst.path);
    auto out = CopyFileData(s.get(), d.get(), strategy_);
    if (!out) return FailErrno(out.error(), "copy data of " + src.path);
    ++stats_.files;
    stats_.bytes_copied += out->bytes_copied;
    return Metadata(s.get(), d.get(), dst.path);
  }

  // Owner, mode and times, then xattrs (chown would drop security.capability).
  static Status Metadata(int src_fd, int dst_fd, const std::string& dst) {
    if (auto r = CopyOwnerModeTimes(src_fd, dst_fd); !r)
      return FailErrno(r.error(), "attrs " + dst);
    if (auto r = CopyXattrs(src_fd, dst_fd); !r) return FailErrno(r.error(), "xattrs " + dst);
    return {};
  }

  // Symlinks, devices, fifos and sockets: made and described by name, never opened.
  Status CopySpecial(const Node& src, const Node& dst, const struct stat& st) {
    const char* name = dst.name.c_str();
    if (S_ISLNK(st.st_mode)) {
      auto target = ReadLink(src.path);
      if (!target) return std::unexpected(target.error());
      if (::symlinkat(target->c_str(), dst.dir, name) != 0)
        return FailErrno(errno, "symlink " + dst.path);
    } else if (::mknodat(dst.dir, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
      return FailErrno(errno, "mknod " + dst.path);
    }
    ++stats_.others;
    if (::fchownat(dst.dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
      return FailErrno(errno, "chown " + dst.path);
    if (!S_ISLNK(st.st_mode) && ::fchmodat(dst.dir, name, st.st_mode & 07777, 0) != 0)
      return FailErrno(errno, "chmod " + dst.path);
    if (auto r = CopyXattrsPath(src.path.c_str(), dst.path.c_str()); !r)
      return FailErrno(r.error(), "xattrs " + dst.path);
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dst.dir, name, times, AT_SYMLINK_NOFOLLOW) != 0)
      return FailErrno(errno, "utimes " + dst.path);
    return {};
  }

  CopyStrategy strategy_;
  TreeCopyStats stats_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // source inode -> its first copy
};

}  // namespace

Result<TreeCopyStats> CopyTree(const std::string& src, const std::string& dst,
                               CopyStrategy strategy) {
  if (PathExists(dst))
    return Fail(EEXIST, "copy tree: destination " + dst + " exists; CopyTree creates it");
  if (!PathExists(src)) return FailErrno(ENOENT, "copy tree: source " + src);
  TreeCopier copier(strategy);
  auto st = copier.CopyEntry(Node{AT_FDCWD, src, src}, Node{AT_FDCWD, dst, dst});
  if (!st) {
    (void)RemoveTree(dst);  // nothing half-made stays behind
    return std::unexpected(WithContext(st.error(), "copy tree " + src + " to " + dst));
  }
  return copier.stats();
}

}  // namespace ovlab::io
