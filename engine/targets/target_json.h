// The table of targets as JSON, for tools that must not hard-code target lists: ovlab-bench
// writes it into its output's context, the reports read traits from there.
#pragma once

#include <nlohmann/json.hpp>

#include "targets/target.h"

namespace ovlab::targets {

// The row's traits ("name", "bringup", "role", "inode_model", "copies_up", ...).
nlohmann::json TargetJson(const TargetSpec& target);

}  // namespace ovlab::targets
