// The btrfs driver on a real loop-mounted btrfs: subvolumes, snapshot sharing, deletions, quotas.
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "drivers/container.h"
#include "drivers/driver.h"
#include "drivers/store_test_util.h"
#include "drivers/tree_stats.h"

namespace ovlab::drivers {
namespace {

using testing_util::StoreTest;
using testing_util::TreeListing;

constexpr uint64_t kScratchBytes = 300ull << 20;
constexpr size_t kBigFile = 1 << 20;

std::vector<std::string> ChangeLines(const std::vector<Change>& changes) {
  std::vector<std::string> lines;
  for (const auto& c : changes)
    lines.push_back(std::string(1, ChangeLetter(c.kind)) + " " + c.path);
  return lines;
}

// Content that does not compress or dedupe into something else.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

// Physical byte offset of the first extent of `path` (FIEMAP, after flushing delayed allocation).
uint64_t FirstPhysicalExtent(const std::string& path) {
  auto fd = OpenPath(path, O_RDONLY | O_CLOEXEC);
  EXPECT_TRUE(fd) << path;
  if (!fd) return 0;
  alignas(fiemap) char buf[sizeof(fiemap) + sizeof(fiemap_extent)] = {};
  auto* map = reinterpret_cast<fiemap*>(buf);
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = 1;
  EXPECT_EQ(::ioctl(fd->get(), FS_IOC_FIEMAP, map), 0) << path << ": " << ErrnoText(errno);
  EXPECT_EQ(map->fm_mapped_extents, 1u) << path;
  return map->fm_extents[0].fe_physical;
}

bool IsSubvolume(const std::string& path) {
  auto st = LStat(path);
  return st && S_ISDIR(st->st_mode) && st->st_ino == 256;
}

bool KernelHasBtrfs() {
  auto fs = ReadFileText("/proc/filesystems");
  return fs && fs->find("\tbtrfs\n") != std::string::npos;
}

std::string Field(const StatusFields& fields, const std::string& key) {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return "<no " + key + ">";
}

class BtrfsTest : public StoreTest {
 protected:
  void SetUp() override {
    if (!HaveProgram("mkfs.btrfs") || !HaveProgram("btrfs")) {
      GTEST_SKIP() << "btrfs-progs is not installed (apt-get install btrfs-progs)";
    }
    // The kernel may load btrfs on the first mount; only a kernel without it skips.
    if (!KernelHasBtrfs() && !PathExists("/sys/module/btrfs") &&
        RunCommand({"modprobe", "btrfs"}).value_or(CommandOutput{1, ""}).exit_code != 0) {
      GTEST_SKIP() << "this kernel has no btrfs";
    }
    MakeScratch(kScratchBytes, scratch::Backing::kBtrfs);
  }

  std::string Dir(const std::string& id) { return JoinPath(root_, "btrfs/subvolumes/" + id); }

  // Paths of live subvolumes as `btrfs subvolume list` prints them, relative to the filesystem.
  std::string SubvolumeList() {
    auto out = RunChecked({"btrfs", "subvolume", "list", fs_->path()});
    EXPECT_TRUE(out) << out.error().message;
    return out.value_or("");
  }

