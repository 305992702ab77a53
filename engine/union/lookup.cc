// Lookup through the layers (the kernel's namei.c): upper first, then the parent's lower stack;
// whiteouts (WO1, WO2) end the search, opaque dirs (OP1) stop merging, non-directories hide
// everything below (LK1), redirects (RN2) switch the name looked up in lower layers.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <set>

#include "base/strings.h"
#include "union/engine.h"
#include "union/xattr_names.h"

namespace ovlab::unionfs {

std::string UnionPath(const Node& node) {
  if (!node.parent) return "";
  std::string parent = UnionPath(*node.parent);
  return JoinRel(parent, node.name);
}

bool Unlinked(const Node& node) {
  for (const Node* n = &node; n; n = n->parent.get()) {
    if (n->unlinked) return true;
  }
  return false;
}

namespace {

// Breaks the parent<->children reference cycles of a subtree.
void ClearTree(Node& node) {
  for (auto& [name, child] : node.children) ClearTree(*child);
  node.children.clear();
  node.negatives.clear();
  node.index.reset();
}

bool XattrIs(const SysResult<std::string>& v, std::string_view want) {
  return v && *v == want;
}

// A redirect as the kernel accepts it: absolute "/a/b" without empty components, or one name.
// Like the kernel, a malformed one makes the object unreachable: EINVAL, or EACCES for a "." or
// ".." component (which the real lookup refuses).
SysResult<std::optional<std::string>> ParseRedirect(const SysResult<std::string>& v) {
  if (!v) return std::optional<std::string>();
  const std::string& r = *v;
  if (r.empty()) return SysFail(EINVAL);
  auto check = [](std::string_view part) -> int {
    if (part.empty() || part.find('\0') != std::string_view::npos) return EINVAL;
    if (part == "." || part == "..") return EACCES;
    return 0;
  };
  if (r[0] == '/') {
    for (const auto& part : Split(std::string_view(r).substr(1), '/')) {
      if (int err = check(part)) return SysFail(err);
    }
    return std::optional<std::string>(r);
  }
  if (r.find('/') != std::string::npos) return SysFail(EINVAL);
  if (int err = check(r)) return SysFail(err);
  return std::optional<std::string>(r);
}

}  // namespace

Union::Impl::~Impl() {
  if (root) ClearTree(*root);
  for (auto& [id, node] : nodes) ClearTree(*node);
}

Result<void> Union::Impl::Init() {
  std::set<dev_t> devs;
  for (const auto& path : options.lowers) {
    auto layer = OpenLayer(path);
    if (!layer) return std::unexpected(layer.error());
    devs.insert(layer->dev);
    lower_uuids.push_back(LayerUuid(*layer));
    lowers.push_back(std::move(*layer));
  }
  if (!options.upper.empty()) {
    auto layer = OpenLayer(options.upper);
    if (!layer) return std::unexpected(layer.error());
    devs.insert(layer->dev);
    upper_uuid = LayerUuid(*layer);
    upper = std::move(*layer);
    auto w = CleanWorkDir();
    if (!w) return w;
  }
  samefs = devs.size() == 1;
  std::vector<dev_t> dev_list(devs.begin(), devs.end());
  auto fsid_of = [&](dev_t d) {
    for (size_t i = 0; i < dev_list.size(); ++i)
      if (dev_list[i] == d) return static_cast<int>(i);
    return 0;
  };
  for (auto& l : lowers) l.fsid = fsid_of(l.dev);
  if (upper) upper->fsid = fsid_of(upper->dev);
  // Anonymous devices have major 0, like the kernel's overlay superblocks.
  union_dev = options.union_dev ? options.union_dev : makedev(0, 0xfffff);

  root = std::make_shared<Node>();
  root->id = kRootNode;
  root->type = S_IFDIR;
  root->upper = upper.has_value();
  for (uint32_t i = 0; i < lowers.size(); ++i) root->lowers.push_back(LowerRef{i, ""});
  if (upper) {
    root->impure = XattrIs(GetXattrFd(upper->root.get(), kXattrImpure), "y");
  }
  nodes[kRootNode] = root;
  return {};
}

NodePtr Union::Impl::GetNode(NodeId id) const {
  auto it = nodes.find(id);
  return it == nodes.end() ? nullptr : it->second;
}

Entry Union::Impl::MakeEntry(const NodePtr& node, const struct stat& st) {
  if (node->id == 0) node->id = next_id++;
  node->nlookup++;
  nodes[node->id] = node;
  Entry e;
  e.node = node->id;
  e.attr = st;
  return e;
}

void Union::Impl::CacheChild(const NodePtr& dir, const NodePtr& child) {
  dir->negatives.erase(child->name);
  if (!options.lookup_cache) return;
  dir->children[child->name] = child;
}

void Union::Impl::Evict(const NodePtr& dir, const std::string& name) {
  auto it = dir->children.find(name);
  if (it != dir->children.end()) {
    NodePtr child = it->second;
    dir->children.erase(it);
    ClearTree(*child);
  }
  dir->negatives.erase(name);
}

void Union::Impl::ForgetNegative(const NodePtr& dir, const std::string& name) {
  dir->negatives.erase(name);
}

void Union::Impl::DropForgotten(NodePtr node) {
  while (node->parent && node->nlookup == 0 && node->children.empty()) {
    NodePtr parent = node->parent;
    auto it = parent->children.find(node->name);
    if (it == parent->children.end() || it->second != node) return;
    parent->children.erase(it);
    DropDirFd(*node);
    node = std::move(parent);
  }
}

SysResult<Union::Impl::DirFd> Union::Impl::UpperDirFd(const NodePtr& dir) {
  if (!upper) return SysFail(EROFS);
  if (!dir->parent) return DirFd{nullptr, upper->root.get()};
  if (Unlinked(*dir)) return SysFail(ESTALE);  // its union path names something else now
  if (dir->upper_dir_fd) {
    dir_fds.splice(dir_fds.begin(), dir_fds, dir->dir_fd_pos);
    return DirFd{dir->upper_dir_fd, dir->upper_dir_fd->get()};
  }
  auto parent = UpperDirFd(dir->parent);
  if (!parent) return SysFail(parent.error());
  auto fd = OpenNameAt(parent->fd, dir->name, O_PATH | O_DIRECTORY);
  if (!fd) return SysFail(fd.error());
  dir->upper_dir_fd = std::make_shared<const UniqueFd>(std::move(*fd));
  dir->dir_fd_pos = dir_fds.insert(dir_fds.begin(), dir);
  if (dir_fds.size() > kDirFds) DropDirFd(*dir_fds.back());
  return DirFd{dir->upper_dir_fd, dir->upper_dir_fd->get()};
}

void Union::Impl::DropDirFd(Node& dir) {
  if (!dir.upper_dir_fd) return;
  dir.upper_dir_fd.reset();
  dir_fds.erase(dir.dir_fd_pos);  // may destroy the node: touch nothing after
}

namespace {

// The object opened must have the node's type (HasNodeType). The stat taken for it goes to
// `out` when given.
SysResult<UniqueFd> CheckType(SysResult<UniqueFd> fd, const Node& node,
                              struct stat* out = nullptr) {
  if (!fd || (node.type == 0 && !out)) return fd;
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return SysFail(errno);
  if (!HasNodeType(node, st)) return SysFail(ESTALE);
  if (out) *out = st;
  return fd;
}

}  // namespace

SysResult<UniqueFd> Union::Impl::TopObjectFd(const Node& node, struct stat* st) {
  if (Unlinked(node)) return SysFail(ESTALE);
  if (node.upper && !node.parent) return CheckType(OpenIn(*upper, "", O_PATH), node, st);
  if (node.upper) {
    auto dir = UpperDirFd(node.parent);
    if (!dir) return SysFail(dir.error());
    return CheckType(OpenNameAt(dir->fd, node.name, O_PATH | O_NOFOLLOW), node, st);
  }
  if (node.lowers.empty()) return SysFail(ENOENT);
  const LowerRef& l = node.lowers.front();
  return CheckType(OpenIn(lowers[l.layer], l.path, O_PATH | O_NOFOLLOW), node, st);
}

SysResult<std::pair<Union::Impl::DirFd, std::string>> Union::Impl::UpperEntry(const Node& node) {
  if (!upper) return SysFail(EROFS);
  if (Unlinked(node)) return SysFail(ESTALE);
  if (!node.parent) return std::make_pair(DirFd{nullptr, upper->root.get()}, std::string("."));
  auto fd = UpperDirFd(node.parent);
  if (!fd) return SysFail(fd.error());
  return std::make_pair(std::move(*fd), node.name);
}

SysResult<UniqueFd> Union::Impl::DataFd(const Node& node, int flags, struct stat* st) {
  flags |= O_NOFOLLOW;
  if (Unlinked(node)) return SysFail(ESTALE);
  if (node.upper && !node.metacopy) {
    auto e = UpperEntry(node);
    if (!e) return SysFail(e.error());
    return CheckType(OpenNameAt(e->first.fd, e->second, flags), node, st);
  }
  if (node.lowers.empty()) return SysFail(EIO);
  const LowerRef& l = node.lowers.front();
  // Reads through the union leave lower atimes alone (NP1), as the kernel opens real lower files
  // O_NOATIME where the owner check allows it (else EPERM: open without). O_PATH reads nothing
  // and takes no such flag.
  const int noatime = (flags & O_PATH) ? 0 : O_NOATIME;
  auto fd = OpenIn(lowers[l.layer], l.path, flags | noatime);
  if (!fd && fd.error() == EPERM && noatime) fd = OpenIn(lowers[l.layer], l.path, flags);
  return CheckType(std::move(fd), node, st);
}

SysResult<NodePtr> Union::Impl::Child(const NodePtr& dir, std::string_view name) {
  if (!dir->is_dir()) return SysFail(ENOTDIR);
  if (name.size() > NAME_MAX) return SysFail(ENAMETOOLONG);
  if (!IsPlainName(name)) return SysFail(EINVAL);
  if (options.lookup_cache) {
    std::string key(name);
    if (auto it = dir->children.find(key); it != dir->children.end()) {
      stats.cache_hits++;
      return it->second;
    }
    if (dir->negatives.count(key)) {
      stats.cache_hits++;
      return SysFail(ENOENT);
    }
  }
  auto found = LookupFresh(dir, name);
  if (!options.lookup_cache) return found;
  if (found) {
    CacheChild(dir, *found);
  } else if (found.error() == ENOENT) {
    if (dir->negatives.size() >= kNegativesPerDir) dir->negatives.clear();
    dir->negatives.emplace(name);
  }
  return found;
}

namespace {

// Lists each lower directory of the stack once: which positions hold which names.
std::unique_ptr<DirIndex> BuildIndex(const std::vector<Layer>& lowers, const Node& dir) {
  auto index = std::make_unique<DirIndex>();
  for (uint32_t pos = 0; pos < dir.lowers.size(); ++pos) {
    const LowerRef& ref = dir.lowers[pos];
    auto fd = OpenIn(lowers[ref.layer], ref.path, O_RDONLY | O_DIRECTORY);
    if (!fd) return nullptr;  // unreadable: no index, plain lookups
    auto entries = ReadDirFd(fd->get());
    if (!entries) return nullptr;
    for (auto& e : *entries) index->positions[e.name].push_back(pos);
  }
  return index;
}

// A WO2 whiteout: zero-size regular file with trusted.overlay.whiteout in a directory whose
// trusted.overlay.opaque is "x".
bool IsXWhiteout(const Layer& layer, const std::string& rel, const struct stat& st) {
  if (!S_ISREG(st.st_mode) || st.st_size != 0) return false;
  size_t slash = rel.rfind('/');
  std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  auto dfd = OpenDirIn(layer, dir);
  if (!dfd) return false;
  if (!GetXattrAt(dfd->get(), name, kXattrWhiteout)) return false;
  return XattrIs(GetXattrFd(dfd->get(), kXattrOpaque), "x");
}

// A lower object found by lookup: its stat and its xattrs, for the fewest syscalls. A name right
// below the layer root takes one fstatat and its xattrs are read by name; a deeper path takes one
// openat2 (RESOLVE_BENEATH), and that fd serves fstat and the xattr reads. Most lower
// directories carry no overlay xattr: one listxattr answers for all of them.
struct LowerObject {
  struct stat st {};
  int dir_fd = -1;        // name below the layer root: the root fd
  std::string name;       // ... and the name
  UniqueFd fd;            // deeper path: the object itself
  bool readable = false;  // fd is a directory open for reading (else O_PATH)
  bool listed = false;
  std::optional<std::vector<std::string>> xattr_names;

