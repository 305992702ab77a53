// Reference-counted mounts of layers (Docker's mountref counter). Counts live in this process;
// a mount made by an earlier process (the CLI's `mount`) is found and adopted, so a later process
// can `umount` it. A mount point is a directory `merged` below a ConfinedDir: a symlink there is
// refused, never mounted on nor unmounted through.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "layout/confined_dir.h"

namespace ovlab::drivers {

// "/proc/self/fd/N": the kernel resolves it to exactly what the fd holds, whatever names now
// lead there. How a directory opened beneath a store reaches mount(2) and umount2(2); an overlay
// gets its layers as FdName "N" relative to kProcSelfFd (short: 500 lowers fit one page).
inline constexpr char kProcSelfFd[] = "/proc/self/fd";
std::string FdName(int fd);
std::string ProcFdPath(int fd);

class MountRefs {
 public:
  using MountFn = std::function<Status(const std::string& target)>;
  // Takes a reference on dir/merged. The first reference creates merged/ (mode 0700) and calls
  // `mount` with its path unless it is already a mount point; a failed mount leaves no directory.
  Status Acquire(const layout::ConfinedDir& dir, const std::string& merged, const MountFn& mount);
  // Drops a reference; the last one unmounts with MNT_DETACH and removes merged/.
  // Fails when nothing is mounted there.
  Status Release(const layout::ConfinedDir& dir, const std::string& merged);
  // True when dir/merged has references here or is a mount point.
  Result<bool> InUse(const layout::ConfinedDir& dir, const std::string& merged);
  // Drops every reference to dir/merged (its mount went away behind the counts' back).
  void Forget(const layout::ConfinedDir& dir, const std::string& merged);

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

// dir/rel opened as a mount point candidate: an empty fd when it does not exist, an error when
// something else than a directory (a symlink) is there.
Result<UniqueFd> OpenMountPoint(const layout::ConfinedDir& dir, const std::string& rel);
// Whether the directory `fd` holds is the root of a mount. Asked without syncing attributes, so a
// FUSE mount whose daemon died answers too.
Result<bool> IsMountRoot(int fd, const std::string& what);

}  // namespace ovlab::drivers