  // base: a 1 MiB file and a small tree; child: a snapshot with whiteouts and an opaque dir.
  void MakeImage(Driver& d) {
    ASSERT_TRUE(d.Create("base", {}));
    Apply(d, "base",
          {{"big", Pattern(kBigFile)},
           {"a", "old"},
           {"d/b", "b"},
           {"d/c", "c"},
           {"o/p", "p"},
           {"etc/hostname", "img"}});
    ASSERT_TRUE(d.Create("child", {.parent = "base"}));
    Apply(d, "child", {{"a", "new content"}, {"n", "x"}, {"d/b", "@wh"}, {"o", "@opq"}});
  }
};

TEST_F(BtrfsTest, LayersAndContainersAreSubvolumeSnapshots) {
  Driver& d = Open("btrfs");
  MakeImage(d);
  ASSERT_TRUE(CreateContainer(d, "c1", "child"));
  EXPECT_EQ(d.List().value_or(std::vector<std::string>{}),
            (std::vector<std::string>{"base", "c1", "c1-init", "child"}));
  std::string list = SubvolumeList();
  for (const char* id : {"base", "child", "c1-init", "c1"}) {
    EXPECT_TRUE(IsSubvolume(Dir(id))) << id;
    EXPECT_NE(list.find("path root/btrfs/subvolumes/" + std::string(id) + "\n"), std::string::npos)
        << id << " missing from:\n"
        << list;
  }
  EXPECT_EQ(LStat(JoinPath(root_, "btrfs"))->st_mode, S_IFDIR | 0710u);
  EXPECT_EQ(LStat(JoinPath(root_, "btrfs/subvolumes"))->st_mode, S_IFDIR | 0710u);
  EXPECT_EQ(d.Parent("c1").value_or("?"), "c1-init");
  EXPECT_EQ(d.Parent("c1-init").value_or("?"), "child");
  EXPECT_EQ(d.Parent("base").value_or("?"), "");

  // Get is the subvolume itself: no mount.
  auto view = d.Get("c1");
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(*view, Dir("c1"));
  EXPECT_EQ(LStat(JoinPath(*view, ".dockerenv"))->st_mode, S_IFREG | 0755u);
  EXPECT_EQ(ReadLink(JoinPath(*view, "etc/mtab")).value_or(""), "/proc/mounts");
  EXPECT_EQ(Read(JoinPath(*view, "a")), "new content");
  EXPECT_EQ(Read(JoinPath(*view, "big")), Pattern(kBigFile));
  WriteFile(JoinPath(*view, "written"), "w");
  ASSERT_TRUE(d.Put("c1"));
  EXPECT_FALSE(PathExists(JoinPath(Dir("c1-init"), "written")));
  EXPECT_FALSE(PathExists(JoinPath(Dir("child"), ".dockerenv")));
  EXPECT_EQ(ChangeLines(d.Changes("c1").value_or(std::vector<Change>{})),
            (std::vector<std::string>{"A /written"}));
  EXPECT_EQ(d.Metadata("c1").value_or(std::map<std::string, std::string>{})["SourceDir"],
            Dir("c1"));
  auto found = d.Check(false);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->empty());
}

TEST_F(BtrfsTest, UnchangedFilesShareExtentsWithTheParent) {
  Driver& d = Open("btrfs");
  MakeImage(d);
  uint64_t base_big = FirstPhysicalExtent(JoinPath(Dir("base"), "big"));
  EXPECT_NE(base_big, 0u);
  EXPECT_EQ(FirstPhysicalExtent(JoinPath(Dir("child"), "big")), base_big)
      << "a snapshot must share the parent's extents, not copy them";
  Apply(d, "child", {{"big", Pattern(kBigFile - 1)}});
  EXPECT_NE(FirstPhysicalExtent(JoinPath(Dir("child"), "big")), base_big);
  EXPECT_EQ(FirstPhysicalExtent(JoinPath(Dir("base"), "big")), base_big);
  EXPECT_EQ(Read(JoinPath(Dir("base"), "big")), Pattern(kBigFile));
}

TEST_F(BtrfsTest, ApplyDiffTurnsWhiteoutsIntoDeletionsAndOpaqueDirsIntoEmptyOnes) {
  Driver& d = Open("btrfs");
  MakeImage(d);
  std::string child = Dir("child");
  EXPECT_EQ(Read(JoinPath(child, "a")), "new content");
  EXPECT_EQ(Read(JoinPath(child, "n")), "x");
  EXPECT_FALSE(PathExists(JoinPath(child, "d/b")));
  EXPECT_FALSE(PathExists(JoinPath(child, "d/.wh.b")));
  EXPECT_EQ(Read(JoinPath(child, "d/c")), "c");
  EXPECT_EQ(ListDir(JoinPath(child, "o")).value_or(std::vector<std::string>{"?"}),
            std::vector<std::string>{});
  EXPECT_EQ(Read(JoinPath(Dir("base"), "a")), "old") << "the parent must not change";
  EXPECT_EQ(Read(JoinPath(Dir("base"), "d/b")), "b");
  EXPECT_EQ(Read(JoinPath(Dir("base"), "o/p")), "p");
}

TEST_F(BtrfsTest, RemoveRefusesParentsAndHeldLayersAndLeavesNoSubvolume) {
  Driver& d = Open("btrfs");
  MakeImage(d);
  auto busy = d.Remove("base");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, EBUSY);
  EXPECT_NE(busy.error().message.find("child"), std::string::npos) << busy.error().message;
  ASSERT_TRUE(d.Get("child"));
  auto held = d.Remove("child");
  ASSERT_FALSE(held);
  EXPECT_EQ(held.error().code, EBUSY);
  ASSERT_TRUE(d.Put("child"));
  // A subvolume nested in the layer goes first (the kernel refuses otherwise).
  ASSERT_TRUE(RunChecked({"btrfs", "subvolume", "create", JoinPath(Dir("child"), "d/nested")}));
  WriteFile(JoinPath(Dir("child"), "d/nested/f"), "f");
  ASSERT_TRUE(d.Remove("child")) << "nested subvolumes are deleted with the layer";
  EXPECT_FALSE(PathExists(Dir("child")));
  EXPECT_FALSE(d.Exists("child"));
  std::string list = SubvolumeList();
  EXPECT_EQ(list.find("/child"), std::string::npos) << list;
  EXPECT_NE(list.find("subvolumes/base\n"), std::string::npos) << list;
  EXPECT_FALSE(PathExists(JoinPath(root_, "btrfs/.parents/child")));
  ASSERT_TRUE(d.Remove("base"));
  EXPECT_EQ(SubvolumeList(), "");
  EXPECT_EQ(d.List().value_or(std::vector<std::string>{"?"}), std::vector<std::string>{});
}

