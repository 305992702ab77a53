// A union brought up over a set of layer directories by a target that is one (the kernel's
// overlayfs, a userspace daemon, the in-process engine), with its Ops. It can be taken down and
// brought up again over the same or other layers; its Ops object stays the same throughout (a
// handle does not survive a Down).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "io/copy.h"
#include "launch/union_argv.h"
#include "targets/ops.h"
#include "targets/target.h"

namespace ovlab::targets {

// Options a caller asks for, mapped onto each union's own syntax; unset ones keep its defaults.
struct UnionConfig {
  std::optional<bool> redirect_dir;
  std::optional<bool> metacopy;  // the kernel needs redirect_dir=on with it
  // How a copy-up copies data, where the target lets one choose (TargetSpec::copy_strategies).
  std::optional<io::CopyStrategy> copy_strategy;
  // Extra options for ovlab-fuse only (speed options under test, ovlab-bench --fuse-options),
  // each one option.
  std::vector<std::string> fuse_options;
};

class UnionMount {
 public:
  // Brings the union of `target` (kernel-driver rows: the kernel's overlayfs; daemons; the
  // engine) up over `dirs` at `mountpoint` (an existing empty directory; unused by the engine).
  static Result<std::unique_ptr<UnionMount>> Start(const TargetSpec& target,
                                                   const launch::UnionDirs& dirs,
                                                   const UnionConfig& config,
                                                   const std::string& mountpoint);
  virtual ~UnionMount() = default;

  virtual Ops& ops() = 0;
  // Unmounts (the daemon exits; the engine closes); safe to call twice.
  virtual Status Down() = 0;
  // Brings it up again over `dirs` (after Down).
  virtual Status Up(const launch::UnionDirs& dirs) = 0;
  // The options it runs with, as a command line would give them ("redirect_dir=on,...").
  virtual std::string Options() const = 0;
};

}  // namespace ovlab::targets
