// Where a driver keeps its layers: its home <root>/<name>, as Docker's --data-root/<driver>.
#pragma once

#include <string>

#include "base/result.h"
#include "drivers/driver.h"
#include "layout/confined_dir.h"

namespace ovlab::drivers {

// Opens the home (making it with `mode` when missing) confined beneath the root: the home may
// not be a symlink, and nothing below it is followed.
Result<layout::ConfinedDir> OpenStoreHome(const DriverOptions& options, const std::string& name,
                                          mode_t mode);
// Opens the directory `rel` of a home (<home>/dir, <home>/.parents, ...), making it with `mode`
// when missing.
Result<layout::ConfinedDir> OpenStoreDir(const layout::ConfinedDir& home, const std::string& rel,
                                         mode_t mode);

}  // namespace ovlab::drivers
