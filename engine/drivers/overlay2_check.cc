#include "drivers/overlay2_check.h"

#include <fcntl.h>

#include <cerrno>
#include <functional>
#include <set>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/mount_refs.h"
#include "drivers/stale_mounts.h"
#include "layout/overlay2_layout.h"
#include "layout/short_id.h"

namespace ovlab::drivers {
namespace {

class Overlay2Checker {
 public:
  Overlay2Checker(const layout::ConfinedDir& home, size_t max_depth, const std::string& fstype,
                  bool repair)
      : home_(home), max_depth_(max_depth), fstype_(fstype), repair_(repair) {}

  Result<std::vector<CheckFinding>> Run() {
    if (auto st = CheckHomeEntries(); !st) return std::unexpected(st.error());
    for (const auto& id : layers_) {
      CheckLayerEntries(id);
      CheckLinkOf(id);
    }
    if (links_usable_) {
      if (auto st = CheckDanglingLinks(); !st) return std::unexpected(st.error());
    }
    for (const auto& id : layers_) CheckLowerOf(id);
    if (auto st = CheckMounts(); !st) return std::unexpected(st.error());
    return findings_;
  }

 private:
  // Records a finding; `fix` runs when repairing and says whether it worked.
  void Report(const std::string& layer, const std::string& problem,
              const std::function<bool()>& fix = nullptr) {
    bool repaired = repair_ && fix && fix();
    findings_.push_back({layer, problem, repaired});
  }

  // Layers are the directories with a layer id; anything else but l/, temporaries and Docker's
  // quota device is no layer, and is reported, not touched.
  Status CheckHomeEntries() {
    auto names = home_.List();
    if (!names) return std::unexpected(names.error());
    bool saw_links = false;
    for (const auto& n : *names) {
      if (n == layout::kLinkDir) {
        saw_links = true;
        CheckLinkDir();
      } else if (StartsWith(n, layout::kTempPrefix)) {
        Report("", "leftover of an interrupted create or remove: " + home_.PathOf(n),
               [&] { return home_.RemoveTree(n).has_value(); });
      } else if (n == layout::kBackingFsBlockDev) {
        continue;
      } else if (!layout::ValidateOverlay2Id(n)) {
        Report("", "unexpected entry " + home_.PathOf(n) +
                       ": no layer has such an id (ovlab never makes it; remove it by hand)");
      } else if (auto st = layout::RequireLayerDir(home_, n); !st) {
        Report(n, st.error().message);
      } else {
        layers_.push_back(n);
      }
    }
    std::sort(layers_.begin(), layers_.end());
    if (!saw_links) {
      Report("", home_.PathOf(layout::kLinkDir) + " is missing", [&] {
        links_usable_ = layout::PrepareHome(home_).has_value();
        return links_usable_;
      });
    }
    return {};
  }

  // l/ is ours only as a directory: through a symlink nothing is checked or repaired.
  void CheckLinkDir() {
    auto dir = home_.Dir(layout::kLinkDir);
    links_usable_ = dir.has_value();
    if (!dir) {
      Report("", dir.error().message +
                     " (ovlab never makes one: move it away, then check --repair makes l/ again)");
    }
  }

  // diff/, work/ and merged/ are directories when present, committed is empty: never a symlink.
  void CheckLayerEntries(const std::string& id) {
    auto p = layout::RelPathsOf(id);
    if (auto fd = home_.Open(p.diff, O_PATH | O_DIRECTORY); !fd) Report(id, fd.error().message);
    auto has_lower = home_.Exists(p.lower_file);
    if (has_lower && *has_lower) {
      if (auto fd = home_.Open(p.work, O_PATH | O_DIRECTORY); !fd) Report(id, fd.error().message);
    }
    if (auto fd = OpenMountPoint(home_, p.merged); !fd) Report(id, fd.error().message);
    if (auto committed = layout::IsCommitted(home_, id); !committed) {
      Report(id, committed.error().message);
    }
  }

