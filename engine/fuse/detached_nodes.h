// Nodes whose name was removed while the kernel still holds them (union.h, DetachedObject), by
// node id, until the kernel forgets them: the engine answers ESTALE for such a node, and the
// daemon then serves the call from the object kept here, as the kernel's overlay would.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "base/result.h"
#include "union/union.h"

namespace ovlab::fuse {

class DetachedNodes {
 public:
  using Object = std::shared_ptr<const unionfs::DetachedObject>;

  // Runs `remove` (an engine *Detaching call) with the table locked and records what it
  // detached, so a call that finds its node stale and then looks here sees the object.
  template <typename Remove>
  SysResult<void> Removing(Remove&& remove) {
    std::lock_guard lock(mu_);
    SysResult<std::optional<unionfs::DetachedObject>> r = std::forward<Remove>(remove)();
    if (!r) return SysFail(r.error());
    if (*r) {
      unionfs::NodeId id = (*r)->node;
      nodes_[id] = std::make_shared<const unionfs::DetachedObject>(std::move(**r));
      size_.store(nodes_.size());
    }
    return {};
  }

  Object Find(unionfs::NodeId node) const;
  // After a forget: drops the node's object once the engine no longer knows the node.
  void Forgotten(unionfs::NodeId node, const unionfs::Union& engine);
  size_t size() const { return size_.load(); }

 private:
  mutable std::mutex mu_;
  std::unordered_map<unionfs::NodeId, Object> nodes_;
  std::atomic<size_t> size_{0};  // read without the lock on every forget
};

}  // namespace ovlab::fuse
