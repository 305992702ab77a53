// What a union is made of and how it behaves: the userspace counterpart of overlayfs mount
// options (fs/overlayfs/params.c).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "io/copy.h"

namespace ovlab::unionfs {

// How st_ino/st_dev are reported (ID1).
enum class InodePolicy {
  // As the kernel with xino=off: when all layers share one filesystem, st_ino is the real inode
  // number of the underlying object (of the copy-up origin for copied-up objects whose origin has
  // one link, and for directories) and st_dev is the union's own device for everything.
  // Otherwise directories get the union's st_dev and a union-private st_ino, and non-directories
  // the real st_ino with a per-filesystem pseudo st_dev.
  kKernel,
  // As xino=on: the layer's filesystem index is put in the high bits of st_ino and st_dev is the
  // union's own device for everything.
  kXino,
};

struct UnionOptions {
  std::vector<std::string> lowers;  // uppermost first (LK2); at least one
  std::string upper;                // empty together with `work`: a read-only union (EROFS)
  std::string work;                 // on the same filesystem as `upper`
  bool redirect_dir = false;  // on: rename of merged/lower dirs via redirect (RN2); off: EXDEV
  bool metacopy = false;      // MC1: chmod/chown copy metadata only
  bool volatile_ = false;     // fsync=volatile: no fsync after copy-up
  // The kernel's fsync= (>= 6.12.y): auto syncs a copied-up file's data when it was copied (not
  // reflinked); strict also syncs every file and directory copy-up once, after its metadata.
  bool fsync_strict = false;
  InodePolicy inode_policy = InodePolicy::kKernel;
  io::CopyStrategy copy_strategy = io::CopyStrategy::kAuto;
  // Regular files are copied up nameless (O_TMPFILE, then linked in) where the upper allows it,
  // as the kernel; off: through a named temp in work/ as for other types (tests both paths).
  bool nameless_copy_up = true;
  size_t max_lowers = 500;  // the kernel's limit (LM1); Docker's overlay2 uses at most 128
  // The lookup cache and per-directory name->layer index. Off only for measuring their effect.
  bool lookup_cache = true;
  // The st_dev reported for the union's own objects; 0 picks a stable pseudo device number.
  dev_t union_dev = 0;
};

// Splits a kernel-style `lowerdir=` value: ':' separates layers, "\:" is a literal colon (LK2).
// Empty elements are an error. Returns the layers uppermost first.
Result<std::vector<std::string>> ParseLowerDirList(std::string_view value);

// Checks options against the filesystem: every directory exists and is a directory, at most
// max_lowers lowers, upper and work both set or both empty, upper/work not inside a lower and not
// inside each other, work on the same filesystem as upper. One-line errors that say what to do.
Status ValidateOptions(const UnionOptions& options);

}  // namespace ovlab::unionfs
