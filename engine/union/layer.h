// One layer directory of a union and the only ways the engine touches it: every path inside a
// layer is resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS),
// so a hostile layer (a symlink `etc -> /etc`, a name with "..") can never lead outside its root.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ovlab::unionfs {

struct Layer {
  std::string path;  // as given
  UniqueFd root;     // O_PATH | O_DIRECTORY
  dev_t dev = 0;
  int fsid = 0;  // index of this layer's filesystem among the union's distinct filesystems
};

// Opens the layer root directory. Errors are for people (Union::Open reports them).
Result<Layer> OpenLayer(const std::string& path);

// True when `name` is one path component the engine may create or look up ("", ".", "..", and
// names with '/' are not). ENAMETOOLONG past NAME_MAX is the caller's check.
bool IsPlainName(std::string_view name);

// "a/b" + "c" -> "a/b/c"; "" + "c" -> "c". Paths inside layers are relative, "" is the root.
std::string JoinRel(std::string_view dir, std::string_view name);

// openat2 beneath the layer root; `rel` is "" for the root itself, of any length (a path past
// PATH_MAX is opened in pieces). O_NOFOLLOW applies to the last component (O_PATH | O_NOFOLLOW on
// a symlink gives the symlink); any other symlink is ELOOP.
SysResult<UniqueFd> OpenIn(const Layer& layer, std::string_view rel, int flags, mode_t mode = 0);
// openat of one plain name (IsPlainName) in a directory fd already inside a layer: nothing to
// resolve, so no walk can leave the layer; O_NOFOLLOW is added (a final symlink is not followed).
SysResult<UniqueFd> OpenNameAt(int dirfd, std::string_view name, int flags);
// The directory `rel` of the layer as an O_PATH fd, for the *at() calls on its entries.
SysResult<UniqueFd> OpenDirIn(const Layer& layer, std::string_view rel);
// lstat of `rel` inside the layer.
SysResult<struct stat> StatIn(const Layer& layer, std::string_view rel);

// fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW).
SysResult<struct stat> StatAt(int dirfd, std::string_view name);
SysResult<std::string> ReadLinkAt(int dirfd, std::string_view name);

// "/proc/self/fd/N": reaches the object an fd of any kind (O_PATH too) holds, not a name.
std::string ProcFdPath(int fd);
// The same for the entry `name` of the directory fd `dirfd` ("/proc/self/fd/N/name").
std::string ProcFdPath(int dirfd, std::string_view name);

// Extended attributes of an object given by an fd of any kind (O_PATH included, symlinks too).
SysResult<std::string> GetXattrFd(int fd, std::string_view name);
SysResult<void> SetXattrFd(int fd, std::string_view name, std::string_view value, int flags = 0);
SysResult<void> RemoveXattrFd(int fd, std::string_view name);
SysResult<std::vector<std::string>> ListXattrFd(int fd);
// Same for the entry `name` of directory `dirfd` (not following a final symlink).
SysResult<std::string> GetXattrAt(int dirfd, std::string_view name, std::string_view xname);
SysResult<std::vector<std::string>> ListXattrAt(int dirfd, std::string_view name);
// For an fd open for reading (not O_PATH): f*xattr directly, no /proc path walk.
SysResult<std::string> GetXattrOfOpenFd(int fd, std::string_view name);
SysResult<std::vector<std::string>> ListXattrOfOpenFd(int fd);
SysResult<void> SetXattrOfOpenFd(int fd, std::string_view name, std::string_view value);
SysResult<void> SetXattrAt(int dirfd, std::string_view name, std::string_view xname,
                           std::string_view value, int flags = 0);

// One directory's entries with d_type and d_ino, in the order getdents gives them (ext4 hashes
// "." and ".." in among the names, so a merged listing keeps them where the layer put them).
struct RawDirEntry {
  std::string name;
  ino_t ino = 0;
  unsigned char type = 0;
};
enum class DotEntries { kSkip, kKeep };
// dir_fd: O_RDONLY | O_DIRECTORY
SysResult<std::vector<RawDirEntry>> ReadDirFd(int dir_fd, DotEntries dots = DotEntries::kSkip);

// A whiteout is a character device 0/0 (WO1).
inline bool IsWhiteoutStat(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}

}  // namespace ovlab::unionfs
