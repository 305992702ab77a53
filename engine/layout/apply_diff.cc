#include "layout/apply_diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>

#include "base/fs.h"
#include "base/strings.h"
#include "layout/object_metadata.h"
#include "layout/whiteout.h"

namespace ovlab::layout {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

class DiffApplier {
 public:
  explicit DiffApplier(WhiteoutStyle style) : style_(style) {}

  Status ApplyDir(const std::string& src, const std::string& dst) {
    auto names = ListDir(src);
    if (!names) return std::unexpected(names.error());
    // The opaque marker first: it hides what is below before this layer's entries land.
    for (const auto& n : *names) {
      if (n == kTarOpaqueMarker) {
        if (auto st = ApplyOpaque(dst); !st) return st;
      }
    }
    for (const auto& n : *names) {
      if (n == kTarOpaqueMarker) continue;
      Status st = StartsWith(n, kTarWhiteoutPrefix)
                      ? ApplyWhiteout(dst, n.substr(kTarWhiteoutPrefix.size()))
                      : ApplyEntry(JoinPath(src, n), JoinPath(dst, n));
      if (!st) return st;
    }
    return {};
  }

 private:
  // Everything below this directory is hidden: a flag on an overlay upper, deletion in a full tree.
  Status ApplyOpaque(const std::string& dst) {
    if (style_ == WhiteoutStyle::kOverlay) return MarkOpaque(dst);
    auto existing = ListDir(dst);
    if (!existing) return std::unexpected(existing.error());
    for (const auto& n : *existing) {
      if (auto st = RemoveTree(JoinPath(dst, n)); !st) return st;
    }
    return {};
  }

  Status ApplyWhiteout(const std::string& dst_dir, const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
      return Fail(EINVAL, "bad whiteout name \"" + name + "\" in " + dst_dir);
    }
    std::string victim = JoinPath(dst_dir, name);
    if (auto st = RemoveTree(victim); !st) return st;
    if (style_ == WhiteoutStyle::kDelete) return {};
    auto dir = OpenPath(dst_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir) return std::unexpected(dir.error());
    return MakeOverlayWhiteout(dir->get(), name);
  }

  Status ApplyEntry(const std::string& src, const std::string& dst) {
    auto st = LStat(src);
    if (!st) return std::unexpected(st.error());
    if (S_ISDIR(st->st_mode)) {
      if (auto d = ReplaceWithDir(dst, st->st_mode & 07777); !d) return d;
      if (auto r = ApplyDir(src, dst); !r) return r;
      return CopyObjectMetadata(src, dst, *st);  // after children: keeps the staged mtime
    }
    if (auto r = RemoveTree(dst); !r) return r;
    InodeKey key{st->st_dev, st->st_ino};
    if (st->st_nlink > 1) {
      if (auto it = linked_.find(key); it != linked_.end()) {
        if (::link(it->second.c_str(), dst.c_str()) != 0) return FailErrno(errno, "link " + dst);
        return {};
      }
    }
    if (auto r = CreateLike(src, dst, *st); !r) return r;
    if (st->st_nlink > 1) linked_[key] = dst;
    return CopyObjectMetadata(src, dst, *st);
  }

  static Status ReplaceWithDir(const std::string& dst, mode_t mode) {
    auto existing = LStat(dst);
    if (existing && S_ISDIR(existing->st_mode)) return {};
    if (existing) {
      if (auto r = RemoveTree(dst); !r) return r;
    }
    return MakeDir(dst, mode);
  }

  WhiteoutStyle style_;
  std::map<InodeKey, std::string> linked_;
};

}  // namespace

Status ApplyStagedDiff(const std::string& staged, const std::string& target, WhiteoutStyle style) {
  auto st = LStat(staged);
  if (!st) return std::unexpected(st.error());
  if (!S_ISDIR(st->st_mode)) return Fail(ENOTDIR, "staged diff " + staged + " is not a directory");
  DiffApplier applier(style);
  if (auto r = applier.ApplyDir(staged, target); !r) return r;
  return {};
}

}  // namespace ovlab::layout