TEST_F(BtrfsTest, BadIdsAndMissingLayersAreRefusedAndLeaveNothing) {
  Driver& d = Open("btrfs");
  ASSERT_TRUE(d.Create("base", {}));
  auto before = TreeListing(root_);
  for (const char* bad : {"", "../x", "a/b", "-x", ".hidden"}) {
    auto st = d.Create(bad, {});
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, EINVAL) << bad;
    EXPECT_NE(st.error().message.find("invalid layer id"), std::string::npos) << bad;
  }
  auto dup = d.Create("base", {});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, EEXIST);
  auto orphan = d.Create("x", {.parent = "nosuch"});
  ASSERT_FALSE(orphan);
  EXPECT_NE(orphan.error().message.find("does not exist"), std::string::npos);
  EXPECT_EQ(d.Get("nosuch").error().code, ENOENT);
  EXPECT_EQ(d.Remove("nosuch").error().code, ENOENT);
  EXPECT_EQ(d.Remove("../base").error().code, EINVAL);
  EXPECT_EQ(d.Usage("nosuch").error().code, ENOENT);
  EXPECT_FALSE(d.ApplyDiff("nosuch", staging_));
  EXPECT_EQ(TreeListing(root_), before);
}

TEST_F(BtrfsTest, ChangesEqualTheVfsDriversForTheSameLayers) {
  DriverOptions vo;
  vo.root = JoinPath(fs_->path(), "vfs-root");
  auto vfs = OpenDriver("vfs", vo);
  ASSERT_TRUE(vfs) << vfs.error().message;
  Driver& b = Open("btrfs");
  for (Driver* d : {&b, vfs->get()}) {
    MakeImage(*d);
    ASSERT_TRUE(CreateContainer(*d, "c1", "child"));
    auto view = d->Get("c1");
    ASSERT_TRUE(view);
    WriteFile(JoinPath(*view, "etc/hostname"), "host");  // replaces a file of the init layer
    // The rename may land in the same coarse clock tick that made the init layer's /etc; pin
    // /etc's mtime so "C /etc" does not depend on timing.
    const struct timespec pinned[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, JoinPath(*view, "etc").c_str(), pinned, 0), 0);
    ASSERT_EQ(::truncate(JoinPath(*view, "a").c_str(), 1), 0);  // in place
    ASSERT_TRUE(RemoveTree(JoinPath(*view, "d")));
    ASSERT_TRUE(d->Put("c1"));
  }
  for (const char* id : {"base", "child", "c1-init", "c1"}) {
    auto want = (*vfs)->Changes(id);
    auto got = b.Changes(id);
    ASSERT_TRUE(want && got) << id;
    EXPECT_EQ(ChangeLines(*got), ChangeLines(*want)) << id;
  }
  EXPECT_EQ(ChangeLines(b.Changes("child").value_or(std::vector<Change>{})),
            (std::vector<std::string>{"C /a", "C /d", "D /d/b", "A /n", "C /o", "D /o/p"}));
}

