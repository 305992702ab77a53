// The targets ovlab-bench measures are the rows of the one target table
// (engine/targets/target.h); this is what the runner adds: the run's ovlab-fuse options, the
// context line of each target, and the table written into the output's context.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "targets/target.h"

namespace ovlab::bench {

// The row of a target name the command line accepted (names are checked there first).
const targets::TargetSpec& Spec(const std::string& name);

// Extra ovlab-fuse -o options for every target that runs it (--fuse-options OPTS, as after -o);
// empty = its defaults. Set once before the run; a path with ',' is escaped by whoever builds
// the argv, so OPTS is split at every comma.
void SetFuseOptions(const std::string& options);
const std::vector<std::string>& FuseOptions();

// What runs and with which options: the JSON context key target.<name>.
std::string TargetContext(const targets::TargetSpec& target);

// The table for the output's context (`ovlab_targets`): every row's traits, its version and
// options, and why it was skipped ("" when it ran).
nlohmann::json TargetsContext(const std::vector<std::pair<std::string, std::string>>& skipped);

}  // namespace ovlab::bench