  void CheckLinkOf(const std::string& id) {
    auto short_id = layout::ReadShortId(home_, id);
    if (!short_id) {
      bool missing = short_id.error().code == ENOENT;
      Report(id, missing ? "link file is missing" : short_id.error().message,
             [&] { return RepairLinkFile(id); });
      return;
    }
    claimed_short_ids_.insert(*short_id);
    if (!links_usable_) return;
    std::string link = layout::ShortLinkEntry(*short_id);
    auto target = home_.ReadLink(link);
    std::string want = layout::ShortLinkTarget(id);
    if (target && *target == want) return;
    std::string problem = target ? home_.PathOf(link) + " points to " + *target + ", not " + want
                                 : home_.PathOf(link) + " is missing";
    Report(id, problem, [&] {
      (void)home_.Unlink(link);
      return home_.Symlink(want, link).has_value();
    });
  }

  // Docker recreates the link file from the l/ symlink that points at the layer, if any.
  bool RepairLinkFile(const std::string& id) {
    if (!links_usable_) return false;
    auto short_id = layout::FindShortLinkTo(home_, id);
    if (!short_id) {
      auto made = layout::CreateShortLink(home_, id);
      if (!made) return false;
      short_id = *made;
    }
    claimed_short_ids_.insert(*short_id);
    return home_.WriteFile(layout::RelPathsOf(id).link_file, *short_id, layout::kLinkFileMode)
        .has_value();
  }

  Status CheckDanglingLinks() {
    auto names = home_.List(layout::kLinkDir);
    if (!names) return std::unexpected(names.error());
    for (const auto& n : *names) {
      std::string entry = layout::ShortLinkEntry(n);
      auto target = home_.ReadLink(entry);
      if (!target) {
        Report("", "unexpected entry " + home_.PathOf(entry) +
                       ": not a short link (ovlab never makes it; remove it by hand)");
        continue;
      }
      if (layout::LayerOfLowerEntry(home_, entry)) continue;
      Report("", "dangling link " + home_.PathOf(entry) + " -> " + *target,
             [&] { return home_.Unlink(entry).has_value(); });
    }
    return {};
  }

  void CheckLowerOf(const std::string& id) {
    auto lower = layout::ReadLower(home_, id, max_depth_);
    if (!lower) {
      Report(id, lower.error().message);
      return;
    }
    if (!links_usable_) return;
    for (const auto& entry : *lower) {
      auto layer = layout::LayerOfLowerEntry(home_, entry);
      if (layer) continue;
      // A layer still owns that short id: its missing l/ link is reported (and repaired) above.
      if (claimed_short_ids_.contains(BaseName(entry))) continue;
      Report(id, layer.error().code != ENOENT
                     ? layer.error().message
                     : "lower names " + entry +
                           ", which is no layer (a parent is missing; the layer cannot be "
                           "mounted and must be removed or re-pulled)");
    }
  }

  Status CheckMounts() {
    std::set<std::string> mountable;
    for (const auto& id : layers_) {
      auto has_lower = home_.Exists(layout::RelPathsOf(id).lower_file);
      if (has_lower && *has_lower) mountable.insert(id);
    }
    return CheckLayerMounts(home_, layers_, mountable, fstype_, repair_, findings_);
  }

  const layout::ConfinedDir& home_;
  size_t max_depth_;
  std::string fstype_;
  bool repair_;
  bool links_usable_ = false;
  std::vector<std::string> layers_;
  std::set<std::string> claimed_short_ids_;
  std::vector<CheckFinding> findings_;
};

}  // namespace

Result<std::vector<CheckFinding>> CheckOverlay2Home(const layout::ConfinedDir& home,
                                                    size_t max_depth,
                                                    const std::string& mount_fstype, bool repair) {
  return Overlay2Checker(home, max_depth, mount_fstype, repair).Run();
}

}  // namespace ovlab::drivers
