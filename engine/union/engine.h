// Internal: the state behind Union and the engine's operations, implemented one concern per file
// like fs/overlayfs (lookup.cc, readdir.cc, copy_up.cc, dir_ops.cc, inode.cc, xattr.cc,
// path_walk.cc). Callers hold `mu`; nothing in here locks.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "union/layer.h"
#include "union/node.h"
#include "union/origin.h"
#include "union/union.h"

namespace ovlab::unionfs {

// Symlinks followed in one path resolution before ELOOP, as the kernel's MAXSYMLINKS.
inline constexpr int kMaxSymlinks = 40;

struct OpenFile {
  UniqueFd fd;
  NodePtr node;
  int flags = 0;
  // fd reads a lower layer: once the node is copied up, reads move to the upper object (as the
  // kernel's ovl_real_fdget), and the lower fd is kept open for calls still using it.
  bool lower_data = false;
  UniqueFd retired;
};

// The kernel's setattr checks (size, owner, mode, times) of `st` for `cred`, made before anything
// changes; returns the mode a kSetMode sets. `file` is the handle of an ftruncate, if any.
SysResult<mode_t> CheckSetAttr(const Cred& cred, const struct stat& st, unsigned mask,
                               const SetAttrValues& v, const OpenFile* file);
// xattr.cc, for a node's or a detached object's real object: the stored name (XA1 escaping) of
// xattr `name` after the VFS permission check for a read (kMayRead) or a change (kMayWrite) of an
// object with owner/group/mode `st`; and the names a listing shows (private ones hidden).
SysResult<std::string> XattrStoredName(const Cred& cred, const struct stat& st,
                                       std::string_view name, int mask);
SysResult<std::vector<std::string>> VisibleXattrNames(const Cred& cred, int fd);
// Last defence against a stale union path: what was found at the node's path has the node's
// type (a whiteout or a new object of another type there is ESTALE, never served).
inline bool HasNodeType(const Node& node, const struct stat& st) {
  return node.type == 0 || (st.st_mode & S_IFMT) == node.type;
}
// The utimensat times of a setattr: now, the given value, or omitted.
void SetAttrTimes(unsigned mask, const SetAttrValues& v, struct timespec ts[2]);

struct OpenDirState {
  NodePtr node;
  std::vector<DirEntry> entries;
  bool built = false;
};

// The last name of a path and the directory it is in.
struct ParentAndName {
  NodePtr dir;
  std::string name;
  bool trailing_slash = false;
};

struct Union::Impl {
  UnionOptions options;
  std::vector<Layer> lowers;
  std::optional<Layer> upper;
  UniqueFd work;  // O_PATH of <work>/work, where copy-ups and whiteouts are built
  std::vector<std::optional<FsUuid>> lower_uuids;
  std::optional<FsUuid> upper_uuid;
  bool samefs = true;
  dev_t union_dev = 0;

  mutable std::mutex mu;
  NodePtr root;
  NodeId next_id = kRootNode + 1;
  std::unordered_map<NodeId, NodePtr> nodes;  // root + nodes with lookup count > 0
  std::unordered_map<FileHandle, std::shared_ptr<OpenFile>> files;
  std::unordered_map<DirHandle, std::unique_ptr<OpenDirState>> dirs;
  uint64_t next_handle = 1;
  uint64_t temp_counter = 0;
  UnionStats stats;

  ~Impl();
  bool read_only() const { return !upper.has_value(); }

