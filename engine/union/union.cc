// The public face of the engine: one lock around the metadata state, node and path calls mapped
// onto the concern files, data reads and writes outside the lock.
#include "union/union.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "union/engine.h"
#include "union/permission.h"

namespace ovlab::unionfs {

namespace {

using Lock = std::lock_guard<std::mutex>;

}  // namespace

Result<std::unique_ptr<Union>> Union::Open(const UnionOptions& options) {
  if (auto st = ValidateOptions(options); !st) return std::unexpected(st.error());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (auto init = impl->Init(); !init) return std::unexpected(init.error());
  return std::unique_ptr<Union>(new Union(std::move(impl)));
}

Union::Union(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Union::~Union() = default;

const UnionOptions& Union::options() const {
  return impl_->options;
}
bool Union::read_only() const {
  return impl_->read_only();
}

UnionStats Union::stats() const {
  Lock lock(impl_->mu);
  return impl_->stats;
}

void Union::ResetStats() {
  Lock lock(impl_->mu);
  impl_->stats = UnionStats{};
}

void Union::DropCaches() {
  Lock lock(impl_->mu);
  // Held nodes keep their identity; every cached child, negative entry and index goes.
  auto drop = [&](const NodePtr& node) {
    std::vector<std::string> kids;
    for (auto& [name, child] : node->children) kids.push_back(name);
    for (auto& k : kids) impl_->Evict(node, k);
    node->negatives.clear();
    node->index.reset();
    node->lower_misses = 0;
    node->perm.reset();
    node->lower_attr.reset();
  };
  drop(impl_->root);
  for (auto& [id, node] : impl_->nodes) drop(node);
}

FileHandle Union::Impl::AddFile(UniqueFd fd, const NodePtr& node, int flags) {
  auto f = std::make_shared<OpenFile>();
  f->fd = std::move(fd);
  f->node = node;
  f->flags = flags;
  f->lower_data = S_ISREG(node->type) && (!node->upper || node->metacopy);
  FileHandle h = next_handle++;
  files[h] = std::move(f);
  return h;
}

// ---- Node level ---------------------------------------------------------------------------------

#define OVLAB_NODE(var, id)         \
  NodePtr var = impl_->GetNode(id); \
  if (!var) return SysFail(ESTALE)

SysResult<Entry> Union::Lookup(const Cred& cred, NodeId parent, std::string_view name) {
  Lock lock(impl_->mu);
  OVLAB_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  NodePtr node;
  if (name == ".") {
    node = dir;
  } else if (name == "..") {
    node = dir->parent ? dir->parent : dir;
  } else {
    auto c = impl_->Child(dir, name);
    if (!c) return SysFail(c.error());
    node = *c;
  }
  auto st = impl_->Attr(*node);
  if (!st) return SysFail(st.error());
  return impl_->MakeEntry(node, *st);
}

void Union::Forget(NodeId id, uint64_t nlookup) {
  Lock lock(impl_->mu);
  NodePtr node = impl_->GetNode(id);
  if (!node || id == kRootNode) return;
  node->nlookup = nlookup >= node->nlookup ? 0 : node->nlookup - nlookup;
  if (node->nlookup > 0) return;
  impl_->nodes.erase(id);
  impl_->DropForgotten(std::move(node));
}

size_t Union::NodeCount() const {
  Lock lock(impl_->mu);
  return impl_->nodes.size();
}

SysResult<struct stat> Union::GetAttr(const Cred&, NodeId id) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  return impl_->Attr(*node);
}

SysResult<struct stat> Union::SetAttr(const Cred& cred, NodeId id, unsigned mask,
                                      const SetAttrValues& values,
                                      std::optional<FileHandle> handle) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  OpenFile* file = nullptr;
  if (handle) {
    auto it = impl_->files.find(*handle);
    if (it == impl_->files.end()) return SysFail(EBADF);
    file = it->second.get();
  }
  return impl_->SetAttr(cred, node, mask, values, file);
}

SysResult<std::string> Union::ReadLink(const Cred&, NodeId id) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  return impl_->ReadLink(node);
}

SysResult<void> Union::Access(const Cred& cred, NodeId id, int mask) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  return impl_->Access(cred, node, mask);
}

