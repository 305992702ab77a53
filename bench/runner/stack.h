// A stack: one planned image built for one target in a directory of a scratch filesystem, with a
// container's read-write layer on top, shown through the target's Ops. Everything it makes
// (layers, mounts, daemons) is removed by Destroy or the destructor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "generators/image_plan.h"
#include "io/copy.h"
#include "targets/ops.h"
#include "targets/target.h"

namespace ovlab::drivers {
class Driver;
}

namespace ovlab::bench {

using targets::CountEntries;
using targets::Ops;
using targets::WriteAt;

class Stack {
 public:
  // `dir` must not exist yet; max_depth is the driver's lower limit (128, or 500 for deep stacks);
  // copy_strategy: how a copy-up copies data, for targets that let one choose
  // (TargetSpec::copy_strategies).
  static Result<std::unique_ptr<Stack>> Create(
      const targets::TargetSpec& target, const std::string& dir, const ImagePlan& plan,
      size_t max_depth = 128, io::CopyStrategy copy_strategy = io::CopyStrategy::kAuto);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // The container's view. A cold start or a remount brings up a new one: take it again after.
  Ops& ops();
  // The driver holding the image (overlay2 for daemon and engine targets) and its top layer.
  drivers::Driver& driver();
  const std::string& image_top() const;
  const ImagePlan& plan() const;
  const targets::TargetSpec& target() const;
  // A counter for families that consume fresh objects of the image (one lower file per
  // copy-up): returns 0, 1, 2, ... over the stack's life.
  uint64_t NextIndex();

  // Cold caches: sync, drop the page/dentry/inode caches, and restart FUSE daemons or reopen the
  // engine so no userspace cache survives either. `quiesce`: mount points frozen and thawed
  // before the drop (scratch::DropKernelCaches), so deferred metadata writeback is done.
  Status MakeCold(const std::vector<std::string>& quiesce = {});
  // Takes the union down (unmount, daemon exit, engine closed) and brings it up again; returns
  // the seconds the bringing up took.
  Result<double> TimedRemount();

  Status Destroy();

  struct State;

 private:
  explicit Stack(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ovlab::bench
