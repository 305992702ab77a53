// The in-process union engine behind the Target operations: the engine's path-level API with the
// case's credentials, open handles mapped to small integers with their own file offsets.
#include <fcntl.h>

#include <map>

#include "conformance/targets.h"

#ifdef OVLAB_HAVE_UNION_ENGINE
#include "union/union.h"

namespace ovlab::conformance {
namespace {

class EngineTarget : public Target {
 public:
  std::string Name() const override { return "engine"; }
  std::string Version() const override { return OVLAB_VERSION; }
  std::string Options() const override {
    return std::string("redirect_dir=") + (config_.redirect_dir ? "on" : "off") +
           (config_.metacopy ? ",metacopy=on" : "");
  }

  Status Setup(const LayerSet& layers, const TargetConfig& config) override {
    config_ = config;
    return Open(layers);
  }
  Status Remount(const LayerSet& layers) override {
    CloseAll();
    union_.reset();
    return Open(layers);
  }
  Status Teardown() override {
    CloseAll();
    union_.reset();
    return {};
  }

  SysResult<int> Open(const std::string& path, int flags, mode_t mode) override {
    const int at = (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
    Handle h;
    auto st = union_->Stat(cred_, path, at);
    const bool plain_read = (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC));
    if (st && S_ISDIR(st->st_mode) && plain_read) {
      auto entry = union_->LookupPath(cred_, path, at);
      if (!entry) return SysFail(entry.error());
      h.node = entry->node;
      auto dh = union_->OpenDir(cred_, h.node);
      if (!dh) {
        union_->Forget(h.node, 1);
        return SysFail(dh.error());
      }
      h.dir = *dh;
    } else {
      auto fh = union_->Open(cred_, path, flags, mode);
      if (!fh) return SysFail(fh.error());
      h.file = *fh;
      h.append = flags & O_APPEND;
      h.fifo = st && S_ISFIFO(st->st_mode);
      auto entry = union_->LookupPath(cred_, path, at);
      if (entry) h.node = entry->node;
    }
    int id = next_++;
    handles_[id] = h;
    return id;
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
    auto n = union_->Read(h->file, buf.data(), max, h->offset);
    if (!n) return SysFail(n.error());
    buf.resize(*n);
    h->offset += static_cast<off_t>(*n);
    return buf;
  }

  SysResult<size_t> Write(int handle, const std::string& data) override {
    Handle* h = Find(handle);
    if (!h || !h->file) return SysFail(EBADF);
    if (h->append && h->node) {
      auto st = union_->GetAttr(cred_, h->node);
      if (st) h->offset = st->st_size;
    }
    auto n = union_->Write(h->file, data.data(), data.size(), h->offset);
    if (!n) return SysFail(n.error());
    h->offset += static_cast<off_t>(*n);
    return *n;
  }

  SysResult<struct stat> Fstat(int handle) override {
    Handle* h = Find(handle);
    if (!h || !h->node) return SysFail(EBADF);
    return union_->GetAttr(cred_, h->node);
  }

  SysResult<void> Ftruncate(int handle, off_t size) override {
    Handle* h = Find(handle);
    if (!h || !h->file) return SysFail(EBADF);
    unionfs::SetAttrValues v;
    v.size = size;
    auto r = union_->SetAttr(cred_, h->node, unionfs::kSetSize, v, h->file);
    if (!r) return SysFail(r.error());
    return {};
  }

