// The oracle: kernel overlayfs mounted over the case's layers.
#include <sys/utsname.h>

#include "base/strings.h"
#include "conformance/mounted_target.h"
#include "conformance/targets.h"
#include "mount/mount.h"

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
    return StrPrintf("redirect_dir=%s,index=off,metacopy=%s", config().redirect_dir ? "on" : "off",
                     config().metacopy ? "on" : "off");
  }

 protected:
  Status MountUnion(const LayerSet& layers, const std::string& mountpoint) override {
    mount::OverlaySpec spec;
    spec.lowers = layers.lowers;
    spec.upper = layers.upper;
    spec.work = layers.work;
    spec.options = Split(Options(), ',');
    // kAuto switches to lowerdir+ when 500 absolute lower paths no longer fit one page.
    auto info = mount::MountOverlay(spec, mountpoint);
    if (!info) return std::unexpected(info.error());
    return {};
  }
  Status UnmountUnion(const std::string& mountpoint) override {
    return mount::Unmount(mountpoint, /*detach=*/true);
  }
};

}  // namespace

std::unique_ptr<Target> MakeKernelTarget() {
  return std::make_unique<KernelTarget>();
}

}  // namespace ovlab::conformance
