// The legacy overlay (v1) driver's layer chain: a child's root/ holds a hard link to every regular
// file of the parent's root/ and its own copy of every directory, symlink and special file.
#pragma once

#include <string>

#include "base/result.h"

namespace ovlab::layout {

// Makes dst (must not exist) mirror src that way, keeping owner, mode, times and xattrs.
Status LinkTree(const std::string& src, const std::string& dst);

}  // namespace ovlab::layout
