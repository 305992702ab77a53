#include "scratch/scratch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "mount/mount.h"
#include "scratch/loop_device.h"
#include "scratch/signal_cleanup.h"

namespace ovlab::scratch {

struct ScratchFs::State {
  Backing backing = Backing::kTmpfs;
  uint64_t size_bytes = 0;
  std::string dir;          // <parent>/<backing>-XXXXXX, holds image and mount point
  std::string mount_point;  // <dir>/mnt
  std::string image;        // <dir>/image ("" for tmpfs)
  std::string loop_device;
  std::string mkfs_command;
  int slot = -1;
  bool destroyed = false;
};

namespace {

constexpr uint64_t kMiB = 1ull << 20;

struct BackingInfo {
  Backing backing;
  const char* name;
  const char* fstype;
  std::vector<std::string> mkfs;  // argv without the image path
  const char* package;
  uint64_t min_bytes;
};

const std::vector<BackingInfo>& Backings() {
  static const std::vector<BackingInfo> table = {
      {Backing::kTmpfs, "tmpfs", "tmpfs", {}, "", 1 * kMiB},
      {Backing::kExt4, "ext4", "ext4", {"mkfs.ext4", "-F", "-q"}, "e2fsprogs", 4 * kMiB},
      {Backing::kXfs,
       "xfs",
       "xfs",
       {"mkfs.xfs", "-f", "-q", "-m", "reflink=0", "-n", "ftype=1"},
       "xfsprogs",
       300 * kMiB},
      {Backing::kXfsReflink,
       "xfs-reflink",
       "xfs",
       {"mkfs.xfs", "-f", "-q", "-m", "reflink=1", "-n", "ftype=1"},
       "xfsprogs",
       300 * kMiB},
      {Backing::kBtrfs, "btrfs", "btrfs", {"mkfs.btrfs", "-f", "-q"}, "btrfs-progs", 114 * kMiB},
  };
  return table;
}

const BackingInfo& InfoFor(Backing b) {
  for (const auto& i : Backings()) {
    if (i.backing == b) return i;
  }
  return Backings().front();
}

std::string DefaultParentDir() {
  const char* env = std::getenv("OVLAB_SCRATCH_DIR");
  return env && *env ? env : "/var/tmp/ovlab";
}

Status CheckOptions(const ScratchOptions& o, const BackingInfo& info) {
  if (o.size_bytes < info.min_bytes)
    return Fail(EINVAL,
                StrPrintf("scratch %s: size %llu MiB is too small; %s needs at least %llu "
                          "MiB",
                          info.name, static_cast<unsigned long long>(o.size_bytes / kMiB),
                          info.name, static_cast<unsigned long long>(info.min_bytes / kMiB)));
  if (!info.mkfs.empty() && !HaveProgram(info.mkfs[0]))
    return Fail(ENOENT, StrPrintf("scratch %s: %s not found; install the Debian package %s",
                                  info.name, info.mkfs[0].c_str(), info.package));
  return {};
}

Status MakeSparseImage(const std::string& path, uint64_t size) {
  auto fd = OpenPath(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (!fd) return std::unexpected(fd.error());
  if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0)
    return FailErrno(errno, "size image " + path);
  return {};
}

// Unmounts every mount at or below dir, deepest and newest first.
Status UnmountAllUnder(const std::string& dir) {
  auto mounts = mount::MountsUnder(dir);
  if (!mounts) return std::unexpected(mounts.error());
  std::reverse(mounts->begin(), mounts->end());
  std::stable_sort(mounts->begin(), mounts->end(),
                   [](const auto& a, const auto& b) { return a.target.size() > b.target.size(); });
  for (const auto& m : *mounts) {
    auto st = mount::Unmount(m.target, false);
    if (!st && st.error().code == EBUSY) st = mount::Unmount(m.target, true);
    if (!st && st.error().code != EINVAL) return st;
  }
  return {};
}

}  // namespace

const char* BackingName(Backing b) {
  return InfoFor(b).name;
}

std::optional<Backing> ParseBacking(std::string_view name) {
  for (const auto& i : Backings()) {
    if (name == i.name) return i.backing;
  }
  return std::nullopt;
}

std::vector<Backing> AllBackings() {
  std::vector<Backing> out;
  for (const auto& i : Backings()) out.push_back(i.backing);
  return out;
}

ScratchFs::ScratchFs(std::unique_ptr<State> state) : state_(std::move(state)) {}

ScratchFs::~ScratchFs() {
  (void)Destroy();
}

const std::string& ScratchFs::path() const {
  return state_->mount_point;
}
Backing ScratchFs::backing() const {
  return state_->backing;
}
const std::string& ScratchFs::mkfs_command() const {
  return state_->mkfs_command;
}
const std::string& ScratchFs::loop_device() const {
  return state_->loop_device;
}

std::string ScratchFs::Describe() const {
  const State& s = *state_;
  std::string where = s.loop_device.empty() ? "" : " on " + s.loop_device;
  std::string how = s.mkfs_command.empty() ? "" : " (" + s.mkfs_command + ")";
  return StrPrintf("%s%s%s, %llu MiB, at %s", BackingName(s.backing), where.c_str(), how.c_str(),
                   static_cast<unsigned long long>(s.size_bytes / kMiB), s.mount_point.c_str());
}

Result<std::unique_ptr<ScratchFs>> ScratchFs::Create(const ScratchOptions& options) {
  // Part of the contract: a scratch fs never outlives SIGINT/SIGTERM, whoever forgot to ask.
  InstallSignalCleanup();
  const BackingInfo& info = InfoFor(options.backing);
  if (auto st = CheckOptions(options, info); !st) return std::unexpected(st.error());
  std::string parent = options.parent_dir.empty() ? DefaultParentDir() : options.parent_dir;
  if (auto st = MakeDirs(parent); !st) return std::unexpected(st.error());
  auto dir = MakeTempDir(parent, std::string(info.name) + "-");
  if (!dir) return std::unexpected(dir.error());

  auto state = std::make_unique<State>();
  state->backing = options.backing;
  state->size_bytes = options.size_bytes;
  state->dir = *dir;
  state->mount_point = JoinPath(*dir, "mnt");
  if (!info.mkfs.empty()) {
    state->image = JoinPath(*dir, "image");
    state->mkfs_command = Join(info.mkfs, " ");
  }
  // From here on the object owns the directory: any failure below destroys what was made.
  std::unique_ptr<ScratchFs> fs(new ScratchFs(std::move(state)));
  State& s = *fs->state_;
  s.slot = ClaimScratchSlot(s.mount_point, s.image, s.dir);
  auto fail = [&](Error e) {
    (void)fs->Destroy();
    return std::unexpected(WithContext(std::move(e), StrPrintf("scratch %s", info.name)));
  };
  if (s.slot < 0)
    return fail(Error{EMFILE, "too many live scratch filesystems (or path too long)"});
  if (::mkdir(s.mount_point.c_str(), 0755) != 0) return fail(FailErrno(errno, "mkdir").error());

  if (options.backing == Backing::kTmpfs) {
    std::string opts =
        StrPrintf("size=%llu,mode=0755", static_cast<unsigned long long>(options.size_bytes));
    if (auto st = mount::Mount("tmpfs", s.mount_point, "tmpfs", opts); !st) return fail(st.error());
    return fs;
  }
  if (auto st = MakeSparseImage(s.image, options.size_bytes); !st) return fail(st.error());
  std::vector<std::string> argv = info.mkfs;
  argv.push_back(s.image);
  if (auto out = RunChecked(argv); !out) return fail(out.error());
  auto loop = AttachLoop(s.image);
  if (!loop) return fail(loop.error());
  s.loop_device = loop->device;
  // The loop device holds the image open: without a name it cannot outlive us, even on SIGKILL.
  if (::unlink(s.image.c_str()) != 0) return fail(FailErrno(errno, "unlink " + s.image).error());
  if (auto st = mount::Mount(s.loop_device, s.mount_point, info.fstype); !st) {
    loop->fd.reset();  // the last close detaches the autoclear device
    return fail(st.error());
  }
  // loop->fd closes here; autoclear now ties the device's life to the mount.
  return fs;
}

Status ScratchFs::Destroy() {
  State& s = *state_;
  if (s.destroyed) return {};
  Status result = UnmountAllUnder(s.mount_point);
  if (result && !s.loop_device.empty()) result = WaitLoopDetached(s.loop_device);
  if (result) result = RemoveTree(s.dir);
  if (!result) return std::unexpected(WithContext(result.error(), "destroy scratch " + s.dir));
  ReleaseScratchSlot(s.slot);
  s.slot = -1;
  s.destroyed = true;
  return {};
}

}  // namespace ovlab::scratch