TEST_F(BtrfsTest, UsageIsTheSubvolumesDuWithoutQuotasAndExclusiveBytesWithThem) {
  Driver& d = Open("btrfs");
  MakeImage(d);
  auto status = d.Status();
  EXPECT_EQ(Field(status, "Backing Filesystem"), "btrfs");
  EXPECT_EQ(Field(status, "Quotas"), "disabled");
  EXPECT_NE(Field(status, "Usage Bytes").find("du"), std::string::npos);
  EXPECT_NE(Field(status, "Library Version").find("btrfs-progs"), std::string::npos);
  // Inodes like vfs: base holds root, big, a, d, d/b, d/c, o, o/p, etc, etc/hostname = 10;
  // the child lost d/b and o/p and gained n = 9.
  auto base = d.Usage("base");
  auto child = d.Usage("child");
  ASSERT_TRUE(base && child);
  EXPECT_EQ(base->inodes, 10u);
  EXPECT_EQ(child->inodes, 9u);
  EXPECT_GE(child->bytes, kBigFile) << "without quotas the whole shared tree is counted";

  ASSERT_TRUE(RunChecked({"btrfs", "quota", "enable", fs_->path()}));
  status = d.Status();
  EXPECT_EQ(Field(status, "Quotas"), "enabled");
  EXPECT_NE(Field(status, "Usage Bytes").find("exclusive"), std::string::npos);
  base = d.Usage("base");
  child = d.Usage("child");
  ASSERT_TRUE(base && child) << (base ? child.error().message : base.error().message);
  EXPECT_EQ(child->inodes, 9u);
  EXPECT_LT(child->bytes, kBigFile / 4) << "the shared 1 MiB file is not the child's own";
  Apply(d, "child", {{"own", Pattern(kBigFile / 2)}});
  child = d.Usage("child");
  ASSERT_TRUE(child);
  EXPECT_GE(child->bytes, kBigFile / 2);
  EXPECT_LT(child->bytes, kBigFile);
  ASSERT_TRUE(d.Remove("child"));
  // A deleted subvolume's extents are dropped by the kernel's cleaner later; wait for it.
  // (`filesystem sync` commits and wakes the cleaner, so this takes no commit interval.)
  ASSERT_TRUE(RunChecked({"btrfs", "filesystem", "sync", fs_->path()}));
  ASSERT_TRUE(RunChecked({"btrfs", "subvolume", "sync", fs_->path()}));
  base = d.Usage("base");
  ASSERT_TRUE(base);
  EXPECT_GE(base->bytes, kBigFile) << "with the child gone the base holds big alone";
}

