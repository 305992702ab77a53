// The layer UUID fallback for kernels without FS_IOC_GETFSUUID (before 6.5): on this kernel the
// ioctl exists, so the libblkid probe must give exactly its bytes, or origins written on old
// kernels would name another filesystem.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "base/strings.h"
#include "scratch/scratch.h"
#include "union/layer.h"
#include "union/origin.h"

namespace ovlab::unionfs {
namespace {

std::string Hex(const FsUuid& u) {
  std::string out;
  for (unsigned char c : u) out += StrPrintf("%02x", c);
  return out;
}

std::unique_ptr<scratch::ScratchFs> MakeFs(scratch::Backing backing) {
  scratch::ScratchOptions options;
  options.backing = backing;
  auto fs = scratch::ScratchFs::Create(options);
  EXPECT_TRUE(fs) << fs.error().message;
  return fs ? std::move(*fs) : nullptr;
}

class LayerUuidTest : public ::testing::TestWithParam<scratch::Backing> {};

TEST_P(LayerUuidTest, ProbeMatchesIoctlByteForByte) {
  auto fs = MakeFs(GetParam());
  ASSERT_TRUE(fs);
  auto layer = OpenLayer(fs->path());
  ASSERT_TRUE(layer) << layer.error().message;

  auto from_ioctl = LayerUuid(*layer);
  if (!from_ioctl) GTEST_SKIP() << "FS_IOC_GETFSUUID needs Linux 6.5+; nothing to compare with";
  auto probed = ProbeLayerUuid(*layer);
  ASSERT_TRUE(probed) << "libblkid found no UUID for " << fs->Describe();
  EXPECT_EQ(Hex(*probed), Hex(*from_ioctl)) << fs->Describe();
}

TEST(LayerUuidTmpfs, ProbeFindsNoBlockDeviceUuid) {
  // tmpfs has no superblock on disk: before 6.6 it has no UUID at all, and the random one it
  // has since exists only in memory, so the fallback must not invent one.
  auto fs = MakeFs(scratch::Backing::kTmpfs);
  ASSERT_TRUE(fs);
  auto layer = OpenLayer(fs->path());
  ASSERT_TRUE(layer) << layer.error().message;
  EXPECT_FALSE(ProbeLayerUuid(*layer).has_value());
}

INSTANTIATE_TEST_SUITE_P(Backings, LayerUuidTest,
                         ::testing::Values(scratch::Backing::kExt4, scratch::Backing::kXfs,
                                           scratch::Backing::kBtrfs),
                         [](const auto& info) {
                           return std::string(scratch::BackingName(info.param));
                         });

}  // namespace
}  // namespace ovlab::unionfs
