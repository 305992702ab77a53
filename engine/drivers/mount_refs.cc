#include "drivers/mount_refs.h"

#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "layout/overlay2_layout.h"
#include "mount/mount.h"

namespace ovlab::drivers {

bool IsMountPoint(const std::string& path) {
  if (!PathExists(path)) return false;
  auto entry = mount::FindMount(path);
  return entry && entry->has_value();
}

Status MountRefs::Acquire(const std::string& merged, const std::function<Status()>& mount) {
  std::lock_guard lock(mu_);
  int& count = counts_[merged];
  if (count > 0 || IsMountPoint(merged)) {
    ++count;
    return {};
  }
  bool made_dir = !PathExists(merged);
  if (made_dir) {
    if (auto st = MakeDir(merged, layout::kMergedDirMode); !st) {
      counts_.erase(merged);
      return st;
    }
  }
  if (auto st = mount(); !st) {
    if (made_dir) ::rmdir(merged.c_str());
    counts_.erase(merged);
    return st;
  }
  count = 1;
  return {};
}

Status MountRefs::Release(const std::string& merged) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(merged);
  int count = it == counts_.end() ? 0 : it->second;
  if (count > 1) {
    --it->second;
    return {};
  }
  if (it != counts_.end()) counts_.erase(it);
  if (!IsMountPoint(merged)) return Fail(EINVAL, merged + " is not mounted");
  if (auto st = mount::Unmount(merged, /*detach=*/true); !st) return st;
  // Removing the mount point also drops copies of the mount in other namespaces (as Docker does).
  if (::rmdir(merged.c_str()) != 0 && errno != ENOENT) return FailErrno(errno, "rmdir " + merged);
  return {};
}

bool MountRefs::InUse(const std::string& merged) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(merged);
  return (it != counts_.end() && it->second > 0) || IsMountPoint(merged);
}

}  // namespace ovlab::drivers
