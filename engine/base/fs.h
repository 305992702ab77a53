// Small filesystem helpers shared by every part of ovlab. Nothing here follows a symlink
// unless its name says so.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ovlab {

Result<std::string> ReadFileText(const std::string& path);
// The rest of an open file, from its offset; `what` names it in errors.
Result<std::string> ReadFdText(int fd, const std::string& what);
// Writes via "<path>.tmp-<pid>", fsync, rename: readers see the old or the new content, never a
// part.
Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);
// Same for `name` in the directory dir_fd. Neither follows a symlink at the temporary name, and a
// symlink at `name` is replaced, not followed.
Status WriteFileAtomicAt(int dir_fd, const std::string& name, std::string_view content,
                         mode_t mode = 0644);
// mkdir -p; existing directories are fine, an existing non-directory is ENOTDIR.
Status MakeDirs(const std::string& path, mode_t mode = 0755);
// One mkdir with exactly `mode` whatever the umask (mkdir, then chmod); EEXIST is an error.
Status MakeDir(const std::string& path, mode_t mode);
// rm -rf without following symlinks and without crossing into other mounts (EBUSY then).
// A missing path is success.
Status RemoveTree(const std::string& path);
// Same, on a directory fd relative name (used inside layer roots).
Status RemoveTreeAt(int dirfd, const std::string& name);
bool PathExists(const std::string& path);  // lstat succeeds
Result<struct stat> LStat(const std::string& path);
Result<std::string> ReadLink(const std::string& path);
Result<std::vector<std::string>> ListDir(const std::string& path);  // names without . and ..
// Same for an open directory (not consumed; read from its start); `what` names it in errors.
Result<std::vector<std::string>> ListDirFd(int dir_fd, const std::string& what);
Result<UniqueFd> OpenPath(const std::string& path, int flags, mode_t mode = 0);

// "a" + "b" -> "a/b", without doubling slashes.
std::string JoinPath(std::string_view a, std::string_view b);
std::string BaseName(std::string_view path);
std::string DirName(std::string_view path);

// An access to a FUSE mount whose daemon is gone fails ENOTCONN, or ECONNABORTED for a request
// the kernel had queued while it aborted the connection.
inline bool IsDisconnectedErrno(int err) {
  return err == ENOTCONN || err == ECONNABORTED;
}

// Makes a fresh directory "<parent>/<prefix>XXXXXX" (mkdtemp).
Result<std::string> MakeTempDir(const std::string& parent, std::string_view prefix);

}  // namespace ovlab
