#include "drivers/dtype.h"

#include <dirent.h>

#include <cerrno>
#include <string_view>

#include "mount/mount.h"

namespace ovlab::drivers {

Result<std::optional<bool>> DirHasDType(const std::string& dir, bool may_write) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return FailErrno(errno, "opendir " + dir);
  std::optional<bool> found;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    found = e->d_type != DT_UNKNOWN;
    break;
  }
  ::closedir(d);
  if (found || !may_write) return found;
  auto probed = mount::SupportsDType(dir);
  if (!probed) return std::unexpected(probed.error());
  return std::optional<bool>(*probed);
}

std::string DTypeText(const Result<std::optional<bool>>& dtype) {
  if (!dtype || !*dtype) return "unknown";
  return **dtype ? "true" : "false";
}

}  // namespace ovlab::drivers
