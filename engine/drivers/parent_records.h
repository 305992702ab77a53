// Parent of each layer for drivers whose Docker layout does not record it (vfs, overlay v1 image
// layers: Docker's layer store keeps it elsewhere). Stored as <home>/.parents/<id> holding the
// parent id; the dot keeps it apart from layer ids, which start with a letter or digit.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab::drivers {

// EBUSY naming the children when there are any: a parent goes after its children.
Status RefuseIfChildren(const std::string& id, const std::vector<std::string>& children);

class ParentRecords {
 public:
  explicit ParentRecords(const std::string& home);
  Status Prepare() const;  // makes <home>/.parents (0700)
  Status Write(const std::string& id, const std::string& parent) const;
  // "" when the layer has no parent.
  Result<std::string> Read(const std::string& id) const;
  void Erase(const std::string& id) const;
  Result<std::vector<std::string>> ChildrenOf(const std::string& id) const;
  // Removes the layer directory `dir` and its record; refused while a layer names it as parent.
  Status RemoveLayer(const std::string& id, const std::string& dir) const;

 private:
  std::string Path(const std::string& id) const;
  std::string dir_;
};

}  // namespace ovlab::drivers
