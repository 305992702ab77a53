// Disk usage and change lists of layer trees, shared by the drivers.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "drivers/driver.h"
#include "drivers/tree_view.h"

namespace ovlab::drivers {

using InodeSet = std::set<std::pair<dev_t, ino_t>>;

// Bytes (st_blocks * 512) and inodes of every object in `dir` including `dir` itself, each inode
// once (hard links), skipping inodes listed in `exclude` (those a parent layer already holds).
Result<LayerUsage> TreeUsage(const std::string& dir, const InodeSet* exclude = nullptr);
// Every inode of a tree (including its root).
Result<InodeSet> TreeInodes(const std::string& dir);

// Changes of an overlay upper against the view below it (a stack of layers read in place, or a
// mounted or plain directory): whiteout -> Deleted; present below -> Modified; else Added; an
// opaque directory also deletes what the view below holds in it and the upper does not.
Result<std::vector<Change>> UpperChanges(const std::string& upper, const TreeView& below);
// UpperChanges of a layer's `upper` against its parent's view, mounted through driver.Get for the
// walk and released again (a base layer, parent "", is all additions): for layers only the
// kernel can read (ViewReadsTheLayers false).
Result<std::vector<Change>> ChangesOverParent(Driver& driver, const std::string& upper,
                                              const std::string& parent);
// Changes between two full trees (vfs, overlay v1 roots, or views): Docker's naive diff. Objects
// that are the same inode (hard links) are unchanged; otherwise type, mode, owner, rdev, size,
// mtime and symlink target are compared. A deleted directory is reported once, not its contents.
// No old tree (nullptr, or "") makes everything added.
Result<std::vector<Change>> TreeChanges(const TreeView* old_tree, const TreeView& new_tree);
Result<std::vector<Change>> TreeChanges(const std::string& old_tree, const std::string& new_tree);

char ChangeLetter(ChangeKind kind);  // 'A', 'C', 'D' as `docker diff`

// The backing filesystem name as `docker info` prints it ("extfs", "xfs", "btrfs", "tmpfs").
std::string BackingFsName(const std::string& path);

}  // namespace ovlab::drivers
