// The legacy overlay (v1) and vfs drivers, and what every driver must agree on.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/container.h"
#include "drivers/driver.h"
#include "drivers/store_test_util.h"
#include "drivers/tree_stats.h"
#include "mount/mount.h"

namespace ovlab::drivers {
namespace {

using testing_util::StoreTest;
using testing_util::TreeListing;

struct stat StatOf(const std::string& path) {
  auto st = LStat(path);
  EXPECT_TRUE(st) << path;
  struct stat empty {};
  return st.value_or(empty);
}

std::vector<std::string> ChangeLines(const std::vector<Change>& changes) {
  std::vector<std::string> lines;
  for (const auto& c : changes)
    lines.push_back(std::string(1, ChangeLetter(c.kind)) + " " + c.path);
  return lines;
}

bool Mounted(const std::string& path) {
  auto m = mount::FindMount(path);
  return m && m->has_value();
}

// --- Behaviour every driver shares --------------------------------------------------------------

class AnyDriverTest : public StoreTest, public testing::WithParamInterface<const char*> {
 protected:
  void MakeImage(Driver& d) {
    ASSERT_TRUE(d.Create("base", {}));
    Apply(d, "base",
          {{"a", "old"}, {"d/b", "b"}, {"d/c", "c"}, {"o/p", "p"}, {"etc/hostname", "img"}});
    ASSERT_TRUE(d.Create("child", {.parent = "base"}));
    Apply(d, "child", {{"a", "new content"}, {"n", "x"}, {"d/b", "@wh"}, {"o", "@opq"}});
  }
};

TEST_P(AnyDriverTest, ImageViewAppliesWhiteoutsAndOpaqueDirs) {
  Driver& d = Open(GetParam());
  MakeImage(d);
  auto view = d.Get("child");
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(Read(JoinPath(*view, "a")), "new content");
  EXPECT_EQ(Read(JoinPath(*view, "n")), "x");
  EXPECT_FALSE(PathExists(JoinPath(*view, "d/b")));
  EXPECT_EQ(Read(JoinPath(*view, "d/c")), "c");
  EXPECT_TRUE(PathExists(JoinPath(*view, "o")));
  EXPECT_FALSE(PathExists(JoinPath(*view, "o/p")));
  ASSERT_TRUE(d.Put("child"));
  auto base = d.Get("base");
  ASSERT_TRUE(base);
  EXPECT_EQ(Read(JoinPath(*base, "a")), "old") << "the parent must not change";
  EXPECT_EQ(Read(JoinPath(*base, "d/b")), "b");
  ASSERT_TRUE(d.Put("base"));
}

TEST_P(AnyDriverTest, ChangesAgreeAcrossDrivers) {
  Driver& d = Open(GetParam());
  MakeImage(d);
  auto changes = d.Changes("child");
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_EQ(ChangeLines(*changes),
            (std::vector<std::string>{"C /a", "C /d", "D /d/b", "A /n", "C /o", "D /o/p"}));
}

TEST_P(AnyDriverTest, ContainerViewHasInitLayerAndImageAndWritesStayInTheContainer) {
  Driver& d = Open(GetParam());
  MakeImage(d);
  auto st = CreateContainer(d, "c1", "child");
  ASSERT_TRUE(st) << st.error().message;
  auto lines = d.List();
  ASSERT_TRUE(lines);
  EXPECT_EQ(*lines, (std::vector<std::string>{"base", "c1", "c1-init", "child"}));
  auto view = d.Get("c1");
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(StatOf(JoinPath(*view, ".dockerenv")).st_mode, S_IFREG | 0755u);
  EXPECT_EQ(StatOf(JoinPath(*view, "dev/pts")).st_mode, S_IFDIR | 0755u);
  EXPECT_EQ(ReadLink(JoinPath(*view, "etc/mtab")).value_or(""), "/proc/mounts");
  EXPECT_EQ(Read(JoinPath(*view, "etc/hostname")), "");
  EXPECT_EQ(Read(JoinPath(*view, "a")), "new content");
  WriteFile(JoinPath(*view, "written"), "w");
  ASSERT_TRUE(d.Put("c1"));
  auto init_view = d.Get("c1-init");
  ASSERT_TRUE(init_view);
  EXPECT_FALSE(PathExists(JoinPath(*init_view, "written")));
  EXPECT_TRUE(PathExists(JoinPath(*init_view, ".dockerenv")));
  ASSERT_TRUE(d.Put("c1-init"));
  auto changes = d.Changes("c1");
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_EQ(ChangeLines(*changes), (std::vector<std::string>{"A /written"}));
}

TEST_P(AnyDriverTest, RemoveRefusesParentsAndMissingLayersLeaveNothing) {
  Driver& d = Open(GetParam());
  MakeImage(d);
  auto before = TreeListing(root_);
  auto busy = d.Remove("base");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, EBUSY);
  auto missing = d.Create("x", {.parent = "nosuch"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  EXPECT_FALSE(d.Create("../x", {}));
  EXPECT_EQ(TreeListing(root_), before);
  ASSERT_TRUE(d.Remove("child"));
  ASSERT_TRUE(d.Remove("base"));
  EXPECT_EQ(d.List().value_or(std::vector<std::string>{"?"}), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(Drivers, AnyDriverTest, testing::Values("overlay2", "overlay", "vfs"));

// --- overlay (v1) --------------------------------------------------------------------------------

class OverlayV1Test : public StoreTest {
 protected:
  std::string Dir(const std::string& id) { return JoinPath(JoinPath(root_, "overlay"), id); }
};

TEST_F(OverlayV1Test, ImageLayersAreHardLinkedRootTrees) {
  Driver& d = Open("overlay");
  ASSERT_TRUE(d.Create("base", {}));
  EXPECT_EQ(StatOf(Dir("base")).st_mode, S_IFDIR | 0710u);
  EXPECT_EQ(StatOf(JoinPath(Dir("base"), "root")).st_mode, S_IFDIR | 0755u);
  Apply(d, "base", {{"a", "old"}, {"d/b", "b"}, {"e/f/", ""}});
  std::string base_root = JoinPath(Dir("base"), "root");
  ASSERT_EQ(::symlink("a", JoinPath(base_root, "s").c_str()), 0);
  ASSERT_EQ(::mknod(JoinPath(base_root, "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::chmod(JoinPath(base_root, "d").c_str(), 0750), 0);

  ASSERT_TRUE(d.Create("child", {.parent = "base"}));
  std::string child_root = JoinPath(Dir("child"), "root");
  EXPECT_EQ(ListDir(Dir("child")).value_or(std::vector<std::string>{}),
            std::vector<std::string>{"root"});
  struct stat pa = StatOf(JoinPath(base_root, "a")), ca = StatOf(JoinPath(child_root, "a"));
  EXPECT_EQ(pa.st_ino, ca.st_ino) << "regular files are hard links";
  EXPECT_EQ(ca.st_nlink, 2u);
  for (const char* p : {"d", "e", "e/f", "s", "null"}) {
    struct stat ps = StatOf(JoinPath(base_root, p)), cs = StatOf(JoinPath(child_root, p));
    EXPECT_NE(ps.st_ino, cs.st_ino) << p << " must be the child's own copy";
    EXPECT_EQ(ps.st_mode, cs.st_mode) << p;
    EXPECT_EQ(ps.st_rdev, cs.st_rdev) << p;
    EXPECT_EQ(ps.st_mtim.tv_sec, cs.st_mtim.tv_sec) << p;
  }
  EXPECT_EQ(ReadLink(JoinPath(child_root, "s")).value_or(""), "a");

  // Usage: the base owns all 8 inodes (root, a, d, d/b, e, e/f, s, null); the child owns its
  // directories, symlink and device: root, d, e, e/f, s, null = 6.
  auto bu = d.Usage("base");
  auto cu = d.Usage("child");
  ASSERT_TRUE(bu && cu);
  EXPECT_EQ(bu->inodes, 8u);
  EXPECT_EQ(cu->inodes, 6u);
  Apply(d, "child", {{"a", "replaced"}});
  EXPECT_EQ(d.Usage("child")->inodes, 7u) << "a replaced file is the child's own";
  EXPECT_EQ(Read(JoinPath(base_root, "a")), "old");
}

TEST_F(OverlayV1Test, ContainerLayersMountTheImageRootAsLower) {
  Driver& d = Open("overlay");
  ASSERT_TRUE(d.Create("img", {}));
  Apply(d, "img", {{"a", "a"}});
  ASSERT_TRUE(CreateContainer(d, "c1", "img"));
  for (const char* id : {"c1-init", "c1"}) {
    auto names = ListDir(Dir(id)).value_or(std::vector<std::string>{});
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"lower-id", "upper", "work"})) << id;
    EXPECT_EQ(Read(JoinPath(Dir(id), "lower-id")), "img") << id;
    EXPECT_EQ(StatOf(JoinPath(Dir(id), "lower-id")).st_mode, S_IFREG | 0600u);
    EXPECT_EQ(StatOf(JoinPath(Dir(id), "work")).st_mode, S_IFDIR | 0700u);
  }
  // c1 starts from a copy of c1-init's upper, like Docker's overlay driver.
  EXPECT_TRUE(PathExists(JoinPath(Dir("c1"), "upper/.dockerenv")));
  auto meta = d.Metadata("c1");
  ASSERT_TRUE(meta);
  EXPECT_EQ((*meta)["LowerDir"], JoinPath(Dir("img"), "root"));
  EXPECT_EQ((*meta)["UpperDir"], JoinPath(Dir("c1"), "upper"));
  auto view = d.Get("c1");
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_TRUE(Mounted(*view));
  EXPECT_EQ(Read(JoinPath(*view, "a")), "a");
  auto again = d.Get("c1");
  ASSERT_TRUE(again);
  auto rm = d.Remove("c1");
  ASSERT_FALSE(rm);
  EXPECT_EQ(rm.error().code, EBUSY);
  ASSERT_TRUE(d.Put("c1"));
  EXPECT_TRUE(Mounted(*view));
  ASSERT_TRUE(d.Put("c1"));
  EXPECT_FALSE(Mounted(*view));
  EXPECT_FALSE(PathExists(*view));
  EXPECT_TRUE(d.Remove("c1"));
  auto found = d.Check(false);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->empty());
}

TEST_F(OverlayV1Test, ImageLayerOnAContainerLayerIsRefused) {
  Driver& d = Open("overlay");
  ASSERT_TRUE(d.Create("img", {}));
  ASSERT_TRUE(d.Create("rw", {.parent = "img", .rw = true}));
  auto before = TreeListing(root_);
  auto st = d.Create("bad", {.parent = "rw"});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("container layer"), std::string::npos);
  EXPECT_EQ(TreeListing(root_), before);
}

// --- vfs -----------------------------------------------------------------------------------------

class VfsTest : public StoreTest {
 protected:
  std::string Dir(const std::string& id) { return JoinPath(JoinPath(root_, "vfs/dir"), id); }
};

TEST_F(VfsTest, EveryLayerIsAFullCopy) {
  Driver& d = Open("vfs");
  ASSERT_TRUE(d.Create("base", {}));
  EXPECT_EQ(StatOf(JoinPath(root_, "vfs")).st_mode, S_IFDIR | 0710u);
  EXPECT_EQ(StatOf(JoinPath(root_, "vfs/dir")).st_mode, S_IFDIR | 0710u);
  EXPECT_EQ(StatOf(Dir("base")).st_mode, S_IFDIR | 0755u);
  Apply(d, "base", {{"a", std::string(5000, 'a')}, {"d/b", "b"}, {"e/", ""}});
  ASSERT_TRUE(d.Create("child", {.parent = "base"}));
  struct stat pa = StatOf(JoinPath(Dir("base"), "a")), ca = StatOf(JoinPath(Dir("child"), "a"));
  EXPECT_NE(pa.st_ino, ca.st_ino);
  EXPECT_EQ(pa.st_mtim.tv_nsec, ca.st_mtim.tv_nsec);
  EXPECT_EQ(Read(JoinPath(Dir("child"), "a")), std::string(5000, 'a'));
  // Usage: each layer holds the whole tree: root, a, d, d/b, e = 5 inodes each.
  EXPECT_EQ(d.Usage("base")->inodes, 5u);
  EXPECT_EQ(d.Usage("child")->inodes, 5u);
  Apply(d, "child", {{"n", "n"}, {"d", "@opq"}});
  EXPECT_EQ(d.Usage("child")->inodes, 5u);  // + n, - d/b
  EXPECT_FALSE(PathExists(JoinPath(Dir("child"), "d/b")));
  EXPECT_FALSE(PathExists(JoinPath(Dir("child"), "d/.wh..wh..opq")));
  auto meta = d.Metadata("child");
  ASSERT_TRUE(meta);
  EXPECT_EQ((*meta)["SourceDir"], Dir("child"));
  EXPECT_EQ(d.Get("child").value_or(""), Dir("child"));
  EXPECT_TRUE(d.Put("child"));
}

}  // namespace
}  // namespace ovlab::drivers
