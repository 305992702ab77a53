// Docker's init layer (moby daemon/initlayer): the mount points and files a runtime bind-mounts
// over, so that they never land in the container's read-write layer.
#pragma once

#include <string>

#include "base/result.h"

namespace ovlab::layout {

// Into `root` (a layer's view): dirs /dev/pts /dev/shm /proc /sys (0755); empty files /.dockerenv
// /etc/resolv.conf /etc/hosts /etc/hostname /dev/console (0755, as Docker opens them); symlink
// /etc/mtab -> /proc/mounts. Missing parents are made 0755. Like Docker, a non-directory in the
// way of a path component is removed first and existing entries are kept.
Status WriteInitLayer(const std::string& root);

}  // namespace ovlab::layout
