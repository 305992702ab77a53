// The drivers built into ovlab. A new driver is one more .cc file with its factory, plus one
// declaration and one row below. (An explicit table instead of static registrars in each file:
// the linker drops unreferenced objects of a static library, and their registrars with them.)
#pragma once

#include <memory>

#include "base/result.h"
#include "drivers/driver.h"

namespace ovlab::drivers {

Result<std::unique_ptr<Driver>> NewOverlay2Driver(const DriverOptions& options);
Result<std::unique_ptr<Driver>> NewOverlayDriver(const DriverOptions& options);
Result<std::unique_ptr<Driver>> NewVfsDriver(const DriverOptions& options);
Result<std::unique_ptr<Driver>> NewFuseDriver(const DriverOptions& options);   // fuse_driver.cc
Result<std::unique_ptr<Driver>> NewBtrfsDriver(const DriverOptions& options);  // btrfs.cc

struct BuiltinDriver {
  const char* name;
  DriverFactory::result_type (*factory)(const DriverOptions&);
  bool needs_kernel_overlay;  // OpenDriver checks overlay support and d_type of the root first
};

inline constexpr BuiltinDriver kBuiltinDrivers[] = {
    {"overlay2", NewOverlay2Driver, true},
    {"overlay", NewOverlayDriver, true},
    {"vfs", NewVfsDriver, false},
    {"fuse", NewFuseDriver, false},    // overlay2 layout mounted by ovlab-fuse (engine/fuse)
    {"btrfs", NewBtrfsDriver, false},  // a subvolume per layer; the factory checks the root
};

}  // namespace ovlab::drivers
