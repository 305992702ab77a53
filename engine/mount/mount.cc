// Plain mounts through libmount's mount context, unmounts, and the mount table via libmount.
#include "mount/mount.h"

#include <libmount/libmount.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <cerrno>
#include <climits>
#include <memory>

#include "base/strings.h"

namespace ovlab::mount {
namespace {

struct ContextDeleter {
  void operator()(libmnt_context* c) const { mnt_free_context(c); }
};
struct TableDeleter {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterDeleter {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};

// realpath() when the path exists, else the path as given (a vanished mount point is still a name).
std::string Canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return buf;
  return path;
}

std::string Describe(const std::string& source, const std::string& target,
                     const std::string& fstype) {
  return StrPrintf("mount -t %s %s %s", fstype.c_str(), source.c_str(), target.c_str());
}

}  // namespace

Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
             const std::string& options, unsigned long flags) {
  std::unique_ptr<libmnt_context, ContextDeleter> cxt(mnt_new_context());
  if (!cxt) return FailErrno(ENOMEM, "mnt_new_context");
  // No helpers (/sbin/mount.*), no utab bookkeeping, no canonicalising of our explicit paths.
  mnt_context_disable_helpers(cxt.get(), 1);
  mnt_context_disable_mtab(cxt.get(), 1);
  mnt_context_disable_canonicalize(cxt.get(), 1);
  std::string what = Describe(source, target, fstype);
  if (mnt_context_set_source(cxt.get(), source.c_str()) != 0 ||
      mnt_context_set_target(cxt.get(), target.c_str()) != 0 ||
      (!fstype.empty() && mnt_context_set_fstype(cxt.get(), fstype.c_str()) != 0) ||
      (!options.empty() && mnt_context_set_options(cxt.get(), options.c_str()) != 0) ||
      mnt_context_set_mflags(cxt.get(), flags) != 0) {
    return Fail(EINVAL, what + ": libmount rejected the arguments (check the option string)");
  }
  int rc = mnt_context_mount(cxt.get());
  if (rc == 0 && mnt_context_get_status(cxt.get()) == 1) return {};
  int sys_errno = mnt_context_get_syscall_errno(cxt.get());
  char buf[BUFSIZ] = "";
  mnt_context_get_excode(cxt.get(), rc, buf, sizeof buf);
  int code = sys_errno ? sys_errno : (rc < 0 ? -rc : EIO);
  std::string reason = buf[0] ? std::string(buf) : ErrnoText(code);
  if (sys_errno && reason.find(ErrnoText(sys_errno)) == std::string::npos)
    reason += " (" + ErrnoText(sys_errno) + ")";
  return Fail(code, what + ": " + reason);
}

Status Unmount(const std::string& target, bool detach) {
  if (::umount2(target.c_str(), detach ? MNT_DETACH : 0) != 0) {
    int e = errno;
    if (e == EINVAL) return Fail(e, "umount " + target + ": not a mount point");
    return FailErrno(e, "umount " + target);
  }
  return {};
}

Result<std::vector<MountEntry>> ReadMountTable() {
  std::unique_ptr<libmnt_table, TableDeleter> table(
      mnt_new_table_from_file("/proc/self/mountinfo"));
  if (!table) return Fail(EIO, "libmount could not read /proc/self/mountinfo");
  std::unique_ptr<libmnt_iter, IterDeleter> it(mnt_new_iter(MNT_ITER_FORWARD));
  if (!it) return FailErrno(ENOMEM, "mnt_new_iter");
  std::vector<MountEntry> out;
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table.get(), it.get(), &fs) == 0) {
    auto str = [](const char* s) { return s ? std::string(s) : std::string(); };
    MountEntry e;
    e.source = str(mnt_fs_get_source(fs));
    e.target = str(mnt_fs_get_target(fs));
    e.fstype = str(mnt_fs_get_fstype(fs));
    char* opts = mnt_fs_strdup_options(fs);  // VFS and fs-specific options joined
    e.options = str(opts);
    ::free(opts);
    e.id = mnt_fs_get_id(fs);
    e.parent_id = mnt_fs_get_parent_id(fs);
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::optional<MountEntry>> FindMount(const std::string& path) {
  auto table = ReadMountTable();
  if (!table) return std::unexpected(table.error());
  std::string want = Canonical(path);
  // The last entry for a target is the one on top (what path lookups see).
  for (auto it = table->rbegin(); it != table->rend(); ++it) {
    if (it->target == want) return std::optional<MountEntry>(*it);
  }
  return std::optional<MountEntry>();
}

Result<std::vector<MountEntry>> MountsUnder(const std::string& dir) {
  auto table = ReadMountTable();
  if (!table) return std::unexpected(table.error());
  std::string base = Canonical(dir);
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::vector<MountEntry> out;
  for (auto& e : *table) {
    if (e.target == base || StartsWith(e.target, base == "/" ? base : base + "/"))
      out.push_back(std::move(e));
  }
  return out;
}

}  // namespace ovlab::mount
