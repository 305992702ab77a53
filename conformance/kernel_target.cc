// The oracle: kernel overlayfs mounted over the case's layers.
#include <sys/mount.h>
#include <sys/utsname.h>

#include <cerrno>

#include "base/strings.h"
#include "conformance/mounted_target.h"
#include "conformance/targets.h"

namespace ovlab::conformance {
namespace {

class KernelTarget : public MountedTarget {
 public:
  std::string Name() const override { return "kernel"; }
  std::string Version() const override {
    struct utsname u;
    if (::uname(&u) != 0) return "unknown";
    return u.release;
  }
  std::string Options() const override {
    // Explicit, so the oracle does not depend on the overlay module's defaults.
    return StrPrintf("redirect_dir=%s,index=off,metacopy=off",
                     config().redirect_dir ? "on" : "off");
  }

 protected:
  Status MountUnion(const LayerSet& layers, const std::string& mountpoint) override {
    std::string data = "lowerdir=" + Join(layers.lowers, ":") + ",upperdir=" + layers.upper +
                       ",workdir=" + layers.work + "," + Options();
    if (::mount("overlay", mountpoint.c_str(), "overlay", 0, data.c_str()) != 0)
      return FailErrno(errno, "mount overlay on " + mountpoint + " (" + data + ")");
    return {};
  }
  Status UnmountUnion(const std::string& mountpoint) override {
    if (::umount2(mountpoint.c_str(), MNT_DETACH) != 0)
      return FailErrno(errno, "unmount " + mountpoint);
    return {};
  }
};

}  // namespace

std::unique_ptr<Target> MakeKernelTarget() {
  return std::make_unique<KernelTarget>();
}

}  // namespace ovlab::conformance
