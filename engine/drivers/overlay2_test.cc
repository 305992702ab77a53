// overlay2: Docker's layout byte for byte, real kernel mounts of deep stacks, containers,
// reference counts, changes, usage and the consistency check.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/container.h"
#include "drivers/driver.h"
#include "drivers/store_test_util.h"
#include "drivers/tree_stats.h"
#include "drivers/tree_view.h"
#include "layout/short_id.h"
#include "mount/mount.h"

namespace ovlab::drivers {
namespace {

using testing_util::LayerId;
using testing_util::StoreTest;
using testing_util::TreeListing;

class Overlay2Test : public StoreTest {
 protected:
  std::string Home() const { return JoinPath(root_, "overlay2"); }
  std::string LayerDir(const std::string& id) const { return JoinPath(Home(), id); }
  std::string LinkOf(const std::string& id) const {
    return ReadFileText(JoinPath(LayerDir(id), "link")).value_or("");
  }
  static mode_t ModeOf(const std::string& path) {
    auto st = LStat(path);
    return st ? st->st_mode : 0;
  }
  static bool Mounted(const std::string& path) {
    auto m = mount::FindMount(path);
    return m && m->has_value();
  }
  void CreateChain(Driver& d, int n, bool each_adds_files = true) {
    for (int i = 0; i < n; ++i) {
      CreateOptions o;
      if (i > 0) o.parent = LayerId(i - 1);
      auto st = d.Create(LayerId(i), o);
      ASSERT_TRUE(st) << "layer " << i << ": " << st.error().message;
      if (each_adds_files) {
        Apply(d, LayerId(i),
              {{StrPrintf("f%d", i), StrPrintf("%d", i)}, {"top", StrPrintf("%d", i)}});
      }
    }
  }
};

TEST_F(Overlay2Test, BaseLayerLayoutIsDockers) {
  Driver& d = Open("overlay2");
  const std::string id = LayerId(0);
  ASSERT_TRUE(d.Create(id, {}));
  EXPECT_EQ(ModeOf(Home()), S_IFDIR | 0710u);
  EXPECT_EQ(ModeOf(JoinPath(Home(), "l")), S_IFDIR | 0700u);
  EXPECT_EQ(ModeOf(LayerDir(id)), S_IFDIR | 0710u);
  EXPECT_EQ(ModeOf(JoinPath(LayerDir(id), "diff")), S_IFDIR | 0755u);
  EXPECT_EQ(ModeOf(JoinPath(LayerDir(id), "link")), S_IFREG | 0644u);
  std::string link = LinkOf(id);
  EXPECT_EQ(link.size(), 26u) << "no newline, exactly 26 characters: '" << link << "'";
  EXPECT_TRUE(layout::IsShortId(link)) << link;
  EXPECT_EQ(ReadLink(JoinPath(JoinPath(Home(), "l"), link)).value_or(""), "../" + id + "/diff");
  // A base layer has only diff/ and link: no lower, work, merged or committed.
  auto names = ListDir(LayerDir(id));
  ASSERT_TRUE(names);
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"diff", "link"}));
}

TEST_F(Overlay2Test, ChildLayersHaveLowerWorkAndCommitParents) {
  Driver& d = Open("overlay2");
  CreateChain(d, 3, /*each_adds_files=*/false);
  std::string a = LinkOf(LayerId(0)), b = LinkOf(LayerId(1));
  EXPECT_NE(a, b);
  EXPECT_EQ(Read(JoinPath(LayerDir(LayerId(1)), "lower")), "l/" + a);
  EXPECT_EQ(Read(JoinPath(LayerDir(LayerId(2)), "lower")), "l/" + b + ":l/" + a);
  EXPECT_EQ(ModeOf(JoinPath(LayerDir(LayerId(2)), "lower")), S_IFREG | 0644u);
  for (int i : {1, 2}) {
    EXPECT_EQ(ModeOf(JoinPath(LayerDir(LayerId(i)), "work")), S_IFDIR | 0700u);
  }
  for (int i : {0, 1}) {
    std::string committed = JoinPath(LayerDir(LayerId(i)), "committed");
    EXPECT_EQ(ModeOf(committed), S_IFREG | 0600u) << i;
    EXPECT_EQ(Read(committed), "");
  }
  EXPECT_FALSE(PathExists(JoinPath(LayerDir(LayerId(2)), "committed")));
  EXPECT_FALSE(PathExists(JoinPath(LayerDir(LayerId(2)), "merged")));
  EXPECT_EQ(d.Parent(LayerId(2)).value_or("?"), LayerId(1));
  EXPECT_EQ(d.Parent(LayerId(0)).value_or("?"), "");
  auto meta = d.Metadata(LayerId(2));
  ASSERT_TRUE(meta);
  EXPECT_EQ((*meta)["LowerDir"],
            JoinPath(LayerDir(LayerId(1)), "diff") + ":" + JoinPath(LayerDir(LayerId(0)), "diff"));
  EXPECT_EQ((*meta)["UpperDir"], JoinPath(LayerDir(LayerId(2)), "diff"));
  EXPECT_EQ((*meta)["WorkDir"], JoinPath(LayerDir(LayerId(2)), "work"));
  EXPECT_EQ((*meta)["MergedDir"], JoinPath(LayerDir(LayerId(2)), "merged"));
}

