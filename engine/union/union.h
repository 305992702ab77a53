// The userspace union engine: overlay semantics (DESIGN.md checklist LK1..NP3) over the on-disk
// format the kernel uses, so an upper written here mounts with the kernel and vice versa.
//
// Two layers of calls, both thread-safe and both returning SysResult (value or errno):
//  - Node level, for the FUSE low-level daemon: objects are NodeIds (root = kRootNode) with
//    lookup counts (Lookup increments, Forget decrements) and open handles.
//  - Path level, for in-process callers and tests: the same operations by path "/a/b" relative to
//    the union root, resolved like the kernel's path walk in the merged namespace: intermediate
//    symlinks are followed (relative targets in the merged tree, ABSOLUTE targets against the
//    union root, as in a chroot at the union root), at most 40 links (ELOOP), "a/" on a
//    non-directory is ENOTDIR, O_NOFOLLOW / AT_SYMLINK_NOFOLLOW are honoured on the last name.
//
// Every call takes the caller's Cred and checks permissions as the kernel does (PM1). The engine
// itself runs with the process's credentials (root) and never follows a symlink or ".." out of a
// layer root while touching layers.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "io/copy.h"
#include "union/cred.h"
#include "union/options.h"

namespace ovlab::unionfs {

using NodeId = uint64_t;
inline constexpr NodeId kRootNode = 1;
// Open file and directory handles. 0 is never a valid handle.
using FileHandle = uint64_t;
using DirHandle = uint64_t;

// A looked-up object: its node (lookup count incremented), attributes as the union reports them,
// and a generation (node ids are never reused, so it is always 0).
struct Entry {
  NodeId node = 0;
  struct stat attr {};
  uint64_t generation = 0;
};

struct Created {
  Entry entry;
  FileHandle handle = 0;
};

// One merged directory entry. `offset` is the stable cookie of the NEXT entry: pass it back to
// ReadDir to continue after this one (FUSE semantics). "." and ".." are included. The order is
// the kernel's: names of the lowest layer first, then those of the upper and middle layers.
struct DirEntry {
  std::string name;
  ino_t ino = 0;           // the st_ino that GetAttr reports for it ("." / ".." included)
  unsigned char type = 0;  // DT_REG, DT_DIR, ...
  off_t offset = 0;
};

// SetAttr mask bits; values equal libfuse's FUSE_SET_ATTR_* so a daemon passes its mask through.
enum SetAttrBits : unsigned {
  kSetMode = 1u << 0,
  kSetUid = 1u << 1,
  kSetGid = 1u << 2,
  kSetSize = 1u << 3,
  kSetAtime = 1u << 4,
  kSetMtime = 1u << 5,
  kSetAtimeNow = 1u << 7,
  kSetMtimeNow = 1u << 8,
  kSetCtime = 1u << 10,  // accepted; ctime always becomes "now" on any change, as in the kernel
};

struct SetAttrValues {
  mode_t mode = 0;  // permission bits (and S_ISUID/S_ISGID/S_ISVTX)
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  off_t size = 0;
  struct timespec atime {};
  struct timespec mtime {};
};

// Telemetry the benchmarks label results with.
struct UnionStats {
  io::CopyStrategy last_copy_strategy = io::CopyStrategy::kAuto;  // kAuto: no data copy-up yet
  uint64_t copy_ups = 0;       // objects copied up (data or metadata)
  uint64_t data_copy_ups = 0;  // of which had their data copied
  uint64_t bytes_copied = 0;   // data bytes moved by copy-up
  uint64_t copy_up_syncs = 0;  // fsyncs copy-ups made (fsync=auto|strict|volatile)
  uint64_t layer_lookups = 0;  // name lookups that touched a layer (fstatat in a layer dir)
  uint64_t cache_hits = 0;     // lookups answered from the lookup cache
};

// A node whose name was removed (unlink, rmdir, rename over it) while a FUSE kernel still holds
// it: an open that lost a race with the unlink, fstat of an open deleted file. The kernel's
// overlay dentry keeps the real object alive and usable; this keeps it open for the same calls.
struct DetachedObject {
  NodeId node = 0;
  UniqueFd object;      // O_PATH of the real object (upper, or the lower one for a lower-only node)
  bool upper = false;   // the object is in the upper layer (a lower one can no longer be copied up)
  UniqueFd lower_data;  // a metacopy upper's data, the lower file (O_PATH); none otherwise
  ino_t ino = 0;        // st_ino and st_dev as the union reported them before the removal
  dev_t dev = 0;
};

// An open file's real descriptor, kept open while the lease lives even if the handle is released
// or moved to the upper object meanwhile. Use the fd with positional I/O only (pread, splice with
// an offset): it is shared by every user of the handle.
struct FileFdLease {
  int fd = -1;
  std::shared_ptr<const void> keep_open;
};

class Union {
 public:
  // Validates the options (ValidateOptions), opens every layer root once (no locks are taken on
  // layers), and removes leftovers of interrupted copy-ups from the work directory (as the
  // kernel cleans work/work). Errors are one line saying what is wrong and what to do.
  static Result<std::unique_ptr<Union>> Open(const UnionOptions& options);
  ~Union();
  Union(const Union&) = delete;
  Union& operator=(const Union&) = delete;

