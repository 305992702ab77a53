#include "layout/whiteout.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <cerrno>

namespace ovlab::layout {

bool IsOverlayWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}

Status MakeOverlayWhiteout(int dirfd, const std::string& name) {
  if (::mknodat(dirfd, name.c_str(), S_IFCHR | 0, ::makedev(0, 0)) != 0) {
    return FailErrno(errno, "make whiteout " + name);
  }
  return {};
}

bool IsOpaqueDir(const std::string& path) {
  char value[2];
  ssize_t n = ::lgetxattr(path.c_str(), kOpaqueXattr, value, sizeof value);
  return n == 1 && value[0] == 'y';
}

Status MarkOpaque(const std::string& path) {
  if (::lsetxattr(path.c_str(), kOpaqueXattr, "y", 1, 0) != 0) {
    return FailErrno(errno, "set " + std::string(kOpaqueXattr) + " on " + path);
  }
  return {};
}

}  // namespace ovlab::layout
