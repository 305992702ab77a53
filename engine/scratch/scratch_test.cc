#include "scratch/scratch.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "mount/mount.h"
#include "scratch/loop_device.h"

namespace ovlab::scratch {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

uint64_t SizeFor(Backing b) {
  switch (b) {
    case Backing::kXfs:
    case Backing::kXfsReflink:
      return 300 * kMiB;
    case Backing::kBtrfs:
      return 128 * kMiB;
    default:
      return 64 * kMiB;
  }
}

long MagicFor(Backing b) {
  switch (b) {
    case Backing::kTmpfs:
      return 0x01021994;
    case Backing::kExt4:
      return 0xEF53;
    case Backing::kXfs:
    case Backing::kXfsReflink:
      return 0x58465342;
    case Backing::kBtrfs:
      return 0x9123683E;
  }
  return 0;
}

// Every test gets its own parent directory so it can check that nothing is left behind.
class ScratchTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(MakeDirs("/var/tmp/ovlab"));
    auto d = MakeTempDir("/var/tmp/ovlab", "scratch-test-");
    ASSERT_TRUE(d) << d.error().message;
    parent_ = *d;
  }
  void TearDown() override {
    auto left = ListDir(parent_);
    if (left) {
      EXPECT_TRUE(left->empty()) << "left behind in " << parent_ << ": " << Join(*left, " ");
    }
    (void)RemoveTree(parent_);
  }
  ScratchOptions Options(Backing b, uint64_t size = 0) {
    ScratchOptions o;
    o.backing = b;
    o.size_bytes = size ? size : SizeFor(b);
    o.parent_dir = parent_;
    return o;
  }
  std::string parent_;
};

class BackingTest : public ScratchTest, public testing::WithParamInterface<Backing> {};

TEST_P(BackingTest, CreatesWritableFsAndDestroysEverything) {
  auto fs = ScratchFs::Create(Options(GetParam()));
  ASSERT_TRUE(fs) << fs.error().message;
  const std::string path = (*fs)->path();
  struct statfs sfs;
  ASSERT_EQ(::statfs(path.c_str(), &sfs), 0);
  EXPECT_EQ(sfs.f_type, MagicFor(GetParam()));
  auto m = mount::FindMount(path);
  ASSERT_TRUE(m && m->has_value());

  ASSERT_TRUE(WriteFileAtomic(JoinPath(path, "hello"), "world"));
  auto text = ReadFileText(JoinPath(path, "hello"));
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "world");
  auto dtype = mount::SupportsDType(path);
  ASSERT_TRUE(dtype && *dtype);

  std::string image = JoinPath(DirName(path), "image");
  switch (GetParam()) {
    case Backing::kTmpfs:
      EXPECT_EQ((*fs)->mkfs_command(), "");
      EXPECT_EQ((*fs)->loop_device(), "");
      break;
    case Backing::kExt4:
      EXPECT_EQ((*fs)->mkfs_command(), "mkfs.ext4 -F -q");
      break;
    case Backing::kXfs:
      EXPECT_EQ((*fs)->mkfs_command(), "mkfs.xfs -f -q -m reflink=0 -n ftype=1");
      break;
    case Backing::kXfsReflink:
      EXPECT_EQ((*fs)->mkfs_command(), "mkfs.xfs -f -q -m reflink=1 -n ftype=1");
      break;
    case Backing::kBtrfs:
      EXPECT_EQ((*fs)->mkfs_command(), "mkfs.btrfs -f -q");
      break;
  }
  if (GetParam() != Backing::kTmpfs) {
    EXPECT_EQ(LoopDeviceFor(image), (*fs)->loop_device());
    EXPECT_EQ((*m)->source, (*fs)->loop_device());
    // The image is unlinked once attached (nothing to leak even on SIGKILL) ...
    EXPECT_FALSE(PathExists(image));
    // ... and the device has exactly the requested size.
    auto sectors = ReadFileText("/sys/block/" + BaseName((*fs)->loop_device()) + "/size");
    ASSERT_TRUE(sectors);
    EXPECT_EQ(ParseUint(Trim(*sectors)).value_or(0) * 512, SizeFor(GetParam()));
  }
  EXPECT_NE((*fs)->Describe().find(BackingName(GetParam())), std::string::npos);

  std::string loop = (*fs)->loop_device();
  ASSERT_TRUE((*fs)->Destroy());
  EXPECT_TRUE((*fs)->Destroy());  // idempotent
  m = mount::FindMount(path);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->has_value());
  EXPECT_FALSE(PathExists(image));
  EXPECT_FALSE(PathExists(DirName(path)));
  if (!loop.empty()) {
    EXPECT_FALSE(PathExists("/sys/block/" + BaseName(loop) + "/loop/backing_file"))
        << loop << " still attached";
  }
}

