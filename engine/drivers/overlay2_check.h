// Consistency check of an overlay2 home, with the self-repair Docker's overlay2 does.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "drivers/driver.h"

namespace ovlab::drivers {

// Finds: leftovers of interrupted creates; a missing or invalid `link` file (repair: take the
// l/ symlink that points at the layer, or make a new one); a missing or wrong l/<short> symlink
// (repair: recreate); a dangling l/ symlink (repair: remove); a `lower` naming no layer (cannot be
// repaired: reported); a stale mount under the home (repair: unmount) and a merged directory
// left without its mount (repair: remove).
Result<std::vector<CheckFinding>> CheckOverlay2Home(const std::string& home, bool repair);

}  // namespace ovlab::drivers
