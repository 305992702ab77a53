// The layout building blocks on their own: short ids, lower composition, whiteout conversion,
// Docker's init layer contents.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "layout/apply_diff.h"
#include "layout/init_layer.h"
#include "layout/overlay2_layout.h"
#include "layout/short_id.h"
#include "layout/whiteout.h"
#include "scratch/scratch.h"

namespace ovlab::layout {
namespace {

TEST(ShortId, Is26CharactersOfBase32AndRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = NewShortId();
    ASSERT_TRUE(id);
    ASSERT_EQ(id->size(), 26u);
    for (char c : *id) ASSERT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) << *id;
    EXPECT_TRUE(IsShortId(*id));
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(IsShortId("ABC"));
  EXPECT_FALSE(IsShortId(std::string(26, 'a')));
  EXPECT_FALSE(IsShortId(std::string(25, 'A') + "1"));
}

TEST(ComposeLower, ParentFirstThenItsLowers) {
  EXPECT_EQ(ComposeLower("AAA", "", 128).value_or("?"), "l/AAA");
  EXPECT_EQ(ComposeLower("BBB", "l/AAA", 128).value_or("?"), "l/BBB:l/AAA");
  EXPECT_EQ(ComposeLower("CCC", "l/BBB:l/AAA", 3).value_or("?"), "l/CCC:l/BBB:l/AAA");
  auto deep = ComposeLower("DDD", "l/CCC:l/BBB:l/AAA", 3);
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("max depth exceeded"), std::string::npos);
}

TEST(ComposeLower, RelativeMountDataFor128LowersFitsAPage) {
  // Docker's budget: with 26-character short ids, the relative mount data of a layer with 128
  // lowers and a 64-character id stays below one page, so the mount after chdir always fits.
  std::string lower;
  for (int i = 0; i < 127; ++i) lower += (i ? ":l/" : "l/") + std::string(26, 'A');
  auto full = ComposeLower(std::string(26, 'B'), lower, 128);
  ASSERT_TRUE(full);
  std::string id(64, 'f');
  std::string data =
      "index=off,lowerdir=" + *full + ",upperdir=" + id + "/diff,workdir=" + id + "/work";
  EXPECT_LT(data.size(), 4096u);
}

class LayoutFsTest : public testing::Test {
 protected:
  void SetUp() override {
    scratch::ScratchOptions o;
    o.size_bytes = 16ull << 20;
    auto fs = scratch::ScratchFs::Create(o);
    ASSERT_TRUE(fs) << fs.error().message;
    fs_ = std::move(*fs);
  }
  void TearDown() override {
    if (fs_) {
      EXPECT_TRUE(fs_->Destroy());
    }
  }
  std::string Path(const std::string& p) { return JoinPath(fs_->path(), p); }
  std::unique_ptr<scratch::ScratchFs> fs_;
};

TEST_F(LayoutFsTest, TarWhiteoutsBecomeOverlayWhiteoutsAndOpaqueXattrs) {
  ASSERT_TRUE(MakeDirs(Path("staged/dir")));
  ASSERT_TRUE(WriteFileAtomic(Path("staged/.wh.gone"), ""));
  ASSERT_TRUE(WriteFileAtomic(Path("staged/dir/.wh..wh..opq"), ""));
  ASSERT_TRUE(WriteFileAtomic(Path("staged/dir/kept"), "k", 0640));
  ASSERT_TRUE(MakeDirs(Path("diff")));
  ASSERT_TRUE(ApplyStagedDiff(Path("staged"), Path("diff"), WhiteoutStyle::kOverlay));
  auto wh = LStat(Path("diff/gone"));
  ASSERT_TRUE(wh);
  EXPECT_TRUE(S_ISCHR(wh->st_mode));
  EXPECT_EQ(wh->st_rdev, 0u);
  EXPECT_TRUE(IsOverlayWhiteout(*wh));
  EXPECT_FALSE(PathExists(Path("diff/.wh.gone")));
  EXPECT_TRUE(IsOpaqueDir(Path("diff/dir")));
  EXPECT_FALSE(PathExists(Path("diff/dir/.wh..wh..opq")));
  EXPECT_EQ(LStat(Path("diff/dir/kept"))->st_mode, S_IFREG | 0640u);
}

