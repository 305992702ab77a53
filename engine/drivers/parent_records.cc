#include "drivers/parent_records.h"

#include <algorithm>
#include <cerrno>

#include "base/strings.h"
#include "drivers/store_home.h"
#include "layout/layer_id.h"

namespace ovlab::drivers {
namespace {

constexpr char kRecordsDir[] = ".parents";
constexpr mode_t kRecordsDirMode = 0700;
constexpr mode_t kRecordMode = 0600;
constexpr size_t kMaxRecordBytes = 4096;  // an id is at most 128 bytes

}  // namespace

Status RefuseIfChildren(const std::string& id, const std::vector<std::string>& children) {
  if (children.empty()) return {};
  return Fail(
      EBUSY, "layer " + id + " has child layers (" + Join(children, ", ") + "): remove them first");
}

Result<ParentRecords> ParentRecords::Open(const layout::ConfinedDir& home, bool create) {
  auto dir = OpenStoreDir(home, kRecordsDir, kRecordsDirMode, create);
  if (!dir) return std::unexpected(dir.error());
  return ParentRecords(std::move(*dir));
}

Status ParentRecords::Write(const std::string& id, const std::string& parent) const {
  return dir_.WriteFile(id, parent, kRecordMode);
}

Result<std::string> ParentRecords::Read(const std::string& id) const {
  auto exists = dir_.Exists(id);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return std::string();
  auto parent = dir_.ReadFile(id, kMaxRecordBytes);
  if (!parent) return parent;
  if (!layout::ValidateLayerId(*parent)) {
    return Fail(EINVAL, PathOf(id) + " holds " + JsonQuote(*parent) +
                            ", not a layer id: the record is damaged (remove the layer, or "
                            "write its parent's id there)");
  }
  return parent;
}

void ParentRecords::Erase(const std::string& id) const {
  (void)dir_.Unlink(id);
}

Result<std::vector<std::string>> ParentRecords::ChildrenOf(const std::string& id) const {
  auto names = dir_.List();
  if (!names) return names;
  std::vector<std::string> children;
  for (const auto& n : *names) {
    auto parent = Read(n);
    if (parent && *parent == id) children.push_back(n);
  }
  std::sort(children.begin(), children.end());
  return children;
}

Status ParentRecords::RemoveLayer(const std::string& id, const layout::ConfinedDir& layers) const {
  auto children = ChildrenOf(id);
  if (!children) return std::unexpected(children.error());
  if (auto st = RefuseIfChildren(id, *children); !st) return st;
  if (auto st = layers.RemoveTree(id); !st) return st;
  Erase(id);
  return {};
}

Status ParentRecords::Check(const layout::ConfinedDir& layers, bool repair,
                            std::vector<CheckFinding>& findings) const {
  auto names = dir_.List();
  if (!names) return std::unexpected(names.error());
  std::sort(names->begin(), names->end());
  for (const auto& n : *names) {
    auto exists = layers.Exists(n);
    if (exists && !*exists) {
      if (repair) Erase(n);
      findings.push_back({n, "parent record of a missing layer: " + PathOf(n), repair});
      continue;
    }
    auto parent = Read(n);
    if (!parent) {
      findings.push_back({n, parent.error().message, false});
    } else if (!parent->empty()) {
      if (auto st = layout::RequireLayerDir(layers, *parent); !st) {
        findings.push_back({n, PathOf(n) + " names " + *parent + ": " + st.error().message, false});
      }
    }
  }
  return {};
}

}  // namespace ovlab::drivers
