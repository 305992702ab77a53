// The targets the suite runs: the rows of the target table with a conformance role, by the name
// the suite knows them ("kernel", "engine", "fuse", "fuse-overlayfs", "unionfs-fuse").
#pragma once

#include <string>
#include <vector>

#include "conformance/target.h"

namespace ovlab::conformance {

// Every name accepted by --target, in report order.
std::vector<std::string> KnownTargetNames();
// nullptr when `name` is not a conformance target.
const targets::TargetSpec* FindTarget(const std::string& name);
// "" when the target can run here, else the reason (the skip reason).
std::string TargetUnavailableReason(const std::string& name);

}  // namespace ovlab::conformance
