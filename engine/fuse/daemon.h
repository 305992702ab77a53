// The ovlab-fuse daemon: opens the union, mounts it through libfuse, serves requests until the
// mount goes away or SIGTERM/SIGINT/SIGHUP arrives, then unmounts and exits.
#pragma once

#include "fuse/command_line.h"

namespace ovlab::fuse {

// Runs the daemon for a parsed command line and returns the process exit code. Errors before the
// mount exists (bad layers, mount refused) are one line on stderr; nothing is left mounted.
// Without config.foreground it detaches after the mount is live (the caller's wait for the
// parent's exit is the wait for the mount).
//
// SIGUSR1 makes it write one line to stderr, "ovlab-fuse: nodes N": the nodes the kernel holds,
// counted once no forget is under way and the memory of forgotten ones was given back (tests
// wait on it after dropping the kernel's dentries, instead of sleeping, before reading VmRSS).
int RunDaemon(const DaemonConfig& config);

}  // namespace ovlab::fuse