TEST_P(BackingTest, DestroyUnmountsNestedMounts) {
  auto fs = ScratchFs::Create(Options(GetParam()));
  ASSERT_TRUE(fs) << fs.error().message;
  std::string inner = JoinPath((*fs)->path(), "inner");
  ASSERT_TRUE(MakeDirs(inner));
  ASSERT_TRUE(mount::Mount("tmpfs", inner, "tmpfs", "size=1m"));
  ASSERT_TRUE(MakeDirs(inner + "/deeper"));
  ASSERT_TRUE(mount::Mount("tmpfs", inner + "/deeper", "tmpfs", "size=1m"));
  std::string dir = DirName((*fs)->path());
  fs->reset();  // the destructor destroys
  auto left = mount::MountsUnder(dir);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
  EXPECT_FALSE(PathExists(dir));
}

INSTANTIATE_TEST_SUITE_P(All, BackingTest, testing::ValuesIn(AllBackings()), [](const auto& info) {
  std::string n = BackingName(info.param);
  return n == "xfs-reflink" ? std::string("xfs_reflink") : n;
});

// FICLONE of a whole file: the reflink behaviour the copy engine and the benchmarks rely on.
int TryClone(const std::string& dir) {
  std::string a = JoinPath(dir, "a"), b = JoinPath(dir, "b");
  EXPECT_TRUE(WriteFileAtomic(a, std::string(1 << 20, 'x')));
  auto src = OpenPath(a, O_RDONLY);
  auto dst = OpenPath(b, O_WRONLY | O_CREAT, 0644);
  if (!src || !dst) return EIO;
  return ::ioctl(dst->get(), FICLONE, src->get()) == 0 ? 0 : errno;
}

TEST_F(ScratchTest, XfsReflinkClonesAndPlainXfsDoesNot) {
  auto reflink = ScratchFs::Create(Options(Backing::kXfsReflink));
  ASSERT_TRUE(reflink) << reflink.error().message;
  EXPECT_EQ(TryClone((*reflink)->path()), 0);
  reflink->reset();
  auto plain = ScratchFs::Create(Options(Backing::kXfs));
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(TryClone((*plain)->path()), EOPNOTSUPP);
}

TEST_F(ScratchTest, FullTinyExt4GivesEnospc) {
  auto fs = ScratchFs::Create(Options(Backing::kExt4, 8 * kMiB));
  ASSERT_TRUE(fs) << fs.error().message;
  auto fd = OpenPath(JoinPath((*fs)->path(), "fill"), O_WRONLY | O_CREAT, 0644);
  ASSERT_TRUE(fd);
  std::string block(1 << 20, 'z');
  int err = 0;
  for (int i = 0; i < 64 && err == 0; ++i) {
    if (::write(fd->get(), block.data(), block.size()) < 0) err = errno;
  }
  if (err == 0 && ::fsync(fd->get()) != 0) err = errno;
  EXPECT_EQ(err, ENOSPC);
}

TEST_F(ScratchTest, TooSmallBtrfsIsRefusedUpFront) {
  auto fs = ScratchFs::Create(Options(Backing::kBtrfs, 64 * kMiB));
  ASSERT_FALSE(fs);
  EXPECT_NE(fs.error().message.find("at least 114 MiB"), std::string::npos) << fs.error().message;
}

TEST_F(ScratchTest, ParseAndNames) {
  for (Backing b : AllBackings()) EXPECT_EQ(ParseBacking(BackingName(b)), b);
  EXPECT_FALSE(ParseBacking("zfs"));
  EXPECT_EQ(AllBackings().size(), 5u);
}

