#include "runner/view.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "union/union.h"

namespace ovlab::bench {
namespace {

SysResult<void> Check(int rc) {
  if (rc != 0) return SysFail(errno);
  return {};
}

class MountedView : public View {
 public:
  explicit MountedView(std::string root) : root_(std::move(root)) {}

  SysResult<Handle> Open(const std::string& path, int flags, mode_t mode) override {
    int fd = ::open(At(path).c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return SysFail(errno);
    return static_cast<Handle>(fd);
  }
  SysResult<void> Close(Handle h) override { return Check(::close(static_cast<int>(h))); }
  SysResult<size_t> Pwrite(Handle h, const void* buf, size_t size, off_t offset) override {
    ssize_t n = ::pwrite(static_cast<int>(h), buf, size, offset);
    if (n < 0) return SysFail(errno);
    return static_cast<size_t>(n);
  }
  SysResult<size_t> Pread(Handle h, void* buf, size_t size, off_t offset) override {
    ssize_t n = ::pread(static_cast<int>(h), buf, size, offset);
    if (n < 0) return SysFail(errno);
    return static_cast<size_t>(n);
  }
  SysResult<void> Fsync(Handle h) override { return Check(::fsync(static_cast<int>(h))); }
  SysResult<struct stat> Stat(const std::string& path) override {
    struct stat st;
    if (::stat(At(path).c_str(), &st) != 0) return SysFail(errno);
    return st;
  }
  SysResult<void> Chmod(const std::string& path, mode_t mode) override {
    return Check(::chmod(At(path).c_str(), mode));
  }
  SysResult<void> Chown(const std::string& path, uid_t uid, gid_t gid) override {
    return Check(::lchown(At(path).c_str(), uid, gid));
  }
  SysResult<void> Unlink(const std::string& path) override {
    return Check(::unlink(At(path).c_str()));
  }
  SysResult<void> Mkdir(const std::string& path, mode_t mode) override {
    return Check(::mkdir(At(path).c_str(), mode));
  }
  SysResult<size_t> CountEntries(const std::string& dir) override {
    DIR* d = ::opendir(At(dir).c_str());
    if (!d) return SysFail(errno);
    size_t n = 0;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name != "." && name != "..") ++n;
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return SysFail(err);
    return n;
  }
  std::string HostPath(const std::string& path) const override { return At(path); }

 private:
  std::string At(const std::string& path) const { return root_ + path; }
  std::string root_;
};

class EngineView : public View {
 public:
  explicit EngineView(unionfs::Union& engine) : u_(engine) {}

  SysResult<Handle> Open(const std::string& path, int flags, mode_t mode) override {
    return u_.Open(cred_, path, flags, mode);
  }
  SysResult<void> Close(Handle h) override { return u_.Release(h); }
  SysResult<size_t> Pwrite(Handle h, const void* buf, size_t size, off_t offset) override {
    return u_.Write(h, buf, size, offset);
  }
  SysResult<size_t> Pread(Handle h, void* buf, size_t size, off_t offset) override {
    return u_.Read(h, buf, size, offset);
  }
  SysResult<void> Fsync(Handle h) override { return u_.Fsync(h, false); }
  SysResult<struct stat> Stat(const std::string& path) override { return u_.Stat(cred_, path); }
  SysResult<void> Chmod(const std::string& path, mode_t mode) override {
    return u_.Chmod(cred_, path, mode);
  }
  SysResult<void> Chown(const std::string& path, uid_t uid, gid_t gid) override {
    return u_.Chown(cred_, path, uid, gid, AT_SYMLINK_NOFOLLOW);
  }
  SysResult<void> Unlink(const std::string& path) override { return u_.Unlink(cred_, path); }
  SysResult<void> Mkdir(const std::string& path, mode_t mode) override {
    return u_.Mkdir(cred_, path, mode);
  }
  SysResult<size_t> CountEntries(const std::string& dir) override {
    auto entries = u_.ReadDir(cred_, dir);
    if (!entries) return SysFail(entries.error());
    size_t n = 0;
    for (const auto& e : *entries) n += e.name != "." && e.name != "..";
    return n;
  }
  std::string HostPath(const std::string&) const override { return ""; }

 private:
  unionfs::Union& u_;
  unionfs::Cred cred_ = unionfs::Cred::Root();
};

}  // namespace

std::unique_ptr<View> MakeMountedView(const std::string& root) {
  return std::make_unique<MountedView>(root);
}

std::unique_ptr<View> MakeEngineView(unionfs::Union& engine) {
  return std::make_unique<EngineView>(engine);
}

SysResult<void> WriteAt(View& view, const std::string& path, int flags, const void* buf,
                        size_t size, off_t offset) {
  auto h = view.Open(path, flags);
  if (!h) return SysFail(h.error());
  auto n = view.Pwrite(*h, buf, size, offset);
  auto closed = view.Close(*h);
  if (!n) return SysFail(n.error());
  if (*n != size) return SysFail(EIO);
  return closed;
}

}  // namespace ovlab::bench
