#include "drivers/parent_records.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/fs.h"
#include "base/strings.h"

namespace ovlab::drivers {

Status RefuseIfChildren(const std::string& id, const std::vector<std::string>& children) {
  if (children.empty()) return {};
  return Fail(
      EBUSY, "layer " + id + " has child layers (" + Join(children, ", ") + "): remove them first");
}

ParentRecords::ParentRecords(const std::string& home) : dir_(JoinPath(home, ".parents")) {}

Status ParentRecords::Prepare() const {
  if (PathExists(dir_)) return {};
  return MakeDir(dir_, 0700);
}

std::string ParentRecords::Path(const std::string& id) const {
  return JoinPath(dir_, id);
}

Status ParentRecords::Write(const std::string& id, const std::string& parent) const {
  return WriteFileAtomic(Path(id), parent, 0600);
}

Result<std::string> ParentRecords::Read(const std::string& id) const {
  if (!PathExists(Path(id))) return std::string();
  return ReadFileText(Path(id));
}

void ParentRecords::Erase(const std::string& id) const {
  ::unlink(Path(id).c_str());
}

Result<std::vector<std::string>> ParentRecords::ChildrenOf(const std::string& id) const {
  auto names = ListDir(dir_);
  if (!names) return names;
  std::vector<std::string> children;
  for (const auto& n : *names) {
    auto parent = ReadFileText(Path(n));
    if (parent && *parent == id) children.push_back(n);
  }
  std::sort(children.begin(), children.end());
  return children;
}

Status ParentRecords::RemoveLayer(const std::string& id, const std::string& dir) const {
  auto children = ChildrenOf(id);
  if (!children) return std::unexpected(children.error());
  if (auto st = RefuseIfChildren(id, *children); !st) return st;
  if (auto st = RemoveTree(dir); !st) return st;
  Erase(id);
  return {};
}

}  // namespace ovlab::drivers
