#include "drivers/overlay2_check.h"

#include <unistd.h>

#include <cerrno>
#include <functional>
#include <set>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/stale_mounts.h"
#include "layout/overlay2_layout.h"
#include "layout/short_id.h"

namespace ovlab::drivers {
namespace {

class Overlay2Checker {
 public:
  Overlay2Checker(const std::string& home, bool repair) : home_(home), repair_(repair) {}

  Result<std::vector<CheckFinding>> Run() {
    auto layers = layout::ListLayers(home_);
    if (!layers) return std::unexpected(layers.error());
    layers_ = *layers;
    if (auto st = CheckLeftovers(); !st) return std::unexpected(st.error());
    for (const auto& id : layers_) CheckLinkOf(id);
    if (auto st = CheckDanglingLinks(); !st) return std::unexpected(st.error());
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

  Status CheckLeftovers() {
    auto names = ListDir(home_);
    if (!names) return std::unexpected(names.error());
    for (const auto& n : *names) {
      if (!StartsWith(n, layout::kTempPrefix)) continue;
      std::string path = JoinPath(home_, n);
      Report("", "leftover of an interrupted create: " + path,
             [&] { return RemoveTree(path).has_value(); });
    }
    return {};
  }

  void CheckLinkOf(const std::string& id) {
    auto short_id = layout::ReadShortId(home_, id);
    if (short_id) claimed_short_ids_.insert(*short_id);
    if (!short_id || !layout::IsShortId(*short_id)) {
      Report(id, short_id ? "link file holds an invalid short id" : "link file is missing",
             [&] { return RepairLinkFile(id); });
      return;
    }
    std::string link = layout::ShortLinkPath(home_, *short_id);
    auto target = ReadLink(link);
    std::string want = layout::ShortLinkTarget(id);
    if (target && *target == want) return;
    std::string problem =
        target ? link + " points to " + *target + ", not " + want : link + " is missing";
    Report(id, problem, [&] {
      ::unlink(link.c_str());
      return ::symlink(want.c_str(), link.c_str()) == 0;
    });
  }

  // Docker recreates the link file from the l/ symlink that points at the layer, if any.
  bool RepairLinkFile(const std::string& id) {
    std::string short_id = FindShortLinkTo(id);
    if (short_id.empty()) {
      auto made = layout::CreateShortLink(home_, id);
      if (!made) return false;
      short_id = *made;
    }
    return WriteFileAtomic(layout::PathsOf(home_, id).link_file, short_id, layout::kLinkFileMode)
        .has_value();
  }

  std::string FindShortLinkTo(const std::string& id) {
    auto names = ListDir(JoinPath(home_, layout::kLinkDir));
    if (!names) return "";
    for (const auto& n : *names) {
      auto target = ReadLink(layout::ShortLinkPath(home_, n));
      if (target && *target == layout::ShortLinkTarget(id) && layout::IsShortId(n)) return n;
    }
    return "";
  }

  Status CheckDanglingLinks() {
    auto names = ListDir(JoinPath(home_, layout::kLinkDir));
    if (!names) return std::unexpected(names.error());
    for (const auto& n : *names) {
      std::string link = layout::ShortLinkPath(home_, n);
      auto layer = layout::LayerOfLowerEntry(home_, std::string(layout::kLinkDir) + "/" + n);
      if (layer && PathExists(layout::PathsOf(home_, *layer).diff)) continue;
      auto target = ReadLink(link);
      Report("", "dangling link " + link + " -> " + (target ? *target : "?"),
             [&] { return ::unlink(link.c_str()) == 0; });
    }
    return {};
  }

  void CheckLowerOf(const std::string& id) {
    auto lower = layout::ReadLower(home_, id);
    if (!lower) {
      Report(id, "cannot read lower: " + lower.error().message);
      return;
    }
    for (const auto& entry : *lower) {
      auto layer = layout::LayerOfLowerEntry(home_, entry);
      if (layer && PathExists(layout::PathsOf(home_, *layer).diff)) continue;
      // A layer still owns that short id: its missing l/ link is reported (and repaired) above.
      if (claimed_short_ids_.contains(BaseName(entry))) continue;
      Report(id, "lower names " + entry +
                     ", which is no layer (a parent is missing; the layer "
                     "cannot be mounted and must be removed or re-pulled)");
    }
  }

  Status CheckMounts() {
    std::set<std::string> mountable;
    for (const auto& id : layers_) {
      if (PathExists(layout::PathsOf(home_, id).lower_file)) mountable.insert(id);
    }
    return CheckLayerMounts(home_, layers_, mountable, repair_, findings_);
  }

  std::string home_;
  bool repair_;
  std::vector<std::string> layers_;
  std::set<std::string> claimed_short_ids_;
  std::vector<CheckFinding> findings_;
};

}  // namespace

Result<std::vector<CheckFinding>> CheckOverlay2Home(const std::string& home, bool repair) {
  return Overlay2Checker(home, repair).Run();
}

}  // namespace ovlab::drivers
