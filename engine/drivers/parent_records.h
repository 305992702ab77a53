// Parent of each layer for drivers whose Docker layout does not record it (vfs, overlay v1 image
// layers: Docker's layer store keeps it elsewhere). Stored as <home>/.parents/<id> holding the
// parent id; the dot keeps it apart from layer ids, which start with a letter or digit.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab::drivers {

class ParentRecords {
 public:
  explicit ParentRecords(const std::string& home);
  Status Prepare() const;  // makes <home>/.parents (0700)
  Status Write(const std::string& id, const std::string& parent) const;
  // "" when the layer has no parent.
  Result<std::string> Read(const std::string& id) const;
  void Erase(const std::string& id) const;
  Result<std::vector<std::string>> ChildrenOf(const std::string& id) const;

 private:
  std::string Path(const std::string& id) const;
  std::string dir_;
};

}  // namespace ovlab::drivers
