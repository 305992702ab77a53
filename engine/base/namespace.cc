#include "base/namespace.h"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

namespace ovlab {

Status EnterPrivateMountNamespace(const std::string& program) {
  if (::geteuid() != 0) {
    return Fail(EPERM, program + " mounts filesystems and must run as root (try sudo)");
  }
  if (::unshare(CLONE_NEWNS) != 0) return FailErrno(errno, "unshare(CLONE_NEWNS)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return FailErrno(errno, "make every mount private");
  }
  return {};
}

}  // namespace ovlab