// Restores PATH after a test that points it at fake tools.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& path) : old_(std::getenv("PATH")) {
    ::setenv("PATH", path.c_str(), 1);
  }
  ~ScopedPath() { ::setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

TEST_F(ScratchTest, MissingMkfsNamesThePackage) {
  std::string empty = JoinPath(parent_, "emptybin");
  ASSERT_TRUE(MakeDirs(empty));
  {
    ScopedPath path(empty);
    auto fs = ScratchFs::Create(Options(Backing::kXfs));
    ASSERT_FALSE(fs);
    EXPECT_NE(fs.error().message.find("xfsprogs"), std::string::npos) << fs.error().message;
  }
  ::rmdir(empty.c_str());
}

TEST_F(ScratchTest, FailingMkfsLeavesNothing) {
  // A mkfs.ext4 that fails: Create must remove the image and directories it made.
  std::string bin = JoinPath(parent_, "failbin");
  ASSERT_TRUE(MakeDirs(bin));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(bin, "mkfs.ext4"),
                              "#!/bin/sh\necho 'disk on fire' >&2\nexit 3\n", 0755));
  {
    ScopedPath path(bin + ":/usr/bin:/bin");
    auto fs = ScratchFs::Create(Options(Backing::kExt4));
    ASSERT_FALSE(fs);
    EXPECT_NE(fs.error().message.find("disk on fire"), std::string::npos) << fs.error().message;
  }
  ASSERT_TRUE(RemoveTree(bin));
}

// The cleanup handler: a child makes an ext4 scratch and a registered mount, then dies of
// SIGTERM (or SIGINT); afterwards its mount, loop device and image must be gone.
class SignalTest : public ScratchTest, public testing::WithParamInterface<int> {};

TEST_P(SignalTest, TearsDownScratchAndRegisteredMounts) {
  const int sig = GetParam();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    InstallSignalCleanup();
    auto fs = ScratchFs::Create(Options(Backing::kExt4));
    if (!fs) ::_exit(10);
    std::string inner = JoinPath((*fs)->path(), "inner");
    if (!MakeDirs(inner) || !mount::Mount("tmpfs", inner, "tmpfs", "size=1m")) ::_exit(11);
    RegisterCleanupMount(inner);
    std::string report = (*fs)->path() + "\n" + (*fs)->loop_device() + "\n";
    if (::write(ready[1], report.data(), report.size()) < 0) ::_exit(12);
    ::close(ready[1]);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  std::string report;
  char buf[512];
  ssize_t n;
  while ((n = ::read(ready[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  ::close(ready[0]);
  auto lines = Split(Trim(report), '\n');
  ASSERT_EQ(::kill(child, sig), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(lines.size(), 2u) << "child failed to set up, status " << status;
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << status;
  std::string path = lines[0], loop = lines[1];
  std::string image = JoinPath(DirName(path), "image");

  auto left = mount::MountsUnder(DirName(path));
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
  EXPECT_FALSE(PathExists(image));
  EXPECT_FALSE(PathExists(DirName(path)));
  // Autoclear may finish just after the unmount: allow it a moment.
  EXPECT_TRUE(WaitLoopDetached(loop, 3000)) << loop;
  EXPECT_EQ(LoopDeviceFor(image), "");

  // If the handler failed, do not leak into other tests.
  if (left) {
    for (auto it = left->rbegin(); it != left->rend(); ++it) (void)mount::Unmount(it->target);
  }
  (void)RemoveTree(DirName(path));
}

TEST_P(SignalTest, KilledForkedChildLeavesParentsScratchAlone) {
  const int sig = GetParam();
  InstallSignalCleanup();
  auto fs = ScratchFs::Create(Options(Backing::kTmpfs));
  ASSERT_TRUE(fs) << fs.error().message;
  std::string inner = JoinPath((*fs)->path(), "inner");
  ASSERT_TRUE(MakeDirs(inner));
  ASSERT_TRUE(mount::Mount("tmpfs", inner, "tmpfs", "size=1m"));
  int token = RegisterCleanupMount(inner);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) ::pause();  // inherits the tables and the handler, never execs
  }
  ASSERT_EQ(::kill(child, sig), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << status;
  auto m = mount::FindMount((*fs)->path());
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->has_value()) << "the child's handler unmounted the parent's scratch fs";
  m = mount::FindMount(inner);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->has_value()) << "the child's handler unmounted the parent's registered mount";
  UnregisterCleanupMount(token);
  EXPECT_TRUE((*fs)->Destroy());
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalTest, testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) {
                           return std::string(info.param == SIGTERM ? "SIGTERM" : "SIGINT");
                         });

}  // namespace
}  // namespace ovlab::scratch