  static SysResult<LowerObject> Probe(const Layer& layer, const std::string& rel) {
    LowerObject o;
    if (IsPlainName(rel)) {
      auto st = StatAt(layer.root.get(), rel);
      if (!st) return SysFail(st.error());
      o.st = *st;
      o.dir_fd = layer.root.get();
      o.name = rel;
      return o;
    }
    // Most objects met on the way are directories: opened for reading, their xattrs need no
    // /proc path walk. Anything else (or an unreadable dir) is opened O_PATH.
    auto fd = OpenIn(layer, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    o.readable = static_cast<bool>(fd);
    if (!fd && (fd.error() == ENOTDIR || fd.error() == ELOOP || fd.error() == EACCES))
      fd = OpenIn(layer, rel, O_PATH | O_NOFOLLOW);
    if (!fd) return SysFail(fd.error());
    if (::fstat(fd->get(), &o.st) != 0) return SysFail(errno);
    o.fd = std::move(*fd);
    return o;
  }

  SysResult<std::string> Xattr(std::string_view xname) {
    if (!listed) {
      listed = true;
      auto names = readable ? ListXattrOfOpenFd(fd.get())
                   : fd     ? ListXattrFd(fd.get())
                            : ListXattrAt(dir_fd, name);
      if (names) xattr_names = std::move(*names);  // else: ask for each name
    }
    if (xattr_names &&
        std::find(xattr_names->begin(), xattr_names->end(), xname) == xattr_names->end())
      return SysFail(ENODATA);
    return readable ? GetXattrOfOpenFd(fd.get(), xname)
           : fd     ? GetXattrFd(fd.get(), xname)
                    : GetXattrAt(dir_fd, name, xname);
  }
};

}  // namespace

bool Union::Impl::LowerPositive(const NodePtr& dir, std::string_view name) {
  // As the kernel: the parent's lower stack, the plain name, first hit decides.
  for (const LowerRef& pos : dir->lowers) {
    stats.layer_lookups++;
    std::string target = JoinRel(pos.path, name);
    auto st = StatIn(lowers[pos.layer], target);
    if (!st) continue;
    return !IsWhiteoutStat(*st) && !IsXWhiteout(lowers[pos.layer], target, *st);
  }
  return false;
}

SysResult<NodePtr> Union::Impl::LookupFresh(const NodePtr& dir, std::string_view name) {
  auto node = std::make_shared<Node>();
  node->parent = dir;
  node->name = std::string(name);
  bool found = false, stop = false, is_dir = false;
  std::string rel_name(name);
  std::optional<std::string> abs;  // absolute redirect, without the leading '/'

  auto apply_redirect = [&](const std::optional<std::string>& r) -> bool {
    if (!r) return false;
    if ((*r)[0] == '/') {
      abs = r->substr(1);
      return true;
    }
    rel_name = *r;
    return false;
  };

  std::vector<LowerRef> positions = dir->lowers;
  auto switch_to_abs = [&](uint32_t below_layer_plus_one) {
    positions.clear();
    for (uint32_t l = below_layer_plus_one; l < lowers.size(); ++l)
      positions.push_back(LowerRef{l, *abs});
  };

  if (dir->upper) {
    auto dir_fd = UpperDirFd(dir);
    if (dir_fd) {
      const int dfd = dir_fd->fd;
      stats.layer_lookups++;
      auto st = StatAt(dfd, name);
      if (st) {
        if (IsWhiteoutStat(*st)) return SysFail(ENOENT);
        found = true;
        node->upper = true;
        node->type = st->st_mode & S_IFMT;
        // Dirs copied up keep their origin too (ID1); non-dirs for st_ino and metacopy data.
        auto fh = GetXattrAt(dfd, name, kXattrOrigin);
        if (fh && !fh->empty()) {
          node->origin = true;
          node->origin_fh = *fh;
        }
        if (S_ISDIR(st->st_mode)) {
          is_dir = true;
          if (XattrIs(GetXattrAt(dfd, name, kXattrOpaque), "y")) {
            node->opaque = true;
            stop = true;
          }
          node->impure = XattrIs(GetXattrAt(dfd, name, kXattrImpure), "y");
          auto pr = ParseRedirect(GetXattrAt(dfd, name, kXattrRedirect));
          if (!pr) return SysFail(pr.error());
          auto r = *pr;
          if (r) node->redirect = *r;
          if (!stop && apply_redirect(r)) switch_to_abs(0);
        } else {
          node->metacopy = static_cast<bool>(GetXattrAt(dfd, name, kXattrMetacopy));
          if (node->metacopy) {
            auto pr = ParseRedirect(GetXattrAt(dfd, name, kXattrRedirect));
            if (!pr) return SysFail(pr.error());
            auto r = *pr;
            if (r) {
              node->redirect = *r;
              if (apply_redirect(r)) switch_to_abs(0);
            }
          } else {
            stop = true;  // a plain upper non-directory hides everything below
          }
        }
      } else if (st.error() != ENOENT && st.error() != ENOTDIR) {
        return SysFail(st.error());
      }
    }
  }

  // One listing of every lower dir pays off from the second uncached lookup in a directory.
  if (!stop && dir->index == nullptr && options.lookup_cache && dir->lowers.size() > 1 &&
      ++dir->lower_misses >= 2)
    dir->index = BuildIndex(lowers, *dir);

  for (size_t i = 0; i < positions.size() && !stop; ++i) {
    const LowerRef& pos = positions[i];
    const Layer& layer = lowers[pos.layer];
    std::string target = abs ? *abs : JoinRel(pos.path, rel_name);
    // The index knows the parent's stack; redirected names still come from the same dirs.
    if (!abs && dir->index && i < dir->lowers.size() && pos.layer == dir->lowers[i].layer) {
      auto it = dir->index->positions.find(rel_name);
      if (it == dir->index->positions.end()) {
        // Not in any lower of this dir: nothing more to find in the stack.
        break;
      }
      bool here = false;
      for (uint32_t p : it->second) here |= (p == i);
      if (!here) continue;
    }
    stats.layer_lookups++;
    auto obj = LowerObject::Probe(layer, target);
    if (!obj) {
      if (obj.error() == ENOENT || obj.error() == ENOTDIR || obj.error() == ELOOP ||
          obj.error() == EXDEV)
        continue;
      return SysFail(obj.error());
    }
    const struct stat& st = obj->st;
    if (IsWhiteoutStat(st) || IsXWhiteout(layer, target, st)) break;
    bool here_dir = S_ISDIR(st.st_mode);
    if (!found) {
      found = true;
      node->type = st.st_mode & S_IFMT;
      node->lowers.push_back(LowerRef{pos.layer, target});
      node->lower_attr = st;  // the visible object: Attr needs no second stat
      if (!here_dir) break;
      is_dir = true;
    } else if (is_dir) {
      if (!here_dir) break;  // a non-directory below a directory is ignored and ends the stack
      node->lowers.push_back(LowerRef{pos.layer, target});
    } else {
      // Upper metacopy/origin non-directory: the lower non-directory at the same place.
      if (!here_dir) node->lowers.push_back(LowerRef{pos.layer, target});
      break;
    }
    // A lower directory may itself be opaque or redirected.
    auto opaque = obj->Xattr(kXattrOpaque);
    if (XattrIs(opaque, "y")) break;
    if (XattrIs(opaque, "x")) node->xwhiteout_dir = true;
    auto pr = ParseRedirect(obj->Xattr(kXattrRedirect));
    if (!pr) return SysFail(pr.error());
    if (apply_redirect(*pr)) {
      switch_to_abs(pos.layer + 1);
      i = static_cast<size_t>(-1);  // restart over the new positions
    }
  }
  if (!found) return SysFail(ENOENT);
  if (node->metacopy && node->lowers.empty()) return SysFail(EIO);  // data layer missing
  return node;
}

}  // namespace ovlab::unionfs
