#include "layout/layer_id.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <string>

namespace ovlab::layout {

Status ValidateLayerId(std::string_view id) {
  constexpr size_t kMaxIdBytes = 128;
  auto bad = [&](const char* why) {
    return Fail(EINVAL, "invalid layer id \"" + std::string(id) + "\": " + why +
                            " (use letters, digits, '_', '.', '-')");
  };
  if (id.empty()) return bad("it is empty");
  if (id.size() > kMaxIdBytes) return bad("it is longer than 128 bytes");
  if (id.find('/') != std::string_view::npos) return bad("it contains '/'");
  if (id.find("..") != std::string_view::npos) return bad("it contains \"..\"");
  if (!std::isalnum(static_cast<unsigned char>(id.front())))
    return bad("it must start with a letter or digit");
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return bad("it contains a character outside the allowed set");
    }
  }
  return {};
}

Status RequireLayerDir(const ConfinedDir& dir, const std::string& id) {
  auto st = dir.Stat(id);
  if (!st) {
    if (st.error().code != ENOENT) return std::unexpected(st.error());
    return Fail(ENOENT, "layer " + id + " does not exist in " + dir.path());
  }
  if (S_ISDIR(st->st_mode)) return {};
  std::string what = S_ISLNK(st->st_mode) ? " is a symlink to " + dir.ReadLink(id).value_or("?")
                                          : " is not a directory";
  return Fail(ENOTDIR, dir.PathOf(id) + what +
                           ", not a layer directory: ovlab never makes one (remove it by hand)");
}

Result<std::vector<std::string>> ListLayerDirs(const ConfinedDir& dir) {
  auto names = dir.List();
  if (!names) return names;
  std::vector<std::string> layers;
  for (auto& n : *names) {
    if (!ValidateLayerId(n)) continue;
    auto st = dir.Stat(n);
    if (st && S_ISDIR(st->st_mode)) layers.push_back(std::move(n));
  }
  std::sort(layers.begin(), layers.end());
  return layers;
}

}  // namespace ovlab::layout
