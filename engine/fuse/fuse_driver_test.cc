// The `fuse` storage driver: overlay2's layout, mounted by ovlab-fuse daemons.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/driver.h"
#include "launch/daemon_process.h"
#include "mount/mount.h"
#include "scratch/scratch.h"
#include "union/union_test_support.h"

namespace ovlab::fuse {
namespace {

using launch::FindProcesses;

using unionfs::testing::FsView;
using unionfs::testing::PutFile;
using unionfs::testing::ReadText;

std::vector<pid_t> DaemonsServing(const std::string& mountpoint) {
  return FindProcesses("ovlab-fuse", mountpoint);
}

bool WaitNoDaemons(const std::string& mountpoint) {
  for (int i = 0; i < 500 && !DaemonsServing(mountpoint).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return DaemonsServing(mountpoint).empty();
}

class FuseDriverTest : public testing::Test {
 protected:
  void SetUp() override {
    ::setenv("OVLAB_FUSE", OVLAB_FUSE_BINARY, 1);
    scratch::ScratchOptions o;
    o.backing = scratch::Backing::kExt4;
    o.size_bytes = 256ull << 20;
    auto fs = scratch::ScratchFs::Create(o);
    ASSERT_TRUE(fs) << fs.error().message;
    fs_ = std::move(*fs);
    drivers::DriverOptions opts;
    opts.root = fs_->path() + "/root";
    auto d = drivers::OpenDriver("fuse", opts);
    ASSERT_TRUE(d) << d.error().message;
    driver_ = std::move(*d);
    // An image of two layers (the second deletes a file of the first) and a container on top.
    std::string staged = fs_->path() + "/staged";
    PutFile(staged + "/base/etc/os", "base-os");
    PutFile(staged + "/base/etc/gone", "x");
    PutFile(staged + "/app/etc/app", "app");
    PutFile(staged + "/app/etc/.wh.gone", "");
    ASSERT_TRUE(driver_->Create("base", {}));
    ASSERT_TRUE(driver_->ApplyDiff("base", staged + "/base"));
    ASSERT_TRUE(driver_->Create("app", {"base", false}));
    ASSERT_TRUE(driver_->ApplyDiff("app", staged + "/app"));
    ASSERT_TRUE(driver_->Create("ctr", {"app", true}));
  }

  void TearDown() override {
    driver_.reset();
    if (fs_) {
      EXPECT_TRUE(fs_->Destroy());
    }
  }

  std::unique_ptr<scratch::ScratchFs> fs_;
  std::unique_ptr<drivers::Driver> driver_;
};

TEST_F(FuseDriverTest, GetMountsWithOvlabFuseAndPutUnmounts) {
  EXPECT_EQ(driver_->Name(), "fuse");
  auto merged = driver_->Get("ctr");
  ASSERT_TRUE(merged) << merged.error().message;
  auto entry = mount::FindMount(*merged);
  ASSERT_TRUE(entry && entry->has_value());
  EXPECT_EQ((*entry)->fstype, "fuse.ovlab-fuse");
  EXPECT_EQ(ReadText(*merged + "/etc/os"), "base-os");
  EXPECT_EQ(ReadText(*merged + "/etc/app"), "app");
  EXPECT_FALSE(PathExists(*merged + "/etc/gone")) << "the app layer's whiteout hides it";
  PutFile(*merged + "/etc/written", "by-container");
  auto meta = driver_->Metadata("ctr");
  ASSERT_TRUE(meta);
  EXPECT_EQ(ReadText(meta->at("UpperDir") + "/etc/written"), "by-container");

  // Reference counted: a second Get shares the mount; the last Put ends it and the daemon.
  auto again = driver_->Get("ctr");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *merged);
  EXPECT_EQ(DaemonsServing(*merged).size(), 1u);
  ASSERT_TRUE(driver_->Put("ctr"));
  EXPECT_TRUE(mount::FindMount(*merged).value_or(std::nullopt).has_value());
  ASSERT_TRUE(driver_->Put("ctr"));
  EXPECT_FALSE(mount::FindMount(*merged).value_or(std::nullopt).has_value());
  EXPECT_FALSE(PathExists(*merged)) << "merged/ is removed with the last Put";
  EXPECT_TRUE(WaitNoDaemons(*merged));

  auto changes = driver_->Changes("ctr");
  ASSERT_TRUE(changes) << changes.error().message;
  ASSERT_EQ(changes->size(), 2u);  // /etc modified, /etc/written added
  EXPECT_FALSE(mount::FindMount(*merged).value_or(std::nullopt).has_value());
}

TEST_F(FuseDriverTest, MergedViewEqualsTheKernelOverlay2Driver) {
  auto merged = driver_->Get("app");  // committed: mounted read-only
  ASSERT_TRUE(merged) << merged.error().message;
  auto fuse_view = FsView(*merged);
  EXPECT_NE(::mkdir((*merged + "/new").c_str(), 0755), 0);
  EXPECT_EQ(errno, EROFS) << "a committed layer mounts read-only";
  ASSERT_TRUE(driver_->Put("app"));
  auto meta = driver_->Metadata("app");
  ASSERT_TRUE(meta);
  std::string kmerged = fs_->path() + "/kmerged";
  ASSERT_TRUE(MakeDirs(kmerged));
  mount::OverlaySpec spec;
  spec.lowers = {meta->at("UpperDir"), meta->at("LowerDir")};
  spec.options = {"index=off"};
  auto info = mount::MountOverlay(spec, kmerged);
  ASSERT_TRUE(info) << info.error().message;
  auto kernel_view = FsView(kmerged);
  EXPECT_TRUE(mount::Unmount(kmerged, false));
  EXPECT_EQ(fuse_view, kernel_view);
}

TEST_F(FuseDriverTest, CrashedDaemonIsCleanedByPutAndGet) {
  auto merged = driver_->Get("ctr");
  ASSERT_TRUE(merged) << merged.error().message;
  auto pids = DaemonsServing(*merged);
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  ASSERT_TRUE(WaitNoDaemons(*merged));
  struct stat st {};
  EXPECT_NE(::stat(merged->c_str(), &st), 0);
  EXPECT_TRUE(IsDisconnectedErrno(errno)) << ErrnoText(errno);
  // A new Get (as after a restart) mounts again over the dead mount's place.
  auto again = driver_->Get("ctr");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(ReadText(*again + "/etc/app"), "app");
  ASSERT_TRUE(driver_->Put("ctr"));  // the dead mount's reference went with it
  EXPECT_FALSE(mount::FindMount(*merged).value_or(std::nullopt).has_value());
  EXPECT_TRUE(WaitNoDaemons(*merged));
}

TEST(FuseDriverOpen, MissingBinaryIsAClearError) {
  ::setenv("OVLAB_FUSE", "/nonexistent/ovlab-fuse", 1);
  drivers::DriverOptions opts;
  opts.root = "/var/tmp/ovlab-fuse-driver-never-made";
  auto d = drivers::OpenDriver("fuse", opts);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("OVLAB_FUSE="), std::string::npos) << d.error().message;
  EXPECT_FALSE(PathExists(opts.root)) << "a failed open makes no root";
}

}  // namespace
}  // namespace ovlab::fuse
