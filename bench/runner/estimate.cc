#include "runner/estimate.h"

#include "base/strings.h"

namespace ovlab::bench {
namespace {

// The value of "key:" in an instance name, 0 when absent.
double Param(const std::string& name, const std::string& key) {
  auto pos = name.find("/" + key + ":");
  if (pos == std::string::npos) return 0;
  auto v = ParseUint(Split(name.substr(pos + key.size() + 2), '/')[0]);
  return v ? static_cast<double>(*v) : 0;
}

constexpr double kBytesPerSecond = 150e6;  // writing lower files and copying them up

double InstanceSeconds(const std::string& name, int reps) {
  std::string family = Split(name, '/')[0];
  double r = reps;
  if (family == "copy_up" || family == "bound")
    return r * (0.2 + 3 * Param(name, "bytes") / kBytesPerSecond);
  if (family == "lookup") return name.find("/cold") != std::string::npos ? r * 0.6 : r * 0.1;
  if (family == "readdir") return r * 0.3;
  if (family == "mount") return r * (0.2 + Param(name, "layers") * 0.01);
  if (family == "write_heavy") {
    return r * (1 + Param(name, "files") * 1e-3 + Param(name, "bytes") / kBytesPerSecond);
  }
  if (family == "inode_usage") return r * 20;
  return r;
}

}  // namespace

double EstimateSeconds(const std::vector<std::string>& instance_names, int repetitions) {
  double total = 0;
  for (const auto& n : instance_names) total += InstanceSeconds(n, repetitions);
  return total;
}

}  // namespace ovlab::bench
