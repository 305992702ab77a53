// Where a driver keeps its layers: its home <root>/<name>, as Docker's --data-root/<driver>.
#pragma once

#include <string>

#include "base/result.h"
#include "drivers/driver.h"
#include "layout/confined_dir.h"

namespace ovlab::drivers {

// Opens the home confined beneath the root: the home may not be a symlink, and nothing below it
// is followed. Made with `mode` when missing, if options.create_store.
Result<layout::ConfinedDir> OpenStoreHome(const DriverOptions& options, const std::string& name,
                                          mode_t mode);
// Opens the directory `rel` of a home (<home>/dir, <home>/.parents, ...), made with `mode` when
// missing if `create`.
Result<layout::ConfinedDir> OpenStoreDir(const layout::ConfinedDir& home, const std::string& rel,
                                         mode_t mode, bool create);

}  // namespace ovlab::drivers