TEST_F(Overlay2Test, DepthBeyondTheLimitFailsAndLeavesNothing) {
  Driver& d = Open("overlay2");                    // Docker's 128
  CreateChain(d, 129, /*each_adds_files=*/false);  // the top has 128 lowers: allowed
  auto before = TreeListing(root_);
  auto st = d.Create(LayerId(129), {.parent = LayerId(128)});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("max depth exceeded"), std::string::npos) << st.error().message;
  EXPECT_EQ(TreeListing(root_), before);  // no dir, no l/ link, no committed marker
}

TEST_F(Overlay2Test, MaxDepthOptionIsHonoured) {
  Driver& d = Open("overlay2", /*max_depth=*/3);
  CreateChain(d, 4, false);
  auto before = TreeListing(root_);
  EXPECT_FALSE(d.Create(LayerId(4), {.parent = LayerId(3)}));
  EXPECT_EQ(TreeListing(root_), before);
}

TEST_F(Overlay2Test, MissingParentAndBadIdsFailAndLeaveNothing) {
  Driver& d = Open("overlay2");
  ASSERT_TRUE(d.Create(LayerId(0), {}));
  auto before = TreeListing(root_);
  auto st = d.Create(LayerId(1), {.parent = "nosuchparent"});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("parent layer nosuchparent does not exist"), std::string::npos)
      << st.error().message;
  for (std::string bad : {"a/b", "..", "../escape", "x..y", "", "/abs", ".hidden", "l"}) {
    auto r = d.Create(bad, {});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, EINVAL) << bad;
    EXPECT_NE(r.error().message.find("invalid layer id"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(d.Create(LayerId(0), {}));  // exists
  EXPECT_EQ(TreeListing(root_), before);
}

TEST_F(Overlay2Test, FullBackingFilesystemDuringCreateLeavesNothing) {
  // A small ext4: every allocation can fail with ENOSPC; free one block at a time and retry
  // until a create fits, checking after every failure that nothing was left behind.
  TearDown();
  scratch::ScratchOptions o;
  o.backing = scratch::Backing::kExt4;
  o.size_bytes = 16ull << 20;
  auto fs = scratch::ScratchFs::Create(o);
  ASSERT_TRUE(fs) << fs.error().message;
  fs_ = std::move(*fs);
  root_ = JoinPath(fs_->path(), "root");
  Driver& d = Open("overlay2");
  ASSERT_TRUE(d.Create(LayerId(0), {}));
  std::string filler = JoinPath(fs_->path(), "filler");
  auto fd = OpenPath(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_TRUE(fd);
  std::string block(4096, 'x');
  off_t size = 0;
  while (::write(fd->get(), block.data(), block.size()) == static_cast<ssize_t>(block.size())) {
    size += 4096;
  }
  ASSERT_EQ(::fsync(fd->get()), 0);
  int failures = 0;
  for (int attempt = 0; attempt < 64; ++attempt) {
    auto before = TreeListing(root_);
    auto st = d.Create(LayerId(1), {.parent = LayerId(0)});
    if (st) break;
    ++failures;
    EXPECT_EQ(st.error().code, ENOSPC) << st.error().message;
    EXPECT_EQ(TreeListing(root_), before) << "attempt " << attempt << ": " << st.error().message;
    size -= 4096;
    ASSERT_EQ(::ftruncate(fd->get(), size), 0);
    ASSERT_EQ(::fsync(fd->get()), 0);
  }
  EXPECT_GT(failures, 0) << "the filesystem was never full";
  EXPECT_TRUE(d.Exists(LayerId(1))) << "no create fitted after freeing 64 blocks";
}

// N layers, each adding f<i> and overwriting /top; long absolute paths (well past one page for
// 128 and 500 layers) so the mount must go relative or through lowerdir+.
class Overlay2StackTest : public Overlay2Test, public testing::WithParamInterface<int> {};

TEST_P(Overlay2StackTest, MergedViewShowsEveryLayerWithUpperWinning) {
  const int n = GetParam();
  root_ = JoinPath(JoinPath(JoinPath(fs_->path(), std::string(200, 'p')), std::string(200, 'q')),
                   "root");
  Driver& d = Open("overlay2", /*max_depth=*/500);
  CreateChain(d, n);
  const std::string top = LayerId(n - 1);
  auto merged = d.Get(top);
  ASSERT_TRUE(merged) << merged.error().message;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(Read(JoinPath(*merged, StrPrintf("f%d", i))), StrPrintf("%d", i)) << i;
  }
  EXPECT_EQ(Read(JoinPath(*merged, "top")), StrPrintf("%d", n - 1));
  if (n > 1) {
    EXPECT_EQ(*merged, JoinPath(LayerDir(top), "merged"));
    EXPECT_TRUE(Mounted(*merged));
    // Writes land in the top layer's diff.
    WriteFile(JoinPath(*merged, "written"), "w");
    EXPECT_EQ(Read(JoinPath(JoinPath(LayerDir(top), "diff"), "written")), "w");
  } else {
    EXPECT_EQ(*merged, JoinPath(LayerDir(top), "diff"));  // a base layer is not mounted
  }
  ASSERT_TRUE(d.Put(top));
  EXPECT_FALSE(Mounted(JoinPath(LayerDir(top), "merged")));
  EXPECT_FALSE(PathExists(JoinPath(LayerDir(top), "merged")));
}

INSTANTIATE_TEST_SUITE_P(Layers, Overlay2StackTest, testing::Values(1, 2, 128, 500));

TEST_F(Overlay2Test, CommittedLayersMountReadOnly) {
  Driver& d = Open("overlay2");
  CreateChain(d, 3);
  auto merged = d.Get(LayerId(1));  // committed: LayerId(2) is its child
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_EQ(Read(JoinPath(*merged, "top")), "1");
  EXPECT_EQ(Read(JoinPath(*merged, "f0")), "0");
  int fd = ::open(JoinPath(*merged, "new").c_str(), O_WRONLY | O_CREAT, 0644);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, EROFS);
  if (fd >= 0) ::close(fd);
  ASSERT_TRUE(d.Put(LayerId(1)));
}

