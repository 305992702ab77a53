#include "scratch/cold_caches.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/fs.h"
#include "base/strings.h"

namespace ovlab::scratch {

namespace {

// Freeze then thaw at once, with signals blocked between the two: an interrupt must not leave
// the filesystem frozen (its cleanup would hang on it).
Status FreezeAndThaw(const std::string& mount_point) {
  UniqueFd fd(::open(mount_point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return FailErrno(errno, "open " + mount_point + " to quiesce it");
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  int err = ::ioctl(fd.get(), FIFREEZE, 0) == 0 ? 0 : errno;
  if (err == 0 && ::ioctl(fd.get(), FITHAW, 0) != 0) err = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) return FailErrno(err, "freeze and thaw " + mount_point);
  return {};
}

}  // namespace

Status DropKernelCaches(int level, const std::vector<std::string>& quiesce) {
  ::sync();
  for (const auto& m : quiesce) {
    if (auto st = FreezeAndThaw(m); !st) return st;
  }
  UniqueFd fd(::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC));
  if (!fd) return FailErrno(errno, "open /proc/sys/vm/drop_caches (cold runs need root)");
  std::string value = std::to_string(level) + "\n";
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return FailErrno(errno, "write /proc/sys/vm/drop_caches");
  return {};
}

}  // namespace ovlab::scratch
