// The command line of a userspace union daemon, built one way for every daemon and every caller
// (benchmarks, conformance, the fuse driver). Layer paths are escaped by one rule; a path the
// daemon's syntax cannot carry is refused with the reason, never passed on mangled.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab::launch {

// The layers of one union: lowers uppermost first; upper and work empty for a read-only union.
struct UnionDirs {
  std::vector<std::string> lowers;
  std::string upper;
  std::string work;
};

enum class Syntax {
  // -o lowerdir=L1:L2,upperdir=U,workdir=W[,OPTIONS]: in every path '\', ',' and ':' take a
  // backslash (libfuse's -o parser splits at unescaped commas; the daemon splits lowerdir at
  // unescaped colons, the kernel's LK2 rule). ovlab-fuse.
  kOverlay,
  // The same, but the daemon splits lowerdir at every ':' (fuse-overlayfs 1.10): a layer path
  // holding ':' is refused.
  kOverlayNoColon,
  // -o cow[,OPTIONS] U=RW:L1=RO:...: the branch list has no escapes, so ':' and '=' are
  // refused. unionfs-fuse.
  kUnionfs,
};

struct DaemonCommand {
  std::string program;  // path or name to exec
  Syntax syntax = Syntax::kOverlay;
  UnionDirs dirs;
  std::vector<std::string> options;  // extra -o options, each one option (no commas)
  std::string mountpoint;
  bool foreground = true;  // -f: the daemon stays the caller's child
};

Result<std::vector<std::string>> DaemonArgv(const DaemonCommand& command);

// The -o options a syntax always passes ("cow" for unionfs-fuse), before the caller's.
std::vector<std::string> SyntaxOptions(Syntax syntax);

}  // namespace ovlab::launch