  // ---- lookup.cc: finding objects through the layers (namei.c) ----
  Result<void> Init();  // layers, root node, work dir cleanup
  NodePtr GetNode(NodeId id) const;
  SysResult<NodePtr> Child(const NodePtr& dir, std::string_view name);  // cached lookup
  SysResult<NodePtr> LookupFresh(const NodePtr& dir, std::string_view name);
  // Some lower layer under `dir` holds a visible `name` (then removal needs a whiteout).
  bool LowerPositive(const NodePtr& dir, std::string_view name);
  void CacheChild(const NodePtr& dir, const NodePtr& child);
  void Evict(const NodePtr& dir, const std::string& name);
  void ForgetNegative(const NodePtr& dir, const std::string& name);
  // A node no one holds any more (no lookup count) leaves the lookup cache once it caches no
  // children itself, as the kernel's unused dentries go: memory follows what the FUSE kernel
  // holds, not every name ever looked up. A forgotten parent left childless follows it.
  void DropForgotten(NodePtr node);
  // Names known absent, per directory, before the set starts over (a walk over many missing
  // names must not grow it without end; the kernel reclaims negative dentries too).
  static constexpr size_t kNegativesPerDir = 4096;
  Entry MakeEntry(const NodePtr& node, const struct stat& st);  // counts a lookup
  // The upper dir of a directory node, for *at calls: the upper root's fd for the root, else
  // kept open for the kDirFds directories used last (no path walk per call). An evicted fd
  // closes once no DirFd holds it.
  struct DirFd {
    std::shared_ptr<const UniqueFd> keep;
    int fd = -1;
    int get() const { return fd; }
  };
  static constexpr size_t kDirFds = 256;
  std::list<NodePtr> dir_fds;  // the directory nodes holding an upper_dir_fd, last used first
  SysResult<DirFd> UpperDirFd(const NodePtr& dir);
  void DropDirFd(Node& dir);  // the directory is gone from the upper layer
  // fds of real objects: the visible object (O_PATH), the data
  // `st`, when given, receives the object's stat (taken anyway to check its type).
  SysResult<UniqueFd> TopObjectFd(const Node& node, struct stat* st = nullptr);
  // The upper object as (its parent directory fd, its name); the root is (root fd, ".").
  SysResult<std::pair<DirFd, std::string>> UpperEntry(const Node& node);
  SysResult<UniqueFd> DataFd(const Node& node, int flags, struct stat* st = nullptr);

  // ---- inode.cc: attributes, inode numbers (ID1), setattr, permission ----
  SysResult<struct stat> Attr(Node& node);
  // Attr from a stat of the node's visible object the caller already took (an open fd's fstat).
  struct stat AttrFrom(Node& node, struct stat real);
  // Cached owner/group/mode: they change only through SetAttr, not when entries come and go.
  SysResult<Node::Perm> PermOf(Node& node);
  SysResult<struct stat> PermStatOf(Node& node);  // PermOf as a stat for the permission checks
  SysResult<struct stat> SetAttr(const Cred& cred, const NodePtr& node, unsigned mask,
                                 const SetAttrValues& v, OpenFile* file);
  SysResult<void> Access(const Cred& cred, const NodePtr& node, int mask);
  SysResult<void> MayLookup(const Cred& cred, const NodePtr& dir);  // exec on dir, ENOTDIR

