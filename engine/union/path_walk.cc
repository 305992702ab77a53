// Path resolution in the merged namespace, like the kernel's path walk: search permission on
// every directory, intermediate symlinks followed (relative targets from the symlink's directory,
// absolute targets from the union root), at most 40 symlinks (ELOOP), "name/" must be a directory.
#include <fcntl.h>

#include <cerrno>
#include <climits>

#include "base/strings.h"
#include "union/engine.h"

namespace ovlab::unionfs {

namespace {

// Pushes the components of `path` so that the first one is popped first.
void PushComponents(std::vector<std::string>& stack, std::string_view path) {
  auto parts = Split(path, '/');
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!it->empty()) stack.push_back(std::move(*it));
  }
}

bool HasTrailingSlash(std::string_view path) {
  size_t end = path.find_last_not_of('/');
  return end != std::string_view::npos && end + 1 < path.size();
}

}  // namespace

SysResult<std::string> Union::Impl::ReadLink(const NodePtr& node) {
  if (!S_ISLNK(node->type)) return SysFail(EINVAL);
  if (node->upper) {
    auto e = UpperEntry(*node);
    if (!e) return SysFail(e.error());
    return ReadLinkAt(e->first.get(), e->second);
  }
  if (node->lowers.empty()) return SysFail(EIO);
  const LowerRef& l = node->lowers.front();
  size_t slash = l.path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : l.path.substr(0, slash);
  std::string name = slash == std::string::npos ? l.path : l.path.substr(slash + 1);
  auto fd = OpenDirIn(lowers[l.layer], dir);
  if (!fd) return SysFail(fd.error());
  return ReadLinkAt(fd->get(), name);
}

SysResult<NodePtr> Union::Impl::Walk(const Cred& cred, std::string_view path, bool follow) {
  if (path.size() >= PATH_MAX) return SysFail(ENAMETOOLONG);
  const bool must_be_dir = HasTrailingSlash(path);
  std::vector<std::string> stack;
  PushComponents(stack, path);
  NodePtr cur = root;
  int links = 0;
  while (!stack.empty()) {
    std::string name = std::move(stack.back());
    stack.pop_back();
    if (auto p = MayLookup(cred, cur); !p) return SysFail(p.error());
    if (name == ".") continue;
    if (name == "..") {
      if (cur->parent) cur = cur->parent;
      continue;
    }
    auto child = Child(cur, name);
    if (!child) return SysFail(child.error());
    const bool last = stack.empty();
    if (S_ISLNK((*child)->type) && (!last || follow || must_be_dir)) {
      if (++links > kMaxSymlinks) return SysFail(ELOOP);
      auto target = ReadLink(*child);
      if (!target) return SysFail(target.error());
      if (target->empty()) return SysFail(ENOENT);
      if ((*target)[0] == '/') cur = root;  // absolute targets stay inside the union
      PushComponents(stack, *target);
      continue;
    }
    cur = *child;
  }
  if (must_be_dir && !cur->is_dir()) return SysFail(ENOTDIR);
  return cur;
}

SysResult<ParentAndName> Union::Impl::WalkParent(const Cred& cred, std::string_view path) {
  if (path.size() >= PATH_MAX) return SysFail(ENAMETOOLONG);
  ParentAndName out;
  out.trailing_slash = HasTrailingSlash(path);
  size_t end = path.find_last_not_of('/');
  if (end == std::string_view::npos) {  // "" or "/": the root itself
    out.dir = root;
    out.name.assign(1, '.');
    return out;
  }
  std::string_view trimmed = path.substr(0, end + 1);
  size_t slash = trimmed.rfind('/');
  std::string_view dir_part = slash == std::string_view::npos ? "" : trimmed.substr(0, slash + 1);
  out.name = std::string(slash == std::string_view::npos ? trimmed : trimmed.substr(slash + 1));
  // As the kernel's walk, left to right: a missing or non-directory parent (ENOENT, ENOTDIR) or
  // one the caller cannot search (EACCES) decides before the last name's length, which only its
  // lookup checks (ENAMETOOLONG).
  auto dir = Walk(cred, dir_part, true);
  if (!dir) return SysFail(dir.error());
  if (auto p = MayLookup(cred, *dir); !p) return SysFail(p.error());
  if (out.name.size() > NAME_MAX) return SysFail(ENAMETOOLONG);
  out.dir = *dir;
  return out;
}

}  // namespace ovlab::unionfs
