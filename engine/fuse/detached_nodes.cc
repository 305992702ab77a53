#include "fuse/detached_nodes.h"

namespace ovlab::fuse {

DetachedNodes::Object DetachedNodes::Find(unionfs::NodeId node) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : it->second;
}

void DetachedNodes::Forgotten(unionfs::NodeId node, const unionfs::Union& engine) {
  if (size_.load() == 0) return;
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node);
  if (it == nodes_.end() || engine.Known(node)) return;
  nodes_.erase(it);
  size_.store(nodes_.size());
}

}  // namespace ovlab::fuse
