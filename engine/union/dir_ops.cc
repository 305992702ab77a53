// Namespace changes (the kernel's dir.c): create/mkdir/mknod/symlink/link build the object in the
// work dir and move it in (replacing a whiteout atomically; mkdir over a whiteout makes an opaque
// dir, OP1); unlink/rmdir leave a whiteout when a lower still holds the name (WO1); rename copies
// up and, for lower or merged directories, sets a redirect (RN2) or fails with EXDEV (RN1).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "union/engine.h"
#include "union/permission.h"
#include "union/xattr_names.h"

namespace ovlab::unionfs {

namespace {

constexpr size_t kRedirectMax = 256;  // the kernel's redirect_max default

bool IsAncestorOrSelf(const NodePtr& maybe_ancestor, NodePtr node) {
  for (; node; node = node->parent) {
    if (node == maybe_ancestor) return true;
  }
  return false;
}

SysResult<void> Sys(int rc) {
  if (rc != 0) return SysFail(errno);
  return {};
}

}  // namespace

SysResult<NodePtr> Union::Impl::Create(const Cred& cred, const NodePtr& dir, std::string_view name,
                                       mode_t mode, dev_t rdev, std::string_view link_target,
                                       const NodePtr& link_source) {
  if (!dir->is_dir()) return SysFail(ENOTDIR);
  if (name.size() > NAME_MAX) return SysFail(ENAMETOOLONG);
  if (!IsPlainName(name)) return SysFail(EEXIST);  // "." and ".." always exist
  if (auto existing = Child(dir, name); existing) {
    return SysFail(EEXIST);
  } else if (existing.error() != ENOENT) {
    return SysFail(existing.error());
  }
  if (read_only()) return SysFail(EROFS);
  auto dst = PermStatOf(*dir);
  if (!dst) return SysFail(dst.error());
  if (auto p = CheckPermission(cred, *dst, kMayWrite | kMayExec); !p) return SysFail(p.error());

  const mode_t type = link_source ? link_source->type : (mode & S_IFMT);
  struct stat src_st {};
  if (link_source) {
    if (link_source->is_dir()) return SysFail(EPERM);
    auto s = Attr(*link_source);
    if (!s) return SysFail(s.error());
    src_st = *s;
    // fs.protected_hardlinks: a non-owner may link only a plain file it can read and write.
    if (!cred.IsRoot() && cred.uid != src_st.st_uid) {
      bool safe = S_ISREG(src_st.st_mode) && !(src_st.st_mode & S_ISUID) &&
                  !((src_st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) &&
                  CheckPermission(cred, src_st, kMayRead | kMayWrite);
      if (!safe) return SysFail(EPERM);
    }
  } else if ((S_ISCHR(type) || S_ISBLK(type)) && !cred.IsRoot()) {
    return SysFail(EPERM);
  } else if (S_ISCHR(type) && rdev == 0) {
    return SysFail(EPERM);  // a 0/0 device would be a whiteout
  }

  if (auto c = CopyUp(dir, false); !c) return SysFail(c.error());
  if (link_source) {
    if (auto c = CopyUp(link_source, false); !c) return SysFail(c.error());
  }
  auto udir = UpperDirFd(dir);
  if (!udir) return SysFail(udir.error());
  std::string n(name);
  bool over_whiteout = false;
  if (auto st = StatAt(udir->get(), n); st) {
    if (!IsWhiteoutStat(*st)) return SysFail(EEXIST);
    over_whiteout = true;
  }

  // Owner: the caller; group: the directory's when it is set-group-ID (which dirs inherit).
  uid_t uid = cred.uid;
  gid_t gid = (dst->st_mode & S_ISGID) ? dst->st_gid : cred.gid;
  mode_t perm = mode & 07777;
  if (S_ISDIR(type) && (dst->st_mode & S_ISGID)) perm |= S_ISGID;

  const int wfd = work.get();
  const std::string tmp = TempName();
  auto fail = [&](int err) -> SysResult<NodePtr> {
    (void)RemoveTreeAt(wfd, tmp);
    return SysFail(err);
  };
  SysResult<void> made;
  if (link_source) {
    auto src = UpperEntry(*link_source);
    if (!src) return SysFail(src.error());
    made = Sys(::linkat(src->first.get(), src->second.c_str(), wfd, tmp.c_str(), 0));
  } else if (S_ISDIR(type)) {
    made = Sys(::mkdirat(wfd, tmp.c_str(), 0700));
  } else if (S_ISREG(type)) {
    int fd = ::openat(wfd, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    made = Sys(fd < 0 ? -1 : 0);
    if (fd >= 0) ::close(fd);
  } else if (S_ISLNK(type)) {
    made = Sys(::symlinkat(std::string(link_target).c_str(), wfd, tmp.c_str()));
  } else {
    made = Sys(::mknodat(wfd, tmp.c_str(), type | 0600, rdev));
  }
  if (!made) return SysFail(made.error());
  if (!link_source) {
    if (::fchownat(wfd, tmp.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return fail(errno);
    if (!S_ISLNK(type) && ::fchmodat(wfd, tmp.c_str(), perm, 0) != 0) return fail(errno);
  }
  bool opaque = S_ISDIR(type) && over_whiteout;  // OP1: the lower dir of that name stays hidden
  if (opaque) {
    if (auto x = SetXattrAt(wfd, tmp, kXattrOpaque, "y"); !x) return fail(x.error());
  }
  if (!over_whiteout) {
    if (::renameat2(wfd, tmp.c_str(), udir->get(), n.c_str(), RENAME_NOREPLACE) != 0)
      return fail(errno);
  } else if (!S_ISDIR(type)) {
    if (::renameat2(wfd, tmp.c_str(), udir->get(), n.c_str(), 0) != 0) return fail(errno);
  } else {
    // A directory cannot replace a device: swap them, then drop the whiteout.
    if (::renameat2(wfd, tmp.c_str(), udir->get(), n.c_str(), RENAME_EXCHANGE) != 0)
      return fail(errno);
    (void)::unlinkat(wfd, tmp.c_str(), 0);
  }

  auto node = std::make_shared<Node>();
  node->parent = dir;
  node->name = n;
  node->type = type;
  node->upper = true;
  node->opaque = opaque;
  if (link_source) {
    node->metacopy = link_source->metacopy;
    node->origin = link_source->origin;
    node->origin_fh = link_source->origin_fh;
    node->lowers = link_source->lowers;
    link_source->perm.reset();
  }
  CacheChild(dir, node);
  return node;
}

SysResult<void> Union::Impl::Remove(const Cred& cred, const NodePtr& dir, std::string_view name,
                                    bool rmdir) {
  if (read_only()) return SysFail(EROFS);
  if (!dir->is_dir()) return SysFail(ENOTDIR);
  auto child = Child(dir, name);
  if (!child) return SysFail(child.error());
  NodePtr node = *child;
  auto dst = PermStatOf(*dir);
  if (!dst) return SysFail(dst.error());
  if (auto p = CheckPermission(cred, *dst, kMayWrite | kMayExec); !p) return SysFail(p.error());
  auto vst = PermStatOf(*node);
  if (!vst) return SysFail(vst.error());
  if (auto p = CheckSticky(cred, *dst, *vst); !p) return SysFail(p.error());
  if (rmdir && !node->is_dir()) return SysFail(ENOTDIR);
  if (!rmdir && node->is_dir()) return SysFail(EISDIR);
  if (rmdir) {
    auto empty = CheckEmptyDir(node);
    if (!empty) return SysFail(empty.error());
  }
  if (auto c = CopyUp(dir, false); !c) return SysFail(c.error());
  auto udir = UpperDirFd(dir);
  if (!udir) return SysFail(udir.error());
  std::string n(name);
  const bool need_whiteout = LowerPositive(dir, name);
  const int wfd = work.get();
  if (!need_whiteout) {
    if (node->upper) {
      if (rmdir) {
        // Leftover whiteouts of a formerly merged dir would make rmdir fail: move it aside.
        std::string tmp = TempName();
        if (::renameat2(udir->get(), n.c_str(), wfd, tmp.c_str(), RENAME_NOREPLACE) != 0)
          return SysFail(errno);
        (void)RemoveTreeAt(wfd, tmp);
      } else if (::unlinkat(udir->get(), n.c_str(), 0) != 0) {
        return SysFail(errno);
      }
    }
  } else {
    std::string tmp = TempName();
    if (::mknodat(wfd, tmp.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) return SysFail(errno);
    unsigned flags = node->upper ? RENAME_EXCHANGE : RENAME_NOREPLACE;
    if (::renameat2(wfd, tmp.c_str(), udir->get(), n.c_str(), flags) != 0) {
      int err = errno;
      (void)::unlinkat(wfd, tmp.c_str(), 0);
      return SysFail(err);
    }
    if (node->upper) (void)RemoveTreeAt(wfd, tmp);  // the removed object, now in work
  }
  Evict(dir, n);
  node->unlinked = true;
  DropDirFd(*node);
  return {};
}

namespace {

// The redirect the kernel would store for a directory moved away from its place: its own name
// for a move within the same parent, else the absolute lower path, built from the names (or
// earlier redirects) of it and its ancestors.
std::string RedirectFor(const Node& node, bool samedir) {
  if (!node.redirect.empty() && (samedir || node.redirect[0] == '/')) return node.redirect;
  if (samedir) return node.name;
  std::string path;
  for (const Node* d = &node; d && d->parent; d = d->parent.get()) {
    const std::string& part = d->redirect.empty() ? d->name : d->redirect;
    if (!part.empty() && part[0] == '/') {
      path = part + (path.empty() ? "" : "/" + path);
      return path;
    }
    path = path.empty() ? part : part + "/" + path;
  }
  return "/" + path;
}

}  // namespace

// Two names are one object for rename (a no-op) only when they share an upper inode.
bool Union::Impl::SameUpperObject(const Node& a, const Node& b) {
  if (!a.upper || !b.upper) return false;
  auto ea = UpperEntry(a), eb = UpperEntry(b);
  if (!ea || !eb) return false;
  auto sa = StatAt(ea->first.get(), ea->second), sb = StatAt(eb->first.get(), eb->second);
  return sa && sb && sa->st_ino == sb->st_ino && sa->st_dev == sb->st_dev;
}

// The checks come in the kernel's order, so that where several errors apply the caller gets the
// kernel's errno: do_renameat2 (fs/namei.c: flags, EROFS, the lookups, RENAME_NOREPLACE /
// RENAME_EXCHANGE, the ancestor traps), vfs_rename (the same object, may_delete / may_create,
// the cross-directory write check), then ovl_rename (fs/overlayfs/dir.c: EXDEV for a directory
// it cannot move, before it looks at the target's contents for ENOTEMPTY).
SysResult<void> Union::Impl::Rename(const Cred& cred, const NodePtr& odir, std::string_view oname,
                                    const NodePtr& ndir, std::string_view nname, unsigned flags) {
  // do_renameat2
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE | RENAME_EXCHANGE)) return SysFail(EINVAL);
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return SysFail(EINVAL);
  const bool exchange = flags & RENAME_EXCHANGE;
  if (!odir->is_dir() || !ndir->is_dir()) return SysFail(ENOTDIR);
  if (!IsPlainName(oname) || !IsPlainName(nname)) return SysFail(EBUSY);
  if (read_only()) return SysFail(EROFS);
  auto oc = Child(odir, oname);
  if (!oc) return SysFail(oc.error());
  NodePtr old = *oc;
  if (nname.size() > NAME_MAX) return SysFail(ENAMETOOLONG);
  NodePtr target;
  if (auto nc = Child(ndir, nname); nc) {
    target = *nc;
  } else if (nc.error() != ENOENT) {
    return SysFail(nc.error());
  }
  if ((flags & RENAME_NOREPLACE) && target) return SysFail(EEXIST);
  if (exchange && !target) return SysFail(ENOENT);
  // The traps of lock_rename: the source may not go below itself, the target may not be an
  // ancestor of the source (it would not be empty).
  if (old->is_dir() && IsAncestorOrSelf(old, ndir)) return SysFail(EINVAL);
  if (target && target != old && target->is_dir() && IsAncestorOrSelf(target, odir))
    return SysFail(exchange ? EINVAL : ENOTEMPTY);

  // vfs_rename: one object under both names is a no-op (also two names of one upper inode:
  // lower hard links are separate overlay inodes without the index feature, the kernel renames
  // those), then may_delete of the source, may_create or may_delete of the target.
  if (target == old) return {};
  if (target && !old->is_dir() && SameUpperObject(*old, *target)) return {};
  auto ost = PermStatOf(*odir), nst = PermStatOf(*ndir), vst = PermStatOf(*old);
  if (!ost || !nst || !vst) return SysFail(EIO);
  if (auto p = CheckPermission(cred, *ost, kMayWrite | kMayExec); !p) return p;
  if (auto p = CheckSticky(cred, *ost, *vst); !p) return p;
  if (auto p = CheckPermission(cred, *nst, kMayWrite | kMayExec); !p) return p;
  if (target) {
    auto tst = PermStatOf(*target);
    if (!tst) return SysFail(tst.error());
    if (auto p = CheckSticky(cred, *nst, *tst); !p) return p;
    if (!exchange) {
      if (old->is_dir() && !target->is_dir()) return SysFail(ENOTDIR);
      if (!old->is_dir() && target->is_dir()) return SysFail(EISDIR);
    }
  }
  if (odir != ndir) {  // a directory moving to another parent gets its ".." changed
    if (old->is_dir()) {
      if (auto p = CheckPermission(cred, *vst, kMayWrite); !p) return p;
    }
    if (exchange && target->is_dir()) {
      auto tst = PermStatOf(*target);
      if (!tst) return SysFail(tst.error());
      if (auto p = CheckPermission(cred, *tst, kMayWrite); !p) return p;
    }
  }

  // ovl_rename. RN1: a directory with lower parts moves only by redirect (EXDEV, which mv(1)
  // answers by copying), whatever the target holds.
  const bool redirect_on = options.redirect_dir || options.metacopy;
  auto has_lower = [](const NodePtr& n) { return !n->lowers.empty(); };
  if (old->is_dir() && has_lower(old) && !redirect_on) return SysFail(EXDEV);
  if (exchange && target->is_dir() && has_lower(target) && !redirect_on) return SysFail(EXDEV);
  // As the kernel, a pure upper target dir (no lower part, no origin: it cannot hold whiteouts)
  // is left to the upper filesystem, whose answer when it is not empty varies (xfs: EEXIST).
  const bool onto_pure_upper_dir = target && !exchange && target->is_dir() && target->upper &&
                                   target->lowers.empty() && !target->origin;
  if (target && !exchange && target->is_dir() && !onto_pure_upper_dir) {
    if (auto e = CheckEmptyDir(target); !e) return SysFail(e.error());
  }

  const bool samedir = odir == ndir;
  const bool old_needs_whiteout = !exchange && LowerPositive(odir, oname);
  for (const NodePtr& d : {odir, ndir}) {
    if (auto c = CopyUp(d, false); !c) return c;
  }
  if (auto c = CopyUp(old, false); !c) return c;
  if (exchange) {
    if (auto c = CopyUp(target, false); !c) return c;
  }

  // Marks on the moving objects: redirect for dirs with lower parts (and metacopy files),
  // opaque for pure upper dirs entering a merged parent.
  auto mark = [&](const NodePtr& n, const NodePtr& to_dir) -> SysResult<void> {
    auto e = UpperEntry(*n);
    if (!e) return SysFail(e.error());
    bool moves_lower = has_lower(n) && (n->is_dir() || n->metacopy);
    if (moves_lower) {
      std::string r = RedirectFor(*n, samedir);
      if (r.size() > kRedirectMax) return SysFail(EXDEV);
      if (r != n->redirect) {
        if (auto x = SetXattrAt(e->first.get(), e->second, kXattrRedirect, r); !x) return x;
        n->redirect = r;
      }
    } else if (n->is_dir() && !n->opaque && !to_dir->lowers.empty()) {
      if (auto x = SetXattrAt(e->first.get(), e->second, kXattrOpaque, "y"); !x) return x;
      n->opaque = true;
    }
    return {};
  };
  if (auto m = mark(old, ndir); !m) return m;
  if (exchange) {
    if (auto m = mark(target, odir); !m) return m;
  }

  auto ou = UpperDirFd(odir), nu = UpperDirFd(ndir);
  if (!ou || !nu) return SysFail(EIO);
  std::string on(oname), nn(nname);
  const int wfd = work.get();
  if (exchange) {
    if (::renameat2(ou->get(), on.c_str(), nu->get(), nn.c_str(), RENAME_EXCHANGE) != 0)
      return SysFail(errno);
  } else {
    bool over_whiteout = false;
    if (auto st = StatAt(nu->get(), nn); st) {
      over_whiteout = IsWhiteoutStat(*st);
      if (!over_whiteout && S_ISDIR(st->st_mode) && !onto_pure_upper_dir) {
        // An empty merged target may still hold whiteouts: move it aside first.
        std::string tmp = TempName();
        if (::renameat2(nu->get(), nn.c_str(), wfd, tmp.c_str(), RENAME_NOREPLACE) != 0)
          return SysFail(errno);
        (void)RemoveTreeAt(wfd, tmp);
      }
    }
    if (over_whiteout && old->is_dir()) {
      // A directory cannot replace the whiteout device: swap, and the whiteout lands on the old
      // name (wanted when a lower holds it) or is dropped.
      if (::renameat2(ou->get(), on.c_str(), nu->get(), nn.c_str(), RENAME_EXCHANGE) != 0)
        return SysFail(errno);
      if (!old_needs_whiteout) (void)::unlinkat(ou->get(), on.c_str(), 0);
    } else {
      unsigned f = old_needs_whiteout ? RENAME_WHITEOUT : 0;
      if (::renameat2(ou->get(), on.c_str(), nu->get(), nn.c_str(), f) != 0) return SysFail(errno);
    }
  }

  // The lookup cache follows the move.
  odir->children.erase(on);
  odir->negatives.erase(on);
  if (exchange) {
    ndir->children.erase(nn);
    target->parent = odir;
    target->name = on;
    CacheChild(odir, target);
  } else {
    if (target) {
      target->unlinked = true;
      DropDirFd(*target);
    }
    Evict(ndir, nn);
  }
  old->parent = ndir;
  old->name = nn;
  CacheChild(ndir, old);
  return {};
}

SysResult<UniqueFd> Union::Impl::OpenFileFd(const Cred& cred, const NodePtr& node, int flags) {
  // ESTALE makes the kernel's VFS look the name up again, so an open racing with an unlink or
  // rename of its name behaves as if it came after it.
  if (Unlinked(*node)) return SysFail(ESTALE);
  auto st = Attr(*node);
  if (!st) return SysFail(st.error());
  const int acc = flags & O_ACCMODE;
  const bool writes = acc == O_WRONLY || acc == O_RDWR;
  int mask = (acc == O_RDONLY ? kMayRead : acc == O_WRONLY ? kMayWrite : kMayRead | kMayWrite);
  if (flags & O_TRUNC) mask |= kMayWrite;
  if (S_ISLNK(st->st_mode)) return SysFail(ELOOP);
  if (S_ISDIR(st->st_mode) && (mask & kMayWrite)) return SysFail(EISDIR);
  if ((mask & kMayWrite) && read_only() && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)))
    return SysFail(EROFS);
  if (auto p = CheckPermission(cred, *st, mask); !p) return SysFail(p.error());
  int real_flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
  real_flags |= O_NOFOLLOW;
  if (S_ISREG(st->st_mode) && ((mask & kMayWrite) || writes)) {
    // CU1: open for write or with O_TRUNC copies up, with data (MC1: completes a metacopy);
    // with O_TRUNC there is no data to copy (as the kernel's copy-up of size 0).
    if (auto c = CopyUp(node, true, (flags & O_TRUNC) != 0); !c) return SysFail(c.error());
    auto fd = DataFd(*node, real_flags);
    if (fd && (flags & O_TRUNC)) node->perm.reset();
    return fd;
  }
  return DataFd(*node, real_flags & ~O_TRUNC);
}

}  // namespace ovlab::unionfs
