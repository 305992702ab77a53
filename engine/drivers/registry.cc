// Driver registry: the built-in table plus drivers registered at run time, and the checks every
// driver's root must pass before a driver opens.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/builtin_drivers.h"
#include "drivers/driver.h"
#include "drivers/dtype.h"
#include "layout/layer_id.h"
#include "mount/mount.h"

namespace ovlab::drivers {
namespace {

constexpr size_t kKernelMaxLowers = 500;

struct Entry {
  DriverFactory factory;
  bool needs_kernel_overlay = false;
};

std::map<std::string, Entry, std::less<>>& Registry() {
  static std::map<std::string, Entry, std::less<>> registry = [] {
    std::map<std::string, Entry, std::less<>> r;
    for (const auto& b : kBuiltinDrivers) r[b.name] = Entry{b.factory, b.needs_kernel_overlay};
    return r;
  }();
  return registry;
}

std::mutex& RegistryMutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string> NamesLocked() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : Registry()) names.push_back(name);
  return names;
}

Status CheckOverlayRoot(std::string_view name, const std::string& root, bool may_write) {
  if (!mount::ProbeOverlayFeatures().overlay_available) {
    return Fail(ENODEV, std::string(name) +
                            ": the kernel has no overlay filesystem (try: modprobe overlay)");
  }
  auto dtype = DirHasDType(root, may_write);
  if (!dtype) return std::unexpected(WithContext(dtype.error(), std::string(name)));
  if (*dtype && !**dtype) {
    return Fail(EINVAL, std::string(name) + ": the backing filesystem of " + root +
                            " does not support d_type (xfs made with ftype=0?); overlay needs it: "
                            "use another filesystem for --root");
  }
  return {};
}

// Commands that only read (or remove) need the store to exist: they make nothing.
Status RequireStore(std::string_view name, const DriverOptions& options) {
  if (PathExists(JoinPath(options.root, name))) return {};
  return Fail(ENOENT, "no " + std::string(name) + " store at " + options.root +
                          ": nothing to do there (ovlab create makes one)");
}

Status CheckOptions(const DriverOptions& options) {
  if (options.root.empty() || options.root.front() != '/') {
    return Fail(EINVAL, "the root must be an absolute path, got \"" + options.root + "\"");
  }
  if (options.max_depth < 1 || options.max_depth > kKernelMaxLowers) {
    return Fail(EINVAL,
                StrPrintf("max depth %zu is out of range: use 1 to %zu (the kernel's limit)",
                          options.max_depth, kKernelMaxLowers));
  }
  return {};
}

}  // namespace

DriverRegistration::DriverRegistration(std::string name, DriverFactory factory) {
  std::lock_guard lock(RegistryMutex());
  Registry()[std::move(name)] = Entry{std::move(factory), false};
}

std::vector<std::string> RegisteredDrivers() {
  std::lock_guard lock(RegistryMutex());
  return NamesLocked();
}

Result<std::unique_ptr<Driver>> OpenDriver(std::string_view name, const DriverOptions& options) {
  Entry entry;
  {
    std::lock_guard lock(RegistryMutex());
    auto it = Registry().find(name);
    if (it == Registry().end()) {
      return Fail(EINVAL, "unknown driver \"" + std::string(name) + "\": known drivers are " +
                              Join(NamesLocked(), ", "));
    }
    entry = it->second;
  }
  if (auto st = CheckOptions(options); !st) return std::unexpected(st.error());
  bool made_root = false;
  if (options.create_store) {
    made_root = !PathExists(options.root);
    if (auto st = MakeDirs(options.root, 0711); !st) return std::unexpected(st.error());
  } else if (auto st = RequireStore(name, options); !st) {
    return std::unexpected(st.error());
  }
  auto undo_root = [&] {
    if (made_root) ::rmdir(options.root.c_str());
  };
  if (entry.needs_kernel_overlay) {
    if (auto st = CheckOverlayRoot(name, options.root, options.create_store); !st) {
      undo_root();
      return std::unexpected(st.error());
    }
  }
  auto driver = entry.factory(options);
  if (!driver) undo_root();
  return driver;
}

Status ValidateLayerId(std::string_view id) {
  return layout::ValidateLayerId(id);
}

}  // namespace ovlab::drivers
