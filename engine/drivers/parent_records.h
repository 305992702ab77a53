// Parent of each layer for drivers whose Docker layout does not record it (vfs, btrfs, overlay v1
// image layers: Docker's layer store keeps it elsewhere). Stored as <home>/.parents/<id> holding
// the parent id; the dot keeps it apart from layer ids, which start with a letter or digit.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "drivers/driver.h"
#include "layout/confined_dir.h"

namespace ovlab::drivers {

// EBUSY naming the children when there are any: a parent goes after its children.
Status RefuseIfChildren(const std::string& id, const std::vector<std::string>& children);

class ParentRecords {
 public:
  // <home>/.parents (made 0700 when missing, if `create`).
  static Result<ParentRecords> Open(const layout::ConfinedDir& home, bool create);

  std::string PathOf(const std::string& id) const { return dir_.PathOf(id); }
  Status Write(const std::string& id, const std::string& parent) const;
  // "" when the layer has no parent. A record that holds no layer id is an error naming it.
  Result<std::string> Read(const std::string& id) const;
  void Erase(const std::string& id) const;
  Result<std::vector<std::string>> ChildrenOf(const std::string& id) const;
  // Removes the layer directory layers/<id> and its record; refused while a layer names it as
  // parent.
  Status RemoveLayer(const std::string& id, const layout::ConfinedDir& layers) const;
  // Findings for records of missing layers (repair: erase) and records that hold no layer id or
  // name a missing one (reported).
  Status Check(const layout::ConfinedDir& layers, bool repair,
               std::vector<CheckFinding>& findings) const;

 private:
  explicit ParentRecords(layout::ConfinedDir dir) : dir_(std::move(dir)) {}
  layout::ConfinedDir dir_;
};

}  // namespace ovlab::drivers