TEST_F(Overlay2Test, ContainerHasDockersInitLayerUnderItsReadWriteLayer) {
  Driver& d = Open("overlay2");
  ASSERT_TRUE(d.Create("base", {}));
  Apply(d, "base", {{"etc/hostname", "image"}, {"etc/os-release", "ovlab"}, {"bin/", ""}});
  ASSERT_TRUE(d.Create("app", {.parent = "base"}));
  Apply(d, "app", {{"app/run", "run"}, {"etc/os-release", "app"}});
  auto st = CreateContainer(d, "c1", "app");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(d.Parent("c1-init").value_or("?"), "app");
  EXPECT_EQ(d.Parent("c1").value_or("?"), "c1-init");
  EXPECT_TRUE(PathExists(JoinPath(LayerDir("c1-init"), "committed")));
  EXPECT_FALSE(PathExists(JoinPath(LayerDir("c1"), "committed")));

  auto merged = d.Get("c1");
  ASSERT_TRUE(merged) << merged.error().message;
  for (const char* dir : {"dev/pts", "dev/shm", "proc", "sys"}) {
    EXPECT_EQ(ModeOf(JoinPath(*merged, dir)), S_IFDIR | 0755u) << dir;
  }
  for (const char* file :
       {".dockerenv", "etc/resolv.conf", "etc/hosts", "etc/hostname", "dev/console"}) {
    EXPECT_EQ(ModeOf(JoinPath(*merged, file)), S_IFREG | 0755u) << file;
  }
  EXPECT_EQ(ReadLink(JoinPath(*merged, "etc/mtab")).value_or(""), "/proc/mounts");
  EXPECT_EQ(Read(JoinPath(*merged, "etc/hostname")), "");  // the init layer's empty file wins
  EXPECT_EQ(Read(JoinPath(*merged, "etc/os-release")), "app");
  EXPECT_EQ(Read(JoinPath(*merged, "app/run")), "run");
  EXPECT_TRUE(PathExists(JoinPath(*merged, "bin")));
  // The init contents live in c1-init's diff; the container's own diff is still empty.
  EXPECT_TRUE(PathExists(JoinPath(LayerDir("c1-init"), "diff/.dockerenv")));
  EXPECT_EQ(ListDir(JoinPath(LayerDir("c1"), "diff")).value_or(std::vector<std::string>{"?"}),
            std::vector<std::string>{});
  ASSERT_TRUE(d.Put("c1"));
  auto meta = d.Metadata("c1");
  ASSERT_TRUE(meta);
  EXPECT_EQ((*meta)["LowerDir"], JoinPath(LayerDir("c1-init"), "diff") + ":" +
                                     JoinPath(LayerDir("app"), "diff") + ":" +
                                     JoinPath(LayerDir("base"), "diff"));
}