  const UnionOptions& options() const;
  bool read_only() const;  // no upper layer: every change fails with EROFS
  UnionStats stats() const;
  void ResetStats();
  // Forgets cached lookups, attributes and directory indexes (for cold measurements). Nodes with
  // a lookup count keep their ids.
  void DropCaches();
  // Nodes with a lookup count, the root included: what a FUSE kernel holds.
  size_t NodeCount() const;

  // ---- Node level -------------------------------------------------------------------------------
  SysResult<Entry> Lookup(const Cred& cred, NodeId parent, std::string_view name);
  void Forget(NodeId node, uint64_t nlookup);
  SysResult<struct stat> GetAttr(const Cred& cred, NodeId node);
  // chmod/chown/truncate/utimens in one call, like FUSE setattr. `handle`, when given, is an open
  // handle of the node (ftruncate/fchmod: no write-permission check for truncate).
  SysResult<struct stat> SetAttr(const Cred& cred, NodeId node, unsigned mask,
                                 const SetAttrValues& values,
                                 std::optional<FileHandle> handle = std::nullopt);
  SysResult<std::string> ReadLink(const Cred& cred, NodeId node);
  SysResult<void> Access(const Cred& cred, NodeId node, int mask);  // F_OK/R_OK/W_OK/X_OK

  // Open for write or with O_TRUNC copies up (CU1); read-only opens of lower files read the lower.
  SysResult<FileHandle> Open(const Cred& cred, NodeId node, int flags);
  SysResult<Created> Create(const Cred& cred, NodeId parent, std::string_view name, int flags,
                            mode_t mode);
  SysResult<size_t> Read(FileHandle handle, void* buf, size_t size, off_t offset);
  SysResult<size_t> Write(FileHandle handle, const void* buf, size_t size, off_t offset);
  SysResult<void> Fsync(FileHandle handle, bool datasync);
  SysResult<void> Fallocate(FileHandle handle, int mode, off_t offset, off_t length);
  SysResult<void> Release(FileHandle handle);
  // The real descriptor behind an open file handle now (the upper object's once the node has been
  // copied up), for zero-copy I/O (splice, copy_file_range) that bypasses Read/Write. The handle
  // was copied up when opened for writing, so a write through the fd needs nothing else, as Write.
  SysResult<FileFdLease> FileFd(FileHandle handle);

  // The merged listing is built on OpenDir and fixed for the handle; ReadDir at offset 0 rebuilds
  // it (RD2). Entries follow `offset` (0 = from the start); at most max_entries (0 = all).
  // For readdirplus call Lookup(dir, name) for each entry actually emitted (not "." / "..").
  SysResult<DirHandle> OpenDir(const Cred& cred, NodeId node);
  SysResult<std::vector<DirEntry>> ReadDir(DirHandle handle, off_t offset, size_t max_entries = 0);
  SysResult<void> ReleaseDir(DirHandle handle);

  SysResult<Entry> Mkdir(const Cred& cred, NodeId parent, std::string_view name, mode_t mode);
  SysResult<Entry> Mknod(const Cred& cred, NodeId parent, std::string_view name, mode_t mode,
                         dev_t rdev);
  SysResult<Entry> Symlink(const Cred& cred, NodeId parent, std::string_view name,
                           std::string_view target);
  SysResult<Entry> Link(const Cred& cred, NodeId node, NodeId new_parent,
                        std::string_view new_name);
  SysResult<void> Unlink(const Cred& cred, NodeId parent, std::string_view name);
  SysResult<void> Rmdir(const Cred& cred, NodeId parent, std::string_view name);
  // flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (RENAME_WHITEOUT: EINVAL).
  SysResult<void> Rename(const Cred& cred, NodeId parent, std::string_view name, NodeId new_parent,
                         std::string_view new_name, unsigned flags);

  // Extended attributes; trusted.overlay.* is hidden and refused (XA1).
  SysResult<std::string> GetXattr(const Cred& cred, NodeId node, std::string_view name);
  SysResult<void> SetXattr(const Cred& cred, NodeId node, std::string_view name,
                           std::string_view value, int flags);  // XATTR_CREATE / XATTR_REPLACE
  SysResult<std::vector<std::string>> ListXattr(const Cred& cred, NodeId node);
  SysResult<void> RemoveXattr(const Cred& cred, NodeId node, std::string_view name);

  // The upper filesystem's statvfs (the top lower's for a read-only union).
  SysResult<struct statvfs> StatFs(NodeId node);

