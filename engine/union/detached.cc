// Removed names still held by a FUSE kernel (union.h, DetachedObject). The kernel's VFS may
// still stat, open or change a node after its name is gone: an open whose lookup raced an
// unlink, fstat or fchmod of an open deleted file. The kernel's overlay answers from the real
// object its dentry keeps alive, so the removal keeps that object open for the node here.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include "base/strings.h"
#include "union/engine.h"
#include "union/permission.h"
#include "union/xattr_names.h"

namespace ovlab::unionfs {

namespace {

using Lock = std::lock_guard<std::mutex>;
using Detaching = SysResult<std::optional<DetachedObject>>;

// The object `name` in `dir` names, opened before it goes away, when the kernel holds its node.
std::optional<DetachedObject> OpenObject(Union::Impl& impl, const NodePtr& dir,
                                         std::string_view name) {
  auto child = impl.Child(dir, name);
  if (!child || (*child)->nlookup == 0) return std::nullopt;
  const NodePtr& node = *child;
  struct stat real {};
  auto fd = impl.TopObjectFd(*node, &real);
  if (!fd) return std::nullopt;
  const struct stat st = impl.AttrFrom(*node, real);
  DetachedObject d;
  d.node = node->id;
  d.object = std::move(*fd);
  d.upper = node->upper;
  if (node->upper && node->metacopy) {
    if (auto data = impl.DataFd(*node, O_PATH); data) d.lower_data = std::move(*data);
  }
  d.ino = st.st_ino;
  d.dev = st.st_dev;
  return d;
}

// Runs a removal of `name` in `dir` and hands back the object it detached from a held node (only
// when the node was really unlinked: a rename onto itself removes nothing).
Detaching RemoveKeeping(Union::Impl& impl, const NodePtr& dir, std::string_view name,
                        const std::function<SysResult<void>()>& remove) {
  auto object = OpenObject(impl, dir, name);
  if (auto r = remove(); !r) return SysFail(r.error());
  if (object) {
    NodePtr node = impl.GetNode(object->node);
    if (!node || !Unlinked(*node)) object.reset();
  }
  return object;
}

// A metacopy upper (MC1) that has not got its data yet: that is still the lower file's.
bool HoldsNoData(const DetachedObject& d) {
  return d.lower_data && GetXattrFd(d.object.get(), kXattrMetacopy).has_value();
}

// The kernel's data copy-up of the metacopy inode a removed dentry still holds (`emptied`: an
// open with O_TRUNC, nothing to copy).
SysResult<void> CopyUpDetachedData(Union::Impl& impl, const DetachedObject& d, bool emptied) {
  UniqueFd in;
  if (!emptied) {
    in = UniqueFd(::open(ProcFdPath(d.lower_data.get()).c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return SysFail(errno);
  }
  UniqueFd out(::open(ProcFdPath(d.object.get()).c_str(), O_WRONLY | O_CLOEXEC));
  if (!out) return SysFail(errno);
  return impl.FillMetacopy(in.get(), out.get());
}

SysResult<struct stat> StatOf(const DetachedObject& d) {
  struct stat st {};
  if (::fstat(d.object.get(), &st) != 0) return SysFail(errno);
  st.st_ino = d.ino;
  st.st_dev = d.dev;
  struct stat data {};  // as the kernel, a metacopy's blocks are its data's
  if (HoldsNoData(d) && ::fstat(d.lower_data.get(), &data) == 0) st.st_blocks = data.st_blocks;
  return st;
}

// A change of a removed lower object needs a copy-up, which finds its name taken (by the
// whiteout or a new object): the kernel's answer is EEXIST for a file and ENOTDIR for a directory.
int LostCopyUp(const struct stat& st) {
  return S_ISDIR(st.st_mode) ? ENOTDIR : EEXIST;
}

SysResult<void> Sys(int rc) {
  if (rc != 0) return SysFail(errno);
  return {};
}

// Applies the changes to the (upper) object through its descriptor.
SysResult<void> ApplySetAttr(const DetachedObject& d, const struct stat& st, unsigned mask,
                             const SetAttrValues& v, mode_t mode, const OpenFile* file) {
  const int fd = d.object.get();
  const std::string path = ProcFdPath(fd);
  if (mask & kSetSize) {
    auto r = Sys(file ? ::ftruncate(file->fd.get(), v.size) : ::truncate(path.c_str(), v.size));
    if (!r) return r;
  }
  if (mask & (kSetUid | kSetGid)) {
    uid_t uid = (mask & kSetUid) ? v.uid : static_cast<uid_t>(-1);
    gid_t gid = (mask & kSetGid) ? v.gid : static_cast<gid_t>(-1);
    if (auto r = Sys(::fchownat(fd, "", uid, gid, AT_EMPTY_PATH)); !r) return r;
  }
  if (mask & kSetMode) {
    if (S_ISLNK(st.st_mode)) return SysFail(EOPNOTSUPP);
    if (auto r = Sys(::chmod(path.c_str(), mode)); !r) return r;
  }
  if (mask & (kSetAtime | kSetAtimeNow | kSetMtime | kSetMtimeNow)) {
    struct timespec ts[2];
    SetAttrTimes(mask, v, ts);
    if (auto r = Sys(::utimensat(AT_FDCWD, path.c_str(), ts, 0)); !r) return r;
  }
  return {};
}

}  // namespace

#define OVLAB_DIR_NODE(var, id)     \
  NodePtr var = impl_->GetNode(id); \
  if (!var) return SysFail(ESTALE)

Detaching Union::UnlinkDetaching(const Cred& cred, NodeId parent, std::string_view name) {
  Lock lock(impl_->mu);
  OVLAB_DIR_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  return RemoveKeeping(*impl_, dir, name, [&] { return impl_->Remove(cred, dir, name, false); });
}

Detaching Union::RmdirDetaching(const Cred& cred, NodeId parent, std::string_view name) {
  Lock lock(impl_->mu);
  OVLAB_DIR_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  return RemoveKeeping(*impl_, dir, name, [&] { return impl_->Remove(cred, dir, name, true); });
}

Detaching Union::RenameDetaching(const Cred& cred, NodeId parent, std::string_view name,
                                 NodeId new_parent, std::string_view new_name, unsigned flags) {
  Lock lock(impl_->mu);
  OVLAB_DIR_NODE(odir, parent);
  OVLAB_DIR_NODE(ndir, new_parent);
  if (auto p = impl_->MayLookup(cred, odir); !p) return SysFail(p.error());
  if (auto p = impl_->MayLookup(cred, ndir); !p) return SysFail(p.error());
  auto rename = [&] { return impl_->Rename(cred, odir, name, ndir, new_name, flags); };
  if (flags & RENAME_EXCHANGE) {  // both objects keep a name
    if (auto r = rename(); !r) return SysFail(r.error());
    return std::optional<DetachedObject>();
  }
  return RemoveKeeping(*impl_, ndir, new_name, rename);
}

bool Union::Known(NodeId node) const {
  Lock lock(impl_->mu);
  return impl_->GetNode(node) != nullptr;
}

SysResult<struct stat> Union::GetAttr(const DetachedObject& d) {
  return StatOf(d);
}

SysResult<void> Union::Access(const Cred& cred, const DetachedObject& d, int mask) {
  auto st = StatOf(d);
  if (!st) return SysFail(st.error());
  if (mask == F_OK) return {};
  return CheckPermission(cred, *st, mask);
}

SysResult<FileHandle> Union::Open(const Cred& cred, const DetachedObject& d, int flags) {
  Lock lock(impl_->mu);
  NodePtr node = impl_->GetNode(d.node);
  if (!node) return SysFail(ENOENT);
  auto st = StatOf(d);
  if (!st) return SysFail(st.error());
  const int acc = flags & O_ACCMODE;
  int mask = acc == O_RDONLY ? kMayRead : acc == O_WRONLY ? kMayWrite : kMayRead | kMayWrite;
  if (flags & O_TRUNC) mask |= kMayWrite;
  if (S_ISLNK(st->st_mode)) return SysFail(ELOOP);
  if (S_ISDIR(st->st_mode) && (mask & kMayWrite)) return SysFail(EISDIR);
  if (auto p = CheckPermission(cred, *st, mask); !p) return SysFail(p.error());
  if (S_ISREG(st->st_mode) && (mask & kMayWrite) && !d.upper) return SysFail(LostCopyUp(*st));
  int source = d.object.get();
  if (S_ISREG(st->st_mode) && HoldsNoData(d)) {
    if (!(mask & kMayWrite)) {
      source = d.lower_data.get();
    } else if (auto c = CopyUpDetachedData(*impl_, d, flags & O_TRUNC); !c) {
      return SysFail(c.error());
    }
  }
  // The /proc link is the object itself: O_NOFOLLOW would refuse it.
  int real = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW);
  if (!(mask & kMayWrite)) real &= ~O_TRUNC;
  int fd = ::open(ProcFdPath(source).c_str(), real | O_CLOEXEC);
  if (fd < 0) return SysFail(errno);
  return impl_->AddFile(UniqueFd(fd), node, flags);
}

SysResult<struct stat> Union::SetAttr(const Cred& cred, const DetachedObject& d, unsigned mask,
                                      const SetAttrValues& values,
                                      std::optional<FileHandle> handle) {
  Lock lock(impl_->mu);
  const OpenFile* file = nullptr;
  if (handle) {
    auto it = impl_->files.find(*handle);
    if (it == impl_->files.end()) return SysFail(EBADF);
    file = it->second.get();
  }
  auto st = StatOf(d);
  if (!st) return SysFail(st.error());
  auto mode = CheckSetAttr(cred, *st, mask, values, file);
  if (!mode) return SysFail(mode.error());
  constexpr unsigned kChanges =
      kSetSize | kSetUid | kSetGid | kSetMode | kSetAtime | kSetMtime | kSetAtimeNow | kSetMtimeNow;
  if (!(mask & kChanges)) return st;
  if (!d.upper) return SysFail(LostCopyUp(*st));
  if ((mask & kSetSize) && HoldsNoData(d)) {  // as the kernel: the data first, then the truncate
    if (auto c = CopyUpDetachedData(*impl_, d, false); !c) return SysFail(c.error());
  }
  if (auto r = ApplySetAttr(d, *st, mask, values, *mode, file); !r) return SysFail(r.error());
  return StatOf(d);
}

SysResult<std::string> Union::GetXattr(const Cred& cred, const DetachedObject& d,
                                       std::string_view name) {
  auto st = StatOf(d);
  if (!st) return SysFail(st.error());
  auto stored = XattrStoredName(cred, *st, name, kMayRead);
  if (!stored) return SysFail(stored.error());
  return GetXattrFd(d.object.get(), *stored);
}

SysResult<std::vector<std::string>> Union::ListXattr(const Cred& cred, const DetachedObject& d) {
  return VisibleXattrNames(cred, d.object.get());
}

SysResult<void> Union::SetXattr(const Cred& cred, const DetachedObject& d, std::string_view name,
                                std::string_view value, int flags) {
  if (impl_->read_only()) return SysFail(EROFS);
  auto st = StatOf(d);
  if (!st) return SysFail(st.error());
  auto stored = XattrStoredName(cred, *st, name, kMayWrite);
  if (!stored) return SysFail(stored.error());
  if (!d.upper) return SysFail(LostCopyUp(*st));
  return SetXattrFd(d.object.get(), *stored, value, flags);
}

SysResult<void> Union::RemoveXattr(const Cred& cred, const DetachedObject& d,
                                   std::string_view name) {
  if (impl_->read_only()) return SysFail(EROFS);
  auto st = StatOf(d);
  if (!st) return SysFail(st.error());
  auto stored = XattrStoredName(cred, *st, name, kMayWrite);
  if (!stored) return SysFail(stored.error());
  if (auto v = GetXattrFd(d.object.get(), *stored); !v) return SysFail(v.error());
  if (!d.upper) return SysFail(LostCopyUp(*st));
  return RemoveXattrFd(d.object.get(), *stored);
}

}  // namespace ovlab::unionfs
