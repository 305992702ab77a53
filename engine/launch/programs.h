// The programs ovlab runs but does not link: the userspace union daemons. There is one way to find
// each, and one environment variable per program that overrides it.
#pragma once

#include <string>

#include "base/result.h"

namespace ovlab::launch {

struct Program {
  const char* name;     // the executable's name: "fuse-overlayfs"
  const char* env;      // the variable naming another binary: "OVLAB_FUSE_OVERLAYFS"
  const char* package;  // the Debian package that installs it; "" when this build makes it
};

// ovlab's own daemon, built in this tree (engine/fuse).
inline constexpr Program kOvlabFuse{"ovlab-fuse", "OVLAB_FUSE", ""};

// The path to run: $env when set (it must be executable: a typo is an error, not a fallback);
// else the program beside this executable (an installed ovlab runs the ovlab-fuse installed with
// it); else, for ovlab-fuse, the one of this build tree; else the program found in PATH. The
// error names the variable and the package.
Result<std::string> FindProgram(const Program& program);

// The line of `PATH --version` that starts with the program's name ("fuse-overlayfs: version
// 1.10"; libfuse's own lines are skipped), or "version unknown".
std::string VersionLine(const std::string& path, const std::string& name);

}  // namespace ovlab::launch
