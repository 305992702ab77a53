#include "drivers/tree_stats.h"

#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <functional>

#include "base/fs.h"
#include "base/strings.h"
#include "layout/whiteout.h"

namespace ovlab::drivers {
namespace {

// Visits every object below the top of `view` (not the top itself), parents before children,
// with its path relative to the top ("a/b") and its lstat.
using Visitor = std::function<Status(const std::string& rel, const struct stat& st)>;

Status Walk(const TreeView& view, const std::string& rel, const Visitor& visit) {
  auto names = view.List(rel);
  if (!names) return std::unexpected(names.error());
  std::sort(names->begin(), names->end());
  for (const auto& n : *names) {
    std::string child = rel.empty() ? n : rel + "/" + n;
    auto st = view.Stat(child);
    if (!st) return std::unexpected(st.error());
    if (auto r = visit(child, *st); !r) return r;
    if (S_ISDIR(st->st_mode)) {
      if (auto r = Walk(view, child, visit); !r) return r;
    }
  }
  return {};
}

bool SameObject(const TreeView& a_view, const struct stat& a, const TreeView& b_view,
                const struct stat& b, const std::string& rel) {
  if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) return true;
  if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) return false;
  if (a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid) return false;
  if (a.st_rdev != b.st_rdev) return false;
  if (a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec) return false;
  if (S_ISDIR(a.st_mode)) return true;  // a directory's size says nothing about its content
  if (a.st_size != b.st_size) return false;
  if (S_ISLNK(a.st_mode)) {
    auto ta = a_view.ReadLink(rel), tb = b_view.ReadLink(rel);
    return ta && tb && *ta == *tb;
  }
  return true;
}

void SortChanges(std::vector<Change>& changes) {
  std::sort(changes.begin(), changes.end(),
            [](const Change& a, const Change& b) { return a.path < b.path; });
}

}  // namespace

Result<LayerUsage> TreeUsage(const std::string& dir, const InodeSet* exclude) {
  TreeView view(dir);
  auto top = view.Stat("");
  if (!top) return std::unexpected(top.error());
  LayerUsage usage;
  InodeSet seen;
  auto count = [&](const struct stat& st) {
    std::pair key{st.st_dev, st.st_ino};
    if (exclude && exclude->contains(key)) return;
    if (!seen.insert(key).second) return;
    ++usage.inodes;
    usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  };
  count(*top);
  auto st = Walk(view, "", [&](const std::string&, const struct stat& s) -> Status {
    count(s);
    return {};
  });
  if (!st) return std::unexpected(st.error());
  return usage;
}

Result<InodeSet> TreeInodes(const std::string& dir) {
  TreeView view(dir);
  auto top = view.Stat("");
  if (!top) return std::unexpected(top.error());
  InodeSet inodes{{top->st_dev, top->st_ino}};
  auto st = Walk(view, "", [&](const std::string&, const struct stat& s) -> Status {
    inodes.insert({s.st_dev, s.st_ino});
    return {};
  });
  if (!st) return std::unexpected(st.error());
  return inodes;
}

Result<std::vector<Change>> UpperChanges(const std::string& upper, const TreeView& below) {
  std::vector<Change> changes;
  TreeView upper_view(upper);
  auto st = Walk(upper_view, "", [&](const std::string& rel, const struct stat& s) -> Status {
    std::string path = "/" + rel;
    if (layout::IsOverlayWhiteout(s)) {
      changes.push_back({path, ChangeKind::kDeleted});
      return {};
    }
    auto lower = below.Stat(rel);
    changes.push_back({path, lower ? ChangeKind::kModified : ChangeKind::kAdded});
    if (!lower || !S_ISDIR(s.st_mode) || !S_ISDIR(lower->st_mode)) return {};
    if (!layout::IsOpaqueDir(JoinPath(upper, rel))) return {};
    auto hidden = below.List(rel);
    if (!hidden) return std::unexpected(hidden.error());
    for (const auto& n : *hidden) {
      if (!PathExists(JoinPath(JoinPath(upper, rel), n))) {
        changes.push_back({path + "/" + n, ChangeKind::kDeleted});
      }
    }
    return {};
  });
  if (!st) return std::unexpected(st.error());
  SortChanges(changes);
  return changes;
}

Result<std::vector<Change>> ChangesOverParent(Driver& driver, const std::string& upper,
                                              const std::string& parent) {
  if (parent.empty()) return TreeChanges("", upper);
  auto below = driver.Get(parent);
  if (!below) return std::unexpected(below.error());
  auto changes = UpperChanges(upper, TreeView(*below));
  if (auto st = driver.Put(parent); !st && changes) return std::unexpected(st.error());
  return changes;
}

Result<std::vector<Change>> TreeChanges(const TreeView* old_tree, const TreeView& new_tree) {
  std::vector<Change> changes;
  auto added = Walk(new_tree, "", [&](const std::string& rel, const struct stat& s) -> Status {
    auto old = old_tree ? old_tree->Stat(rel) : std::unexpected(Error{ENOENT, ""});
    if (!old) {
      changes.push_back({"/" + rel, ChangeKind::kAdded});
    } else if (!SameObject(*old_tree, *old, new_tree, s, rel)) {
      changes.push_back({"/" + rel, ChangeKind::kModified});
    }
    return {};
  });
  if (!added) return std::unexpected(added.error());
  if (old_tree) {
    auto deleted = Walk(*old_tree, "", [&](const std::string& rel, const struct stat&) -> Status {
      if (new_tree.Stat(rel)) return {};
      // Only the topmost deleted object: its parent must still exist in the new tree.
      std::string parent = DirName("/" + rel);
      if (parent == "/" || new_tree.Stat(parent.substr(1))) {
        changes.push_back({"/" + rel, ChangeKind::kDeleted});
      }
      return {};
    });
    if (!deleted) return std::unexpected(deleted.error());
  }
  SortChanges(changes);
  return changes;
}

Result<std::vector<Change>> TreeChanges(const std::string& old_tree, const std::string& new_tree) {
  TreeView new_view(new_tree);
  if (old_tree.empty()) return TreeChanges(nullptr, new_view);
  TreeView old_view(old_tree);
  return TreeChanges(&old_view, new_view);
}

char ChangeLetter(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded:
      return 'A';
    case ChangeKind::kModified:
      return 'C';
    case ChangeKind::kDeleted:
      return 'D';
  }
  return '?';
}

std::string BackingFsName(const std::string& path) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) return "<unknown>";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:
      return "extfs";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794c7630:
      return "overlayfs";
    case 0x65735546:
      return "fuseblk";
    default:
      return StrPrintf("<unknown 0x%lx>", static_cast<unsigned long>(fs.f_type));
  }
}

}  // namespace ovlab::drivers
