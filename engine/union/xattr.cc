// Extended attributes (the kernel's xattrs.c): reads come from the visible object, changes copy
// up first (CU1). XA1 as the kernel (>= 6.7) does it: a user's "trusted.overlay.X" is stored
// escaped as "trusted.overlay.overlay.X" and listed unescaped, so the overlay's own private xattrs
// (opaque, redirect, origin, ...) are never visible or changeable as themselves. Namespace rules
// follow the VFS: trusted.* is for root only, user.* only on regular files and directories and
// guarded by the read/write permission.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>

#include "union/engine.h"
#include "union/permission.h"
#include "union/xattr_names.h"

namespace ovlab::unionfs {

namespace {

bool IsTrusted(std::string_view name) {
  return name.substr(0, 8) == "trusted.";
}
bool IsUser(std::string_view name) {
  return name.substr(0, 5) == "user.";
}

// The VFS xattr_permission() checks for a read (mask kMayRead) or a change (kMayWrite).
SysResult<void> XattrPermission(const Cred& cred, const struct stat& st, std::string_view name,
                                int mask) {
  if (IsTrusted(name)) {
    if (!cred.IsRoot()) return SysFail(mask == kMayWrite ? EPERM : ENODATA);
    return {};
  }
  if (IsUser(name)) {
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
      return SysFail(mask == kMayWrite ? EPERM : ENODATA);
    }
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && mask == kMayWrite &&
        !IsOwnerOrRoot(cred, st))
      return SysFail(EPERM);
  }
  if (mask == kMayWrite || IsUser(name)) return CheckPermission(cred, st, mask);
  return {};
}

}  // namespace

// The stored name of a readable (kMayRead) or changeable (kMayWrite) xattr of an object with
// owner/group/mode `st`.
SysResult<std::string> XattrStoredName(const Cred& cred, const struct stat& st,
                                       std::string_view name, int mask) {
  if (auto p = XattrPermission(cred, st, name, mask); !p) return SysFail(p.error());
  return EscapeXattrName(name);
}

SysResult<std::vector<std::string>> VisibleXattrNames(const Cred& cred, int fd) {
  auto names = ListXattrFd(fd);
  if (!names) return names;
  std::vector<std::string> out;
  for (auto& n : *names) {
    if (IsPrivateXattr(n)) continue;
    if (IsTrusted(n) && !cred.IsRoot()) continue;
    out.push_back(UnescapeXattrName(n));
  }
  return out;
}

SysResult<std::string> Union::Impl::GetXattr(const Cred& cred, const NodePtr& node,
                                             std::string_view name) {
  auto st = PermStatOf(*node);
  if (!st) return SysFail(st.error());
  auto stored = XattrStoredName(cred, *st, name, kMayRead);
  if (!stored) return SysFail(stored.error());
  auto fd = TopObjectFd(*node);
  if (!fd) return SysFail(fd.error());
  return GetXattrFd(fd->get(), *stored);
}

SysResult<void> Union::Impl::SetXattr(const Cred& cred, const NodePtr& node, std::string_view name,
                                      std::string_view value, int flags) {
  auto st = PermStatOf(*node);
  if (!st) return SysFail(st.error());
  if (read_only()) return SysFail(EROFS);
  auto stored = XattrStoredName(cred, *st, name, kMayWrite);
  if (!stored) return SysFail(stored.error());
  if (auto c = CopyUp(node, false); !c) return c;
  auto e = UpperEntry(*node);
  if (!e) return SysFail(e.error());
  return SetXattrAt(e->first.get(), e->second, *stored, value, flags);
}

SysResult<std::vector<std::string>> Union::Impl::ListXattr(const Cred& cred, const NodePtr& node) {
  auto fd = TopObjectFd(*node);
  if (!fd) return SysFail(fd.error());
  return VisibleXattrNames(cred, fd->get());
}

SysResult<void> Union::Impl::RemoveXattr(const Cred& cred, const NodePtr& node,
                                         std::string_view name) {
  auto st = PermStatOf(*node);
  if (!st) return SysFail(st.error());
  if (read_only()) return SysFail(EROFS);
  auto stored = XattrStoredName(cred, *st, name, kMayWrite);
  if (!stored) return SysFail(stored.error());
  auto fd = TopObjectFd(*node);
  if (!fd) return SysFail(fd.error());
  // Removing a name the object does not have is ENODATA, without a copy-up.
  if (auto v = GetXattrFd(fd->get(), *stored); !v) return SysFail(v.error());
  if (auto c = CopyUp(node, false); !c) return c;
  auto up = TopObjectFd(*node);
  if (!up) return SysFail(up.error());
  return RemoveXattrFd(up->get(), *stored);
}

}  // namespace ovlab::unionfs