TEST_F(Overlay2Test, ContainerCreateFailureLeavesNothing) {
  Driver& d = Open("overlay2");
  auto before = TreeListing(root_);
  EXPECT_FALSE(CreateContainer(d, "c1", "nosuchimage"));
  EXPECT_FALSE(CreateContainer(d, "bad/id", ""));
  EXPECT_EQ(TreeListing(root_), before);
}

TEST_F(Overlay2Test, GetPutAreReferenceCountedAndLastPutUnmounts) {
  Driver& d = Open("overlay2");
  CreateChain(d, 2);
  const std::string top = LayerId(1);
  const std::string merged = JoinPath(LayerDir(top), "merged");
  auto a = d.Get(top);
  auto b = d.Get(top);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  auto table = mount::MountsUnder(merged);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->size(), 1u) << "the second Get must not mount again";

  auto rm = d.Remove(top);
  ASSERT_FALSE(rm);
  EXPECT_EQ(rm.error().code, EBUSY);
  EXPECT_NE(rm.error().message.find("is mounted"), std::string::npos) << rm.error().message;
  EXPECT_TRUE(d.Exists(top));

  ASSERT_TRUE(d.Put(top));
  EXPECT_TRUE(Mounted(merged));
  ASSERT_TRUE(d.Put(top));
  EXPECT_FALSE(Mounted(merged));
  EXPECT_FALSE(PathExists(merged));
  EXPECT_FALSE(d.Put(top)) << "Put without a mount must fail";

  // A mount made by another process (the CLI's `mount`) is adopted and unmounted by Put.
  ASSERT_TRUE(d.Get(top));
  Driver& other = Open("overlay2");
  EXPECT_FALSE(other.Remove(top));
  ASSERT_TRUE(other.Put(top));
  EXPECT_FALSE(Mounted(merged));

  // A parent cannot go before its child; then both go, with their l/ links.
  auto parent_rm = other.Remove(LayerId(0));
  ASSERT_FALSE(parent_rm);
  EXPECT_EQ(parent_rm.error().code, EBUSY);
  std::string top_link = LinkOf(top);
  ASSERT_TRUE(other.Remove(top));
  ASSERT_TRUE(other.Remove(LayerId(0)));
  EXPECT_FALSE(PathExists(JoinPath(JoinPath(Home(), "l"), top_link)));
  EXPECT_EQ(ListDir(JoinPath(Home(), "l")).value_or(std::vector<std::string>{"?"}),
            std::vector<std::string>{});
}

