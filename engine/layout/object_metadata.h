// Making one filesystem object like another: shared by ApplyStagedDiff and LinkTree.
#pragma once

#include <sys/stat.h>

#include <string>

#include "base/result.h"

namespace ovlab::layout {

// Creates dst as a copy of src (described by st): regular file (data through io::CopyFileData),
// symlink, device, fifo or socket. Not directories. Metadata is not copied here.
Status CreateLike(const std::string& src, const std::string& dst, const struct stat& st);
// Owner, mode, times and xattrs of src onto dst (by fd for files and directories, by path for
// symlinks and special files). Call for directories after their children are in place.
Status CopyObjectMetadata(const std::string& src, const std::string& dst, const struct stat& st);

}  // namespace ovlab::layout
