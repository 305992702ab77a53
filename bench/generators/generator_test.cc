// The generator is deterministic, builds the same image under every driver, and the analytic
// inode expectation matches the statfs delta exactly (vfs, overlay, overlay2 on ext4), and the
// walked count of the store for btrfs on btrfs.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "drivers/driver.h"
#include "drivers/tree_stats.h"
#include "generators/expectation.h"
#include "generators/image_builder.h"
#include "generators/image_plan.h"
#include "generators/profile.h"
#include "scratch/scratch.h"

namespace ovlab::bench {
namespace {

ImageProfile SmallApp() {
  ImageProfile p = *FindProfile("app");
  p.layers = 4;
  p.dirs = 30;
  p.base_files = 300;
  p.files_per_layer = 40;
  p.max_size = 8192;
  p.overwrite = p.remove = p.chmod = 0.05;
  p.spread_entries = 40;
  return p;
}

bool SameEntries(const ImagePlan& a, const ImagePlan& b) {
  if (a.layers.size() != b.layers.size()) return false;
  for (size_t n = 0; n < a.layers.size(); ++n) {
    const auto& x = a.layers[n].entries;
    const auto& y = b.layers[n].entries;
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i].path != y[i].path || x[i].kind != y[i].kind || x[i].size != y[i].size ||
          x[i].content_seed != y[i].content_seed || x[i].mode != y[i].mode) {
        return false;
      }
    }
  }
  return true;
}

TEST(ImagePlanTest, SameSeedSamePlanOtherSeedOtherPlan) {
  ImageProfile p = SmallApp();
  EXPECT_TRUE(SameEntries(PlanImage(p, 7), PlanImage(p, 7)));
  EXPECT_FALSE(SameEntries(PlanImage(p, 7), PlanImage(p, 8)));
}

TEST(ImagePlanTest, UpperLayersOverwriteDeleteAndChmod) {
  ImagePlan plan = PlanImage(SmallApp(), 1);
  ASSERT_EQ(plan.layers.size(), 4u);
  int whiteouts = 0, hardlinks = 0, symlinks = 0;
  for (const auto& e : plan.layers[2].entries) {
    whiteouts += e.kind == EntryKind::kWhiteout;
    hardlinks += e.kind == EntryKind::kHardlink;
    symlinks += e.kind == EntryKind::kSymlink;
  }
  EXPECT_GT(whiteouts, 0);
  EXPECT_EQ(hardlinks, 5);
  EXPECT_EQ(symlinks, 10);
}

TEST(ImagePlanTest, SpineReachesTheProfileDepth) {
  ImagePlan plan = PlanImage(TreeProfile(100, 20, 14), 1);
  size_t deepest = 0;
  for (const auto& e : plan.layers[0].entries) {
    if (e.kind == EntryKind::kDir) {
      deepest = std::max<size_t>(deepest, std::count(e.path.begin(), e.path.end(), '/'));
    }
  }
  EXPECT_EQ(deepest, 14u);
}

// Inodes in use: the statfs count, or on btrfs (no inode counts in statfs) the store's inodes
// counted by walking it, every subvolume's separately (as ovlab-bench counts them).
uint64_t UsedInodes(const std::string& path, const std::string& store) {
  struct statvfs sv {};
  EXPECT_EQ(::statvfs(path.c_str(), &sv), 0);
  if (sv.f_files != 0) return sv.f_files - sv.f_ffree;
  auto walked = drivers::TreeUsage(store);
  EXPECT_TRUE(walked) << walked.error().message;
  return walked ? walked->inodes : 0;
}

class BuildTest : public testing::TestWithParam<const targets::TargetSpec*> {};

TEST_P(BuildTest, InodesEqualTheAnalyticExpectation) {
  ASSERT_TRUE(MakeDirs("/var/tmp/ovlab"));
  scratch::InstallSignalCleanup();
  const targets::TargetSpec& target = *GetParam();
  std::string name(target.driver);
  if (std::string why = targets::UnavailableReason(target); !why.empty()) GTEST_SKIP() << why;
  auto backing = target.only_backing.value_or(scratch::Backing::kExt4);
  auto fs = scratch::ScratchFs::Create({backing, 512ull << 20, ""});
  if (!fs) {
    GTEST_SKIP() << "no " << scratch::BackingName(backing)
                 << " scratch filesystem here: " << fs.error().message;
  }
  std::string store = JoinPath((*fs)->path(), "store");
  auto driver = drivers::OpenDriver(name, {store, 128, {}});
  ASSERT_TRUE(driver) << driver.error().message;
  std::string staging = JoinPath((*fs)->path(), "staging");
  ASSERT_TRUE(MakeDirs(staging));
  ImagePlan plan = PlanImage(SmallApp(), 42);
  auto expected = ExpectImageUsage(target.inode_model, plan);
  ASSERT_TRUE(expected);

  uint64_t before = UsedInodes((*fs)->path(), store);
  auto image = BuildImage(**driver, plan, "img", staging);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(UsedInodes((*fs)->path(), store) - before, expected->inodes);

  // The merged view holds every layer's marker and not what a later layer deleted.
  auto view = (*driver)->Get(image->top());
  ASSERT_TRUE(view) << view.error().message;
  for (uint32_t n = 0; n < plan.layers.size(); ++n) {
    EXPECT_TRUE(PathExists(*view + LayerMarker(n))) << LayerMarker(n);
  }
  for (const auto& layer : plan.layers) {
    for (const auto& e : layer.entries) {
      // The generator never adds a deleted name again.
      if (e.kind == EntryKind::kWhiteout) {
        EXPECT_FALSE(PathExists(*view + e.path)) << e.path;
      }
    }
  }
  auto listing = ListDir(*view + kSpreadDir);
  ASSERT_TRUE(listing);
  EXPECT_EQ(listing->size(), 40u);
  EXPECT_TRUE((*driver)->Put(image->top()));
  EXPECT_TRUE(RemoveImage(**driver, *image));
  EXPECT_EQ(UsedInodes((*fs)->path(), store), before);
}

// Every target of the table that stores an image itself (an analytic inode model).
std::vector<const targets::TargetSpec*> StoringTargets() {
  std::vector<const targets::TargetSpec*> out;
  for (const auto& t : targets::AllTargets())
    if (t.inode_model != targets::InodeModel::kNone) out.push_back(&t);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Drivers, BuildTest, testing::ValuesIn(StoringTargets()),
                         [](const auto& info) { return std::string(info.param->name); });

}  // namespace
}  // namespace ovlab::bench
