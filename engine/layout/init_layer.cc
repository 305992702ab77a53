#include "layout/init_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/strings.h"

namespace ovlab::layout {
namespace {

enum class Kind { kDir, kFile, kSymlink };
struct InitEntry {
  const char* path;
  Kind kind;
  const char* symlink_target;
};

constexpr InitEntry kInitEntries[] = {
    {"/dev/pts", Kind::kDir, nullptr},      {"/dev/shm", Kind::kDir, nullptr},
    {"/proc", Kind::kDir, nullptr},         {"/sys", Kind::kDir, nullptr},
    {"/.dockerenv", Kind::kFile, nullptr},  {"/etc/resolv.conf", Kind::kFile, nullptr},
    {"/etc/hosts", Kind::kFile, nullptr},   {"/etc/hostname", Kind::kFile, nullptr},
    {"/dev/console", Kind::kFile, nullptr}, {"/etc/mtab", Kind::kSymlink, "/proc/mounts"},
};
constexpr mode_t kInitMode = 0755;

// Docker unlinks every component first: a file (or stale symlink) where a directory must be goes.
void UnlinkNonDirComponents(const std::string& root, const std::string& path) {
  std::string prefix = root;
  for (const auto& part : Split(path.substr(1), '/')) {
    prefix = JoinPath(prefix, part);
    ::unlink(prefix.c_str());  // fails harmlessly (EISDIR, ENOENT) for what must stay
  }
}

Status MakeParents(const std::string& dir) {
  if (PathExists(dir)) return {};
  if (auto st = MakeParents(DirName(dir)); !st) return st;
  return MakeDir(dir, kInitMode);
}

Status MakeEntry(const std::string& full, const InitEntry& e) {
  switch (e.kind) {
    case Kind::kDir:
      return MakeDir(full, kInitMode);
    case Kind::kFile: {
      auto fd = OpenPath(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, kInitMode);
      if (!fd) return std::unexpected(fd.error());
      if (::fchmod(fd->get(), kInitMode) != 0) return FailErrno(errno, "chmod " + full);
      return {};
    }
    case Kind::kSymlink:
      if (::symlink(e.symlink_target, full.c_str()) != 0)
        return FailErrno(errno, "symlink " + full);
      return {};
  }
  return {};
}

}  // namespace

Status WriteInitLayer(const std::string& root) {
  for (const auto& e : kInitEntries) {
    std::string full = JoinPath(root, e.path);
    UnlinkNonDirComponents(root, e.path);
    if (PathExists(full)) continue;
    if (auto st = MakeParents(DirName(full)); !st) return st;
    if (auto st = MakeEntry(full, e); !st) return st;
  }
  return {};
}

}  // namespace ovlab::layout
