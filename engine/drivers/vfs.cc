// Docker's vfs driver: every layer is a full copy of its parent under <home>/dir/<id>
// (io::CopyTree: reflink where the filesystem can, else copy_file_range, else read/write).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "base/strings.h"
#include "drivers/builtin_drivers.h"
#include "drivers/full_tree_driver.h"
#include "drivers/parent_records.h"
#include "drivers/tree_stats.h"
#include "io/tree_copy.h"
#include "layout/apply_diff.h"
#include "layout/overlay2_layout.h"

namespace ovlab::drivers {
namespace {

constexpr char kName[] = "vfs";
constexpr mode_t kVfsHomeMode = 0710;   // moby vfs: home and home/dir
constexpr mode_t kVfsLayerMode = 0755;  // moby vfs: each layer directory

class VfsDriver final : public FullTreeDriver {
 public:
  explicit VfsDriver(FullTreeStore store) : FullTreeDriver(kName, std::move(store)) {}

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    if (auto st = layout::ValidateLayerId(id); !st) return st;
    auto exists = Layers().Exists(id);
    if (!exists) return std::unexpected(exists.error());
    if (*exists) return Fail(EEXIST, "layer " + id + " already exists");
    if (!options.parent.empty()) {
      if (auto st = RequireParent(options.parent); !st) return st;
    }
    // Built under a temporary name, renamed into place: never half a layer.
    std::string tmp = std::string(layout::kTempPrefix) + id;
    Rollback undo;
    undo.Add([this, tmp] { (void)Layers().RemoveTree(tmp); });
    if (options.parent.empty()) {
      if (auto st = Layers().MakeDir(tmp, kVfsLayerMode); !st) return st;
    } else {
      auto copied = io::CopyTree(Dir(options.parent), Layers().PathOf(tmp));
      if (!copied) return std::unexpected(copied.error());
      if (auto st = parents_.Write(id, options.parent); !st) return st;
      undo.Add([this, id] { parents_.Erase(id); });
    }
    if (auto st = Layers().Rename(tmp, id); !st) return st;
    undo.Dismiss();
    return {};
  }

  ovlab::Status Remove(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    return parents_.RemoveLayer(id, Layers());
  }

  Result<std::string> Get(const std::string& id) override { return DirOf(id); }
  ovlab::Status Put(const std::string& id) override { return RequireLayer(id); }

  StatusFields Status() const override { return {{"Backing Filesystem", BackingFsName(home_)}}; }

  Result<LayerUsage> Usage(const std::string& id) const override {
    auto dir = DirOf(id);
    if (!dir) return std::unexpected(dir.error());
    return TreeUsage(*dir);
  }

  // vfs keeps no links or mounts: leftovers of interrupted creates, entries that are no layer
  // directory and parent records naming no layer can be wrong.
  Result<std::vector<CheckFinding>> Check(bool repair) override {
    auto names = Layers().List();
    if (!names) return std::unexpected(names.error());
    std::vector<CheckFinding> findings;
    for (const auto& n : *names) {
      if (!StartsWith(n, layout::kTempPrefix)) continue;
      bool repaired = repair && Layers().RemoveTree(n).has_value();
      findings.push_back(
          {"", "leftover of an interrupted create: " + Layers().PathOf(n), repaired});
    }
    auto rest = CheckLayersAndRecords(repair);
    if (!rest) return rest;
    findings.insert(findings.end(), rest->begin(), rest->end());
    return findings;
  }
};

}  // namespace

Result<std::unique_ptr<Driver>> NewVfsDriver(const DriverOptions& options) {
  auto store = OpenFullTreeStore(options, kName, "dir", kVfsHomeMode);
  if (!store) return std::unexpected(store.error());
  return std::unique_ptr<Driver>(new VfsDriver(std::move(*store)));
}

}  // namespace ovlab::drivers