SysResult<FileHandle> Union::Open(const Cred& cred, NodeId id, int flags) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  auto fd = impl_->OpenFileFd(cred, node, flags);
  if (!fd) return SysFail(fd.error());
  return impl_->AddFile(std::move(*fd), node, flags);
}

namespace {

// Opens a freshly created regular file: the creator may open it whatever its mode (as open(2)
// with O_CREAT does). `st`, when given, receives its stat.
SysResult<UniqueFd> OpenCreated(Union::Impl& impl, const NodePtr& node, int flags,
                                struct stat* st = nullptr) {
  return impl.DataFd(*node, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC), st);
}

}  // namespace

SysResult<Created> Union::Create(const Cred& cred, NodeId parent, std::string_view name, int flags,
                                 mode_t mode) {
  Lock lock(impl_->mu);
  OVLAB_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  auto node = impl_->Create(cred, dir, name, S_IFREG | (mode & 07777), 0, "", nullptr);
  if (!node) return SysFail(node.error());
  struct stat real {};  // the new upper file itself: its open fd has its attributes
  auto fd = OpenCreated(*impl_, *node, flags, &real);
  if (!fd) return SysFail(fd.error());
  Created out;
  out.entry = impl_->MakeEntry(*node, impl_->AttrFrom(**node, real));
  out.handle = impl_->AddFile(std::move(*fd), *node, flags);
  return out;
}

namespace {

// The open file and the descriptor to use for it now: a file opened on a lower object before
// its copy-up is switched to the upper one, so it sees later writes as with the kernel.
struct FileAndFd {
  std::shared_ptr<OpenFile> file;
  int fd = -1;
};

FileAndFd FindFile(Union::Impl& impl, FileHandle h) {
  std::lock_guard<std::mutex> lock(impl.mu);
  auto it = impl.files.find(h);
  if (it == impl.files.end()) return {};
  OpenFile& f = *it->second;
  if (f.lower_data && f.node->upper && !f.node->metacopy) {
    int flags = (f.flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_NOFOLLOW;
    if (auto up = impl.DataFd(*f.node, flags)) {
      f.retired = std::move(f.fd);
      f.fd = std::move(*up);
      f.lower_data = false;
    }
  }
  return {it->second, f.fd.get()};
}

}  // namespace

SysResult<size_t> Union::Read(FileHandle handle, void* buf, size_t size, off_t offset) {
  auto f = FindFile(*impl_, handle);
  if (!f.file) return SysFail(EBADF);
  ssize_t n = ::pread(f.fd, buf, size, offset);
  if (n < 0) return SysFail(errno);
  return static_cast<size_t>(n);
}

SysResult<size_t> Union::Write(FileHandle handle, const void* buf, size_t size, off_t offset) {
  auto f = FindFile(*impl_, handle);
  if (!f.file) return SysFail(EBADF);
  ssize_t n = ::pwrite(f.fd, buf, size, offset);
  if (n < 0) return SysFail(errno);
  return static_cast<size_t>(n);
}

SysResult<FileFdLease> Union::FileFd(FileHandle handle) {
  auto f = FindFile(*impl_, handle);
  if (!f.file) return SysFail(EBADF);
  return FileFdLease{f.fd, std::move(f.file)};
}

SysResult<void> Union::Fsync(FileHandle handle, bool datasync) {
  auto f = FindFile(*impl_, handle);
  if (!f.file) return SysFail(EBADF);
  if ((datasync ? ::fdatasync(f.fd) : ::fsync(f.fd)) != 0) return SysFail(errno);
  return {};
}

SysResult<void> Union::Fallocate(FileHandle handle, int mode, off_t offset, off_t length) {
  auto f = FindFile(*impl_, handle);
  if (!f.file) return SysFail(EBADF);
  if (::fallocate(f.fd, mode, offset, length) != 0) return SysFail(errno);
  return {};
}

SysResult<void> Union::Release(FileHandle handle) {
  Lock lock(impl_->mu);
  if (impl_->files.erase(handle) == 0) return SysFail(EBADF);
  return {};
}

SysResult<DirHandle> Union::OpenDir(const Cred& cred, NodeId id) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  if (!node->is_dir()) return SysFail(ENOTDIR);
  auto st = impl_->Attr(*node);
  if (!st) return SysFail(st.error());
  if (auto p = CheckPermission(cred, *st, kMayRead); !p) return SysFail(p.error());
  auto state = std::make_unique<OpenDirState>();
  state->node = node;
  DirHandle h = impl_->next_handle++;
  impl_->dirs[h] = std::move(state);
  return h;
}