  // ---- Path level -------------------------------------------------------------------------------
  // Paths start at the union root ("/" or "" is the root). at_flags: AT_SYMLINK_NOFOLLOW where
  // the corresponding *at(2) call accepts it.
  // Resolves and returns an Entry with its lookup count incremented (Forget it when done).
  SysResult<Entry> LookupPath(const Cred& cred, std::string_view path, int at_flags = 0);
  SysResult<struct stat> Stat(const Cred& cred, std::string_view path, int at_flags = 0);
  SysResult<void> Access(const Cred& cred, std::string_view path, int mask, int at_flags = 0);
  SysResult<std::string> ReadLink(const Cred& cred, std::string_view path);
  // open(2): O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_DIRECTORY (EISDIR/ENOTDIR rules), O_APPEND.
  // The handle is released with Release and used with Read/Write/Fsync/Fallocate.
  SysResult<FileHandle> Open(const Cred& cred, std::string_view path, int flags, mode_t mode = 0);
  SysResult<void> Truncate(const Cred& cred, std::string_view path, off_t size);
  SysResult<void> Chmod(const Cred& cred, std::string_view path, mode_t mode, int at_flags = 0);
  SysResult<void> Chown(const Cred& cred, std::string_view path, uid_t uid, gid_t gid,
                        int at_flags = 0);
  // times as utimensat(2): UTIME_NOW / UTIME_OMIT honoured; nullptr = both now.
  SysResult<void> Utimens(const Cred& cred, std::string_view path, const struct timespec* times,
                          int at_flags = 0);
  // The whole merged listing (with "." and "..") as one OpenDir/ReadDir/ReleaseDir would give.
  SysResult<std::vector<DirEntry>> ReadDir(const Cred& cred, std::string_view path);
  SysResult<void> Mkdir(const Cred& cred, std::string_view path, mode_t mode);
  SysResult<void> Mknod(const Cred& cred, std::string_view path, mode_t mode, dev_t rdev);
  SysResult<void> Symlink(const Cred& cred, std::string_view target, std::string_view link_path);
  SysResult<void> Link(const Cred& cred, std::string_view old_path, std::string_view new_path);
  SysResult<void> Unlink(const Cred& cred, std::string_view path);
  SysResult<void> Rmdir(const Cred& cred, std::string_view path);
  SysResult<void> Rename(const Cred& cred, std::string_view old_path, std::string_view new_path,
                         unsigned flags = 0);
  SysResult<std::string> GetXattr(const Cred& cred, std::string_view path, std::string_view name,
                                  int at_flags = 0);
  SysResult<void> SetXattr(const Cred& cred, std::string_view path, std::string_view name,
                           std::string_view value, int flags = 0, int at_flags = 0);
  SysResult<std::vector<std::string>> ListXattr(const Cred& cred, std::string_view path,
                                                int at_flags = 0);
  SysResult<void> RemoveXattr(const Cred& cred, std::string_view path, std::string_view name,
                              int at_flags = 0);
  SysResult<struct statvfs> StatFs(std::string_view path);

  // ---- Removed names still held by a FUSE kernel (detached.cc) ----------------------------------
  // Unlink, Rmdir and Rename as at node level; when the object removed (for Rename: the target
  // replaced) is a node with a lookup count, also that object, detached from its name.
  SysResult<std::optional<DetachedObject>> UnlinkDetaching(const Cred& cred, NodeId parent,
                                                           std::string_view name);
  SysResult<std::optional<DetachedObject>> RmdirDetaching(const Cred& cred, NodeId parent,
                                                          std::string_view name);
  SysResult<std::optional<DetachedObject>> RenameDetaching(const Cred& cred, NodeId parent,
                                                           std::string_view name, NodeId new_parent,
                                                           std::string_view new_name,
                                                           unsigned flags);
  bool Known(NodeId node) const;  // the node still has a lookup count (or is the root)
  // The kernel overlay's answers for a detached object: its attributes (nlink 0 once its last
  // link is gone), opens of the object itself, attribute changes of an upper object. A lower
  // object cannot be copied up any more: changes fail EEXIST (ENOTDIR for a directory), as the
  // kernel's copy-up finds its old name taken (by the whiteout or a new object).
  SysResult<struct stat> GetAttr(const DetachedObject& d);
  SysResult<void> Access(const Cred& cred, const DetachedObject& d, int mask);
  SysResult<FileHandle> Open(const Cred& cred, const DetachedObject& d, int flags);
  SysResult<struct stat> SetAttr(const Cred& cred, const DetachedObject& d, unsigned mask,
                                 const SetAttrValues& values,
                                 std::optional<FileHandle> handle = std::nullopt);
  // Its xattrs, with the checks and names of a node's; changes of a lower object fail as above.
  SysResult<std::string> GetXattr(const Cred& cred, const DetachedObject& d, std::string_view name);
  SysResult<void> SetXattr(const Cred& cred, const DetachedObject& d, std::string_view name,
                           std::string_view value, int flags);
  SysResult<std::vector<std::string>> ListXattr(const Cred& cred, const DetachedObject& d);
  SysResult<void> RemoveXattr(const Cred& cred, const DetachedObject& d, std::string_view name);

  struct Impl;

 private:
  explicit Union(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ovlab::unionfs
