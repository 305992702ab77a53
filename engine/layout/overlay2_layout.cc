#include "layout/overlay2_layout.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "base/strings.h"
#include "layout/short_id.h"

namespace ovlab::layout {
namespace {

constexpr int kShortIdAttempts = 5;

Status MakeHomeDir(const std::string& path, mode_t mode) {
  if (PathExists(path)) return {};
  return MakeDir(path, mode);
}

// Marks the parent committed unless it already is; returns whether this call made the marker.
Result<bool> MarkCommitted(const std::string& committed) {
  if (PathExists(committed)) return false;
  if (auto st = WriteFileAtomic(committed, "", kCommittedFileMode); !st) {
    return std::unexpected(st.error());
  }
  return true;
}

Result<std::string> LowerForChild(const std::string& home, const std::string& parent,
                                  size_t max_depth) {
  Overlay2Paths pp = PathsOf(home, parent);
  if (!PathExists(pp.dir)) {
    return Fail(ENOENT, "parent layer " + parent + " does not exist: create it first");
  }
  auto parent_short = ReadShortId(home, parent);
  if (!parent_short) return std::unexpected(parent_short.error());
  std::string parent_lower;
  if (PathExists(pp.lower_file)) {
    auto text = ReadFileText(pp.lower_file);
    if (!text) return text;
    parent_lower = *text;
  }
  return ComposeLower(*parent_short, parent_lower, max_depth);
}

}  // namespace

std::string ShortLinkPath(const std::string& home, const std::string& short_id) {
  return JoinPath(JoinPath(home, kLinkDir), short_id);
}

std::string ShortLinkTarget(const std::string& id) {
  return "../" + id + "/diff";
}

// Retries on the (unlikely) collision of two random short ids.
Result<std::string> CreateShortLink(const std::string& home, const std::string& id) {
  std::string target = ShortLinkTarget(id);
  for (int i = 0; i < kShortIdAttempts; ++i) {
    auto short_id = NewShortId();
    if (!short_id) return short_id;
    std::string link = ShortLinkPath(home, *short_id);
    if (::symlink(target.c_str(), link.c_str()) == 0) return *short_id;
    if (errno != EEXIST) return FailErrno(errno, "symlink " + link);
  }
  return Fail(EEXIST, "could not pick a free short id under " + JoinPath(home, kLinkDir));
}

Overlay2Paths PathsOf(const std::string& home, const std::string& id) {
  std::string dir = JoinPath(home, id);
  return Overlay2Paths{dir,
                       JoinPath(dir, "diff"),
                       JoinPath(dir, "work"),
                       JoinPath(dir, "merged"),
                       JoinPath(dir, "link"),
                       JoinPath(dir, "lower"),
                       JoinPath(dir, "committed")};
}

Status PrepareHome(const std::string& home) {
  if (auto st = MakeHomeDir(home, kHomeMode); !st) return st;
  return MakeHomeDir(JoinPath(home, kLinkDir), kLinkDirMode);
}

Result<std::string> ComposeLower(std::string_view parent_short_id, std::string_view parent_lower,
                                 size_t max_depth) {
  std::string lower = std::string(kLinkDir) + "/" + std::string(parent_short_id);
  size_t depth = 1;
  if (!parent_lower.empty()) {
    lower += ":";
    lower += parent_lower;
    depth += static_cast<size_t>(std::count(parent_lower.begin(), parent_lower.end(), ':')) + 1;
  }
  if (depth > max_depth) {
    return Fail(EINVAL, StrPrintf("max depth exceeded: the layer would have %zu lower layers, the "
                                  "limit is %zu (raise it with --max-depth, at most 500)",
                                  depth, max_depth));
  }
  return lower;
}

Status CreateLayer(const std::string& home, const std::string& id, const std::string& parent,
                   size_t max_depth) {
  Overlay2Paths p = PathsOf(home, id);
  if (PathExists(p.dir)) return Fail(EEXIST, "layer " + id + " already exists");
  std::string lower;
  if (!parent.empty()) {
    auto composed = LowerForChild(home, parent, max_depth);
    if (!composed) return std::unexpected(composed.error());
    lower = *composed;
  }

  Rollback undo;
  auto tmp = MakeTempDir(home, std::string(kTempPrefix) + id + "-");
  if (!tmp) return std::unexpected(tmp.error());
  undo.Add([dir = *tmp] { (void)RemoveTree(dir); });
  if (::chmod(tmp->c_str(), kLayerDirMode) != 0) return FailErrno(errno, "chmod " + *tmp);
  if (auto st = MakeDir(JoinPath(*tmp, "diff"), kDiffDirMode); !st) return st;

  auto short_id = CreateShortLink(home, id);
  if (!short_id) return std::unexpected(short_id.error());
  undo.Add([link = ShortLinkPath(home, *short_id)] { ::unlink(link.c_str()); });
  if (auto st = WriteFileAtomic(JoinPath(*tmp, "link"), *short_id, kLinkFileMode); !st) return st;

  if (!parent.empty()) {
    if (auto st = MakeDir(JoinPath(*tmp, "work"), kWorkDirMode); !st) return st;
    if (auto st = WriteFileAtomic(JoinPath(*tmp, "lower"), lower, kLowerFileMode); !st) return st;
    std::string committed = PathsOf(home, parent).committed;
    auto made = MarkCommitted(committed);
    if (!made) return std::unexpected(made.error());
    if (*made) undo.Add([committed] { ::unlink(committed.c_str()); });
  }
  if (::rename(tmp->c_str(), p.dir.c_str()) != 0) {
    return FailErrno(errno, "rename " + *tmp + " to " + p.dir);
  }
  undo.Dismiss();
  return {};
}

Status RemoveLayer(const std::string& home, const std::string& id) {
  Overlay2Paths p = PathsOf(home, id);
  if (auto short_id = ReadShortId(home, id); short_id && IsShortId(*short_id)) {
    std::string link = ShortLinkPath(home, *short_id);
    if (::unlink(link.c_str()) != 0 && errno != ENOENT) return FailErrno(errno, "unlink " + link);
  }
  return RemoveTree(p.dir);
}

Result<std::string> ReadShortId(const std::string& home, const std::string& id) {
  return ReadFileText(PathsOf(home, id).link_file);
}

Result<std::vector<std::string>> ReadLower(const std::string& home, const std::string& id) {
  std::string path = PathsOf(home, id).lower_file;
  if (!PathExists(path)) return std::vector<std::string>{};
  auto text = ReadFileText(path);
  if (!text) return std::unexpected(text.error());
  if (text->empty()) return std::vector<std::string>{};
  return Split(*text, ':');
}

Result<std::string> LayerOfLowerEntry(const std::string& home, const std::string& entry) {
  auto target = ReadLink(JoinPath(home, entry));
  if (!target) return target;
  // "../<id>/diff"
  if (!StartsWith(*target, "../") || !EndsWith(*target, "/diff")) {
    return Fail(EINVAL, entry + " points to " + *target + ", not ../<id>/diff");
  }
  return target->substr(3, target->size() - 3 - 5);
}

Result<std::vector<std::string>> ListLayers(const std::string& home) {
  auto names = ListDir(home);
  if (!names) return names;
  std::vector<std::string> layers;
  for (auto& n : *names) {
    if (n == kLinkDir || StartsWith(n, kTempPrefix)) continue;
    layers.push_back(std::move(n));
  }
  std::sort(layers.begin(), layers.end());
  return layers;
}

}  // namespace ovlab::layout
