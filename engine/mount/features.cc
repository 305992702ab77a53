// What the running kernel's overlayfs offers, and the d_type probe overlay needs.
#include <dirent.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/kernel_version.h"
#include "base/strings.h"
#include "mount/mount.h"

namespace ovlab::mount {
namespace {

bool ReadBoolParam(const char* name) {
  auto text = ReadFileText(std::string("/sys/module/overlay/parameters/") + name);
  return text && StartsWith(Trim(*text), "Y");
}

bool OverlayRegistered() {
  if (PathExists("/sys/module/overlay")) return true;
  auto fs = ReadFileText("/proc/filesystems");
  return fs && fs->find("\toverlay\n") != std::string::npos;
}

}  // namespace

OverlayFeatures ProbeOverlayFeatures() {
  OverlayFeatures f;
  struct utsname u;
  if (::uname(&u) == 0) f.kernel_release = u.release;
  KernelVersion version = KernelVersion::Parse(f.kernel_release);
  f.overlay_available = OverlayRegistered();
  f.redirect_dir_default = ReadBoolParam("redirect_dir");
  f.metacopy_default = ReadBoolParam("metacopy");
  f.index_default = ReadBoolParam("index");
  f.xino_auto_default = ReadBoolParam("xino_auto");
  f.lowerdir_plus = version.known() && version.AtLeast(6, 8);
  f.data_only_lowers = version.known() && version.AtLeast(6, 5);
  f.max_lowers = 500;
  return f;
}

Result<bool> SupportsDType(const std::string& dir) {
  std::string probe = JoinPath(dir, ".ovlab-dtype-XXXXXX");
  int fd = ::mkstemp(probe.data());
  if (fd < 0) return FailErrno(errno, "create d_type probe in " + dir);
  ::close(fd);
  std::string name = BaseName(probe);
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    int e = errno;
    ::unlink(probe.c_str());
    return FailErrno(e, "opendir " + dir);
  }
  std::optional<bool> found;
  while (dirent* e = ::readdir(d)) {
    if (name == e->d_name) {
      found = e->d_type != DT_UNKNOWN;
      break;
    }
  }
  ::closedir(d);
  ::unlink(probe.c_str());
  if (!found) return Fail(EIO, "d_type probe: " + probe + " not listed by readdir of " + dir);
  return *found;
}

}  // namespace ovlab::mount