SysResult<std::vector<DirEntry>> Union::ReadDir(DirHandle handle, off_t offset,
                                                size_t max_entries) {
  Lock lock(impl_->mu);
  auto it = impl_->dirs.find(handle);
  if (it == impl_->dirs.end()) return SysFail(EBADF);
  OpenDirState& d = *it->second;
  if (offset < 0) return SysFail(EINVAL);
  if (offset == 0 || !d.built) {  // RD2: a seek to 0 rebuilds the listing
    auto list = impl_->MergedListing(d.node);
    if (!list) return SysFail(list.error());
    d.entries = std::move(*list);
    d.built = true;
  }
  std::vector<DirEntry> out;
  for (size_t i = static_cast<size_t>(offset); i < d.entries.size(); ++i) {
    if (max_entries && out.size() >= max_entries) break;
    out.push_back(d.entries[i]);
  }
  return out;
}

SysResult<void> Union::ReleaseDir(DirHandle handle) {
  Lock lock(impl_->mu);
  if (impl_->dirs.erase(handle) == 0) return SysFail(EBADF);
  return {};
}

namespace {

SysResult<Entry> EntryOf(Union::Impl& impl, SysResult<NodePtr> node) {
  if (!node) return SysFail(node.error());
  auto st = impl.Attr(**node);
  if (!st) return SysFail(st.error());
  return impl.MakeEntry(*node, *st);
}

}  // namespace

SysResult<Entry> Union::Mkdir(const Cred& cred, NodeId parent, std::string_view name, mode_t mode) {
  Lock lock(impl_->mu);
  OVLAB_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  return EntryOf(*impl_, impl_->Create(cred, dir, name, S_IFDIR | (mode & 07777), 0, "", nullptr));
}

namespace {

SysResult<mode_t> MknodMode(mode_t mode) {
  mode_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (S_ISDIR(type)) return SysFail(EPERM);
  if (!S_ISREG(type) && !S_ISCHR(type) && !S_ISBLK(type) && !S_ISFIFO(type) && !S_ISSOCK(type))
    return SysFail(EINVAL);
  return type | (mode & 07777);
}

}  // namespace

SysResult<Entry> Union::Mknod(const Cred& cred, NodeId parent, std::string_view name, mode_t mode,
                              dev_t rdev) {
  Lock lock(impl_->mu);
  OVLAB_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  auto m = MknodMode(mode);
  if (!m) return SysFail(m.error());
  return EntryOf(*impl_, impl_->Create(cred, dir, name, *m, rdev, "", nullptr));
}

SysResult<Entry> Union::Symlink(const Cred& cred, NodeId parent, std::string_view name,
                                std::string_view target) {
  Lock lock(impl_->mu);
  OVLAB_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  if (target.empty()) return SysFail(ENOENT);
  return EntryOf(*impl_, impl_->Create(cred, dir, name, S_IFLNK | 0777, 0, target, nullptr));
}

SysResult<Entry> Union::Link(const Cred& cred, NodeId id, NodeId new_parent,
                             std::string_view new_name) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  OVLAB_NODE(dir, new_parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  return EntryOf(*impl_, impl_->Create(cred, dir, new_name, 0, 0, "", node));
}

SysResult<void> Union::Unlink(const Cred& cred, NodeId parent, std::string_view name) {
  Lock lock(impl_->mu);
  OVLAB_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  return impl_->Remove(cred, dir, name, false);
}

SysResult<void> Union::Rmdir(const Cred& cred, NodeId parent, std::string_view name) {
  Lock lock(impl_->mu);
  OVLAB_NODE(dir, parent);
  if (auto p = impl_->MayLookup(cred, dir); !p) return SysFail(p.error());
  return impl_->Remove(cred, dir, name, true);
}

SysResult<void> Union::Rename(const Cred& cred, NodeId parent, std::string_view name,
                              NodeId new_parent, std::string_view new_name, unsigned flags) {
  Lock lock(impl_->mu);
  OVLAB_NODE(odir, parent);
  OVLAB_NODE(ndir, new_parent);
  if (auto p = impl_->MayLookup(cred, odir); !p) return SysFail(p.error());
  if (auto p = impl_->MayLookup(cred, ndir); !p) return SysFail(p.error());
  return impl_->Rename(cred, odir, name, ndir, new_name, flags);
}

