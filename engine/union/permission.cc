#include "union/permission.h"

#include <cerrno>

namespace ovlab::unionfs {

SysResult<void> CheckPermission(const Cred& cred, const struct stat& st, int mask) {
  mask &= kMayRead | kMayWrite | kMayExec;
  if (cred.IsRoot()) {
    // CAP_DAC_OVERRIDE: everything, except executing a non-directory without any x bit.
    if ((mask & kMayExec) && !S_ISDIR(st.st_mode) && !(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
      return SysFail(EACCES);
    return {};
  }
  mode_t bits;
  if (cred.uid == st.st_uid) {
    bits = (st.st_mode >> 6) & 7;
  } else if (cred.InGroup(st.st_gid)) {
    bits = (st.st_mode >> 3) & 7;
  } else {
    bits = st.st_mode & 7;
  }
  if ((static_cast<int>(bits) & mask) != mask) return SysFail(EACCES);
  return {};
}

SysResult<void> CheckSticky(const Cred& cred, const struct stat& dir, const struct stat& victim) {
  if (!(dir.st_mode & S_ISVTX)) return {};
  if (cred.IsRoot() || cred.uid == victim.st_uid || cred.uid == dir.st_uid) return {};
  return SysFail(EPERM);
}

SysResult<mode_t> CheckChmod(const Cred& cred, const struct stat& st, mode_t mode) {
  if (!IsOwnerOrRoot(cred, st)) return SysFail(EPERM);
  mode &= 07777;
  if (!cred.IsRoot() && !cred.InGroup(st.st_gid)) mode &= ~static_cast<mode_t>(S_ISGID);
  return mode;
}

SysResult<void> CheckChown(const Cred& cred, const struct stat& st, uid_t uid, gid_t gid) {
  if (cred.IsRoot()) return {};
  // Only the owner may "change" the owner to itself or the group to one it belongs to.
  if (uid != static_cast<uid_t>(-1) && (cred.uid != st.st_uid || uid != st.st_uid))
    return SysFail(EPERM);
  if (gid != static_cast<gid_t>(-1)) {
    if (cred.uid != st.st_uid || !(gid == st.st_gid || cred.InGroup(gid))) return SysFail(EPERM);
  }
  return {};
}

SysResult<void> CheckUtimes(const Cred& cred, const struct stat& st, bool explicit_times) {
  if (IsOwnerOrRoot(cred, st)) return {};
  if (explicit_times) return SysFail(EPERM);
  return CheckPermission(cred, st, kMayWrite);
}

}  // namespace ovlab::unionfs
