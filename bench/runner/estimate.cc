#include "runner/estimate.h"

#include "base/strings.h"
#include "generators/profile.h"

namespace ovlab::bench {
namespace {

// The value of "key:" in an instance name, 0 when absent.
double Param(const std::string& name, const std::string& key) {
  auto pos = name.find("/" + key + ":");
  if (pos == std::string::npos) return 0;
  auto v = ParseUint(Split(name.substr(pos + key.size() + 2), '/')[0]);
  return v ? static_cast<double>(*v) : 0;
}

bool Has(const std::string& name, const char* part) {
  return name.find(part) != std::string::npos;
}

// Seconds per repetition, fitted to a default run on this 2-core VM under a load average of
// about 15 (other engineers' QEMU guests and builds): 861 s for 543 instances.
constexpr double kBytesPerSecond = 100e6;  // writing lower files and copying them up

double ImageSeconds(const std::string& profile_name) {
  const ImageProfile* p = FindProfile(profile_name);
  if (!p) return 2;
  double files = p->base_files + double(p->files_per_layer) * p->layers;
  double bytes = 0;
  for (const auto& f : p->fixed_files) bytes += static_cast<double>(f.size);
  return 0.5 + files * 2.2e-3 + bytes / kBytesPerSecond;
}

std::string ProfileOf(const std::string& name) {
  auto pos = name.find("/profile:");
  if (pos == std::string::npos) return "";
  return Split(name.substr(pos + 9), '/')[0];
}

double RepetitionSeconds(const std::string& name) {
  std::string family = Split(name, '/')[0];
  // cold, warm and strategy:NAME copy-ups fit the same line (default run at load 8-9: 80 s for
  // 430 repetitions of them).
  if (family == "copy_up" || family == "bound")
    return 0.12 + Param(name, "bytes") / kBytesPerSecond;
  if (family == "lookup") return Has(name, "/cold") ? 0.5 : 0.15;
  if (family == "readdir") return 0.3;
  if (family == "mount") return 0.2 + Param(name, "layers") * 1e-3;
  if (family == "write_heavy") {
    // Sequential I/O runs at page-cache speed; create+unlink costs grow with the directory
    // (FUSE peers: 19 s a repetition for 10,000 files at load 10, 0.4 s for 1,000).
    if (Has(name, "/op:seq")) return 0.1 + Param(name, "bytes") / (5 * kBytesPerSecond);
    if (Has(name, "/op:create_unlink")) return 0.1 + 2 * Param(name, "files") * 3e-4;
    return 1 + Param(name, "files") * 1e-3 + Param(name, "bytes") / (1.5 * kBytesPerSecond);
  }
  if (family == "inode_usage") return ImageSeconds(ProfileOf(name));
  return 1;
}

}  // namespace

double EstimateSeconds(const std::vector<std::string>& instance_names, int repetitions) {
  double total = 0;
  for (const auto& n : instance_names) {
    double reps = Param(n, "repeats");  // an instance's own repetition count (inode_usage)
    total += RepetitionSeconds(n) * (reps > 0 ? reps : repetitions);
  }
  return total;
}

}  // namespace ovlab::bench
