#include "drivers/stale_mounts.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "base/fs.h"
#include "mount/mount.h"

namespace ovlab::drivers {
namespace {

std::string MergedOf(const std::string& home, const std::string& id) {
  return JoinPath(JoinPath(home, id), "merged");
}

}  // namespace

Status CheckLayerMounts(const std::string& home, const std::vector<std::string>& layers,
                        const std::set<std::string>& mountable, bool repair,
                        std::vector<CheckFinding>& findings) {
  char real[PATH_MAX];
  std::string canonical = ::realpath(home.c_str(), real) ? real : home;
  auto mounts = mount::MountsUnder(canonical);
  if (!mounts) return std::unexpected(mounts.error());
  std::set<std::string> expected;
  for (const auto& id : mountable) expected.insert(MergedOf(canonical, id));
  std::set<std::string> mounted;
  for (const auto& m : *mounts) {
    if (m.target == canonical) continue;
    mounted.insert(m.target);
    if (m.fstype == "overlay" && expected.contains(m.target)) continue;
    bool repaired = false;
    if (repair && mount::Unmount(m.target, /*detach=*/true)) {
      if (BaseName(m.target) == "merged") ::rmdir(m.target.c_str());
      repaired = true;
    }
    findings.push_back({"", "stale " + m.fstype + " mount at " + m.target, repaired});
  }
  for (const auto& id : layers) {
    std::string merged = MergedOf(home, id);
    if (!PathExists(merged) || mounted.contains(MergedOf(canonical, id))) continue;
    bool repaired = repair && ::rmdir(merged.c_str()) == 0;
    findings.push_back({id, "merged directory left without its mount: " + merged, repaired});
  }
  return {};
}

}  // namespace ovlab::drivers
