// KernelVersion parsing and the kernel-feature rules that turn old-kernel differences into
// "needs X.Y" skips and known deviations instead of failures.
#include "conformance/kernel_features.h"

#include <gtest/gtest.h>

#include "base/kernel_version.h"

namespace ovlab::conformance {
namespace {

TEST(KernelVersion, ParsesReleases) {
  auto v = KernelVersion::Parse("6.18.44-fc-v782");
  EXPECT_EQ(v.major, 6);
  EXPECT_EQ(v.minor, 18);
  v = KernelVersion::Parse("5.10.0-32-amd64");
  EXPECT_EQ(v.ToString(), "5.10");
  EXPECT_EQ(KernelVersion::Parse("6.12.117+deb13-amd64").minor, 12);
  EXPECT_EQ(KernelVersion::Parse("4.0").ToString(), "4.0");
  EXPECT_FALSE(KernelVersion::Parse("").known());
  EXPECT_FALSE(KernelVersion::Parse("linux").known());
  EXPECT_FALSE(KernelVersion::Parse("6.x").known());
}

TEST(KernelVersion, Compares) {
  EXPECT_TRUE(KernelVersion::Parse("6.7.0").AtLeast(6, 7));
  EXPECT_TRUE(KernelVersion::Parse("6.10.1").AtLeast(6, 7));  // numeric, not lexical
  EXPECT_TRUE(KernelVersion::Parse("7.0").AtLeast(6, 8));
  EXPECT_FALSE(KernelVersion::Parse("6.6.30").AtLeast(6, 7));
  EXPECT_FALSE(KernelVersion::Parse("5.10.0").AtLeast(6, 1));
  // An unparsable release is taken as current: cases expect current behaviour.
  EXPECT_TRUE(KernelVersion::Parse("weird").AtLeast(99, 0));
}

TEST(KernelFeatures, CurrentKernelLacksNothing) {
  EXPECT_TRUE(MissingFeatures(KernelVersion::Parse("6.18.0")).empty());
  EXPECT_TRUE(MissingFeatures(KernelVersion{}).empty());
  EXPECT_EQ(MissingFeatures(KernelVersion::Parse("5.10.0")).size(), KernelFeatures().size());
}

TEST(KernelFeatures, ExplainsOnlyWhenEveryLineIsExplained) {
  auto missing = MissingFeatures(KernelVersion::Parse("5.10.0"));
  auto wo2 = ExplainAll(missing, {"open /alt/gone O_RDONLY: expected ENOENT, observed ok"});
  ASSERT_EQ(wo2.size(), 1u);
  EXPECT_EQ(wo2[0]->major, 6);
  EXPECT_EQ(wo2[0]->minor, 7);
  EXPECT_NE(NeedsText(wo2).find("needs 6.7: xattr whiteouts (WO2)"), std::string::npos);
  // Three features, each named once.
  // A differing pair counts as one line: the mark may be on either side.
  auto two =
      ExplainAll(missing, {"upper /x = dir opaque=y | upper /x = dir",
                           "get trusted.overlay.opaque /opq = EOPNOTSUPP", "list /alt = [a]"});
  EXPECT_EQ(two.size(), 3u);
  EXPECT_EQ(ExplainAll(missing, {"upper /x = dir | upper /x = dir opaque=y"}).size(), 1u);
  // One unexplained line (a real difference) explains nothing: it stays a failure.
  EXPECT_TRUE(ExplainAll(missing, {"list /alt = [a]", "st_ino across chmod = changed"}).empty());
  EXPECT_TRUE(ExplainAll(missing, {}).empty());
  // A kernel with the feature explains nothing either.
  EXPECT_TRUE(
      ExplainAll(MissingFeatures(KernelVersion::Parse("6.12.0")), {"list /alt = [a]"}).empty());
}

}  // namespace
}  // namespace ovlab::conformance