SysResult<std::string> Union::GetXattr(const Cred& cred, NodeId id, std::string_view name) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  return impl_->GetXattr(cred, node, name);
}

SysResult<void> Union::SetXattr(const Cred& cred, NodeId id, std::string_view name,
                                std::string_view value, int flags) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  return impl_->SetXattr(cred, node, name, value, flags);
}

SysResult<std::vector<std::string>> Union::ListXattr(const Cred& cred, NodeId id) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  return impl_->ListXattr(cred, node);
}

SysResult<void> Union::RemoveXattr(const Cred& cred, NodeId id, std::string_view name) {
  Lock lock(impl_->mu);
  OVLAB_NODE(node, id);
  return impl_->RemoveXattr(cred, node, name);
}

namespace {

SysResult<struct statvfs> StatFsOf(Union::Impl& impl) {
  const Layer& layer = impl.upper ? *impl.upper : impl.lowers.front();
  struct statvfs sv {};
  if (::fstatvfs(layer.root.get(), &sv) != 0) return SysFail(errno);
  return sv;
}

}  // namespace

SysResult<struct statvfs> Union::StatFs(NodeId) {
  Lock lock(impl_->mu);
  return StatFsOf(*impl_);
}

// ---- Path level ---------------------------------------------------------------------------------

SysResult<Entry> Union::LookupPath(const Cred& cred, std::string_view path, int at_flags) {
  Lock lock(impl_->mu);
  return EntryOf(*impl_, impl_->Walk(cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW)));
}

SysResult<struct stat> Union::Stat(const Cred& cred, std::string_view path, int at_flags) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW));
  if (!node) return SysFail(node.error());
  return impl_->Attr(**node);
}

SysResult<void> Union::Access(const Cred& cred, std::string_view path, int mask, int at_flags) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW));
  if (!node) return SysFail(node.error());
  return impl_->Access(cred, *node, mask);
}

SysResult<std::string> Union::ReadLink(const Cred& cred, std::string_view path) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(cred, path, false);
  if (!node) return SysFail(node.error());
  return impl_->ReadLink(*node);
}

namespace {

// The path a symlink at `link_path` points to, for following it by path: absolute targets start
// at the union root, relative ones in the symlink's directory.
std::string FollowedPath(std::string_view link_path, const std::string& target) {
  if (target[0] == '/') return target;
  size_t slash = link_path.rfind('/');
  std::string dir(slash == std::string_view::npos ? "" : link_path.substr(0, slash + 1));
  return dir + target;
}

}  // namespace

SysResult<FileHandle> Union::Open(const Cred& cred, std::string_view path, int flags, mode_t mode) {
  Lock lock(impl_->mu);
  const bool follow = !(flags & O_NOFOLLOW);
  NodePtr node;
  if (flags & O_CREAT) {
    // As the kernel's open_last_lookups(): a symlink in the last place is followed (also when it
    // dangles, so the missing target is created), up to the same 40-link limit as a walk.
    std::string current(path);
    for (int links = 0;; ++links) {
      auto pn = impl_->WalkParent(cred, current);
      if (!pn) return SysFail(pn.error());
      if (pn->name == "." || pn->name == ".." || pn->trailing_slash) return SysFail(EISDIR);
      auto existing = impl_->Child(pn->dir, pn->name);
      if (!existing && existing.error() != ENOENT) return SysFail(existing.error());
      if (!existing) {
        auto created =
            impl_->Create(cred, pn->dir, pn->name, S_IFREG | (mode & 07777), 0, "", nullptr);
        if (!created) return SysFail(created.error());
        auto fd = OpenCreated(*impl_, *created, flags);
        if (!fd) return SysFail(fd.error());
        return impl_->AddFile(std::move(*fd), *created, flags);
      }
      if (flags & O_EXCL) return SysFail(EEXIST);
      node = *existing;
      if (!S_ISLNK(node->type)) break;
      if (!follow) return SysFail(ELOOP);
      if (links >= kMaxSymlinks) return SysFail(ELOOP);
      auto target = impl_->ReadLink(node);
      if (!target) return SysFail(target.error());
      if (target->empty()) return SysFail(ENOENT);
      current = FollowedPath(current, *target);
    }
    if (node->is_dir()) return SysFail(EISDIR);
  } else {
    auto found = impl_->Walk(cred, path, follow);
    if (!found) return SysFail(found.error());
    node = *found;
  }
  if ((flags & O_DIRECTORY) && !node->is_dir()) return SysFail(ENOTDIR);
  auto fd = impl_->OpenFileFd(cred, node, flags);
  if (!fd) return SysFail(fd.error());
  return impl_->AddFile(std::move(*fd), node, flags);
}

