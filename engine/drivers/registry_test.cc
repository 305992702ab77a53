// The registry and the checks every driver root passes: unknown drivers, bad ids, option ranges,
// a root without d_type.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/process.h"
#include "drivers/driver.h"
#include "drivers/store_test_util.h"
#include "mount/mount.h"
#include "scratch/loop_device.h"

namespace ovlab::drivers {
namespace {

using testing_util::StoreTest;
using testing_util::TreeListing;

DriverOptions Opts(const std::string& root, size_t max_depth = 128) {
  DriverOptions o;
  o.root = root;
  o.max_depth = max_depth;
  return o;
}

TEST(Registry, BuiltinDriversAreRegistered) {
  auto names = RegisteredDrivers();
  for (const char* want : {"overlay2", "overlay", "vfs"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
}

TEST(Registry, RunTimeRegistrationAddsADriver) {
  static DriverRegistration reg("test-null",
                                [](const DriverOptions&) -> Result<std::unique_ptr<Driver>> {
                                  return Fail(ENOSYS, "test-null driver opened");
                                });
  auto names = RegisteredDrivers();
  EXPECT_NE(std::find(names.begin(), names.end(), "test-null"), names.end());
  auto d = OpenDriver("test-null", Opts("/var/tmp/ovlab-registry-test-never-made"));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "test-null driver opened");
  EXPECT_FALSE(PathExists("/var/tmp/ovlab-registry-test-never-made"))
      << "a failed open makes no root";
}

TEST(Registry, ValidatesLayerIds) {
  for (const std::string& good :
       std::vector<std::string>{"a", "0", "abc-DEF_1.2", "c1-init", std::string(128, 'x')}) {
    EXPECT_TRUE(ValidateLayerId(good)) << good;
  }
  for (std::string bad :
       std::vector<std::string>{"", "a/b", "/a", "..", "a..b", "../a", ".a", "-a", "_a", "a b",
                                "a:b", "a,b", std::string(129, 'x')}) {
    auto st = ValidateLayerId(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, EINVAL);
    EXPECT_EQ(st.error().message.find('\n'), std::string::npos);
  }
}

class RegistryRootTest : public StoreTest {};

TEST_F(RegistryRootTest, UnknownDriverIsNamedWithTheKnownOnes) {
  auto d = OpenDriver("zfs", Opts(root_));
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("unknown driver \"zfs\""), std::string::npos);
  EXPECT_NE(d.error().message.find("overlay2"), std::string::npos) << d.error().message;
  EXPECT_FALSE(PathExists(root_));
}

TEST_F(RegistryRootTest, OptionsOutOfRangeAreRefused) {
  auto deep = OpenDriver("overlay2", Opts(root_, 501));
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("max depth 501"), std::string::npos) << deep.error().message;
  auto relative = OpenDriver("overlay2", Opts("relative/root"));
  ASSERT_FALSE(relative);
  EXPECT_NE(relative.error().message.find("absolute"), std::string::npos);
  EXPECT_FALSE(PathExists(root_));
}

// ext4 without the filetype feature returns DT_UNKNOWN for every entry: overlay refuses it.
// (Docker's classic case, xfs with ftype=0, needs the V4 on-disk format, which kernel 6.18 no
// longer mounts; the d_type probe cannot tell the two apart.)
TEST_F(RegistryRootTest, RootWithoutDTypeIsRefusedForOverlayButFineForVfs) {
  if (!HaveProgram("mkfs.ext4")) GTEST_SKIP() << "mkfs.ext4 is not installed";
  std::string image = JoinPath(fs_->path(), "nodtype.img");
  ASSERT_TRUE(RunChecked({"truncate", "-s", "32M", image}));
  ASSERT_TRUE(RunChecked({"mkfs.ext4", "-q", "-F", "-O", "^filetype", image}));
  auto loop = scratch::AttachLoop(image);
  ASSERT_TRUE(loop) << loop.error().message;
  std::string mnt = JoinPath(fs_->path(), "nodtype");
  ASSERT_TRUE(MakeDir(mnt, 0755));
  ASSERT_TRUE(mount::Mount(loop->device, mnt, "ext4"));
  loop->fd.reset();  // autoclear: the device goes with the mount

  std::string root = JoinPath(mnt, "root");
  for (const char* name : {"overlay2", "overlay"}) {
    auto before = TreeListing(mnt);
    auto d = OpenDriver(name, Opts(root));
    ASSERT_FALSE(d) << name;
    EXPECT_NE(d.error().message.find("d_type"), std::string::npos) << d.error().message;
    EXPECT_EQ(TreeListing(mnt), before) << name << " left something behind";
  }
  auto vfs = OpenDriver("vfs", Opts(root));
  EXPECT_TRUE(vfs) << vfs.error().message;
  vfs = std::unexpected(Error{});

  EXPECT_TRUE(mount::Unmount(mnt, /*detach=*/false));
  EXPECT_TRUE(scratch::WaitLoopDetached(loop->device));
}

}  // namespace
}  // namespace ovlab::drivers
