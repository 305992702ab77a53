#include "conformance/targets.h"

namespace ovlab::conformance {

std::vector<std::string> KnownTargetNames() {
  std::vector<std::string> names;
  for (const auto* t : targets::ConformanceTargets()) names.emplace_back(t->conformance_name);
  return names;
}

const targets::TargetSpec* FindTarget(const std::string& name) {
  return targets::FindConformanceTarget(name);
}

std::string TargetUnavailableReason(const std::string& name) {
  const targets::TargetSpec* t = FindTarget(name);
  if (!t) return "unknown target '" + name + "'";
  return targets::UnavailableReason(*t);
}

}  // namespace ovlab::conformance
