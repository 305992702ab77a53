// The table of targets and the union bring-up every benchmark and conformance case uses.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <set>

#include "base/fs.h"
#include "drivers/driver.h"
#include "scratch/scratch.h"
#include "targets/target.h"
#include "targets/target_json.h"
#include "targets/union_mount.h"

namespace ovlab::targets {
namespace {

TEST(TargetTableTest, NamesAreUniqueAndFound) {
  std::set<std::string_view> names, conformance;
  for (const auto& t : AllTargets()) {
    EXPECT_TRUE(names.insert(t.name).second) << t.name;
    EXPECT_EQ(FindTarget(t.name), &t);
    EXPECT_FALSE(t.summary.empty()) << t.name;
    if (t.role != Role::kNone) {
      EXPECT_TRUE(conformance.insert(t.conformance_name).second) << t.conformance_name;
      EXPECT_EQ(FindConformanceTarget(t.conformance_name), &t);
    }
  }
  EXPECT_EQ(FindTarget("nonesuch"), nullptr);
  EXPECT_EQ(FindConformanceTarget("kernel")->name, "overlay2");
}

// Each row is consistent: a union shows an overlay2 store's layers unless it is a kernel
// driver; a daemon row names its program; one oracle.
TEST(TargetTableTest, RowsAreConsistent) {
  int oracles = 0;
  for (const auto& t : AllTargets()) {
    oracles += t.role == Role::kOracle;
    EXPECT_EQ(t.daemon.has_value(), t.bringup == Bringup::kDaemon) << t.name;
    if (t.bringup == Bringup::kDaemon || t.bringup == Bringup::kEngine) {
      EXPECT_EQ(t.driver, "overlay2") << t.name;
      EXPECT_EQ(t.inode_model, InodeModel::kNone) << t.name;
    }
    if (t.role != Role::kNone) {
      EXPECT_NE(t.bringup, Bringup::kLayerDriver) << t.name;
    }
    auto j = TargetJson(t);
    EXPECT_EQ(j["name"], std::string(t.name));
    EXPECT_EQ(j["role"], RoleName(t.role));
  }
  EXPECT_EQ(oracles, 1);
}

TEST(TargetTableTest, TheUnionsOfThisBuildRunHere) {
  for (std::string_view name : {"overlay2", "engine", "fuse"}) {
    EXPECT_EQ(UnavailableReason(*FindTarget(name)), "") << name;
  }
  std::string why = UnavailableReason(*FindTarget("devicemapper"));
  EXPECT_NE(why.find("devicemapper"), std::string::npos) << why;
  EXPECT_NE(VersionOf(*FindTarget("fuse")).find("ovlab-fuse"), std::string::npos);
}

class UnionMountTest : public testing::TestWithParam<const TargetSpec*> {
 protected:
  void SetUp() override {
    if (std::string why = UnavailableReason(*GetParam()); !why.empty()) GTEST_SKIP() << why;
    scratch::ScratchOptions o;
    o.size_bytes = 64 << 20;
    auto fs = scratch::ScratchFs::Create(o);
    ASSERT_TRUE(fs) << fs.error().message;
    fs_ = std::move(*fs);
    for (const char* d : {"l1", "l2", "u", "w", "m"}) ASSERT_TRUE(MakeDirs(P(d)));
    ASSERT_TRUE(WriteFileAtomic(P("l2/f"), "bottom"));
    dirs_ = {{P("l1"), P("l2")}, P("u"), P("w")};
  }
  std::string P(const std::string& rel) { return JoinPath(fs_->path(), rel); }

  std::unique_ptr<scratch::ScratchFs> fs_;
  launch::UnionDirs dirs_;
};

TEST_P(UnionMountTest, ServesTheLayersAndComesBackUp) {
  UnionConfig config;
  config.redirect_dir = true;
  auto u = UnionMount::Start(*GetParam(), dirs_, config, P("m"));
  ASSERT_TRUE(u) << u.error().message;
  Ops& ops = (*u)->ops();
  auto st = ops.Stat("/f");
  ASSERT_TRUE(st) << st.error();
  EXPECT_EQ(st->st_size, 6);
  ASSERT_TRUE(WriteAt(ops, "/new", O_CREAT | O_WRONLY, "top", 3, 0));
  EXPECT_EQ(CountEntries(ops, "/").value_or(0), 2u);
  auto h = ops.Open("/f", O_RDONLY);
  ASSERT_TRUE(h);
  ASSERT_TRUE((*u)->Down());
  EXPECT_EQ(ReadFileText(P("u/new")).value_or("?"), "top");
  ASSERT_TRUE((*u)->Up(dirs_));
  EXPECT_TRUE(ops.Stat("/new")) << "the same Ops object serves the union again";
  bool takes_union_options = !GetParam()->daemon || GetParam()->daemon->union_options;
  EXPECT_EQ((*u)->Options().find("redirect_dir=on") != std::string::npos, takes_union_options)
      << (*u)->Options();
}

std::vector<const TargetSpec*> Unions() {
  return ConformanceTargets();
}

INSTANTIATE_TEST_SUITE_P(Targets, UnionMountTest, testing::ValuesIn(Unions()),
                         [](const auto& info) {
                           std::string n(info.param->name);
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

}  // namespace
}  // namespace ovlab::targets