namespace {

SysResult<void> SetAttrPath(Union::Impl& impl, const Cred& cred, std::string_view path, bool follow,
                            unsigned mask, const SetAttrValues& v) {
  auto node = impl.Walk(cred, path, follow);
  if (!node) return SysFail(node.error());
  auto st = impl.SetAttr(cred, *node, mask, v, nullptr);
  if (!st) return SysFail(st.error());
  return {};
}

}  // namespace

SysResult<void> Union::Truncate(const Cred& cred, std::string_view path, off_t size) {
  Lock lock(impl_->mu);
  SetAttrValues v;
  v.size = size;
  return SetAttrPath(*impl_, cred, path, true, kSetSize, v);
}

SysResult<void> Union::Chmod(const Cred& cred, std::string_view path, mode_t mode, int at_flags) {
  Lock lock(impl_->mu);
  SetAttrValues v;
  v.mode = mode;
  return SetAttrPath(*impl_, cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW), kSetMode, v);
}

SysResult<void> Union::Chown(const Cred& cred, std::string_view path, uid_t uid, gid_t gid,
                             int at_flags) {
  Lock lock(impl_->mu);
  SetAttrValues v;
  v.uid = uid;
  v.gid = gid;
  unsigned mask = (uid != static_cast<uid_t>(-1) ? kSetUid : 0u) |
                  (gid != static_cast<gid_t>(-1) ? kSetGid : 0u);
  return SetAttrPath(*impl_, cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW), mask, v);
}

SysResult<void> Union::Utimens(const Cred& cred, std::string_view path,
                               const struct timespec* times, int at_flags) {
  Lock lock(impl_->mu);
  SetAttrValues v;
  unsigned mask = 0;
  auto add = [&](const struct timespec* t, unsigned set, unsigned now, struct timespec& dst) {
    if (!t || t->tv_nsec == UTIME_NOW) {
      mask |= set | now;
    } else if (t->tv_nsec != UTIME_OMIT) {
      mask |= set;
      dst = *t;
    }
  };
  add(times ? &times[0] : nullptr, kSetAtime, kSetAtimeNow, v.atime);
  add(times ? &times[1] : nullptr, kSetMtime, kSetMtimeNow, v.mtime);
  if (mask == 0) {  // both omitted: only the path must resolve
    auto node = impl_->Walk(cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW));
    if (!node) return SysFail(node.error());
    return {};
  }
  return SetAttrPath(*impl_, cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW), mask, v);
}

SysResult<std::vector<DirEntry>> Union::ReadDir(const Cred& cred, std::string_view path) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(cred, path, true);
  if (!node) return SysFail(node.error());
  if (!(*node)->is_dir()) return SysFail(ENOTDIR);
  auto st = impl_->Attr(**node);
  if (!st) return SysFail(st.error());
  if (auto p = CheckPermission(cred, *st, kMayRead); !p) return SysFail(p.error());
  return impl_->MergedListing(*node);
}

namespace {

SysResult<void> CreatePath(Union::Impl& impl, const Cred& cred, std::string_view path, mode_t mode,
                           dev_t rdev, std::string_view target, const NodePtr& source) {
  auto pn = impl.WalkParent(cred, path);
  if (!pn) return SysFail(pn.error());
  if (pn->trailing_slash && !S_ISDIR(mode)) {
    // "name/" names a directory: an existing name is EEXIST, a new non-directory ENOENT.
    auto existing = impl.Child(pn->dir, pn->name);
    return SysFail(existing ? EEXIST : ENOENT);
  }
  auto node = impl.Create(cred, pn->dir, pn->name, mode, rdev, target, source);
  if (!node) return SysFail(node.error());
  return {};
}

}  // namespace

SysResult<void> Union::Mkdir(const Cred& cred, std::string_view path, mode_t mode) {
  Lock lock(impl_->mu);
  return CreatePath(*impl_, cred, path, S_IFDIR | (mode & 07777), 0, "", nullptr);
}

