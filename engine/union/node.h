// An object of the merged namespace, like the kernel's overlay dentry + inode: where it lives in
// the upper layer (its union path) and which lower objects it stacks (LK1). Nodes form a tree
// through their parents; a directory's children map is the lookup cache.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/unique_fd.h"
#include "union/union.h"

namespace ovlab::unionfs {

// An object in a lower layer: layer index (0 = top lower) and its path inside that layer.
struct LowerRef {
  uint32_t layer = 0;
  std::string path;  // relative to the layer root, "" = root
};

// Which lower stack positions of a merged directory hold a name (from one listing of each).
struct DirIndex {
  std::unordered_map<std::string, std::vector<uint32_t>> positions;  // name -> stack positions
};

struct Node {
  NodeId id = 0;
  std::shared_ptr<Node> parent;  // null for the root
  std::string name;
  mode_t type = 0;  // S_IFMT bits of the visible object

  bool upper = false;          // present in the upper layer at its union path
  bool opaque = false;         // upper dir with trusted.overlay.opaque=y: no lower merged
  bool metacopy = false;       // upper regular file holds metadata only; data in lowers[0]
  bool origin = false;         // upper object was copied up from lowers[0] (st_ino source, ID1)
  bool impure = false;         // upper dir has trusted.overlay.impure
  bool xwhiteout_dir = false;  // some layer dir of this merged dir is marked opaque "x" (WO2)
  bool unlinked = false;
  std::string origin_fh;  // trusted.overlay.origin of the upper object (non-empty: `origin`)
  std::optional<ino_t> origin_ino;  // decoded lazily; nullopt = not yet, 0 = unusable
  std::string redirect;             // upper dir/file trusted.overlay.redirect (RN2), "" = none
  // Directories: the merge stack, top first. Non-directories: at most one (the visible lower
  // object, or the copy-up origin / metacopy data source of an upper object).
  std::vector<LowerRef> lowers;

  uint64_t nlookup = 0;       // FUSE lookup count
  uint32_t lower_misses = 0;  // uncached lookups in this dir; the second one builds the index
  // Attributes of a lower-only object: lower layers do not change under a union, and every
  // change through the engine copies up first (which drops this).
  std::optional<struct stat> lower_attr;

  // Owner, group and mode for permission checks on the walk; they change only through SetAttr.
  struct Perm {
    mode_t mode;
    uid_t uid;
    gid_t gid;
  };
  std::optional<Perm> perm;

  // Lookup cache (directories): positive children and names known absent.
  std::unordered_map<std::string, std::shared_ptr<Node>> children;
  std::unordered_set<std::string> negatives;
  std::unique_ptr<DirIndex> index;  // lower-layer name index, built on first miss

  // Directories: an O_PATH fd of the upper dir while the node is in Impl::dir_fds (UpperDirFd).
  // It follows the directory through renames; a removal drops it.
  std::shared_ptr<const UniqueFd> upper_dir_fd;
  std::list<std::shared_ptr<Node>>::iterator dir_fd_pos;

  bool is_dir() const { return S_ISDIR(type); }
  // Merged as the kernel means it: directory with upper and lowers, or more than one lower.
  bool merged() const { return is_dir() && (upper ? !lowers.empty() : lowers.size() > 1); }
};

using NodePtr = std::shared_ptr<Node>;

// The node's union path relative to the root ("" for the root, "a/b" otherwise): also its path
// inside the upper layer.
std::string UnionPath(const Node& node);

// The node or one of its ancestors was unlinked or replaced: its union path now names something
// else (a whiteout, a new object), so it must not be opened by that path.
bool Unlinked(const Node& node);

}  // namespace ovlab::unionfs
