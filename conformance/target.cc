#include "conformance/target.h"

#include <unistd.h>

#include <cerrno>

#include "base/fs.h"

namespace ovlab::conformance {

Target::~Target() {
  (void)Teardown();
}

std::string Target::Options() const {
  return union_ ? union_->Options() : "";
}

Status Target::Setup(const LayerSet& layers, const TargetConfig& config) {
  if (union_) return Fail(EBUSY, Name() + ": Setup called twice; call Teardown first");
  mountpoint_ = JoinPath(DirName(layers.upper), "merged-" + Name());
  if (auto s = MakeDirs(mountpoint_); !s) return s;
  targets::UnionConfig c;
  c.redirect_dir = config.redirect_dir;
  c.metacopy = config.metacopy;
  auto u = targets::UnionMount::Start(spec_, layers, c, mountpoint_);
  if (!u) {
    ::rmdir(mountpoint_.c_str());
    return std::unexpected(u.error());
  }
  union_ = std::move(*u);
  layers_ = layers;
  up_ = true;
  return {};
}

Status Target::Remount(const LayerSet& layers) {
  if (!union_) return Fail(EINVAL, Name() + ": Remount before Setup");
  if (up_) {
    if (auto s = union_->Down(); !s) return s;
    up_ = false;
  }
  if (auto s = union_->Up(layers); !s) return s;
  layers_ = layers;
  up_ = true;
  return {};
}

Status Target::Teardown() {
  if (!union_) return {};
  Status result = up_ ? union_->Down() : Status{};
  up_ = false;
  union_.reset();
  ::rmdir(mountpoint_.c_str());
  return result;
}

}  // namespace ovlab::conformance
