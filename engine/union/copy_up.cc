// Copy-up (the kernel's copy_up.c, CU1/CU2/MC1/HL1): parents first; the object is built in
// <work>/work with its data, xattrs, origin, owner, mode and times, then renamed into place (a
// regular file: made nameless with O_TMPFILE and linked in, as the kernel does where it can), so
// a reader sees the lower object or the complete upper one, never a part. ENOSPC leaves nothing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/strings.h"
#include "io/attrs.h"
#include "io/copy.h"
#include "union/engine.h"
#include "union/xattr_names.h"

namespace ovlab::unionfs {

namespace {

// The overlay's own xattrs describe the lower object, not the copy; escaped user ones are kept.
bool KeepOnCopyUp(std::string_view name) {
  return !IsPrivateXattr(name);
}

std::pair<std::string, std::string> SplitRel(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

// The new file's owner, mode and times as `want`'s. Owner before mode (chown clears set-id bits),
// times last; an owner or mode it already has is not set again (each is a journal transaction).
SysResult<void> SetOwnerModeTimes(int fd, const struct stat& want) {
  struct stat now {};
  if (::fstat(fd, &now) != 0) return SysFail(errno);
  const bool chown = now.st_uid != want.st_uid || now.st_gid != want.st_gid;
  if (chown && ::fchown(fd, want.st_uid, want.st_gid) != 0) return SysFail(errno);
  if ((chown || (now.st_mode & 07777) != (want.st_mode & 07777)) &&
      ::fchmod(fd, want.st_mode & 07777) != 0)
    return SysFail(errno);
  struct timespec times[2] = {want.st_atim, want.st_mtim};
  if (::futimens(fd, times) != 0) return SysFail(errno);
  return {};
}

// Removes a half-built temp object; the original error is what the caller reports.
void DropTemp(int work_fd, const std::string& tmp) {
  (void)RemoveTreeAt(work_fd, tmp);
}

}  // namespace

bool Union::Impl::SyncsData(const io::CopyOutcome& copy) const {
  return !options.volatile_ && copy.used != io::CopyStrategy::kClone &&
         copy.used != io::CopyStrategy::kAuto;  // kAuto: nothing was copied
}

bool Union::Impl::Sync(int fd) {
  stats.copy_up_syncs++;
  return ::fsync(fd) == 0;
}

std::string Union::Impl::TempName() {
  return StrPrintf("#ovlab.%d.%llu", static_cast<int>(::getpid()),
                   static_cast<unsigned long long>(++temp_counter));
}

Result<void> Union::Impl::CleanWorkDir() {
  auto base = OpenPath(options.work, O_PATH | O_DIRECTORY);
  if (!base) return std::unexpected(base.error());
  if (::mkdirat(base->get(), "work", 0) != 0 && errno != EEXIST)
    return FailErrno(errno, StrPrintf("create %s/work", options.work.c_str()));
  int fd = ::openat(base->get(), "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, StrPrintf("open %s/work", options.work.c_str()));
  UniqueFd dir(fd);
  // As the kernel: an upper once used with `volatile` may have lost writes; refuse it.
  struct stat vst {};
  if (::fstatat(dir.get(), "incompat/volatile", &vst, AT_SYMLINK_NOFOLLOW) == 0) {
    return Fail(EINVAL, StrPrintf("upper/work were used with the volatile option and may be "
                                  "inconsistent: remove %s/work/incompat/volatile (or start "
                                  "from fresh upper and work directories)",
                                  options.work.c_str()));
  }
  auto entries = ReadDirFd(dir.get());
  if (!entries) return FailErrno(entries.error(), "list work dir");
  // Leftovers of interrupted copy-ups, whiteouts and renames: never visible, always removable.
  for (const auto& e : *entries) {
    if (auto s = RemoveTreeAt(dir.get(), e.name); !s)
      return std::unexpected(WithContext(s.error(), "clean " + options.work + "/work"));
  }
  if (options.volatile_) {
    if (::mkdirat(dir.get(), "incompat", 0) != 0 ||
        ::mkdirat(dir.get(), "incompat/volatile", 0) != 0)
      return FailErrno(errno, "create the volatile marker in " + options.work + "/work");
  }
  work = std::move(dir);
  return {};
}

SysResult<Union::Impl::CopyUpSource> Union::Impl::OpenCopyUpSource(const Node& node) {
  const LowerRef& src = node.lowers.front();
  auto [src_dir_rel, src_name] = SplitRel(src.path);
  CopyUpSource from{lowers[src.layer], src.path, {}, {}, src_name, {}, {}};
  const std::optional<FsUuid>& uuid = lower_uuids[src.layer];
  if (S_ISREG(node.type)) {
    // One fd serves the stat, the origin handle, the xattrs and the data. DataFd opens the
    // lower O_NOATIME where allowed, as the kernel's copy-up does, and checks its type.
    auto in = DataFd(node, O_RDONLY, &from.st);
    if (!in) return SysFail(in.error());
    from.file = std::move(*in);
    if (uuid) from.origin_fh = EncodeOrigin(from.file.get(), "", *uuid);
    return from;
  }
  auto src_dir = OpenDirIn(from.layer, src_dir_rel);
  if (!src_dir) return SysFail(src_dir.error());
  from.dir = std::move(*src_dir);
  auto st = StatAt(from.dir.get(), src_name);
  if (!st) return SysFail(st.error());
  from.st = *st;
  if (S_ISREG(from.st.st_mode)) return SysFail(ESTALE);  // regular files take the path above
  if (uuid) from.origin_fh = EncodeOrigin(from.dir.get(), src_name, *uuid);
  return from;
}

SysResult<void> Union::Impl::CopyUp(const NodePtr& node, bool with_data, bool emptied) {
  if (read_only()) return SysFail(EROFS);
  if (Unlinked(*node)) return SysFail(ESTALE);  // its name now belongs to something else
  if (node->upper) {
    if (with_data && node->metacopy) return CopyUpData(node, emptied);
    return {};
  }
  if (!node->parent || node->lowers.empty()) return SysFail(EIO);
  if (auto p = CopyUp(node->parent, false); !p) return p;

  auto source = OpenCopyUpSource(*node);
  if (!source) return SysFail(source.error());
  CopyUpSource& from = *source;
  const mode_t type = from.st.st_mode & S_IFMT;
  if (emptied && S_ISREG(type)) from.st.st_size = 0;
  auto dst_dir = UpperDirFd(node->parent);
  if (!dst_dir) return SysFail(dst_dir.error());
  struct stat parent_before {};
  const bool parent_stat = ::fstat(dst_dir->fd, &parent_before) == 0;

  const bool meta = !with_data && options.metacopy && S_ISREG(type);
  SysResult<io::CopyOutcome> made = SysFail(EOPNOTSUPP);
  if (S_ISREG(type) && options.nameless_copy_up)
    made = CopyUpNameless(node, from, meta, dst_dir->fd);
  if (!made && made.error() == EOPNOTSUPP) made = CopyUpNamed(node, from, meta, dst_dir->fd);
  if (!made) return SysFail(made.error());
  // As the kernel (best effort): the copy-up's new entry leaves the parent's times as they were,
  // so the merged directory does not look modified.
  if (parent_stat) {
    struct timespec times[2] = {parent_before.st_atim, parent_before.st_mtim};
    (void)::utimensat(dst_dir->fd, "", times, AT_EMPTY_PATH);
  }

  node->upper = true;
  node->lower_attr.reset();
  node->metacopy = meta;
  node->origin = !from.origin_fh.empty();
  node->origin_fh = from.origin_fh;
  node->origin_ino.reset();
  if (S_ISDIR(type)) node->impure = false;
  stats.copy_ups++;
  if (made->used != io::CopyStrategy::kAuto) {  // data was copied
    stats.data_copy_ups++;
    stats.bytes_copied += made->bytes_copied;
    stats.last_copy_strategy = made->used;
  }
  return {};
}

void Union::Impl::MarkImpure(const NodePtr& dir) {
  if (dir->impure) return;
  auto e = UpperEntry(*dir);
  if (e && SetXattrAt(e->first.get(), e->second, kXattrImpure, "y")) dir->impure = true;
}

SysResult<io::CopyOutcome> Union::Impl::FillFile(int in, int out, off_t size, bool meta) {
  if (size == 0) return io::CopyOutcome{};  // an empty file, or one an O_TRUNC open empties
  // Metadata only: the same size, no blocks; data stays in the lower until written (MC1).
  if (meta) {
    if (::ftruncate(out, size) != 0) return SysFail(errno);
    return io::CopyOutcome{};  // used stays kAuto: no data copied
  }
  auto copy = io::CopyFileData(in, out, options.copy_strategy);
  if (!copy) return SysFail(copy.error());
  // fsync=auto, as the kernel: copied data is synced before it shows; a reflink is not (it
  // shares blocks already on disk). fsync=strict syncs once later, after the metadata.
  if (!options.fsync_strict && SyncsData(*copy) && !Sync(out)) return SysFail(errno);
  return copy;
}

SysResult<io::CopyOutcome> Union::Impl::CopyUpNameless(const NodePtr& node,
                                                       const CopyUpSource& from, bool meta,
                                                       int dst_dir) {
  // Nameless until linked, so it may carry its final permission bits from the start (writable
  // by its owner while its xattrs are copied).
  const mode_t mode = (from.st.st_mode & 0777) | S_IWUSR;
  int fd = ::openat(work.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) return SysFail(errno == EISDIR || errno == EINVAL ? EOPNOTSUPP : errno);
  UniqueFd out(fd);  // closed without a link on any failure: nothing is left
  const int in = from.file.get();
  auto outcome = FillFile(in, out.get(), from.st.st_size, meta);
  if (!outcome) return SysFail(outcome.error());
  if (auto x = io::CopyXattrs(in, out.get(), KeepOnCopyUp); !x && x.error() != EOPNOTSUPP)
    return SysFail(x.error());
  if (!from.origin_fh.empty()) {
    if (auto x = SetXattrOfOpenFd(out.get(), kXattrOrigin, from.origin_fh); !x)
      return SysFail(x.error());
  }
  if (meta) {
    if (auto x = SetXattrOfOpenFd(out.get(), kXattrMetacopy, ""); !x) return SysFail(x.error());
  }
  if (auto a = SetOwnerModeTimes(out.get(), from.st); !a) return SysFail(a.error());
  if (options.fsync_strict && !options.volatile_ && !Sync(out.get())) return SysFail(errno);
  MarkImpure(node->parent);
  // EEXIST if the name was taken meanwhile, as RENAME_NOREPLACE.
  if (!LinkNameless(out.get(), dst_dir, node->name)) return SysFail(errno);
  return outcome;
}

// linkat AT_EMPTY_PATH names the open file itself, without a /proc walk, but the kernel may
// refuse it (it wants CAP_DAC_READ_SEARCH); then the /proc link of the fd does the same.
bool Union::Impl::LinkNameless(int fd, int dst_dir, const std::string& name) {
  if (link_by_fd) {
    if (::linkat(fd, "", dst_dir, name.c_str(), AT_EMPTY_PATH) == 0) return true;
    if (errno != ENOENT && errno != EPERM) return false;
    link_by_fd = false;
  }
  return ::linkat(AT_FDCWD, ProcFdPath(fd).c_str(), dst_dir, name.c_str(), AT_SYMLINK_FOLLOW) == 0;
}

SysResult<io::CopyOutcome> Union::Impl::CopyUpNamed(const NodePtr& node, const CopyUpSource& from,
                                                    bool meta, int dst_dir) {
  const int wfd = work.get();
  const std::string tmp = TempName();
  const struct stat& st = from.st;
  io::CopyOutcome outcome;  // used stays kAuto: no data copied

  auto fail = [&](int err) -> SysResult<io::CopyOutcome> {
    DropTemp(wfd, tmp);
    return SysFail(err);
  };

  mode_t type = st.st_mode & S_IFMT;
  UniqueFd out;  // the new file or directory, for the fsync
  if (S_ISREG(type)) {
    int out_fd = ::openat(wfd, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (out_fd < 0) return SysFail(errno);
    out = UniqueFd(out_fd);
    auto filled = FillFile(from.file.get(), out.get(), st.st_size, meta);
    if (!filled) return fail(filled.error());
    outcome = *filled;
  } else if (S_ISDIR(type)) {
    if (::mkdirat(wfd, tmp.c_str(), 0700) != 0) return SysFail(errno);
    if (options.fsync_strict && !options.volatile_) {
      int dir_fd = ::openat(wfd, tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir_fd < 0) return fail(errno);
      out = UniqueFd(dir_fd);
    }
  } else if (S_ISLNK(type)) {
    auto target = ReadLinkAt(from.dir.get(), from.name);
    if (!target) return SysFail(target.error());
    if (::symlinkat(target->c_str(), wfd, tmp.c_str()) != 0) return SysFail(errno);
  } else {
    if (::mknodat(wfd, tmp.c_str(), type | 0600, st.st_rdev) != 0) return SysFail(errno);
  }

  // xattrs (without the lower's own overlay xattrs), then our origin / metacopy marks.
  auto copied = S_ISREG(type) ? io::CopyXattrs(from.file.get(), out.get(), KeepOnCopyUp)
                              : io::CopyXattrsPath(ProcFdPath(from.dir.get(), from.name).c_str(),
                                                   ProcFdPath(wfd, tmp).c_str(), KeepOnCopyUp);
  if (!copied && copied.error() != EOPNOTSUPP) return fail(copied.error());
  if (!from.origin_fh.empty()) {
    if (auto x = SetXattrAt(wfd, tmp, kXattrOrigin, from.origin_fh); !x) return fail(x.error());
  }
  if (meta) {
    if (auto x = SetXattrAt(wfd, tmp, kXattrMetacopy, ""); !x) return fail(x.error());
  }
  // Owner before mode (chown clears set-id bits), times last.
  if (::fchownat(wfd, tmp.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
    return fail(errno);
  if (!S_ISLNK(type) && ::fchmodat(wfd, tmp.c_str(), st.st_mode & 07777, 0) != 0)
    return fail(errno);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(wfd, tmp.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return fail(errno);
  // fsync=strict: files and directories are synced once, data and metadata together, before
  // they appear in the upper layer (atomic also where the upper does not order metadata).
  if (options.fsync_strict && !options.volatile_ && out.get() >= 0 && !Sync(out.get()))
    return fail(errno);

  // The parent will now hold a copied-up entry: mark it impure as the kernel does (readdir d_ino).
  MarkImpure(node->parent);
  if (::renameat2(wfd, tmp.c_str(), dst_dir, node->name.c_str(), RENAME_NOREPLACE) != 0)
    return fail(errno);
  return outcome;
}

SysResult<void> Union::Impl::CopyUpData(const NodePtr& node, bool emptied) {
  if (!node->upper || !node->metacopy) return {};
  UniqueFd in;  // the lower data, unless the file is emptied anyway
  if (!emptied) {
    auto fd = DataFd(*node, O_RDONLY);
    if (!fd) return SysFail(fd.error());
    in = std::move(*fd);
  }
  auto e = UpperEntry(*node);
  if (!e) return SysFail(e.error());
  auto out = OpenNameAt(e->first.fd, e->second, O_WRONLY);
  if (!out) return SysFail(out.error());
  if (auto f = FillMetacopy(in.get(), out->get()); !f) return f;
  node->metacopy = false;
  return {};
}

SysResult<void> Union::Impl::FillMetacopy(int in, int out) {
  struct stat before {};
  if (::fstat(out, &before) != 0) return SysFail(errno);
  if (::ftruncate(out, 0) != 0) return SysFail(errno);
  SysResult<io::CopyOutcome> copy = io::CopyOutcome{};  // used kAuto: nothing copied
  if (in >= 0) copy = io::CopyFileData(in, out, options.copy_strategy);
  if (!copy || (SyncsData(*copy) && !Sync(out))) {
    int err = copy ? errno : copy.error();
    // Still a metacopy: keep its size so readers see the lower data unchanged.
    (void)::ftruncate(out, before.st_size);
    return SysFail(err);
  }
  if (auto x = RemoveXattrFd(out, kXattrMetacopy); !x) return SysFail(x.error());
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  (void)::futimens(out, times);
  if (copy->used != io::CopyStrategy::kAuto) {
    stats.data_copy_ups++;
    stats.bytes_copied += copy->bytes_copied;
    stats.last_copy_strategy = copy->used;
  }
  return {};
}

}  // namespace ovlab::unionfs