// #18.6: removal is all or nothing. A mount inside the layer (what made removing a dead FUSE
// daemon's layer fail half-way) is refused before anything goes; the l/ link went first before.
TEST_F(Overlay2Test, RemoveRefusesAMountInsideTheLayerAndLeavesItWhole) {
  Driver& d = Open("overlay2");
  CreateChain(d, 2);
  std::string inside = JoinPath(LayerDir(LayerId(1)), "diff/mnt");
  ASSERT_TRUE(MakeDir(inside, 0755));
  ASSERT_TRUE(mount::Mount("tmpfs", inside, "tmpfs", "size=1m"));
  auto before = TreeListing(root_);
  auto st = d.Remove(LayerId(1));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EBUSY);
  EXPECT_NE(st.error().message.find("has a mount inside, at " + inside), std::string::npos)
      << st.error().message;
  EXPECT_EQ(TreeListing(root_), before);
  ASSERT_TRUE(mount::Unmount(inside));
  ASSERT_TRUE(d.Remove(LayerId(1)));
  EXPECT_FALSE(PathExists(LayerDir(LayerId(1))));
  auto after = d.Check(false);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());
}

TEST_F(Overlay2Test, ChangesAgainstTheParentView) {
  Driver& d = Open("overlay2");
  ASSERT_TRUE(d.Create("base", {}));
  Apply(d, "base", {{"a", "old"}, {"d/x", "x"}, {"d/y", "y"}, {"o/p", "p"}, {"o/q", "q"}});
  ASSERT_TRUE(d.Create("child", {.parent = "base"}));
  Apply(d, "child",
        {{"a", "new content"}, {"b", "b"}, {"d/x", "@wh"}, {"o", "@opq"}, {"o/q", "q2"}});
  auto changes = d.Changes("child");
  ASSERT_TRUE(changes) << changes.error().message;
  std::vector<std::string> lines;
  for (const auto& c : *changes)
    lines.push_back(std::string(1, ChangeLetter(c.kind)) + " " + c.path);
  EXPECT_EQ(lines, (std::vector<std::string>{"C /a", "A /b", "C /d", "D /d/x", "C /o", "D /o/p",
                                             "C /o/q"}));
  auto base = d.Changes("base");
  ASSERT_TRUE(base);
  EXPECT_EQ(base->size(), 7u);  // everything added: a d d/x d/y o o/p o/q
  EXPECT_FALSE(PathExists(JoinPath(LayerDir("base"), "merged"))) << "Changes must Put the parent";
}

// diff reads a layer's lowers in place (no mount): the view must be the kernel's, whiteouts,
// opaque directories and a file and a directory replacing each other included.
TEST_F(Overlay2Test, TreeViewReadsALayerStackAsTheKernelMountsIt) {
  Driver& d = Open("overlay2");
  ASSERT_TRUE(d.Create("base", {}));
  Apply(d, "base",
        {{"a", "a"},
         {"d/x", "x"},
         {"d/y", "y"},
         {"o/p", "p"},
         {"o/q", "q"},
         {"f2d", "file"},
         {"d2f/inner", "i"},
         {"keep/deep/z", "z"},
         {"gone/sub/w", "w"}});
  ASSERT_EQ(::symlink("a", JoinPath(LayerDir("base"), "diff/link").c_str()), 0);
  ASSERT_TRUE(d.Create("mid", {.parent = "base"}));
  Apply(d, "mid",
        {{"d/x", "@wh"},
         {"o", "@opq"},
         {"o/r", "r"},
         {"f2d/inner", "now a dir"},
         {"d2f", "file"},
         {"m", "m"},
         {"gone", "@wh"},
         {"keep/deep/z2", "z2"}});
  ASSERT_TRUE(d.Create("top", {.parent = "mid"}));
  Apply(d, "top", {{"m", "@wh"}, {"d/x", "back"}, {"keep", "@opq"}, {"keep/new", "n"}});
  auto merged = d.Get("top");
  ASSERT_TRUE(merged) << merged.error().message;
  auto kernel = TreeListing(*merged);
  ASSERT_TRUE(d.Put("top"));
  std::vector<std::string> layers;
  for (const char* id : {"top", "mid", "base"}) layers.push_back(JoinPath(LayerDir(id), "diff"));
  EXPECT_EQ(TreeListing(TreeView(layers)), kernel);
  EXPECT_GT(kernel.size(), 10u);
}