  // ---- copy_up.cc (copy_up.c) ----
  // The lower object a copy-up reads: its layer, path, parent dir fd, name, stat and origin.
  // A regular file comes as `file` (open for reading), anything else as `dir` and `name`.
  struct CopyUpSource {
    const Layer& layer;
    std::string rel;
    UniqueFd file;
    UniqueFd dir;
    std::string name;
    struct stat st;
    std::string origin_fh;  // trusted.overlay.origin to record ("" when the layer has no UUID)
  };
  SysResult<CopyUpSource> OpenCopyUpSource(const Node& node);  // node's top lower object
  // Copies a lower object up (parents first). `with_data` false allows a metacopy (MC1).
  // `emptied` (an open with O_TRUNC, as the kernel): no data is copied, the upper file starts
  // empty, since the open truncates it right after.
  SysResult<void> CopyUp(const NodePtr& node, bool with_data, bool emptied = false);
  SysResult<void> CopyUpData(const NodePtr& node, bool emptied = false);  // completes a metacopy
  // The data of metacopy upper `out` from lower `in` (-1: none, the file is emptied), then the
  // metacopy mark goes; on failure the file is left a metacopy of its old size.
  SysResult<void> FillMetacopy(int in, int out);
  // Builds `node`'s upper object from `from` in the work dir and puts it under `dst_dir`; the
  // outcome's `used` is kAuto when no data was copied. Nameless (O_TMPFILE, regular files only)
  // fails EOPNOTSUPP where the upper filesystem has no O_TMPFILE.
  SysResult<io::CopyOutcome> CopyUpNameless(const NodePtr& node, const CopyUpSource& from,
                                            bool meta, int dst_dir);
  SysResult<io::CopyOutcome> CopyUpNamed(const NodePtr& node, const CopyUpSource& from, bool meta,
                                         int dst_dir);
  void MarkImpure(const NodePtr& dir);  // the upper dir will hold a copied-up entry
  bool LinkNameless(int fd, int dst_dir, const std::string& name);  // false: errno
  bool link_by_fd = true;  // linkat AT_EMPTY_PATH allowed (until refused once)
  // The new upper file's content: `size` bytes of `in`, or only the size for a metacopy.
  SysResult<io::CopyOutcome> FillFile(int in, int out, off_t size, bool meta);
  std::string TempName();
  // fsync=auto: data a copy-up copied is synced before it shows; a reflink shares blocks that
  // are on disk already and is not (as the kernel's clone path). Never with volatile.
  bool SyncsData(const io::CopyOutcome& copy) const;
  bool Sync(int fd);  // fsync, counted in stats
  Result<void> CleanWorkDir();

  // ---- readdir.cc (readdir.c) ----
  // `xwhiteouts`, when given, tells whether a listed name was hidden by a lower WO2 whiteout.
  SysResult<std::vector<DirEntry>> MergedListing(const NodePtr& dir, bool* xwhiteouts = nullptr);
  // ENOTEMPTY unless the merged dir shows nothing; on success the names of upper whiteouts.
  // As the kernel, a name hidden by a lower WO2 (xattr) whiteout counts as an entry.
  SysResult<std::vector<std::string>> CheckEmptyDir(const NodePtr& dir);

  // ---- dir_ops.cc (dir.c) ----
  bool SameUpperObject(const Node& a, const Node& b);
  // Creates `name` in `dir`: mode's S_IFMT picks the type; `link_target` for symlinks,
  // `link_source` for hard links. Returns the new node (cached).
  SysResult<NodePtr> Create(const Cred& cred, const NodePtr& dir, std::string_view name,
                            mode_t mode, dev_t rdev, std::string_view link_target,
                            const NodePtr& link_source);
  SysResult<void> Remove(const Cred& cred, const NodePtr& dir, std::string_view name, bool rmdir);
  SysResult<void> Rename(const Cred& cred, const NodePtr& odir, std::string_view oname,
                         const NodePtr& ndir, std::string_view nname, unsigned flags);
  SysResult<UniqueFd> OpenFileFd(const Cred& cred, const NodePtr& node, int flags);

  // ---- xattr.cc (xattrs.c) ----
  SysResult<std::string> GetXattr(const Cred& cred, const NodePtr& node, std::string_view name);
  SysResult<void> SetXattr(const Cred& cred, const NodePtr& node, std::string_view name,
                           std::string_view value, int flags);
  SysResult<std::vector<std::string>> ListXattr(const Cred& cred, const NodePtr& node);
  SysResult<void> RemoveXattr(const Cred& cred, const NodePtr& node, std::string_view name);

  // ---- path_walk.cc ----
  // Resolves a union path; `follow` says whether a final symlink is followed.
  SysResult<NodePtr> Walk(const Cred& cred, std::string_view path, bool follow);
  // Resolves all but the last name ("." / ".." as last name are returned as such).
  SysResult<ParentAndName> WalkParent(const Cred& cred, std::string_view path);
  SysResult<std::string> ReadLink(const NodePtr& node);

  // handles (union.cc)
  FileHandle AddFile(UniqueFd fd, const NodePtr& node, int flags);
};

}  // namespace ovlab::unionfs
