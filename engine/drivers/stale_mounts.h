// Finding mounts under a driver home that no layer accounts for, and merged directories whose
// mount is gone: the leftovers of a crashed process (what Docker cleans up on start).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "drivers/driver.h"
#include "layout/confined_dir.h"

namespace ovlab::drivers {

// `mountable` holds the ids whose <home>/<id>/merged may carry a mount of type `fstype`; every
// other mount under the home is stale. With repair, stale mounts are detached and merged
// directories without a mount are removed. A merged/ that is no directory is left to the caller
// to report.
Status CheckLayerMounts(const layout::ConfinedDir& home, const std::vector<std::string>& layers,
                        const std::set<std::string>& mountable, const std::string& fstype,
                        bool repair, std::vector<CheckFinding>& findings);

}  // namespace ovlab::drivers
