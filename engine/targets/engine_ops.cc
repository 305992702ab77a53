#include "targets/engine_ops.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <map>

namespace ovlab::targets {
namespace {

// Open handles map to small integers with their own file offsets, as descriptors do.
class EngineOpsImpl : public EngineOps {
 public:
  ~EngineOpsImpl() override { CloseEngine(); }

  Status OpenEngine(const unionfs::UnionOptions& options) override {
    CloseEngine();
    auto u = unionfs::Union::Open(options);
    if (!u) return std::unexpected(u.error());
    union_ = std::move(*u);
    return {};
  }
  void CloseEngine() override {
    if (union_) {
      for (auto& [id, h] : handles_) Release(h);
    }
    handles_.clear();
    union_.reset();
  }

  // Without O_CREAT the name is walked once (LookupPath) and the node opened; with it the
  // engine's path open creates the file and the node is looked up after.
  SysResult<int> Open(const std::string& path, int flags, mode_t mode) override {
    const int at = (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
    Handle h;
    h.append = flags & O_APPEND;
    if (flags & O_CREAT) {
      auto fh = U().Open(cred_, path, flags, mode);
      if (!fh) return SysFail(fh.error());
      h.file = *fh;
      if (auto entry = U().LookupPath(cred_, path, at)) {
        h.node = entry->node;
        h.fifo = S_ISFIFO(entry->attr.st_mode);
      }
      return Add(h);
    }
    auto entry = U().LookupPath(cred_, path, at);
    if (!entry) return SysFail(entry.error());
    h.node = entry->node;
    const bool dir = S_ISDIR(entry->attr.st_mode);
    const bool plain_read = (flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC);
    SysResult<uint64_t> opened = SysFail(ENOTDIR);
    if (dir && plain_read) {
      opened = U().OpenDir(cred_, h.node);
      if (opened) h.dir = *opened;
    } else if (!(flags & O_DIRECTORY) || dir) {
      opened = U().Open(cred_, h.node, flags);
      if (opened) h.file = *opened;
      h.fifo = S_ISFIFO(entry->attr.st_mode);
    }
    if (!opened) {
      U().Forget(h.node, 1);
      return SysFail(opened.error());
    }
    return Add(h);
  }

  SysResult<void> Close(int handle) override {
    auto it = handles_.find(handle);
    if (it == handles_.end()) return SysFail(EBADF);
    Release(it->second);
    handles_.erase(it);
    return {};
  }

  SysResult<std::string> Read(int handle, size_t max) override {
    Handle* h = Find(handle);
    if (h && h->dir) return SysFail(EISDIR);  // what read(2) says on a directory fd
    if (!h || !h->file) return SysFail(EBADF);
    // Fifo I/O never reaches a filesystem (the VFS serves it): no writer reads as end of file.
    if (h->fifo) return std::string();
    std::string buf(max, '\0');
    auto n = U().Read(h->file, buf.data(), max, h->offset);
    if (!n) return SysFail(n.error());
    buf.resize(*n);
    h->offset += static_cast<off_t>(*n);
    return buf;
  }

  SysResult<size_t> Write(int handle, const std::string& data) override {
    Handle* h = Find(handle);
    if (!h || !h->file) return SysFail(EBADF);
    if (h->append && h->node) {
      auto st = U().GetAttr(cred_, h->node);
      if (st) h->offset = st->st_size;
    }
    auto n = U().Write(h->file, data.data(), data.size(), h->offset);
    if (!n) return SysFail(n.error());
    h->offset += static_cast<off_t>(*n);
    return *n;
  }

  SysResult<size_t> Pwrite(int handle, const void* buf, size_t size, off_t offset) override {
    Handle* h = Find(handle);
    if (!h || !h->file) return SysFail(EBADF);
    if (h->append && h->node) {
      auto st = U().GetAttr(cred_, h->node);
      if (st) offset = st->st_size;
    }
    return U().Write(h->file, buf, size, offset);
  }

  SysResult<size_t> Pread(int handle, void* buf, size_t size, off_t offset) override {
    Handle* h = Find(handle);
    if (!h || !h->file) return SysFail(EBADF);
    return U().Read(h->file, buf, size, offset);
  }

  SysResult<void> Fsync(int handle) override {
    Handle* h = Find(handle);
    if (!h || !h->file) return SysFail(EBADF);
    return U().Fsync(h->file, false);
  }

  SysResult<struct stat> Fstat(int handle) override {
    Handle* h = Find(handle);
    if (!h || !h->node) return SysFail(EBADF);
    return U().GetAttr(cred_, h->node);
  }

  SysResult<void> Ftruncate(int handle, off_t size) override {
    Handle* h = Find(handle);
    if (!h || !h->file) return SysFail(EBADF);
    unionfs::SetAttrValues v;
    v.size = size;
    auto r = U().SetAttr(cred_, h->node, unionfs::kSetSize, v, h->file);
    if (!r) return SysFail(r.error());
    return {};
  }

  SysResult<struct stat> Stat(const std::string& path) override { return U().Stat(cred_, path, 0); }
  SysResult<struct stat> Lstat(const std::string& path) override {
    return U().Stat(cred_, path, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> Truncate(const std::string& path, off_t size) override {
    return U().Truncate(cred_, path, size);
  }
  SysResult<void> Mkdir(const std::string& path, mode_t mode) override {
    // The VFS keeps only permission and sticky bits of mkdir's mode, and applies the umask.
    return U().Mkdir(cred_, path, mode & (S_IRWXU | S_IRWXG | S_IRWXO | S_ISVTX) & ~umask_);
  }
  SysResult<void> Rmdir(const std::string& path) override { return U().Rmdir(cred_, path); }
  SysResult<void> Unlink(const std::string& path) override { return U().Unlink(cred_, path); }
  SysResult<void> Rename(const std::string& from, const std::string& to, unsigned flags) override {
    return U().Rename(cred_, from, to, flags);
  }
  SysResult<void> Link(const std::string& from, const std::string& to) override {
    return U().Link(cred_, from, to);
  }
  SysResult<void> Symlink(const std::string& target, const std::string& path) override {
    return U().Symlink(cred_, target, path);
  }
  SysResult<std::string> Readlink(const std::string& path) override {
    return U().ReadLink(cred_, path);
  }
  SysResult<void> Mknod(const std::string& path, mode_t mode, dev_t dev) override {
    return U().Mknod(cred_, path, mode & ~umask_, dev);
  }
  SysResult<void> Chmod(const std::string& path, mode_t mode) override {
    return U().Chmod(cred_, path, mode, 0);
  }
  SysResult<void> Lchown(const std::string& path, uid_t uid, gid_t gid) override {
    return U().Chown(cred_, path, uid, gid, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> Utimens(const std::string& path, const struct timespec times[2],
                          int flags) override {
    return U().Utimens(cred_, path, times, flags);
  }
  SysResult<void> SetXattr(const std::string& path, const std::string& name,
                           const std::string& value, int flags) override {
    return U().SetXattr(cred_, path, name, value, flags, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<std::string> GetXattr(const std::string& path, const std::string& name) override {
    return U().GetXattr(cred_, path, name, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<std::vector<std::string>> ListXattr(const std::string& path) override {
    return U().ListXattr(cred_, path, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> RemoveXattr(const std::string& path, const std::string& name) override {
    return U().RemoveXattr(cred_, path, name, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> Access(const std::string& path, int mode) override {
    return U().Access(cred_, path, mode, 0);
  }

  SysResult<std::vector<DirEntry>> ReadDir(int handle, size_t max) override {
    Handle* h = Find(handle);
    if (!h) return SysFail(EBADF);
    if (!h->dir) return SysFail(ENOTDIR);
    auto entries = U().ReadDir(h->dir, h->offset, max);
    if (!entries) return SysFail(entries.error());
    std::vector<DirEntry> out;
    for (const auto& e : *entries) {
      out.push_back(DirEntry{e.name, e.type, static_cast<int64_t>(e.offset)});
      h->offset = e.offset;
    }
    return out;
  }
  SysResult<void> SeekDir(int handle, int64_t offset) override {
    Handle* h = Find(handle);
    if (!h) return SysFail(EBADF);
    h->offset = offset;
    return {};
  }

  int RunAs(const Cred& cred, const std::function<int(Ops&)>& op) override {
    unionfs::Cred saved = cred_;
    cred_ = unionfs::Cred::User(cred.uid, cred.gid, cred.groups);
    int rc = op(*this);
    cred_ = saved;
    return rc;
  }

  std::string HostPath(const std::string&) const override { return ""; }

 private:
  struct Handle {
    unionfs::NodeId node = 0;
    unionfs::FileHandle file = 0;
    unionfs::DirHandle dir = 0;
    off_t offset = 0;
    bool append = false;
    bool fifo = false;
  };

  // Ops are called between OpenEngine and CloseEngine only (UnionMount's Up and Down).
  unionfs::Union& U() {
    if (!union_) {
      std::fprintf(stderr, "ovlab: engine Ops used while the engine is closed\n");
      std::abort();
    }
    return *union_;
  }
  int Add(const Handle& h) {
    int id = next_++;
    handles_[id] = h;
    return id;
  }
  Handle* Find(int id) {
    auto it = handles_.find(id);
    return it == handles_.end() ? nullptr : &it->second;
  }
  void Release(const Handle& h) {
    if (h.file) (void)U().Release(h.file);
    if (h.dir) (void)U().ReleaseDir(h.dir);
    if (h.node) U().Forget(h.node, 1);
  }

  // Mounted targets get the process umask applied by the kernel's VFS; the engine is called
  // directly, so apply the same umask here.
  const mode_t umask_ = [] {
    mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }();
  unionfs::Cred cred_ = unionfs::Cred::Root();
  std::unique_ptr<unionfs::Union> union_;
  std::map<int, Handle> handles_;
  int next_ = 3;
};

}  // namespace

std::unique_ptr<EngineOps> EngineOps::Make() {
  return std::make_unique<EngineOpsImpl>();
}

}  // namespace ovlab::targets
