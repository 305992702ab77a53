#include "drivers/stale_mounts.h"

#include <climits>
#include <cstdlib>
#include <map>

#include "base/fs.h"
#include "drivers/mount_refs.h"
#include "mount/mount.h"

namespace ovlab::drivers {
namespace {

std::string MergedOf(const std::string& id) {
  return JoinPath(id, "merged");
}

}  // namespace

Status CheckLayerMounts(const layout::ConfinedDir& home, const std::vector<std::string>& layers,
                        const std::set<std::string>& mountable, const std::string& fstype,
                        bool repair, std::vector<CheckFinding>& findings) {
  // The mount table holds canonical paths.
  char real[PATH_MAX];
  std::string canonical = ::realpath(home.path().c_str(), real) ? real : home.path();
  auto mounts = mount::MountsUnder(canonical);
  if (!mounts) return std::unexpected(mounts.error());
  std::map<std::string, std::string> merged_of;  // canonical merged path -> its layer
  for (const auto& id : layers) merged_of[JoinPath(canonical, MergedOf(id))] = id;
  std::set<std::string> mounted;
  for (const auto& m : *mounts) {
    if (m.target == canonical) continue;
    mounted.insert(m.target);
    auto layer = merged_of.find(m.target);
    bool on_merged = layer != merged_of.end();
    if (m.fstype == fstype && on_merged && mountable.contains(layer->second)) continue;
    bool repaired = false;
    if (repair && mount::Unmount(m.target, /*detach=*/true)) {
      if (on_merged) (void)home.RemoveDir(MergedOf(layer->second));
      repaired = true;
    }
    findings.push_back({"", "stale " + m.fstype + " mount at " + m.target, repaired});
  }
  for (const auto& id : layers) {
    auto merged = OpenMountPoint(home, MergedOf(id));
    if (!merged || !*merged || mounted.contains(JoinPath(canonical, MergedOf(id)))) continue;
    bool repaired = repair && home.RemoveDir(MergedOf(id)).has_value();
    findings.push_back(
        {id, "merged directory left without its mount: " + home.PathOf(MergedOf(id)), repaired});
  }
  return {};
}

}  // namespace ovlab::drivers
