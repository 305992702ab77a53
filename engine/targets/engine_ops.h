// Ops on the in-process union engine: its path-level API with the caller's credentials, as the
// kernel's VFS would pass them (umask applied, mkdir's mode masked).
#pragma once

#include <memory>

#include "base/result.h"
#include "targets/ops.h"
#include "union/union.h"

namespace ovlab::targets {

class EngineOps : public Ops {
 public:
  // Ops with no engine open yet; they may be called between OpenEngine and CloseEngine.
  static std::unique_ptr<EngineOps> Make();
  virtual Status OpenEngine(const unionfs::UnionOptions& options) = 0;
  // Releases every open handle and closes the engine (its caches go with it).
  virtual void CloseEngine() = 0;
};

}  // namespace ovlab::targets
