#include "base/beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/fs.h"

namespace ovlab {
namespace {

// Which component made openat2 fail ELOOP: the first symlink on the way. Each prefix is looked at
// only after the ones before it proved to be no symlink, so this lookup follows none either.
std::string SymlinkOnTheWay(int dir_fd, std::string_view dir_name, std::string_view path) {
  for (size_t end = 0; end != std::string_view::npos;) {
    end = path.find('/', end + 1);
    std::string prefix(path.substr(0, end));
    struct stat st;
    if (::fstatat(dir_fd, prefix.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) break;
    if (!S_ISLNK(st.st_mode)) continue;
    char target[4096];
    ssize_t n = ::readlinkat(dir_fd, prefix.c_str(), target, sizeof target);
    return JoinPath(dir_name, prefix) + " is a symlink to " +
           (n < 0 ? std::string("?") : std::string(target, static_cast<size_t>(n)));
  }
  return JoinPath(dir_name, path) + " has a symlink on its way";
}

}  // namespace

Result<UniqueFd> OpenBeneath(int dir_fd, std::string_view dir_name, std::string_view path,
                             int flags, mode_t mode) {
  std::string p(path.empty() ? "." : path);
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  // The kernel refuses a mode without O_CREAT or O_TMPFILE.
  if (flags & (O_CREAT | O_TMPFILE)) how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, dir_fd, p.c_str(), &how, sizeof how);  // glibc 2.36: no wrapper
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  int err = errno;
  switch (err) {
    case ELOOP:
      return Fail(err, SymlinkOnTheWay(dir_fd, dir_name, p) + ", which is not followed here");
    case EXDEV:
      return Fail(err, JoinPath(dir_name, p) + " leads out of " + std::string(dir_name));
    case ENOSYS:
      return Fail(err, "openat2 is not available: Linux 5.6 or later is needed");
    default:
      return FailErrno(err, "open " + JoinPath(dir_name, p));
  }
}

}  // namespace ovlab
