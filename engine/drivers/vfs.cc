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
#include "drivers/store_home.h"
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
  explicit VfsDriver(const DriverOptions& options) : FullTreeDriver(kName, options.root, "dir") {}

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    if (auto st = ValidateLayerId(id); !st) return st;
    if (PathExists(Dir(id))) return Fail(EEXIST, "layer " + id + " already exists");
    if (!options.parent.empty()) {
      if (auto st = RequireLayer(options.parent); !st) {
        return Fail(ENOENT, "parent layer " + options.parent + " does not exist: create it first");
      }
    }
    // Built under a temporary name, renamed into place: never half a layer.
    std::string tmp = JoinPath(LayersDir(), std::string(layout::kTempPrefix) + id);
    Rollback undo;
    undo.Add([tmp] { (void)RemoveTree(tmp); });
    if (options.parent.empty()) {
      if (auto st = MakeDir(tmp, kVfsLayerMode); !st) return st;
    } else {
      auto copied = io::CopyTree(Dir(options.parent), tmp);
      if (!copied) return std::unexpected(copied.error());
      if (auto st = parents_.Write(id, options.parent); !st) return st;
      undo.Add([this, id] { parents_.Erase(id); });
    }
    if (::rename(tmp.c_str(), Dir(id).c_str()) != 0) {
      return FailErrno(errno, "rename " + tmp + " to " + Dir(id));
    }
    undo.Dismiss();
    return {};
  }

  ovlab::Status Remove(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    return parents_.RemoveLayer(id, Dir(id));
  }

  Result<std::string> Get(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    return Dir(id);
  }
  ovlab::Status Put(const std::string& id) override { return RequireLayer(id); }

  StatusFields Status() const override { return {{"Backing Filesystem", BackingFsName(home_)}}; }

  Result<LayerUsage> Usage(const std::string& id) const override {
    if (auto st = RequireLayer(id); !st) return std::unexpected(st.error());
    return TreeUsage(Dir(id));
  }

  // vfs keeps no links or mounts: only leftovers of interrupted creates can be wrong.
  Result<std::vector<CheckFinding>> Check(bool repair) override {
    auto names = ListDir(LayersDir());
    if (!names) return std::unexpected(names.error());
    std::vector<CheckFinding> findings;
    for (const auto& n : *names) {
      if (n.rfind(layout::kTempPrefix, 0) != 0) continue;
      std::string path = JoinPath(LayersDir(), n);
      bool repaired = repair && RemoveTree(path).has_value();
      findings.push_back({"", "leftover of an interrupted create: " + path, repaired});
    }
    return findings;
  }
};

}  // namespace

Result<std::unique_ptr<Driver>> NewVfsDriver(const DriverOptions& options) {
  auto home = OpenStoreHome(options, kName, kVfsHomeMode);
  if (!home) return std::unexpected(home.error());
  auto layers = OpenStoreDir(*home, "dir", kVfsHomeMode, options.create_store);
  if (!layers) return std::unexpected(layers.error());
  if (options.create_store) {
    if (auto st = ParentRecords(home->path()).Prepare(); !st) return std::unexpected(st.error());
  }
  return std::unique_ptr<Driver>(new VfsDriver(options));
}

}  // namespace ovlab::drivers