TEST_F(LayoutFsTest, DeleteStyleRemovesNamesAndKeepsHardLinkedTargetsIntact) {
  ASSERT_TRUE(MakeDirs(Path("tree/sub")));
  ASSERT_TRUE(WriteFileAtomic(Path("tree/gone"), "g"));
  ASSERT_TRUE(WriteFileAtomic(Path("tree/shared"), "parent"));
  ASSERT_TRUE(WriteFileAtomic(Path("tree/sub/x"), "x"));
  ASSERT_EQ(::link(Path("tree/shared").c_str(), Path("parent-copy").c_str()), 0);
  ASSERT_TRUE(MakeDirs(Path("staged/sub")));
  ASSERT_TRUE(WriteFileAtomic(Path("staged/.wh.gone"), ""));
  ASSERT_TRUE(WriteFileAtomic(Path("staged/shared"), "child"));
  ASSERT_TRUE(WriteFileAtomic(Path("staged/sub/.wh..wh..opq"), ""));
  ASSERT_TRUE(WriteFileAtomic(Path("staged/sub/y"), "y"));
  ASSERT_TRUE(ApplyStagedDiff(Path("staged"), Path("tree"), WhiteoutStyle::kDelete));
  EXPECT_FALSE(PathExists(Path("tree/gone")));
  EXPECT_EQ(ReadFileText(Path("tree/shared")).value_or(""), "child");
  EXPECT_EQ(ReadFileText(Path("parent-copy")).value_or(""), "parent") << "replaced, not written";
  EXPECT_FALSE(PathExists(Path("tree/sub/x")));
  EXPECT_TRUE(PathExists(Path("tree/sub/y")));
  EXPECT_FALSE(IsOpaqueDir(Path("tree/sub")));
}

TEST_F(LayoutFsTest, BadWhiteoutNameIsRefused) {
  ASSERT_TRUE(MakeDirs(Path("staged")));
  ASSERT_TRUE(MakeDirs(Path("diff")));
  ASSERT_TRUE(WriteFileAtomic(Path("staged/.wh.."), ""));
  auto st = ApplyStagedDiff(Path("staged"), Path("diff"), WhiteoutStyle::kOverlay);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("bad whiteout name"), std::string::npos);
  auto missing = ApplyStagedDiff(Path("nothing"), Path("diff"), WhiteoutStyle::kOverlay);
  EXPECT_FALSE(missing);
}

TEST_F(LayoutFsTest, InitLayerHasDockersEntriesAndReplacesFilesInTheWay) {
  ASSERT_TRUE(MakeDirs(Path("init")));
  ASSERT_TRUE(WriteFileAtomic(Path("init/proc"), "a file where a dir must be"));
  ASSERT_TRUE(MakeDirs(Path("init/etc")));
  ASSERT_TRUE(WriteFileAtomic(Path("init/etc/hosts.keep"), "untouched"));
  ASSERT_TRUE(WriteInitLayer(Path("init")));
  for (const char* dir : {"dev", "dev/pts", "dev/shm", "proc", "sys", "etc"}) {
    EXPECT_EQ(LStat(Path(std::string("init/") + dir))->st_mode, S_IFDIR | 0755u) << dir;
  }
  for (const char* file :
       {".dockerenv", "etc/resolv.conf", "etc/hosts", "etc/hostname", "dev/console"}) {
    auto st = LStat(Path(std::string("init/") + file));
    ASSERT_TRUE(st) << file;
    EXPECT_EQ(st->st_mode, S_IFREG | 0755u) << file;
    EXPECT_EQ(st->st_size, 0);
  }
  EXPECT_EQ(ReadLink(Path("init/etc/mtab")).value_or(""), "/proc/mounts");
  EXPECT_EQ(ReadFileText(Path("init/etc/hosts.keep")).value_or(""), "untouched");
  // Running it again changes nothing.
  ASSERT_TRUE(WriteInitLayer(Path("init")));
  EXPECT_EQ(ReadLink(Path("init/etc/mtab")).value_or(""), "/proc/mounts");
}

}  // namespace
}  // namespace ovlab::layout
