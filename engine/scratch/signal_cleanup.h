// The fixed tables the SIGINT/SIGTERM handler tears down. Everything the handler touches is
// static storage and plain syscalls, so it stays async-signal-safe.
#pragma once

#include <string>

namespace ovlab::scratch {

// Records a live scratch fs (mount point, image or "", directory holding both). Returns a slot,
// or -1 when the table is full or a path is too long to record.
int ClaimScratchSlot(const std::string& mount_point, const std::string& image,
                     const std::string& dir);
void ReleaseScratchSlot(int slot);

// What the handler does, callable directly (tests, atexit): detaches registered mounts, then
// every live scratch fs, removing images and directories. Only entries this process made: a
// forked child that is killed leaves its parent's alone.
void TearDownAllForSignal();

}  // namespace ovlab::scratch
