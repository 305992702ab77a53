#include "layout/object_metadata.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "io/attrs.h"
#include "io/copy.h"

namespace ovlab::layout {
namespace {

Status CopyRegular(const std::string& src, const std::string& dst, mode_t mode) {
  auto in = OpenPath(src, O_RDONLY | O_NOFOLLOW);
  if (!in) return std::unexpected(in.error());
  auto out = OpenPath(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  if (!out) return std::unexpected(out.error());
  if (auto copied = io::CopyFileData(in->get(), out->get()); !copied) {
    ::unlink(dst.c_str());
    return FailErrno(copied.error(), "copy " + src + " to " + dst);
  }
  return {};
}

Status CopyPathMetadata(const std::string& src, const std::string& dst, const struct stat& st) {
  // chown first: it drops security.capability and setuid bits, which come back after it.
  if (::fchownat(AT_FDCWD, dst.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return FailErrno(errno, "chown " + dst);
  }
  if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
    return FailErrno(errno, "chmod " + dst);
  }
  if (auto r = io::CopyXattrsPath(src.c_str(), dst.c_str()); !r) {
    return FailErrno(r.error(), "copy xattrs to " + dst);
  }
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return FailErrno(errno, "set times of " + dst);
  }
  return {};
}

}  // namespace

Status CreateLike(const std::string& src, const std::string& dst, const struct stat& st) {
  if (S_ISREG(st.st_mode)) return CopyRegular(src, dst, st.st_mode & 07777);
  if (S_ISLNK(st.st_mode)) {
    auto target = ReadLink(src);
    if (!target) return std::unexpected(target.error());
    if (::symlink(target->c_str(), dst.c_str()) != 0) return FailErrno(errno, "symlink " + dst);
    return {};
  }
  if (S_ISDIR(st.st_mode)) return Fail(EISDIR, "CreateLike does not make directories: " + dst);
  if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) return FailErrno(errno, "mknod " + dst);
  return {};
}

Status CopyObjectMetadata(const std::string& src, const std::string& dst, const struct stat& st) {
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return CopyPathMetadata(src, dst, st);
  auto in = OpenPath(src, O_RDONLY | O_NOFOLLOW);
  if (!in) return std::unexpected(in.error());
  auto out = OpenPath(dst, O_RDONLY | O_NOFOLLOW);
  if (!out) return std::unexpected(out.error());
  // Owner first: chown drops security.capability, so xattrs come after it.
  if (auto r = io::CopyOwnerModeTimes(in->get(), out->get()); !r) {
    return FailErrno(r.error(), "set owner/mode/times of " + dst);
  }
  if (auto r = io::CopyXattrs(in->get(), out->get()); !r) {
    return FailErrno(r.error(), "copy xattrs to " + dst);
  }
  return {};
}

}  // namespace ovlab::layout