  SysResult<struct stat> Stat(const std::string& path) override {
    return union_->Stat(cred_, path, 0);
  }
  SysResult<struct stat> Lstat(const std::string& path) override {
    return union_->Stat(cred_, path, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> Truncate(const std::string& path, off_t size) override {
    return union_->Truncate(cred_, path, size);
  }
  SysResult<void> Mkdir(const std::string& path, mode_t mode) override {
    // The VFS keeps only permission and sticky bits of mkdir's mode, and applies the umask.
    return union_->Mkdir(cred_, path, mode & (S_IRWXU | S_IRWXG | S_IRWXO | S_ISVTX) & ~umask_);
  }
  SysResult<void> Rmdir(const std::string& path) override { return union_->Rmdir(cred_, path); }
  SysResult<void> Unlink(const std::string& path) override { return union_->Unlink(cred_, path); }
  SysResult<void> Rename(const std::string& from, const std::string& to, unsigned flags) override {
    return union_->Rename(cred_, from, to, flags);
  }
  SysResult<void> Link(const std::string& from, const std::string& to) override {
    return union_->Link(cred_, from, to);
  }
  SysResult<void> Symlink(const std::string& target, const std::string& path) override {
    return union_->Symlink(cred_, target, path);
  }
  SysResult<std::string> Readlink(const std::string& path) override {
    return union_->ReadLink(cred_, path);
  }
  SysResult<void> Mknod(const std::string& path, mode_t mode, dev_t dev) override {
    return union_->Mknod(cred_, path, mode & ~umask_, dev);
  }
  SysResult<void> Chmod(const std::string& path, mode_t mode) override {
    return union_->Chmod(cred_, path, mode, 0);
  }
  SysResult<void> Lchown(const std::string& path, uid_t uid, gid_t gid) override {
    return union_->Chown(cred_, path, uid, gid, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> Utimens(const std::string& path, const struct timespec times[2],
                          int flags) override {
    return union_->Utimens(cred_, path, times, flags);
  }
  SysResult<void> SetXattr(const std::string& path, const std::string& name,
                           const std::string& value, int flags) override {
    return union_->SetXattr(cred_, path, name, value, flags, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<std::string> GetXattr(const std::string& path, const std::string& name) override {
    return union_->GetXattr(cred_, path, name, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<std::vector<std::string>> ListXattr(const std::string& path) override {
    return union_->ListXattr(cred_, path, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> RemoveXattr(const std::string& path, const std::string& name) override {
    return union_->RemoveXattr(cred_, path, name, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> Access(const std::string& path, int mode) override {
    return union_->Access(cred_, path, mode, 0);
  }

  SysResult<std::vector<DirEntry>> ReadDir(int handle, size_t max) override {
    Handle* h = Find(handle);
    if (!h) return SysFail(EBADF);
    if (!h->dir) return SysFail(ENOTDIR);
    auto entries = union_->ReadDir(h->dir, h->offset, max);
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

  int RunAs(const Cred& cred, const std::function<int(Target&)>& op) override {
    unionfs::Cred saved = cred_;
    cred_ = unionfs::Cred::User(cred.uid, cred.gid, cred.groups);
    int rc = op(*this);
    cred_ = saved;
    return rc;
  }

  std::string UpperDir() const override { return upper_; }

 private:
  struct Handle {
    unionfs::NodeId node = 0;
    unionfs::FileHandle file = 0;
    unionfs::DirHandle dir = 0;
    off_t offset = 0;
    bool append = false;
    bool fifo = false;
  };

  Status Open(const LayerSet& layers) {
    unionfs::UnionOptions o;
    o.lowers = layers.lowers;
    o.upper = layers.upper;
    o.work = layers.work;
    o.redirect_dir = config_.redirect_dir;
    o.metacopy = config_.metacopy;
    auto u = unionfs::Union::Open(o);
    if (!u) return std::unexpected(u.error());
    union_ = std::move(*u);
    upper_ = layers.upper;
    return {};
  }
  Handle* Find(int id) {
    auto it = handles_.find(id);
    return it == handles_.end() ? nullptr : &it->second;
  }
  void Release(const Handle& h) {
    if (h.file) (void)union_->Release(h.file);
    if (h.dir) (void)union_->ReleaseDir(h.dir);
    if (h.node) union_->Forget(h.node, 1);
  }
  void CloseAll() {
    if (union_)
      for (auto& [id, h] : handles_) Release(h);
    handles_.clear();
  }

  // Mounted targets get the process umask applied by the kernel's VFS; the engine is called
  // directly, so apply the same umask here.
  const mode_t umask_ = [] {
    mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }();
  TargetConfig config_;
  unionfs::Cred cred_ = unionfs::Cred::Root();
  std::unique_ptr<unionfs::Union> union_;
  std::string upper_;
  std::map<int, Handle> handles_;
  int next_ = 3;
};

}  // namespace

Result<std::unique_ptr<Target>> MakeEngineTarget() {
  return std::unique_ptr<Target>(std::make_unique<EngineTarget>());
}

}  // namespace ovlab::conformance

#else

namespace ovlab::conformance {

Result<std::unique_ptr<Target>> MakeEngineTarget() {
  return Fail(ENOTSUP, "this build has no union engine (engine/union)");
}

}  // namespace ovlab::conformance

#endif