TEST_F(BtrfsTest, CheckRepairsParentRecordsOfMissingSubvolumes) {
  Driver& d = Open("btrfs");
  ASSERT_TRUE(d.Create("base", {}));
  ASSERT_TRUE(MakeDir(JoinPath(root_, "btrfs/subvolumes/plain"), 0755));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(root_, "btrfs/.parents/gone"), "base", 0600));
  // A snapshot of something that is not a subvolume fails and leaves no parent record behind.
  auto bad = d.Create("x", {.parent = "plain"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("snapshot btrfs subvolume"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(PathExists(JoinPath(root_, "btrfs/.parents/x")));
  EXPECT_FALSE(PathExists(JoinPath(root_, "btrfs/subvolumes/x")));
  auto found = d.Check(true);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].layer, "plain");
  EXPECT_FALSE((*found)[0].repaired) << "a directory someone made is left to them";
  EXPECT_EQ((*found)[1].layer, "gone");
  EXPECT_TRUE((*found)[1].repaired);
  EXPECT_FALSE(PathExists(JoinPath(root_, "btrfs/.parents/gone")));
  ASSERT_TRUE(::rmdir(JoinPath(root_, "btrfs/subvolumes/plain").c_str()) == 0);
}

// #18, btrfs: a subvolume entry that is a symlink was returned by Get, walked by Changes and
// Usage and snapshotted from; a parent record was used as a path.
TEST_F(BtrfsTest, SymlinksAndParentRecordsNamingNoLayerAreRefused) {
  Driver& d = Open("btrfs");
  MakeImage(d);
  std::string canary = JoinPath(fs_->path(), "canary");
  testing_util::MakeCanary(canary);
  auto before = testing_util::Fingerprint(canary);
  ASSERT_EQ(::symlink(canary.c_str(), Dir("evil").c_str()), 0);
  const std::string symlinked = Dir("evil") + " is a symlink";
  auto expect_refused = [&](const auto& st, const std::string& what) {
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find(what), std::string::npos) << st.error().message;
  };
  expect_refused(d.Get("evil"), symlinked);
  expect_refused(d.Usage("evil"), symlinked);
  expect_refused(d.Changes("evil"), symlinked);
  expect_refused(d.Create("x", {.parent = "evil"}), symlinked);
  std::string record = JoinPath(root_, "btrfs/.parents/child");
  ASSERT_TRUE(WriteFileAtomic(record, "../../../canary", 0600));
  expect_refused(d.Parent("child"), record);
  expect_refused(d.Changes("child"), record);
  auto found = d.Check(true);
  ASSERT_TRUE(found);
  std::string all;
  for (const auto& f : *found) all += f.layer + ": " + f.problem + (f.repaired ? " +\n" : "\n");
  EXPECT_NE(all.find("evil: " + symlinked), std::string::npos) << all;
  EXPECT_NE(all.find("child: " + record), std::string::npos) << all;
  EXPECT_EQ(all.find("+"), std::string::npos) << "nothing there is repaired: " << all;
  EXPECT_EQ(testing_util::Fingerprint(canary), before);
}

// Not on btrfs: refused before anything is made.
class BtrfsOnExt4Test : public StoreTest {
 protected:
  void SetUp() override { MakeScratch(64ull << 20, scratch::Backing::kExt4); }
};

TEST_F(BtrfsOnExt4Test, NonBtrfsRootIsRefusedWithTheReason) {
  DriverOptions o;
  o.root = root_;
  auto d = OpenDriver("btrfs", o);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, EINVAL);
  EXPECT_EQ(d.error().message, "btrfs driver needs " + root_ +
                                   " on btrfs; it is on extfs: use a --root on a btrfs filesystem");
  EXPECT_FALSE(PathExists(root_)) << "nothing is left behind";
}

}  // namespace
}  // namespace ovlab::drivers
