#include "drivers/tree_view.h"

#include <cerrno>
#include <set>

#include "base/fs.h"
#include "base/strings.h"
#include "layout/whiteout.h"

namespace ovlab::drivers {
namespace {

std::string ParentOf(const std::string& rel) {
  auto slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

// lstat that tells "absent" (nullopt) from a failure.
Result<std::optional<struct stat>> StatIfPresent(const std::string& path) {
  auto st = LStat(path);
  if (st) return std::optional<struct stat>(*st);
  if (st.error().code == ENOENT || st.error().code == ENOTDIR) return std::nullopt;
  return std::unexpected(st.error());
}

}  // namespace

TreeView::TreeView(std::string dir) : layers_{std::move(dir)}, merged_(false) {}

TreeView::TreeView(std::vector<std::string> layers) : layers_(std::move(layers)), merged_(true) {}

std::string TreeView::PathIn(size_t layer, const std::string& rel) const {
  return rel.empty() ? layers_[layer] : JoinPath(layers_[layer], rel);
}

Result<std::vector<size_t>> TreeView::DirLayers(const std::string& rel) const {
  if (auto it = dir_layers_.find(rel); it != dir_layers_.end()) return it->second;
  std::vector<size_t> candidates;
  if (rel.empty()) {
    for (size_t i = 0; i < layers_.size(); ++i) candidates.push_back(i);
  } else {
    auto parent = DirLayers(ParentOf(rel));
    if (!parent) return parent;
    candidates = *parent;
  }
  std::vector<size_t> layers;
  for (size_t i : candidates) {
    auto st = StatIfPresent(PathIn(i, rel));
    if (!st) return std::unexpected(st.error());
    if (!*st) continue;
    // A whiteout or a non-directory ends the directory: nothing below it merges in.
    if (!S_ISDIR((*st)->st_mode)) break;
    layers.push_back(i);
    if (layout::IsOpaqueDir(PathIn(i, rel))) break;
  }
  dir_layers_[rel] = layers;
  return layers;
}

Result<std::optional<size_t>> TreeView::Locate(const std::string& rel) const {
  if (!merged_) return std::optional<size_t>(0);
  if (rel.empty()) return std::optional<size_t>(0);
  auto parent = DirLayers(ParentOf(rel));
  if (!parent) return std::unexpected(parent.error());
  for (size_t i : *parent) {
    auto st = StatIfPresent(PathIn(i, rel));
    if (!st) return std::unexpected(st.error());
    if (!*st) continue;
    if (layout::IsOverlayWhiteout(**st)) return std::nullopt;
    return std::optional<size_t>(i);
  }
  return std::nullopt;
}

Result<struct stat> TreeView::Stat(const std::string& rel) const {
  auto layer = Locate(rel);
  if (!layer) return std::unexpected(layer.error());
  if (!*layer) return Fail(ENOENT, rel + " is not in the view");
  return LStat(PathIn(**layer, rel));
}

Result<std::vector<std::string>> TreeView::List(const std::string& rel) const {
  if (!merged_) return ListDir(PathIn(0, rel));
  auto layers = DirLayers(rel);
  if (!layers) return std::unexpected(layers.error());
  std::set<std::string> seen;
  std::vector<std::string> names;
  for (size_t i : *layers) {
    auto here = ListDir(PathIn(i, rel));
    if (!here) return here;
    for (auto& n : *here) {
      if (!seen.insert(n).second) continue;  // an upper layer's entry (or whiteout) decides
      auto st = LStat(PathIn(i, JoinPath(rel, n)));
      if (!st) return std::unexpected(st.error());
      if (!layout::IsOverlayWhiteout(*st)) names.push_back(std::move(n));
    }
  }
  return names;
}

Result<std::string> TreeView::ReadLink(const std::string& rel) const {
  auto layer = Locate(rel);
  if (!layer) return std::unexpected(layer.error());
  if (!*layer) return Fail(ENOENT, rel + " is not in the view");
  return ovlab::ReadLink(PathIn(**layer, rel));
}

bool ViewReadsTheLayers(const mount::OverlayFeatures& kernel,
                        const std::vector<std::string>& mount_options) {
  if (kernel.redirect_dir_default || kernel.metacopy_default) return false;
  for (const auto& o : mount_options) {
    if (StartsWith(o, "redirect_dir=") && o != "redirect_dir=off") return false;
    if (o == "metacopy=on") return false;
  }
  return true;
}

}  // namespace ovlab::drivers
