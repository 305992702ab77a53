#include "io/attrs.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace ovlab::io {
namespace {

// The xattr calls of one kind of handle (an fd, or a path not followed if a symlink).
template <class Handle>
struct XattrOps {
  ssize_t (*list)(Handle, char*, size_t);
  ssize_t (*get)(Handle, const char*, void*, size_t);
  int (*set)(Handle, const char*, const void*, size_t, int);
};

// Reads a variable-sized result, growing the buffer when the value grew between the calls.
template <class Call>
SysResult<std::vector<char>> ReadSized(Call call) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t n = call(nullptr, 0);
    if (n < 0) return SysFail(errno);
    std::vector<char> buf(static_cast<size_t>(n));
    if (n == 0) return buf;
    ssize_t m = call(buf.data(), buf.size());
    if (m >= 0) {
      buf.resize(static_cast<size_t>(m));
      return buf;
    }
    if (errno != ERANGE) return SysFail(errno);
  }
  return SysFail(ERANGE);
}

template <class Handle>
SysResult<void> CopyAll(const XattrOps<Handle>& ops, Handle src, Handle dst, XattrFilter keep) {
  auto names = ReadSized([&](char* b, size_t n) { return ops.list(src, b, n); });
  if (!names) {
    // A filesystem without xattr support has none to copy.
    if (names.error() == EOPNOTSUPP) return {};
    return SysFail(names.error());
  }
  for (size_t pos = 0; pos < names->size();) {
    const char* name = names->data() + pos;
    std::string_view view(name);
    pos += view.size() + 1;
    if (view.empty() || (keep && !keep(view))) continue;
    auto value = ReadSized([&](char* b, size_t n) { return ops.get(src, name, b, n); });
    if (!value) {
      if (value.error() == ENODATA) continue;  // removed meanwhile
      return SysFail(value.error());
    }
    if (ops.set(dst, name, value->data(), value->size(), 0) != 0) return SysFail(errno);
  }
  return {};
}

const XattrOps<int> kFdOps{::flistxattr, ::fgetxattr, ::fsetxattr};
const XattrOps<const char*> kPathOps{::llistxattr, ::lgetxattr, ::lsetxattr};

}  // namespace

SysResult<void> CopyXattrs(int src_fd, int dst_fd, XattrFilter keep) {
  return CopyAll(kFdOps, src_fd, dst_fd, keep);
}

SysResult<void> CopyXattrsPath(const char* src, const char* dst, XattrFilter keep) {
  return CopyAll(kPathOps, src, dst, keep);
}

SysResult<void> CopyOwnerModeTimes(int src_fd, int dst_fd) {
  struct stat st;
  if (::fstat(src_fd, &st) != 0) return SysFail(errno);
  if (::fchown(dst_fd, st.st_uid, st.st_gid) != 0) return SysFail(errno);
  // After chown, which clears setuid/setgid bits.
  if (::fchmod(dst_fd, st.st_mode & 07777) != 0) return SysFail(errno);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst_fd, times) != 0) return SysFail(errno);
  return {};
}

}  // namespace ovlab::io
