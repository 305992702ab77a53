// What a case body works with: the target under test plus a transcript of every observed result.
// The transcript is target independent (union paths, errno names, relations instead of raw inode
// numbers), so the engine's and fuse's transcripts must equal the kernel's line for line.
// Expect() also states the kernel's documented behaviour, checked on the kernel.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "conformance/target.h"

namespace ovlab::conformance {

// "ok" or the errno's name ("ENOENT").
std::string ErrnoName(int err);
template <class T>
std::string Res(const SysResult<T>& r) {
  return r ? std::string("ok") : ErrnoName(r.error());
}
// 0 or the errno, for RunAs bodies.
template <class T>
int Err(const SysResult<T>& r) {
  return r ? 0 : r.error();
}
// "file", "dir", "symlink", "fifo", "chr", "blk", "sock".
std::string TypeName(mode_t mode);
// Names of open flags: "O_RDWR|O_CREAT".
std::string OpenFlagsName(int flags);

class CaseRun {
 public:
  CaseRun(Target& target, LayerSet layers, std::string case_dir);

  Ops& t() { return target_.ops(); }
  const LayerSet& layers() const { return layers_; }

  // Records an observation that is compared across targets.
  void Note(const std::string& step, const std::string& observed);
  // Same, plus the documented kernel behaviour; a difference on the kernel is a violation.
  void Expect(const std::string& step, const std::string& observed, const std::string& expected);

  // Common composite observations (each returns what it records).
  std::string OpenClose(const std::string& path, int flags, mode_t mode = 0644);
  std::string ReadAll(const std::string& path);  // content or errno name
  std::string WriteAt(const std::string& path, int flags, const std::string& data);
  std::string TypeOf(const std::string& path);  // lstat type and mode, or errno
  std::string StatLine(const std::string& path, bool follow = false);
  std::string List(const std::string& dir);  // sorted names (without . and ..) or errno
  // Upper-layer placement of `path`: "absent", "whiteout", "file", "dir opaque=y", ...
  std::string Placement(const std::string& path);
  // Records the whole merged view under `dir` (names, types, modes, owners, sizes, contents,
  // symlink targets, xattrs, link counts, st_dev relation) as "view ..." lines.
  void View(const std::string& dir = "/");

  // Runs `op` as uid:gid (no supplementary groups); its errno as a name ("ok", "EACCES").
  std::string As(uid_t uid, gid_t gid, const std::function<int(Ops&)>& op);
  // Inode number relation for stability checks: "same" or "changed" (or the errno).
  std::string SameIno(const SysResult<struct stat>& before, const std::string& path_after);
  // Whether atime and mtime are as `before`: "same", or which of them changed (or the errno).
  std::string SameTimes(const SysResult<struct stat>& before, const std::string& path_after);

  // Unmounts and mounts again over the same layers.
  Status Remount();
  // The upper layer becomes the top lower under a fresh upper (layer rotation).
  Status Rotate();

  const std::vector<std::string>& transcript() const { return transcript_; }
  const std::vector<std::string>& expectations() const { return expectations_; }
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  void ViewEntry(const std::string& path, dev_t root_dev);

  Target& target_;
  LayerSet layers_;
  std::string case_dir_;
  int generation_ = 0;
  std::vector<std::string> transcript_, expectations_, violations_;
};

// Placement of `path` inside an upper directory read directly.
std::string UpperPlacement(const std::string& upper, const std::string& path);

}  // namespace ovlab::conformance
