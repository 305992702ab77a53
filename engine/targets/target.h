// The one table of targets. A target is a way to show a container's view of an image: a storage
// driver (kernel overlay through the overlay2 or overlay driver; a driver whose layers are the
// view: vfs, btrfs, and block drivers), a userspace union daemon, or ovlab's union engine in
// process. Its row says how it is brought up and what it is, so the benchmarks, the conformance
// suite, the reports (through the benchmark JSON's context) and the docs read traits here and
// never compare target names. A new driver or daemon is one row (plus its driver file).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "launch/programs.h"
#include "launch/union_argv.h"
#include "scratch/scratch.h"

namespace ovlab::targets {

enum class Bringup {
  kKernelDriver,  // a Driver whose Get mounts the kernel's overlay
  kLayerDriver,   // a Driver whose layer is the view itself (a full copy, a snapshot, a device)
  kDaemon,        // a userspace union daemon over the layers of an overlay2 store
  kEngine,        // ovlab's union engine in this process over the layers of an overlay2 store
};

// How the conformance suite judges a union against the kernel's.
enum class Role {
  kNone,       // not a union the suite runs (a driver without a union, or the same union twice)
  kOracle,     // the kernel's overlayfs: must follow the documented rules
  kMustMatch,  // ovlab's engine and daemon: any difference from the kernel is a failure
  kPeer,       // other daemons: differences are recorded as known deviations
};

// What an image and a container cost in inodes, by Docker's layout rules (bench/generators).
enum class InodeModel {
  kNone,       // no store of its own (it shows an overlay2 store's layers)
  kOverlay2,   // what each layer adds, plus its directories
  kOverlayV1,  // every directory, symlink and device of the whole tree per layer
  kFullCopy,   // a whole tree per layer, data copied (vfs)
  kSnapshot,   // a whole tree of inodes per layer, data blocks shared (btrfs)
};

struct Daemon {
  launch::Program program;
  launch::Syntax syntax;
  bool union_options;  // takes the kernel's redirect_dir= and metacopy= options
};

struct TargetSpec {
  std::string_view name{};
  std::string_view summary{};  // one line: what it is
  Bringup bringup = Bringup::kLayerDriver;
  // The driver that stores the image (the row's own, or overlay2 for daemons and the engine).
  std::string_view driver{};
  std::optional<Daemon> daemon{};
  Role role = Role::kNone;
  // The name the conformance suite and its matrix use ("kernel" for the kernel's overlayfs).
  std::string_view conformance_name{};
  std::optional<scratch::Backing> only_backing{};  // the one backing it runs on
  InodeModel inode_model = InodeModel::kNone;
  bool copies_up = true;              // a first write copies the file up into a new layer
  bool durable_copy_up = true;        // copied data is synced before the write returns
  bool truncate_copies_data = false;  // open(O_TRUNC) copies the data before truncating it
  bool clones_on_reflink = true;      // a data copy-up is a reflink where the backing allows
  bool flat = false;                  // lookups cost the same at any depth
  bool deep_lowers = false;           // takes the kernel's 500 lowers
  // Its copy-up's data copy can be chosen (io::CopyStrategy: the engine's option, ovlab-fuse's
  // -o ovlab_copy=).
  bool copy_strategies = false;
  // O_DIRECT reads work (unionfs-fuse opens its lower file O_DIRECT too and reads it into
  // libfuse's unaligned buffer: EINVAL).
  bool direct_reads = true;
};

// A userspace cache sits in front of the kernel's: a cold start restarts the daemon or reopens
// the engine, and the caller's CPU time misses a daemon's work.
bool InUserspace(const TargetSpec& target);

// Every target, in report order.
const std::vector<TargetSpec>& AllTargets();
// nullptr when unknown.
const TargetSpec* FindTarget(std::string_view name);
// The rows the conformance suite runs (Role != kNone), and lookup by their conformance name.
std::vector<const TargetSpec*> ConformanceTargets();
const TargetSpec* FindConformanceTarget(std::string_view name);
// "a, b, c": for error messages.
std::string TargetNames();

// "" when the target can run on this machine, else the reason (a skip line; the JSON context).
std::string UnavailableReason(const TargetSpec& target);
// What runs, with its version: the daemon's --version line, the kernel release, ovlab's version.
std::string VersionOf(const TargetSpec& target);

const char* BringupName(Bringup b);
const char* RoleName(Role r);
const char* InodeModelName(InodeModel m);

}  // namespace ovlab::targets
