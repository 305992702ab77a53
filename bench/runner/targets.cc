#include "runner/targets.h"

#include <cstdio>
#include <cstdlib>

#include "base/strings.h"
#include "targets/target_json.h"

namespace ovlab::bench {
namespace {

std::vector<std::string>& FuseOptionsSlot() {
  static std::vector<std::string> options;
  return options;
}

}  // namespace

const targets::TargetSpec& Spec(const std::string& name) {
  const targets::TargetSpec* t = targets::FindTarget(name);
  if (!t) {
    std::fprintf(stderr, "ovlab-bench: internal error: no target '%s'\n", name.c_str());
    std::abort();
  }
  return *t;
}

void SetFuseOptions(const std::string& options) {
  FuseOptionsSlot().clear();
  for (const auto& o : Split(options, ','))
    if (!o.empty()) FuseOptionsSlot().push_back(o);
}

const std::vector<std::string>& FuseOptions() {
  return FuseOptionsSlot();
}

std::string TargetContext(const targets::TargetSpec& t) {
  std::string line = std::string(t.summary) + "; " + targets::VersionOf(t);
  if (t.daemon && t.daemon->union_options) {
    line += "; options: " +
            (FuseOptions().empty() ? std::string("defaults") : Join(FuseOptions(), ","));
  }
  return line;
}

nlohmann::json TargetsContext(const std::vector<std::pair<std::string, std::string>>& skipped) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& t : targets::AllTargets()) {
    nlohmann::json row = targets::TargetJson(t);
    row["version"] = targets::VersionOf(t);
    row["context"] = TargetContext(t);
    row["skipped"] = "";
    for (const auto& [name, why] : skipped)
      if (name == t.name) row["skipped"] = why;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace ovlab::bench
