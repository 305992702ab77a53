#include "layout/overlay2_layout.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "base/strings.h"
#include "layout/layer_id.h"
#include "layout/short_id.h"

namespace ovlab::layout {
namespace {

constexpr int kShortIdAttempts = 5;
// `link` is 26 bytes, `lower` at most 500 * 29, `committed` empty: anything larger is not Docker's.
constexpr size_t kMaxMetadataBytes = 64 * 1024;

std::string Quoted(std::string_view text) {
  constexpr size_t kShown = 80;
  return JsonQuote(text.substr(0, kShown)) + (text.size() > kShown ? "..." : "");
}

bool IsLowerEntry(std::string_view entry) {
  return StartsWith(entry, std::string(kLinkDir) + "/") && IsShortId(entry.substr(sizeof kLinkDir));
}

Result<bool> MarkCommitted(const ConfinedDir& home, const std::string& parent) {
  std::string committed = RelPathsOf(parent).committed;
  auto exists = home.Exists(committed);
  if (!exists) return std::unexpected(exists.error());
  if (*exists) return false;
  if (auto st = home.WriteFile(committed, "", kCommittedFileMode); !st) {
    return std::unexpected(st.error());
  }
  return true;
}

// The parent's lower and short id, its l/ link checked: the child's lower must resolve.
Result<std::string> LowerForChild(const ConfinedDir& home, const std::string& parent,
                                  size_t max_depth) {
  if (auto st = RequireLayerDir(home, parent); !st) {
    if (st.error().code != ENOENT) return std::unexpected(st.error());
    return Fail(ENOENT, "parent layer " + parent + " does not exist: create it first");
  }
  auto parent_short = ReadShortId(home, parent);
  if (!parent_short) return std::unexpected(parent_short.error());
  auto named = LayerOfLowerEntry(home, ShortLinkEntry(*parent_short));
  if (!named) return std::unexpected(named.error());
  if (*named != parent) {
    return Fail(EINVAL, "the short link of layer " + parent + " names layer " + *named +
                            ": run ovlab check");
  }
  auto parent_lower = ReadLower(home, parent, max_depth);
  if (!parent_lower) return std::unexpected(parent_lower.error());
  return ComposeLower(*parent_short, Join(*parent_lower, ":"), max_depth);
}

Result<ViewDir> OpenViewDir(const ConfinedDir& home, const std::string& rel) {
  auto fd = home.Open(rel, O_PATH | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  return ViewDir{std::move(*fd), home.PathOf(rel)};
}

}  // namespace

Status ValidateOverlay2Id(std::string_view id) {
  if (auto st = ValidateLayerId(id); !st) return st;
  if (id == kLinkDir) {
    return Fail(EINVAL, "invalid layer id \"l\": overlay2 keeps its short links there");
  }
  if (id == kBackingFsBlockDev) {
    return Fail(EINVAL, "invalid layer id \"" + std::string(id) +
                            "\": overlay2 keeps its quota device node there");
  }
  return {};
}

std::string ShortLinkEntry(std::string_view short_id) {
  return std::string(kLinkDir) + "/" + std::string(short_id);
}

std::string ShortLinkTarget(const std::string& id) {
  return "../" + id + "/diff";
}

// Retries on the (unlikely) collision of two random short ids.
Result<std::string> CreateShortLink(const ConfinedDir& home, const std::string& id) {
  for (int i = 0; i < kShortIdAttempts; ++i) {
    auto short_id = NewShortId();
    if (!short_id) return short_id;
    auto st = home.Symlink(ShortLinkTarget(id), ShortLinkEntry(*short_id));
    if (st) return *short_id;
    if (st.error().code != EEXIST) return std::unexpected(st.error());
  }
  return Fail(EEXIST, "could not pick a free short id under " + home.PathOf(kLinkDir));
}

std::optional<std::string> FindShortLinkTo(const ConfinedDir& home, const std::string& id) {
  auto names = home.List(kLinkDir);
  if (!names) return std::nullopt;
  for (const auto& n : *names) {
    auto target = home.ReadLink(ShortLinkEntry(n));
    if (target && *target == ShortLinkTarget(id) && IsShortId(n)) return n;
  }
  return std::nullopt;
}

Overlay2Paths PathsOf(const std::string& home, const std::string& id) {
  Overlay2Paths p = RelPathsOf(id);
  for (std::string* s :
       {&p.dir, &p.diff, &p.work, &p.merged, &p.link_file, &p.lower_file, &p.committed}) {
    *s = JoinPath(home, *s);
  }
  return p;
}

Overlay2Paths RelPathsOf(const std::string& id) {
  return Overlay2Paths{id,           id + "/diff",  id + "/work",     id + "/merged",
                       id + "/link", id + "/lower", id + "/committed"};
}

Status PrepareHome(const ConfinedDir& home) {
  auto exists = home.Exists(kLinkDir);
  if (!exists) return std::unexpected(exists.error());
  if (*exists) return {};
  return home.MakeDir(kLinkDir, kLinkDirMode);
}

Result<std::string> ComposeLower(std::string_view parent_short_id, std::string_view parent_lower,
                                 size_t max_depth) {
  std::string lower = ShortLinkEntry(parent_short_id);
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

Status CreateLayer(const ConfinedDir& home, const std::string& id, const std::string& parent,
                   size_t max_depth) {
  auto exists = home.Exists(id);
  if (!exists) return std::unexpected(exists.error());
  if (*exists) return Fail(EEXIST, "layer " + id + " already exists");
  std::string lower;
  if (!parent.empty()) {
    auto composed = LowerForChild(home, parent, max_depth);
    if (!composed) return std::unexpected(composed.error());
    lower = *composed;
  }

  Rollback undo;
  auto tmp = home.MakeTempDir(std::string(kTempPrefix) + id + "-", kLayerDirMode);
  if (!tmp) return std::unexpected(tmp.error());
  undo.Add([&home, dir = *tmp] { (void)home.RemoveTree(dir); });
  Overlay2Paths t = RelPathsOf(*tmp);
  if (auto st = home.MakeDir(t.diff, kDiffDirMode); !st) return st;

  auto short_id = CreateShortLink(home, id);
  if (!short_id) return std::unexpected(short_id.error());
  undo.Add([&home, link = ShortLinkEntry(*short_id)] { (void)home.Unlink(link); });
  if (auto st = home.WriteFile(t.link_file, *short_id, kLinkFileMode); !st) return st;

  if (!parent.empty()) {
    if (auto st = home.MakeDir(t.work, kWorkDirMode); !st) return st;
    if (auto st = home.WriteFile(t.lower_file, lower, kLowerFileMode); !st) return st;
    auto made = MarkCommitted(home, parent);
    if (!made) return std::unexpected(made.error());
    if (*made) {
      undo.Add([&home, committed = RelPathsOf(parent).committed] { (void)home.Unlink(committed); });
    }
  }
  if (auto st = home.Rename(*tmp, id); !st) return st;
  undo.Dismiss();
  return {};
}

Status RemoveLayer(const ConfinedDir& home, const std::string& id) {
  if (auto st = RequireLayerDir(home, id); !st) return st;
  // Only a link that points at this layer goes: a link file naming another layer's short id
  // must not take that layer's link with it.
  std::optional<std::string> short_id;
  if (auto named = ReadShortId(home, id); named) {
    auto target = home.ReadLink(ShortLinkEntry(*named));
    if (target && *target == ShortLinkTarget(id)) short_id = *named;
  }
  if (!short_id) short_id = FindShortLinkTo(home, id);

  auto gone = home.RenameToTemp(id, std::string(kTempPrefix) + id + "-");
  if (!gone) return std::unexpected(gone.error());
  if (short_id) {
    if (auto st = home.Unlink(ShortLinkEntry(*short_id)); !st) {
      (void)home.Rename(*gone, id);
      return st;
    }
  }
  if (auto st = home.RemoveTree(*gone); !st) {
    return std::unexpected(
        WithContext(st.error(), "layer " + id + " is removed but its files are not (" +
                                    home.PathOf(*gone) + " stays for ovlab check --repair)"));
  }
  return {};
}

Result<std::string> DiffPathOf(const ConfinedDir& home, const std::string& id) {
  if (auto st = RequireLayerDir(home, id); !st) return std::unexpected(st.error());
  auto diff = OpenViewDir(home, RelPathsOf(id).diff);
  if (!diff) return std::unexpected(diff.error());
  return diff->path;
}

Result<std::string> ReadShortId(const ConfinedDir& home, const std::string& id) {
  std::string rel = RelPathsOf(id).link_file;
  auto text = home.ReadFile(rel, kMaxMetadataBytes);
  if (!text) return text;
  if (!IsShortId(*text)) {
    return Fail(EINVAL, home.PathOf(rel) + " holds " + Quoted(*text) +
                            ", not a short id (26 characters A-Z, 2-7, as Docker writes it): "
                            "ovlab check --repair remakes it");
  }
  return text;
}

Result<std::vector<std::string>> ReadLower(const ConfinedDir& home, const std::string& id,
                                           size_t max_depth) {
  std::string rel = RelPathsOf(id).lower_file;
  auto exists = home.Exists(rel);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return std::vector<std::string>{};
  auto text = home.ReadFile(rel, kMaxMetadataBytes);
  if (!text) return std::unexpected(text.error());
  // Without a lower the layer would pass for a base layer: an empty one is damage.
  if (text->empty()) {
    return Fail(EINVAL, home.PathOf(rel) +
                            " is empty, but a layer with a lower file has a parent: the layer is "
                            "damaged (remove it, or restore the file)");
  }
  auto entries = Split(*text, ':');
  if (!std::all_of(entries.begin(), entries.end(), IsLowerEntry)) {
    return Fail(EINVAL, home.PathOf(rel) + " holds " + Quoted(*text) +
                            ", not l/<short id> entries joined by ':' as Docker writes it: the "
                            "layer is damaged (remove it, or restore the file)");
  }
  if (entries.size() > max_depth) {
    return Fail(EINVAL, StrPrintf("%s names %zu layers, more than the max depth of %zu (raise "
                                  "it with --max-depth, at most 500)",
                                  home.PathOf(rel).c_str(), entries.size(), max_depth));
  }
  return entries;
}

Result<std::string> LayerOfLowerEntry(const ConfinedDir& home, const std::string& entry) {
  if (!IsLowerEntry(entry)) {
    return Fail(EINVAL, "lower entry " + Quoted(entry) + " is not l/<short id>");
  }
  auto target = home.ReadLink(entry);
  if (!target) return std::unexpected(target.error());
  // "../<id>/diff", as CreateShortLink makes it; nothing else is followed.
  std::string id;
  if (StartsWith(*target, "../") && EndsWith(*target, "/diff")) {
    id = target->substr(3, target->size() - 3 - 5);
  }
  if (id.empty() || !ValidateOverlay2Id(id) || ShortLinkTarget(id) != *target) {
    return Fail(EINVAL, home.PathOf(entry) + " points to " + *target +
                            ", not ../<id>/diff as ovlab makes it (ovlab check --repair remakes "
                            "short links)");
  }
  if (auto st = RequireLayerDir(home, id); !st) {
    return std::unexpected(WithContext(st.error(), home.PathOf(entry)));
  }
  if (auto diff = home.Open(RelPathsOf(id).diff, O_PATH | O_DIRECTORY); !diff) {
    return std::unexpected(WithContext(diff.error(), home.PathOf(entry)));
  }
  return id;
}

Result<bool> IsCommitted(const ConfinedDir& home, const std::string& id) {
  std::string rel = RelPathsOf(id).committed;
  auto exists = home.Exists(rel);
  if (!exists || !*exists) return exists;
  auto text = home.ReadFile(rel, kMaxMetadataBytes);
  if (!text) return std::unexpected(text.error());
  if (!text->empty()) {
    return Fail(EINVAL, home.PathOf(rel) + " holds " + Quoted(*text) +
                            ", but Docker writes it empty: the layer is damaged (empty the file "
                            "if the layer is otherwise intact)");
  }
  return true;
}

Result<std::vector<std::string>> ListLayers(const ConfinedDir& home) {
  auto layers = ListLayerDirs(home);
  if (layers) std::erase_if(*layers, [](const std::string& n) { return !ValidateOverlay2Id(n); });
  return layers;
}

Result<LayerView> OpenLayerView(const ConfinedDir& home, const std::string& id, size_t max_depth) {
  if (auto st = RequireLayerDir(home, id); !st) return std::unexpected(st.error());
  auto lower = ReadLower(home, id, max_depth);
  if (!lower) return std::unexpected(lower.error());
  Overlay2Paths p = RelPathsOf(id);
  LayerView view;
  auto diff = OpenViewDir(home, p.diff);
  if (!diff) return std::unexpected(diff.error());
  view.diff = std::move(*diff);
  if (lower->empty()) return view;
  auto committed = IsCommitted(home, id);
  if (!committed) return std::unexpected(committed.error());
  view.committed = *committed;
  if (!view.committed) {  // read-only: no work dir in the mount
    auto work = OpenViewDir(home, p.work);
    if (!work) return std::unexpected(work.error());
    view.work = std::move(*work);
  }
  for (const auto& entry : *lower) {
    auto layer = LayerOfLowerEntry(home, entry);
    if (!layer) return std::unexpected(layer.error());
    auto dir = OpenViewDir(home, RelPathsOf(*layer).diff);
    if (!dir) return std::unexpected(dir.error());
    view.lowers.push_back(std::move(*dir));
  }
  return view;
}

}  // namespace ovlab::layout
