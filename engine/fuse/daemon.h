// The ovlab-fuse daemon: opens the union, mounts it through libfuse, serves requests until the
// mount goes away or SIGTERM/SIGINT/SIGHUP arrives, then unmounts and exits.
#pragma once

#include "fuse/command_line.h"

namespace ovlab::fuse {

// Runs the daemon for a parsed command line and returns the process exit code. Errors before the
// mount exists (bad layers, mount refused) are one line on stderr; nothing is left mounted.
// Without config.foreground it detaches after the mount is live (the caller's wait for the
// parent's exit is the wait for the mount).
int RunDaemon(const DaemonConfig& config);

}  // namespace ovlab::fuse
