#include "launch/stale_mount.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "base/fs.h"
#include "base/strings.h"
#include "mount/mount.h"

namespace ovlab::launch {
namespace {

// The mount table names targets canonically; a dead mount point cannot be resolved itself, so
// resolve its parent directory.
std::string CanonicalMountPoint(const std::string& path) {
  char buf[PATH_MAX];
  std::string parent = DirName(path);
  if (::realpath(parent.c_str(), buf) == nullptr) return path;
  return JoinPath(buf, BaseName(path));
}

}  // namespace

bool IsStaleFuseMount(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 || !IsDisconnectedErrno(errno)) return false;
  auto entry = mount::FindMount(CanonicalMountPoint(path));
  return entry && entry->has_value() && StartsWith((*entry)->fstype, "fuse");
}

Result<bool> CleanupStaleMount(const std::string& path) {
  if (!IsStaleFuseMount(path)) return false;
  if (::umount2(CanonicalMountPoint(path).c_str(), MNT_DETACH) != 0) {
    return FailErrno(errno, "detach the dead FUSE mount " + path);
  }
  return true;
}

}  // namespace ovlab::launch
