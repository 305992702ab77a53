// A directory of a layer store, held open. Every path below it is resolved beneath it without
// following any symlink (OpenBeneath): nothing done through it reaches outside the store, whatever
// the store holds. Paths are relative ("<id>/diff"); errors name them in full.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ovlab::layout {

class ConfinedDir {
 public:
  // The directory the user named (--root): symlinks in `path` itself are the user's choice and
  // followed; nothing below it is.
  static Result<ConfinedDir> Open(const std::string& path);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }  // O_PATH
  std::string PathOf(std::string_view rel) const;

  // A directory below this one (a symlink there is an error).
  Result<ConfinedDir> Dir(std::string_view rel) const;
  Result<UniqueFd> Open(std::string_view rel, int flags, mode_t mode = 0) const;
  // lstat: a symlink as the last component is described, not followed.
  Result<struct stat> Stat(std::string_view rel) const;
  // False when `rel` is missing; an error when it cannot be told (a symlink on the way).
  Result<bool> Exists(std::string_view rel) const;
  Result<std::string> ReadLink(std::string_view rel) const;
  // A regular file's content (not a symlink, FIFO or device); more than max_bytes is an error.
  Result<std::string> ReadFile(std::string_view rel, size_t max_bytes) const;
  // Atomic (temporary file, fsync, rename); a symlink at `rel` is replaced, not followed.
  Status WriteFile(std::string_view rel, std::string_view content, mode_t mode) const;
  // Exactly `mode`, whatever the umask; an existing entry is EEXIST.
  Status MakeDir(std::string_view rel, mode_t mode) const;
  // A fresh directory "<prefix><random>" (mode exactly `mode`); returns its name.
  Result<std::string> MakeTempDir(std::string_view prefix, mode_t mode) const;
  // Renames `from` to a fresh name "<prefix><random>" beside it; returns that name.
  Result<std::string> RenameToTemp(std::string_view from, std::string_view prefix) const;
  Status Symlink(const std::string& target, std::string_view rel) const;
  Status Unlink(std::string_view rel) const;     // a missing entry is success
  Status RemoveDir(std::string_view rel) const;  // rmdir; a missing entry is success
  // rm -rf without following symlinks or crossing mounts; a missing entry is success.
  Status RemoveTree(std::string_view rel) const;
  // Fails (EEXIST) rather than replace an existing `to`.
  Status Rename(std::string_view from, std::string_view to) const;
  Result<std::vector<std::string>> List(std::string_view rel = "") const;

 private:
  ConfinedDir(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  // The directory holding the last component of `rel` (opened beneath, unless it is this one)
  // and that component's name.
  struct Entry {
    UniqueFd owned;
    int dir_fd = -1;
    std::string name;
  };
  Result<Entry> EntryOf(std::string_view rel) const;
  // Calls make(name) with fresh names "<prefix><random>" until one is not taken (EEXIST).
  Result<std::string> WithTempName(std::string_view prefix,
                                   const std::function<Status(const std::string&)>& make) const;

  std::string path_;
  UniqueFd fd_;
};

}  // namespace ovlab::layout
