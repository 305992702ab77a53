#include "drivers/parent_records.h"

#include <unistd.h>

#include <algorithm>

#include "base/fs.h"

namespace ovlab::drivers {

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

}  // namespace ovlab::drivers
