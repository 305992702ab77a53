// Docker's btrfs driver: every layer is a btrfs subvolume <home>/subvolumes/<id>; a child is a
// writable snapshot of its parent's subvolume, so unchanged files share extents with the parent.
// No mounts: Get returns the subvolume directory.
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <linux/version.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

#include "base/fs.h"
#include "base/process.h"
#include "base/scope_exit.h"
#include "base/strings.h"
#include "drivers/builtin_drivers.h"
#include "drivers/full_tree_driver.h"
#include "drivers/parent_records.h"
#include "drivers/tree_stats.h"

namespace ovlab::drivers {
namespace {

constexpr char kName[] = "btrfs";
constexpr mode_t kBtrfsHomeMode = 0710;  // moby btrfs: home and home/subvolumes
// The root directory of every subvolume has this inode number (BTRFS_FIRST_FREE_OBJECTID).
constexpr ino_t kSubvolumeRootIno = 256;

bool IsSubvolumeRoot(const struct stat& st) {
  return S_ISDIR(st.st_mode) && st.st_ino == kSubvolumeRootIno;
}

template <size_t N>
Status CopyName(char (&dest)[N], const std::string& name) {
  if (name.size() >= N) return Fail(ENAMETOOLONG, "subvolume name too long: " + name);
  std::memcpy(dest, name.c_str(), name.size() + 1);
  return {};
}

Status CreateSubvolume(int dir_fd, const std::string& dir, const std::string& name) {
  btrfs_ioctl_vol_args args{};
  if (auto st = CopyName(args.name, name); !st) return st;
  if (::ioctl(dir_fd, BTRFS_IOC_SUBVOL_CREATE, &args) != 0) {
    return FailErrno(errno, "create btrfs subvolume " + JoinPath(dir, name));
  }
  return {};
}

// A writable snapshot of the subvolume `source_fd` holds, named `dir`/`name`.
Status SnapshotSubvolume(int source_fd, const std::string& source, int dir_fd,
                         const std::string& dir, const std::string& name) {
  btrfs_ioctl_vol_args_v2 args{};
  args.fd = source_fd;
  if (auto st = CopyName(args.name, name); !st) return st;
  if (::ioctl(dir_fd, BTRFS_IOC_SNAP_CREATE_V2, &args) != 0) {
    return FailErrno(errno, "snapshot btrfs subvolume " + source + " as " + JoinPath(dir, name));
  }
  return {};
}

// Deletes subvolume `dir`/`name`. The kernel refuses (ENOTEMPTY) while subvolumes are nested in
// it; only then is the tree walked (beneath it) to delete those first.
Status DestroySubvolume(const layout::ConfinedDir& dir, const std::string& name);

Status DestroyNestedSubvolumes(const layout::ConfinedDir& tree) {
  auto names = tree.List();
  if (!names) return std::unexpected(names.error());
  for (const auto& n : *names) {
    auto st = tree.Stat(n);
    if (!st) return std::unexpected(st.error());
    if (!S_ISDIR(st->st_mode)) continue;
    if (IsSubvolumeRoot(*st)) {
      if (auto done = DestroySubvolume(tree, n); !done) return done;
      continue;
    }
    auto sub = tree.Dir(n);
    if (!sub) return std::unexpected(sub.error());
    if (auto done = DestroyNestedSubvolumes(*sub); !done) return done;
  }
  return {};
}

Status DestroySubvolume(const layout::ConfinedDir& dir, const std::string& name) {
  auto fd = dir.Open("", O_RDONLY | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  btrfs_ioctl_vol_args args{};
  if (auto st = CopyName(args.name, name); !st) return st;
  int rc = ::ioctl(fd->get(), BTRFS_IOC_SNAP_DESTROY, &args);
  if (rc != 0 && errno == ENOTEMPTY) {
    auto tree = dir.Dir(name);
    if (!tree) return std::unexpected(tree.error());
    if (auto st = DestroyNestedSubvolumes(*tree); !st) return st;
    rc = ::ioctl(fd->get(), BTRFS_IOC_SNAP_DESTROY, &args);
  }
  if (rc != 0) return FailErrno(errno, "delete btrfs subvolume " + dir.PathOf(name));
  return {};
}

// The filesystem's quota groups in sysfs (/sys/fs/btrfs/<fsid>/qgroups, holding
// 0_<subvolume id>/exclusive), or "" when quotas are off.
std::string QgroupsDir(int fd) {
  btrfs_ioctl_fs_info_args info{};
  if (::ioctl(fd, BTRFS_IOC_FS_INFO, &info) != 0) return "";
  const unsigned char* u = info.fsid;
  std::string fsid = StrPrintf(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
      u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  std::string dir = "/sys/fs/btrfs/" + fsid + "/qgroups";
  return PathExists(dir) ? dir : "";
}

Result<uint64_t> SubvolumeId(int fd, const std::string& path) {
  btrfs_ioctl_ino_lookup_args args{};
  args.objectid = kSubvolumeRootIno;
  if (::ioctl(fd, BTRFS_IOC_INO_LOOKUP, &args) != 0) {
    return FailErrno(errno, "look up the subvolume id of " + path);
  }
  return static_cast<uint64_t>(args.treeid);
}

Result<std::optional<uint64_t>> ExclusiveBytes(int fd, const std::string& subvolume) {
  std::string qgroups = QgroupsDir(fd);
  if (qgroups.empty()) return std::optional<uint64_t>();
  auto id = SubvolumeId(fd, subvolume);
  if (!id) return std::unexpected(id.error());
  // Counters change at transaction commit, and a rescan (after quotas were enabled on a
  // filesystem holding data) must finish before they are right.
  if (::syncfs(fd) != 0) return FailErrno(errno, "syncfs " + subvolume);
  btrfs_ioctl_quota_rescan_args rescan{};
  (void)::ioctl(fd, BTRFS_IOC_QUOTA_RESCAN_WAIT, &rescan);
  std::string file = JoinPath(qgroups, StrPrintf("0_%llu/exclusive", (unsigned long long)*id));
  auto text = ReadFileText(file);
  if (!text) return std::unexpected(text.error());
  return std::optional<uint64_t>(std::strtoull(text->c_str(), nullptr, 10));
}

std::string KernelRelease() {
  struct utsname u;
  return ::uname(&u) == 0 ? u.release : "<unknown>";
}

// btrfs-progs' version ("v6.2"), the closest thing to Docker's "Library Version" without
// linking libbtrfsutil.
std::string ProgsVersion() {
  if (!HaveProgram("btrfs")) return "btrfs-progs not installed";
  auto out = RunChecked({"btrfs", "--version"});
  if (!out) return "<unknown>";
  std::string v = *out;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

class BtrfsDriver final : public FullTreeDriver {
 public:
  explicit BtrfsDriver(FullTreeStore store) : FullTreeDriver(kName, std::move(store)) {}

  ovlab::Status Create(const std::string& id, const CreateOptions& options) override {
    if (auto st = layout::ValidateLayerId(id); !st) return st;
    auto exists = Layers().Exists(id);
    if (!exists) return std::unexpected(exists.error());
    if (*exists) return Fail(EEXIST, "layer " + id + " already exists");
    UniqueFd source;
    if (!options.parent.empty()) {
      if (auto st = RequireParent(options.parent); !st) return st;
      auto fd = Layers().Open(options.parent, O_RDONLY | O_DIRECTORY);
      if (!fd) return std::unexpected(fd.error());
      source = std::move(*fd);
    }
    auto dir = Layers().Open("", O_RDONLY | O_DIRECTORY);
    if (!dir) return std::unexpected(dir.error());
    // The parent record goes first: a crash before the (atomic) snapshot leaves only a record of
    // a missing subvolume, which Check finds, never a child that looks like a base layer.
    Rollback undo;
    if (options.parent.empty()) {
      parents_.Erase(id);  // such a leftover would make the new base look like a child
    } else {
      if (auto st = parents_.Write(id, options.parent); !st) return st;
      undo.Add([this, id] { parents_.Erase(id); });
    }
    auto made = options.parent.empty() ? CreateSubvolume(dir->get(), Layers().path(), id)
                                       : SnapshotSubvolume(source.get(), Dir(options.parent),
                                                           dir->get(), Layers().path(), id);
    if (!made) return made;
    undo.Dismiss();
    return {};
  }

  ovlab::Status Remove(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    if (InUse(id)) {
      return Fail(EBUSY, "layer " + id + " is in use (Get without Put): release it first");
    }
    auto children = parents_.ChildrenOf(id);
    if (!children) return std::unexpected(children.error());
    if (auto st = RefuseIfChildren(id, *children); !st) return st;
    if (auto st = DestroySubvolume(Layers(), id); !st) return st;
    parents_.Erase(id);
    return {};
  }

  Result<std::string> Get(const std::string& id) override {
    auto dir = DirOf(id);
    if (!dir) return dir;
    std::lock_guard lock(mu_);
    ++refs_[id];
    return dir;
  }

  // Counts only references this process took; a Put from another process (the CLI's `umount`)
  // has nothing to release, as there is nothing mounted.
  ovlab::Status Put(const std::string& id) override {
    if (auto st = RequireLayer(id); !st) return st;
    std::lock_guard lock(mu_);
    auto it = refs_.find(id);
    if (it != refs_.end() && --it->second == 0) refs_.erase(it);
    return {};
  }

  StatusFields Status() const override {
    auto dir = Layers().Open("", O_RDONLY | O_DIRECTORY);
    bool quotas = dir && !QgroupsDir(dir->get()).empty();
    return {
        {"Backing Filesystem", BackingFsName(home_)},
        {"Build Version", StrPrintf("linux/btrfs.h of kernel headers %d.%d",
                                    LINUX_VERSION_CODE >> 16, (LINUX_VERSION_CODE >> 8) & 0xff)},
        {"Library Version", ProgsVersion()},
        {"Kernel", KernelRelease()},
        {"Quotas", quotas ? "enabled" : "disabled"},
        {"Usage Bytes",
         quotas ? "exclusive to the layer (qgroup)" : "du of the subvolume (quotas disabled)"}};
  }

  Result<LayerUsage> Usage(const std::string& id) const override {
    auto dir = DirOf(id);
    if (!dir) return std::unexpected(dir.error());
    auto usage = TreeUsage(*dir);
    if (!usage) return usage;
    auto fd = Layers().Open(id, O_RDONLY | O_DIRECTORY);
    if (!fd) return std::unexpected(fd.error());
    auto exclusive = ExclusiveBytes(fd->get(), *dir);
    if (!exclusive) return std::unexpected(exclusive.error());
    if (*exclusive) usage->bytes = **exclusive;
    return usage;
  }

  // Left over by an interrupted Create/Remove: a parent record without its subvolume, or an
  // entry of subvolumes/ that is not a subvolume; and what is no layer directory at all.
  Result<std::vector<CheckFinding>> Check(bool repair) override {
    auto findings = CheckLayersAndRecords(repair);
    if (!findings) return findings;
    auto layers = List();
    if (!layers) return std::unexpected(layers.error());
    std::vector<CheckFinding> plain;
    for (const auto& n : *layers) {
      auto st = Layers().Stat(n);
      if (st && IsSubvolumeRoot(*st)) continue;
      plain.push_back({n, "not a btrfs subvolume: " + Dir(n), false});
    }
    findings->insert(findings->begin(), plain.begin(), plain.end());
    return findings;
  }

 private:
  bool InUse(const std::string& id) {
    std::lock_guard lock(mu_);
    return refs_.contains(id);
  }

  std::mutex mu_;
  std::map<std::string, int> refs_;
};

// Docker looks at the home when it exists (it may be a separate mount), else at its parent.
Status RequireBtrfs(const std::string& root, const std::string& home) {
  std::string probe = PathExists(home) ? home : root;
  struct statfs fs;
  if (::statfs(probe.c_str(), &fs) != 0) return FailErrno(errno, "statfs " + probe);
  if (static_cast<unsigned long>(fs.f_type) == BTRFS_SUPER_MAGIC) return {};
  return Fail(EINVAL, "btrfs driver needs " + probe + " on btrfs; it is on " +
                          BackingFsName(probe) + ": use a --root on a btrfs filesystem");
}

}  // namespace

Result<std::unique_ptr<Driver>> NewBtrfsDriver(const DriverOptions& options) {
  std::string home = JoinPath(options.root, kName);
  if (auto st = RequireBtrfs(options.root, home); !st) return std::unexpected(st.error());
  auto store = OpenFullTreeStore(options, kName, "subvolumes", kBtrfsHomeMode);
  if (!store) return std::unexpected(store.error());
  return std::unique_ptr<Driver>(new BtrfsDriver(std::move(*store)));
}

}  // namespace ovlab::drivers
