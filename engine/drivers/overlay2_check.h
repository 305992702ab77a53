// Consistency check of an overlay2 home, with the self-repair Docker's overlay2 does.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"
#include "drivers/driver.h"
#include "layout/confined_dir.h"

namespace ovlab::drivers {

// Finds: leftovers of interrupted creates and removals (repair: remove); entries that are no
// layer directory, a symlink among them (reported: ovlab never makes one, and follows none); l/
// missing (repair: make it) or no directory (reported); a layer's diff/, work/ or merged/ that is
// no directory, a `committed` that is not empty, a `lower` that is not Docker's (reported); a
// missing or invalid `link` file (repair: take the l/ symlink that points at the layer, or make a
// new one); a missing or wrong l/<short> symlink (repair: recreate); a dangling l/ symlink
// (repair: remove); a `lower` naming no layer (reported); a stale mount under the home (repair:
// unmount) and a merged directory left without its mount (repair: remove). Repairs happen only
// inside the home and never through a symlink; `mount_fstype` is the type of the layers' mounts.
Result<std::vector<CheckFinding>> CheckOverlay2Home(const layout::ConfinedDir& home,
                                                    size_t max_depth,
                                                    const std::string& mount_fstype, bool repair);

}  // namespace ovlab::drivers
