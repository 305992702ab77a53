// Applying an unpacked layer tarball (OCI/Docker form: `.wh.NAME` whiteouts, `.wh..wh..opq` opaque
// markers) onto a directory, in the form the target driver stores deletions.
#pragma once

#include <string>

#include "base/result.h"

namespace ovlab::layout {

enum class WhiteoutStyle {
  kOverlay,  // target is an overlay upper/diff: whiteout -> char dev 0/0, opaque -> xattr
  kDelete,   // target is a full tree (vfs, overlay v1 root): whiteout/opaque delete names
};

// Copies `staged` into `target` keeping owner, mode, times, xattrs and hard links between staged
// files. A non-directory already in target is replaced by unlinking it first, so a target made of
// hard links to a parent layer never changes the parent's files.
Status ApplyStagedDiff(const std::string& staged, const std::string& target, WhiteoutStyle style);

}  // namespace ovlab::layout
