// Attributes as the union reports them (the kernel's inode.c): the visible object's stat with
// the overlay's st_dev/st_ino rules (ID1) and merged-directory nlink; setattr with copy-up (CU1)
// and the kernel's permission checks (PM1).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "union/engine.h"
#include "union/permission.h"

namespace ovlab::unionfs {

namespace {

// The origin's inode number, when the kernel would use it: decodable, same type, and a directory
// or a file with one link (copy-up breaks lower hard links, HL1).
ino_t OriginIno(Union::Impl& impl, Node& node) {
  if (node.origin_ino) return *node.origin_ino;
  ino_t ino = 0;
  for (size_t i = 0; i < impl.lowers.size() && ino == 0; ++i) {
    if (i > 0 && impl.lowers[i].dev == impl.lowers[i - 1].dev) continue;
    auto info = DecodeOrigin(node.origin_fh, impl.lowers[i], impl.lower_uuids[i]);
    if (!info) continue;
    if (info->type == node.type && (S_ISDIR(node.type) || info->nlink == 1)) ino = info->ino;
    break;
  }
  node.origin_ino = ino;
  return ino;
}

}  // namespace

SysResult<struct stat> Union::Impl::Attr(Node& node) {
  struct stat st {};
  if (!node.upper && node.lower_attr && options.lookup_cache) {
    st = *node.lower_attr;
  } else if (!node.upper && !node.lowers.empty()) {
    auto real = StatIn(lowers[node.lowers[0].layer], node.lowers[0].path);
    if (!real) return SysFail(real.error());
    st = *real;
    node.lower_attr = st;
  } else if (node.upper && !node.parent) {
    if (::fstat(upper->root.get(), &st) != 0) return SysFail(errno);  // the root: open already
  } else if (node.upper) {
    auto e = UpperEntry(node);
    if (!e) return SysFail(e.error());
    auto real = StatAt(e->first.fd, e->second);
    if (!real) return SysFail(real.error());
    if (!HasNodeType(node, *real)) return SysFail(ESTALE);
    st = *real;
  } else {
    auto fd = TopObjectFd(node, &st);
    if (!fd) return SysFail(fd.error());
  }
  return AttrFrom(node, st);
}

struct stat Union::Impl::AttrFrom(Node& node, struct stat st) {
  node.type = st.st_mode & S_IFMT;
  node.perm = Node::Perm{st.st_mode, st.st_uid, st.st_gid};
  if (node.metacopy && !node.lowers.empty()) {
    // A metacopy file occupies the blocks of its data, as the kernel reports.
    auto data = StatIn(lowers[node.lowers[0].layer], node.lowers[0].path);
    if (data) st.st_blocks = data->st_blocks;
  }
  bool is_dir = S_ISDIR(st.st_mode);
  if (is_dir && node.merged()) st.st_nlink = 1;
  if (node.upper && node.origin) {
    if (ino_t o = OriginIno(*this, node)) st.st_ino = o;
  } else if (is_dir && node.upper && node.parent && !node.lowers.empty() && samefs) {
    // A merged directory (not the root) keeps the number of its topmost lower dir, as the
    // kernel reports it even without an origin record.
    auto lower = StatIn(lowers[node.lowers[0].layer], node.lowers[0].path);
    if (lower) st.st_ino = lower->st_ino;
  }
  if (options.inode_policy == InodePolicy::kXino && !samefs) {
    int fsid = node.upper ? upper->fsid : lowers[node.lowers[0].layer].fsid;
    st.st_ino |= static_cast<ino_t>(fsid + 1) << 56;
    st.st_dev = union_dev;
  } else if (samefs) {
    st.st_dev = union_dev;
  } else if (is_dir) {
    // Layers on several filesystems: directories take the union's device and a private number.
    st.st_dev = union_dev;
    st.st_ino = node.id ? node.id : reinterpret_cast<uintptr_t>(&node);
  }
  return st;
}

SysResult<Node::Perm> Union::Impl::PermOf(Node& node) {
  if (node.perm) return *node.perm;
  auto st = Attr(node);
  if (!st) return SysFail(st.error());
  return *node.perm;
}

SysResult<struct stat> Union::Impl::PermStatOf(Node& node) {
  auto p = PermOf(node);
  if (!p) return SysFail(p.error());
  struct stat st {};
  st.st_mode = p->mode;
  st.st_uid = p->uid;
  st.st_gid = p->gid;
  return st;
}

SysResult<void> Union::Impl::MayLookup(const Cred& cred, const NodePtr& dir) {
  if (!dir->is_dir()) return SysFail(ENOTDIR);
  auto st = PermStatOf(*dir);
  if (!st) return SysFail(st.error());
  return CheckPermission(cred, *st, kMayExec);
}

SysResult<void> Union::Impl::Access(const Cred& cred, const NodePtr& node, int mask) {
  auto st = Attr(*node);
  if (!st) return SysFail(st.error());
  if (mask == F_OK) return {};
  if ((mask & W_OK) && read_only() &&
      (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode)))
    return SysFail(EROFS);
  return CheckPermission(cred, *st, mask);
}

