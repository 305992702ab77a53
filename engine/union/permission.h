// The kernel's permission rules (generic_permission, may_delete, chmod/chown/utimes checks) on
// the attributes the union reports, for a given caller. Because owner, group and mode are copied
// up, the answers are the same before and after copy-up (PM1).
#pragma once

#include <sys/stat.h>

#include "base/result.h"
#include "union/cred.h"

namespace ovlab::unionfs {

// Access bits as in access(2): R_OK 4, W_OK 2, X_OK 1.
inline constexpr int kMayRead = 4, kMayWrite = 2, kMayExec = 1;

// generic_permission: owner/group/other class, root overrides all but exec of a file without any
// x bit (and dirs always searchable/readable/writable for root). EACCES on refusal.
SysResult<void> CheckPermission(const Cred& cred, const struct stat& st, int mask);

// Sticky directory rule for unlink/rmdir/rename: EPERM unless the caller owns the entry or the
// directory, or is root.
SysResult<void> CheckSticky(const Cred& cred, const struct stat& dir, const struct stat& victim);

// chmod: caller must own the object or be root (EPERM). Returns the mode actually set: S_ISGID is
// dropped when a non-root caller is not in the file's group (as the kernel does).
SysResult<mode_t> CheckChmod(const Cred& cred, const struct stat& st, mode_t mode);

// chown: uid change needs root; gid change needs owner + membership of the new group, or root.
SysResult<void> CheckChown(const Cred& cred, const struct stat& st, uid_t uid, gid_t gid);

// utimensat: explicit times need ownership or root (EPERM); "now" needs ownership, root or write
// permission (EACCES).
SysResult<void> CheckUtimes(const Cred& cred, const struct stat& st, bool explicit_times);

// Owner or root (CAP_FOWNER), as for setting user xattrs on a sticky dir, etc.
inline bool IsOwnerOrRoot(const Cred& cred, const struct stat& st) {
  return cred.IsRoot() || cred.uid == st.st_uid;
}

}  // namespace ovlab::unionfs
