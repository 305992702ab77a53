// Merged readdir (the kernel's readdir.c, RD1): every layer directory of the stack is read once,
// upper names win, whiteouts (WO1/WO2) hide and are hidden, duplicates are dropped. The order is
// the kernel's: names only in the lowest layer first, then the upper and middle layers' names.
#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <unordered_map>

#include "union/engine.h"
#include "union/xattr_names.h"

namespace ovlab::unionfs {

namespace {

struct Source {
  const Layer* layer;  // none for the upper layer, opened through its cached dir fd
  std::string rel;
  bool is_upper() const { return layer == nullptr; }
};

enum class Whiteout { kNone, kCharDev, kXattr };

Whiteout WhiteoutKind(int dir_fd, const RawDirEntry& e, bool xwhiteout_dir) {
  if (e.type == DT_CHR || e.type == DT_UNKNOWN) {
    auto st = StatAt(dir_fd, e.name);
    if (st && IsWhiteoutStat(*st)) return Whiteout::kCharDev;
  }
  if (xwhiteout_dir && (e.type == DT_REG || e.type == DT_UNKNOWN)) {
    auto st = StatAt(dir_fd, e.name);
    if (st && S_ISREG(st->st_mode) && st->st_size == 0 &&
        GetXattrAt(dir_fd, e.name, kXattrWhiteout))
      return Whiteout::kXattr;
  }
  return Whiteout::kNone;
}

// The upper directory open for reading, through its cached fd: no walk of the union path.
SysResult<UniqueFd> OpenUpperDirToList(Union::Impl& impl, const NodePtr& dir) {
  auto d = impl.UpperDirFd(dir);
  if (!d) return SysFail(d.error());
  int fd = ::openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysFail(errno);
  return UniqueFd(fd);
}

}  // namespace

SysResult<std::vector<DirEntry>> Union::Impl::MergedListing(const NodePtr& dir, bool* xwhiteouts) {
  if (xwhiteouts) *xwhiteouts = false;
  if (!dir->is_dir()) return SysFail(ENOTDIR);
  std::vector<Source> sources;
  if (dir->upper) sources.push_back(Source{nullptr, ""});
  for (const auto& l : dir->lowers) sources.push_back(Source{&lowers[l.layer], l.path});
  const bool merged = sources.size() > 1;
  const bool filter = merged || dir->origin;

  // Entries in merge order; a name met again in the lowest layer moves (with its upper data)
  // to the front section, in the lowest layer's order, as the kernel's readdir cache does.
  struct Slot {
    DirEntry entry;
    bool hidden = false;  // a whiteout: takes the name, never listed
    bool lowest = false;
  };
  std::vector<Slot> slots;
  std::vector<size_t> lowest_order;
  std::unordered_map<std::string, size_t> by_name;
  auto self = Attr(*dir);
  if (!self) return SysFail(self.error());
  NodePtr up = dir->parent ? dir->parent : dir;
  auto parent = Attr(*up);
  if (!parent) return SysFail(parent.error());

  for (size_t i = 0; i < sources.size(); ++i) {
    const Source& src = sources[i];
    auto fd = src.is_upper() ? OpenUpperDirToList(*this, dir)
                             : OpenIn(*src.layer, src.rel, O_RDONLY | O_DIRECTORY);
    if (!fd) return SysFail(fd.error());
    // "." and ".." keep the place getdents gives them (first on tmpfs and xfs, hashed in among
    // the names on ext4): the kernel caches them like any name, so offsets count them there.
    auto raw = ReadDirFd(fd->get(), DotEntries::kKeep);
    if (!raw) return SysFail(raw.error());
    bool xdir = filter && !src.is_upper() && [&] {
      auto v = GetXattrFd(fd->get(), kXattrOpaque);
      return v && *v == "x";
    }();
    const bool is_lowest = merged && i + 1 == sources.size();
    for (auto& e : *raw) {
      auto it = by_name.find(e.name);
      if (it != by_name.end()) {
        if (is_lowest && !slots[it->second].lowest) {
          slots[it->second].lowest = true;
          lowest_order.push_back(it->second);
        }
        continue;
      }
      Slot slot;
      if (filter && e.name != "." && e.name != "..") {
        Whiteout kind = WhiteoutKind(fd->get(), e, xdir);
        slot.hidden = kind != Whiteout::kNone;
        if (kind == Whiteout::kXattr && xwhiteouts) *xwhiteouts = true;
      }
      slot.entry.ino = e.name == "." ? self->st_ino : e.name == ".." ? parent->st_ino : e.ino;
      slot.entry.name = std::move(e.name);
      slot.entry.type = e.type;
      // Copied-up entries report their origin's inode number, as stat does (ID1).
      if (!slot.hidden && src.is_upper() && dir->impure && slot.entry.name != "." &&
          slot.entry.name != "..") {
        auto child = Child(dir, slot.entry.name);
        if (child) {
          auto st = Attr(**child);
          if (st) slot.entry.ino = st->st_ino;
        }
      }
      slot.lowest = is_lowest;
      by_name.emplace(slot.entry.name, slots.size());
      if (is_lowest) lowest_order.push_back(slots.size());
      slots.push_back(std::move(slot));
    }
  }
  std::vector<DirEntry> result;
  result.reserve(slots.size());
  for (size_t idx : lowest_order) {
    if (!slots[idx].hidden) result.push_back(slots[idx].entry);
  }
  for (const Slot& slot : slots) {
    if (!slot.lowest && !slot.hidden) result.push_back(slot.entry);
  }
  for (size_t i = 0; i < result.size(); ++i) result[i].offset = static_cast<off_t>(i + 1);
  return result;
}

SysResult<std::vector<std::string>> Union::Impl::CheckEmptyDir(const NodePtr& dir) {
  bool xwhiteouts = false;
  auto listing = MergedListing(dir, &xwhiteouts);
  if (!listing) return SysFail(listing.error());
  if (xwhiteouts) return SysFail(ENOTEMPTY);
  for (const auto& e : *listing) {
    if (e.name != "." && e.name != "..") return SysFail(ENOTEMPTY);
  }
  std::vector<std::string> whiteouts;
  if (!dir->upper) return whiteouts;
  auto fd = OpenUpperDirToList(*this, dir);
  if (!fd) return SysFail(fd.error());
  auto raw = ReadDirFd(fd->get());
  if (!raw) return SysFail(raw.error());
  for (auto& e : *raw) whiteouts.push_back(std::move(e.name));  // all hidden, so all whiteouts
  return whiteouts;
}

}  // namespace ovlab::unionfs
