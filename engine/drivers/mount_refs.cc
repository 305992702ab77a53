#include "drivers/mount_refs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "base/fs.h"
#include "layout/overlay2_layout.h"
#include "mount/mount.h"

namespace ovlab::drivers {

std::string FdName(int fd) {
  return std::to_string(fd);
}

std::string ProcFdPath(int fd) {
  return JoinPath(kProcSelfFd, FdName(fd));
}

Result<UniqueFd> OpenMountPoint(const layout::ConfinedDir& dir, const std::string& rel) {
  auto fd = dir.Open(rel, O_PATH | O_DIRECTORY);
  if (!fd && fd.error().code == ENOENT) return UniqueFd();
  return fd;
}

Result<bool> IsMountRoot(int fd, const std::string& what) {
  struct statx stx;
  if (::statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, 0, &stx) != 0) {
    return FailErrno(errno, "statx " + what);
  }
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
    return Fail(ENOSYS, "statx " + what + ": this kernel does not tell mount roots (Linux 5.8+)");
  }
  return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

// Whether dir/merged is a mount point; its fd, when it exists.
static Result<bool> Mounted(const layout::ConfinedDir& dir, const std::string& merged,
                            UniqueFd* fd_out = nullptr) {
  auto fd = OpenMountPoint(dir, merged);
  if (!fd) return std::unexpected(fd.error());
  if (!*fd) return false;
  auto root = IsMountRoot(fd->get(), dir.PathOf(merged));
  if (fd_out) *fd_out = std::move(*fd);
  return root;
}

Status MountRefs::Acquire(const layout::ConfinedDir& dir, const std::string& merged,
                          const MountFn& mount) {
  std::lock_guard lock(mu_);
  std::string key = dir.PathOf(merged);
  auto exists = dir.Exists(merged);
  if (!exists) return std::unexpected(exists.error());
  auto mounted = Mounted(dir, merged);
  if (!mounted) return std::unexpected(mounted.error());
  int& count = counts_[key];
  if (count > 0 || *mounted) {
    ++count;
    return {};
  }
  bool made_dir = !*exists;
  if (made_dir) {
    if (auto st = dir.MakeDir(merged, layout::kMergedDirMode); !st) {
      counts_.erase(key);
      return st;
    }
  }
  if (auto st = mount(key); !st) {
    if (made_dir) (void)dir.RemoveDir(merged);
    counts_.erase(key);
    return st;
  }
  count = 1;
  return {};
}

Status MountRefs::Release(const layout::ConfinedDir& dir, const std::string& merged) {
  std::lock_guard lock(mu_);
  std::string key = dir.PathOf(merged);
  auto it = counts_.find(key);
  int count = it == counts_.end() ? 0 : it->second;
  if (count > 1) {
    --it->second;
    return {};
  }
  UniqueFd fd;
  auto mounted = Mounted(dir, merged, &fd);
  if (!mounted) return std::unexpected(mounted.error());
  if (it != counts_.end()) counts_.erase(it);
  if (!*mounted) return Fail(EINVAL, key + " is not mounted");
  // Through the fd: what is unmounted is the directory checked above, whatever its path is now.
  if (auto st = mount::Unmount(ProcFdPath(fd.get()), /*detach=*/true); !st) {
    return std::unexpected(WithContext(st.error(), key));
  }
  // Removing the mount point also drops copies of the mount in other namespaces (as Docker does).
  return dir.RemoveDir(merged);
}

Result<bool> MountRefs::InUse(const layout::ConfinedDir& dir, const std::string& merged) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(dir.PathOf(merged));
  if (it != counts_.end() && it->second > 0) return true;
  return Mounted(dir, merged);
}

void MountRefs::Forget(const layout::ConfinedDir& dir, const std::string& merged) {
  std::lock_guard lock(mu_);
  counts_.erase(dir.PathOf(merged));
}

}  // namespace ovlab::drivers
