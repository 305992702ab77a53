// Reference-counted mounts of layers (Docker's mountref counter). Counts live in this process;
// a mount made by an earlier process (the CLI's `mount`) is found in the mount table and adopted,
// so a later process can `umount` it.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "base/result.h"

namespace ovlab::drivers {

class MountRefs {
 public:
  // Takes a reference on `merged`. The first reference creates `merged` (mode 0700) and calls
  // `mount` unless the directory is already a mount point; a failed mount leaves no directory.
  Status Acquire(const std::string& merged, const std::function<Status()>& mount);
  // Drops a reference; the last one unmounts with MNT_DETACH and removes `merged`.
  // Fails when nothing is mounted there.
  Status Release(const std::string& merged);
  // True when `merged` has references here or is a mount point.
  bool InUse(const std::string& merged);

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

// True when `path` is exactly a mount point in this namespace.
bool IsMountPoint(const std::string& path);

}  // namespace ovlab::drivers