SysResult<void> Union::Mknod(const Cred& cred, std::string_view path, mode_t mode, dev_t rdev) {
  Lock lock(impl_->mu);
  auto m = MknodMode(mode);
  if (!m) return SysFail(m.error());
  return CreatePath(*impl_, cred, path, *m, rdev, "", nullptr);
}

SysResult<void> Union::Symlink(const Cred& cred, std::string_view target,
                               std::string_view link_path) {
  Lock lock(impl_->mu);
  if (target.empty()) return SysFail(ENOENT);
  return CreatePath(*impl_, cred, link_path, S_IFLNK | 0777, 0, target, nullptr);
}

SysResult<void> Union::Link(const Cred& cred, std::string_view old_path,
                            std::string_view new_path) {
  Lock lock(impl_->mu);
  auto src = impl_->Walk(cred, old_path, false);
  if (!src) return SysFail(src.error());
  return CreatePath(*impl_, cred, new_path, 0, 0, "", *src);
}

SysResult<void> Union::Unlink(const Cred& cred, std::string_view path) {
  Lock lock(impl_->mu);
  auto pn = impl_->WalkParent(cred, path);
  if (!pn) return SysFail(pn.error());
  if (pn->name == "." || pn->name == "..") return SysFail(EISDIR);
  if (pn->trailing_slash) {
    auto c = impl_->Child(pn->dir, pn->name);
    if (!c) return SysFail(c.error());
    return SysFail((*c)->is_dir() ? EISDIR : ENOTDIR);
  }
  return impl_->Remove(cred, pn->dir, pn->name, false);
}

SysResult<void> Union::Rmdir(const Cred& cred, std::string_view path) {
  Lock lock(impl_->mu);
  auto pn = impl_->WalkParent(cred, path);
  if (!pn) return SysFail(pn.error());
  if (pn->name == ".")
    return SysFail(pn->dir == impl_->root && path.find_first_not_of('/') == std::string_view::npos
                       ? EBUSY
                       : EINVAL);
  if (pn->name == "..") return SysFail(ENOTEMPTY);
  return impl_->Remove(cred, pn->dir, pn->name, true);
}

SysResult<void> Union::Rename(const Cred& cred, std::string_view old_path,
                              std::string_view new_path, unsigned flags) {
  Lock lock(impl_->mu);
  auto from = impl_->WalkParent(cred, old_path);
  if (!from) return SysFail(from.error());
  auto to = impl_->WalkParent(cred, new_path);
  if (!to) return SysFail(to.error());
  auto special = [](const std::string& n) { return n == "." || n == ".."; };
  if (special(from->name) || special(to->name)) return SysFail(EBUSY);
  if (from->trailing_slash || to->trailing_slash) {
    auto c = impl_->Child(from->dir, from->name);
    if (c && !(*c)->is_dir()) return SysFail(ENOTDIR);
  }
  return impl_->Rename(cred, from->dir, from->name, to->dir, to->name, flags);
}

SysResult<std::string> Union::GetXattr(const Cred& cred, std::string_view path,
                                       std::string_view name, int at_flags) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW));
  if (!node) return SysFail(node.error());
  return impl_->GetXattr(cred, *node, name);
}

SysResult<void> Union::SetXattr(const Cred& cred, std::string_view path, std::string_view name,
                                std::string_view value, int flags, int at_flags) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW));
  if (!node) return SysFail(node.error());
  return impl_->SetXattr(cred, *node, name, value, flags);
}

SysResult<std::vector<std::string>> Union::ListXattr(const Cred& cred, std::string_view path,
                                                     int at_flags) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW));
  if (!node) return SysFail(node.error());
  return impl_->ListXattr(cred, *node);
}

SysResult<void> Union::RemoveXattr(const Cred& cred, std::string_view path, std::string_view name,
                                   int at_flags) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(cred, path, !(at_flags & AT_SYMLINK_NOFOLLOW));
  if (!node) return SysFail(node.error());
  return impl_->RemoveXattr(cred, *node, name);
}

SysResult<struct statvfs> Union::StatFs(std::string_view path) {
  Lock lock(impl_->mu);
  auto node = impl_->Walk(Cred::Root(), path, true);
  if (!node) return SysFail(node.error());
  return StatFsOf(*impl_);
}

}  // namespace ovlab::unionfs
