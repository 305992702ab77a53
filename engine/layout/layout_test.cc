// The layout building blocks on their own: short ids, lower composition, whiteout conversion,
// Docker's init layer contents.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "layout/apply_diff.h"
#include "layout/confined_dir.h"
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

// The error of a failed result; an empty one (code 0) for a success.
template <class T>
Error ErrorOf(const Result<T>& r) {
  return r ? Error{} : r.error();
}

// Nothing done through a ConfinedDir follows a symlink below it or leaves it, whatever is there.
TEST_F(LayoutFsTest, ConfinedDirNeverFollowsASymlinkBelowIt) {
  ASSERT_TRUE(MakeDirs(Path("out")));
  ASSERT_TRUE(WriteFileAtomic(Path("out/f"), "outside"));
  ASSERT_TRUE(MakeDirs(Path("store/a")));
  ASSERT_EQ(::symlink(Path("out").c_str(), Path("store/s").c_str()), 0);
  ASSERT_EQ(::symlink(Path("out/f").c_str(), Path("store/a/f").c_str()), 0);
  ASSERT_EQ(::mkfifo(Path("store/a/fifo").c_str(), 0600), 0);
  auto dir = ConfinedDir::Open(Path("store"));
  ASSERT_TRUE(dir) << dir.error().message;
  const std::string via = Path("store/s") + " is a symlink to " + Path("out");
  for (auto r :
       {ErrorOf(dir->ReadFile("s/f", 100)), ErrorOf(dir->Dir("s")), ErrorOf(dir->ReadLink("s/f")),
        ErrorOf(dir->Stat("s/f")), ErrorOf(dir->WriteFile("s/f", "x", 0644)),
        ErrorOf(dir->MakeDir("s/d", 0755)), ErrorOf(dir->Unlink("s/f")),
        ErrorOf(dir->RemoveTree("s/f")), ErrorOf(dir->List("s"))}) {
    EXPECT_EQ(r.code, ELOOP) << r.message;
    EXPECT_TRUE(StartsWith(r.message, via) || r.message.find(": " + via) != std::string::npos)
        << r.message;
  }
  EXPECT_EQ(ErrorOf(dir->ReadFile("a/f", 100)).code, ELOOP);
  EXPECT_EQ(ErrorOf(dir->ReadFile("../out/f", 100)).code, EXDEV);
  EXPECT_EQ(ErrorOf(dir->ReadFile(Path("out/f"), 100)).code, EXDEV);
  EXPECT_NE(ErrorOf(dir->ReadFile("a/fifo", 100)).message.find("not a regular file"),
            std::string::npos);
  // The last component as such: described, replaced or removed, never followed.
  EXPECT_TRUE(S_ISLNK(dir->Stat("s")->st_mode));
  EXPECT_EQ(dir->ReadLink("s").value_or(""), Path("out"));
  ASSERT_TRUE(dir->WriteFile("a/f", "inside", 0600));
  EXPECT_EQ(ReadFileText(Path("store/a/f")).value_or(""), "inside");
  ASSERT_TRUE(dir->RemoveTree("s"));
  EXPECT_EQ(ReadFileText(Path("out/f")).value_or(""), "outside");
  EXPECT_FALSE(PathExists(Path("store/s")));
  EXPECT_EQ(dir->Exists("s").value_or(true), false);
  EXPECT_FALSE(dir->Exists("a/f/x")) << "ENOTDIR is no answer";
}

TEST_F(LayoutFsTest, ConfinedDirMakesExactModesAndTemporaryNames) {
  ASSERT_TRUE(MakeDirs(Path("store")));
  auto dir = ConfinedDir::Open(Path("store"));
  ASSERT_TRUE(dir);
  mode_t old = ::umask(077);
  ASSERT_TRUE(dir->MakeDir("d", 0755));
  ::umask(old);
  EXPECT_EQ(LStat(Path("store/d"))->st_mode, S_IFDIR | 0755u);
  EXPECT_EQ(ErrorOf(dir->MakeDir("d", 0755)).code, EEXIST);
  auto tmp = dir->MakeTempDir(".tmp-x-", 0700);
  ASSERT_TRUE(tmp);
  EXPECT_TRUE(StartsWith(*tmp, ".tmp-x-")) << *tmp;
  EXPECT_EQ(LStat(Path("store/" + *tmp))->st_mode, S_IFDIR | 0700u);
  auto moved = dir->RenameToTemp("d", ".tmp-d-");
  ASSERT_TRUE(moved);
  EXPECT_FALSE(PathExists(Path("store/d")));
  EXPECT_TRUE(PathExists(Path("store/" + *moved)));
  ASSERT_TRUE(dir->MakeDir("e", 0700));
  EXPECT_EQ(ErrorOf(dir->Rename("e", *moved)).code, EEXIST) << "never replaces";
  auto names = dir->List();
  ASSERT_TRUE(names);
  EXPECT_EQ(names->size(), 3u);
  ASSERT_TRUE(dir->RemoveDir("e"));
  ASSERT_TRUE(dir->RemoveDir("e")) << "missing is fine";
}

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
