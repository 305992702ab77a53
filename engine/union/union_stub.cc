// TEMPORARY: stubs that return ENOSYS until the engine lands (keeps dependents linking).
#include "union/union.h"

#include <cerrno>

namespace ovlab::unionfs {

struct Union::Impl {
  UnionOptions options;
};

Result<std::unique_ptr<Union>> Union::Open(const UnionOptions& options) {
  if (auto st = ValidateOptions(options); !st) return std::unexpected(st.error());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  return std::unique_ptr<Union>(new Union(std::move(impl)));
}

Union::Union(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Union::~Union() = default;
const UnionOptions& Union::options() const {
  return impl_->options;
}
bool Union::read_only() const {
  return impl_->options.upper.empty();
}
UnionStats Union::stats() const {
  return {};
}
void Union::ResetStats() {}
void Union::DropCaches() {}
void Union::Forget(NodeId, uint64_t) {}

SysResult<Entry> Union::Lookup(const Cred&, NodeId, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<struct stat> Union::GetAttr(const Cred&, NodeId) {
  return SysFail(ENOSYS);
}
SysResult<struct stat> Union::SetAttr(const Cred&, NodeId, unsigned, const SetAttrValues&,
                                      std::optional<FileHandle>) {
  return SysFail(ENOSYS);
}
SysResult<std::string> Union::ReadLink(const Cred&, NodeId) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Access(const Cred&, NodeId, int) {
  return SysFail(ENOSYS);
}
SysResult<FileHandle> Union::Open(const Cred&, NodeId, int) {
  return SysFail(ENOSYS);
}
SysResult<Created> Union::Create(const Cred&, NodeId, std::string_view, int, mode_t) {
  return SysFail(ENOSYS);
}
SysResult<size_t> Union::Read(FileHandle, void*, size_t, off_t) {
  return SysFail(ENOSYS);
}
SysResult<size_t> Union::Write(FileHandle, const void*, size_t, off_t) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Fsync(FileHandle, bool) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Fallocate(FileHandle, int, off_t, off_t) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Release(FileHandle) {
  return SysFail(ENOSYS);
}
SysResult<DirHandle> Union::OpenDir(const Cred&, NodeId) {
  return SysFail(ENOSYS);
}
SysResult<std::vector<DirEntry>> Union::ReadDir(DirHandle, off_t, size_t) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::ReleaseDir(DirHandle) {
  return SysFail(ENOSYS);
}
SysResult<Entry> Union::Mkdir(const Cred&, NodeId, std::string_view, mode_t) {
  return SysFail(ENOSYS);
}
SysResult<Entry> Union::Mknod(const Cred&, NodeId, std::string_view, mode_t, dev_t) {
  return SysFail(ENOSYS);
}
SysResult<Entry> Union::Symlink(const Cred&, NodeId, std::string_view, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<Entry> Union::Link(const Cred&, NodeId, NodeId, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Unlink(const Cred&, NodeId, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Rmdir(const Cred&, NodeId, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Rename(const Cred&, NodeId, std::string_view, NodeId, std::string_view,
                              unsigned) {
  return SysFail(ENOSYS);
}
SysResult<std::string> Union::GetXattr(const Cred&, NodeId, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::SetXattr(const Cred&, NodeId, std::string_view, std::string_view, int) {
  return SysFail(ENOSYS);
}
SysResult<std::vector<std::string>> Union::ListXattr(const Cred&, NodeId) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::RemoveXattr(const Cred&, NodeId, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<struct statvfs> Union::StatFs(NodeId) {
  return SysFail(ENOSYS);
}
SysResult<Entry> Union::LookupPath(const Cred&, std::string_view, int) {
  return SysFail(ENOSYS);
}
SysResult<struct stat> Union::Stat(const Cred&, std::string_view, int) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Access(const Cred&, std::string_view, int, int) {
  return SysFail(ENOSYS);
}
SysResult<std::string> Union::ReadLink(const Cred&, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<FileHandle> Union::Open(const Cred&, std::string_view, int, mode_t) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Truncate(const Cred&, std::string_view, off_t) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Chmod(const Cred&, std::string_view, mode_t, int) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Chown(const Cred&, std::string_view, uid_t, gid_t, int) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Utimens(const Cred&, std::string_view, const struct timespec*, int) {
  return SysFail(ENOSYS);
}
SysResult<std::vector<DirEntry>> Union::ReadDir(const Cred&, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Mkdir(const Cred&, std::string_view, mode_t) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Mknod(const Cred&, std::string_view, mode_t, dev_t) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Symlink(const Cred&, std::string_view, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Link(const Cred&, std::string_view, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Unlink(const Cred&, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Rmdir(const Cred&, std::string_view) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::Rename(const Cred&, std::string_view, std::string_view, unsigned) {
  return SysFail(ENOSYS);
}
SysResult<std::string> Union::GetXattr(const Cred&, std::string_view, std::string_view, int) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::SetXattr(const Cred&, std::string_view, std::string_view, std::string_view,
                                int, int) {
  return SysFail(ENOSYS);
}
SysResult<std::vector<std::string>> Union::ListXattr(const Cred&, std::string_view, int) {
  return SysFail(ENOSYS);
}
SysResult<void> Union::RemoveXattr(const Cred&, std::string_view, std::string_view, int) {
  return SysFail(ENOSYS);
}
SysResult<struct statvfs> Union::StatFs(std::string_view) {
  return SysFail(ENOSYS);
}

}  // namespace ovlab::unionfs