SysResult<mode_t> CheckSetAttr(const Cred& cred, const struct stat& st, unsigned mask,
                               const SetAttrValues& v, const OpenFile* file) {
  if (mask & kSetSize) {
    if (S_ISDIR(st.st_mode)) return SysFail(EISDIR);
    if (!S_ISREG(st.st_mode) || v.size < 0) return SysFail(EINVAL);
    if (file) {
      if ((file->flags & O_ACCMODE) == O_RDONLY) return SysFail(EINVAL);
    } else if (auto p = CheckPermission(cred, st, kMayWrite); !p) {
      return SysFail(p.error());
    }
  }
  if (mask & (kSetUid | kSetGid)) {
    uid_t uid = (mask & kSetUid) ? v.uid : static_cast<uid_t>(-1);
    gid_t gid = (mask & kSetGid) ? v.gid : static_cast<gid_t>(-1);
    if (auto p = CheckChown(cred, st, uid, gid); !p) return SysFail(p.error());
  }
  mode_t mode = st.st_mode & 07777;
  if (mask & kSetMode) {
    auto m = CheckChmod(cred, st, v.mode);
    if (!m) return SysFail(m.error());
    mode = *m;
  }
  bool atime = mask & (kSetAtime | kSetAtimeNow), mtime = mask & (kSetMtime | kSetMtimeNow);
  if (atime || mtime) {
    bool explicit_times = (atime && !(mask & kSetAtimeNow)) || (mtime && !(mask & kSetMtimeNow));
    if (auto p = CheckUtimes(cred, st, explicit_times); !p) return SysFail(p.error());
  }
  return mode;
}

void SetAttrTimes(unsigned mask, const SetAttrValues& v, struct timespec ts[2]) {
  auto pick = [&](unsigned set, unsigned now, const struct timespec& t) {
    return (mask & now) ? timespec{0, UTIME_NOW} : (mask & set) ? t : timespec{0, UTIME_OMIT};
  };
  ts[0] = pick(kSetAtime, kSetAtimeNow, v.atime);
  ts[1] = pick(kSetMtime, kSetMtimeNow, v.mtime);
}

SysResult<struct stat> Union::Impl::SetAttr(const Cred& cred, const NodePtr& node, unsigned mask,
                                            const SetAttrValues& v, OpenFile* file) {
  auto st = Attr(*node);
  if (!st) return SysFail(st.error());
  if (read_only()) return SysFail(EROFS);
  auto new_mode = CheckSetAttr(cred, *st, mask, v, file);
  if (!new_mode) return SysFail(new_mode.error());
  bool atime = mask & (kSetAtime | kSetAtimeNow), mtime = mask & (kSetMtime | kSetMtimeNow);
  if (!(mask & (kSetSize | kSetUid | kSetGid | kSetMode)) && !atime && !mtime) return *st;

  // CU1: every attribute change copies up; only a size change needs the data (MC1).
  if (auto c = CopyUp(node, (mask & kSetSize) != 0); !c) return SysFail(c.error());
  if ((mask & kSetSize) && node->metacopy) {
    if (auto c = CopyUpData(node); !c) return SysFail(c.error());
  }
  auto entry = UpperEntry(*node);
  if (!entry) return SysFail(entry.error());
  int dfd = entry->first.get();
  const char* name = entry->second.c_str();

  if (mask & kSetSize) {
    auto fd = OpenNameAt(dfd, name, O_WRONLY);
    if (!fd) return SysFail(fd.error());
    if (::ftruncate(fd->get(), v.size) != 0) return SysFail(errno);
  }
  if (mask & (kSetUid | kSetGid)) {
    uid_t uid = (mask & kSetUid) ? v.uid : static_cast<uid_t>(-1);
    gid_t gid = (mask & kSetGid) ? v.gid : static_cast<gid_t>(-1);
    if (::fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return SysFail(errno);
  }
  if (mask & kSetMode) {
    if (S_ISLNK(st->st_mode)) return SysFail(EOPNOTSUPP);
    if (::fchmodat(dfd, name, *new_mode, 0) != 0) return SysFail(errno);
  }
  if (atime || mtime) {
    struct timespec ts[2];
    SetAttrTimes(mask, v, ts);
    if (::utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) return SysFail(errno);
  }
  node->perm.reset();
  return Attr(*node);
}

}  // namespace ovlab::unionfs