TEST_F(Overlay2Test, UsageCountsTheLayersOwnDiffWithHardLinksOnce) {
  Driver& d = Open("overlay2");
  ASSERT_TRUE(d.Create("base", {}));
  Apply(d, "base", {{"a", std::string(10000, 'a')}, {"d/b", "b"}, {"d/e/", ""}});
  std::string diff = JoinPath(LayerDir("base"), "diff");
  ASSERT_EQ(::link(JoinPath(diff, "a").c_str(), JoinPath(diff, "d/a-link").c_str()), 0);
  auto usage = d.Usage("base");
  ASSERT_TRUE(usage) << usage.error().message;
  EXPECT_EQ(usage->inodes, 5u);  // diff/, a (twice linked), d/, d/b, d/e/
  uint64_t expected = 0;
  for (const char* p : {"", "a", "d", "d/b", "d/e"}) {
    expected += static_cast<uint64_t>(LStat(JoinPath(diff, p))->st_blocks) * 512;
  }
  EXPECT_EQ(usage->bytes, expected);
}

TEST_F(Overlay2Test, StatusLooksLikeDockerInfo) {
  Driver& d = Open("overlay2");
  auto fields = d.Status();
  std::map<std::string, std::string> m(fields.begin(), fields.end());
  EXPECT_EQ(fields.front().first, "Backing Filesystem");
  EXPECT_EQ(m["Backing Filesystem"], "tmpfs");
  EXPECT_EQ(m["Supports d_type"], "true");
  EXPECT_EQ(m["Native Overlay Diff"], "true");
  EXPECT_EQ(m["userxattr"], "false");
  EXPECT_TRUE(m.contains("Kernel redirect_dir"));
  EXPECT_TRUE(m.contains("Kernel lowerdir+"));
}

TEST_F(Overlay2Test, CheckFindsAndRepairsWhatDockerRepairs) {
  Driver& d = Open("overlay2");
  CreateChain(d, 3, false);
  auto clean = d.Check(false);
  ASSERT_TRUE(clean);
  EXPECT_TRUE(clean->empty());

  std::string a = LayerId(0), b = LayerId(1), c = LayerId(2);
  std::string a_link = LinkOf(a), b_link = LinkOf(b);
  std::string ldir = JoinPath(Home(), "l");
  ASSERT_EQ(::unlink(JoinPath(LayerDir(a), "link").c_str()), 0);  // missing link file
  ASSERT_EQ(::unlink(JoinPath(ldir, b_link).c_str()), 0);         // missing l/ link
  ASSERT_EQ(::symlink("../gone/diff", JoinPath(ldir, "ZZZZZZZZZZZZZZZZZZZZZZZZZZ").c_str()), 0);
  std::string stale = JoinPath(LayerDir(a), "merged");  // a base never mounts
  ASSERT_TRUE(MakeDir(stale, 0700));
  ASSERT_TRUE(mount::Mount("tmpfs", stale, "tmpfs", "size=1m"));

  auto found = d.Check(false);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->size(), 4u);
  for (const auto& f : *found) EXPECT_FALSE(f.repaired) << f.problem;

  auto repaired = d.Check(true);
  ASSERT_TRUE(repaired);
  EXPECT_EQ(repaired->size(), 4u);
  for (const auto& f : *repaired) EXPECT_TRUE(f.repaired) << f.problem;
  EXPECT_EQ(LinkOf(a), a_link) << "the link file comes back from the l/ symlink";
  EXPECT_EQ(ReadLink(JoinPath(ldir, b_link)).value_or(""), "../" + b + "/diff");
  EXPECT_FALSE(PathExists(JoinPath(ldir, "ZZZZZZZZZZZZZZZZZZZZZZZZZZ")));
  EXPECT_FALSE(Mounted(stale));
  EXPECT_FALSE(PathExists(stale));
  auto after = d.Check(false);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());

  // A lower naming a layer that is gone cannot be repaired: it stays reported.
  WriteFile(JoinPath(LayerDir(c), "lower"), "l/" + b_link + ":l/AAAAAAAAAAAAAAAAAAAAAAAAAA");
  auto broken = d.Check(true);
  ASSERT_TRUE(broken);
  ASSERT_EQ(broken->size(), 1u);
  EXPECT_EQ((*broken)[0].layer, c);
  EXPECT_FALSE((*broken)[0].repaired);
  EXPECT_NE((*broken)[0].problem.find("l/AAAAAAAAAAAAAAAAAAAAAAAAAA"), std::string::npos);
}

}  // namespace
}  // namespace ovlab::drivers
