// Merged readdir (the kernel's readdir.c, RD1): every layer directory of the stack is read once,
// upper names win, whiteouts (WO1/WO2) hide and are hidden, duplicates are dropped. The order is
// the kernel's: names only in the lowest layer first, then the upper and middle layers' names.
#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <unordered_set>

#include "union/engine.h"
#include "union/xattr_names.h"

namespace ovlab::unionfs {

namespace {

struct Source {
  const Layer* layer;
  std::string rel;
  bool is_upper;
};

bool IsWhiteoutEntry(int dir_fd, const RawDirEntry& e, bool xwhiteout_dir) {
  if (e.type == DT_CHR || e.type == DT_UNKNOWN) {
    auto st = StatAt(dir_fd, e.name);
    if (st && IsWhiteoutStat(*st)) return true;
  }
  if (xwhiteout_dir && (e.type == DT_REG || e.type == DT_UNKNOWN)) {
    auto st = StatAt(dir_fd, e.name);
    if (st && S_ISREG(st->st_mode) && st->st_size == 0 &&
        GetXattrAt(dir_fd, e.name, kXattrWhiteout))
      return true;
  }
  return false;
}

}  // namespace

SysResult<std::vector<DirEntry>> Union::Impl::MergedListing(const NodePtr& dir) {
  if (!dir->is_dir()) return SysFail(ENOTDIR);
  std::vector<Source> sources;
  if (dir->upper) sources.push_back(Source{&*upper, UnionPath(*dir), true});
  for (const auto& l : dir->lowers) sources.push_back(Source{&lowers[l.layer], l.path, false});
  const bool merged = sources.size() > 1;
  const bool filter = merged || dir->origin;

  std::vector<DirEntry> main, lowest;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < sources.size(); ++i) {
    const Source& src = sources[i];
    auto fd = OpenIn(*src.layer, src.rel, O_RDONLY | O_DIRECTORY);
    if (!fd) return SysFail(fd.error());
    auto raw = ReadDirFd(fd->get());
    if (!raw) return SysFail(raw.error());
    bool xdir = filter && !src.is_upper && [&] {
      auto v = GetXattrFd(fd->get(), kXattrOpaque);
      return v && *v == "x";
    }();
    bool is_lowest = merged && i + 1 == sources.size();
    std::vector<DirEntry>& out = is_lowest ? lowest : main;
    for (auto& e : *raw) {
      if (!seen.insert(e.name).second) continue;
      if (filter && IsWhiteoutEntry(fd->get(), e, xdir)) continue;
      DirEntry d;
      d.name = std::move(e.name);
      d.ino = e.ino;
      d.type = e.type;
      // Copied-up entries report their origin's inode number, as stat does (ID1).
      if (src.is_upper && dir->impure) {
        auto child = Child(dir, d.name);
        if (child) {
          auto st = Attr(**child);
          if (st) d.ino = st->st_ino;
        }
      }
      out.push_back(std::move(d));
    }
  }
  std::vector<DirEntry> result;
  result.reserve(lowest.size() + main.size() + 2);
  for (auto& e : lowest) result.push_back(std::move(e));
  // "." and ".." lead the top layer's names.
  auto self = Attr(*dir);
  if (!self) return SysFail(self.error());
  NodePtr up = dir->parent ? dir->parent : dir;
  auto parent = Attr(*up);
  if (!parent) return SysFail(parent.error());
  result.push_back(DirEntry{".", self->st_ino, DT_DIR, 0});
  result.push_back(DirEntry{"..", parent->st_ino, DT_DIR, 0});
  for (auto& e : main) result.push_back(std::move(e));
  for (size_t i = 0; i < result.size(); ++i) result[i].offset = static_cast<off_t>(i + 1);
  return result;
}

SysResult<std::vector<std::string>> Union::Impl::CheckEmptyDir(const NodePtr& dir) {
  auto listing = MergedListing(dir);
  if (!listing) return SysFail(listing.error());
  for (const auto& e : *listing) {
    if (e.name != "." && e.name != "..") return SysFail(ENOTEMPTY);
  }
  std::vector<std::string> whiteouts;
  if (!dir->upper) return whiteouts;
  auto fd = OpenIn(*upper, UnionPath(*dir), O_RDONLY | O_DIRECTORY);
  if (!fd) return SysFail(fd.error());
  auto raw = ReadDirFd(fd->get());
  if (!raw) return SysFail(raw.error());
  for (auto& e : *raw) whiteouts.push_back(std::move(e.name));  // all hidden, so all whiteouts
  return whiteouts;
}

}  // namespace ovlab::unionfs
