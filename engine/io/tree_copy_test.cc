#include "io/tree_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "io/attrs.h"
#include "scratch/scratch.h"

namespace ovlab::io {
namespace {

// A version-2 file capability (CAP_NET_BIND_SERVICE permitted + effective), as setcap writes it.
std::string NetBindCapability() {
  const uint32_t words[5] = {0x02000001, 1u << 10, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

std::map<std::string, std::string> Xattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  char names[4096];
  ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
  for (ssize_t pos = 0; n > 0 && pos < n;) {
    std::string name(names + pos);
    pos += static_cast<ssize_t>(name.size()) + 1;
    char value[1024];
    ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    out[name] = std::string(value, v < 0 ? 0 : static_cast<size_t>(v));
  }
  return out;
}

void SetTimes(const std::string& path, time_t atime, time_t mtime) {
  const timespec t[2] = {{atime, 111}, {mtime, 222}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << path;
}

void Xattr(const std::string& path, const std::string& name, const std::string& value) {
  ASSERT_EQ(::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0), 0)
      << path << " " << name << ": " << ErrnoText(errno);
}

class TreeCopyTest : public testing::Test {
 protected:
  void SetUp() override {
    scratch::ScratchOptions o;
    o.backing = scratch::Backing::kExt4;
    o.size_bytes = 64ull << 20;
    auto fs = scratch::ScratchFs::Create(o);
    ASSERT_TRUE(fs) << fs.error().message;
    fs_ = std::move(*fs);
    src_ = JoinPath(fs_->path(), "src");
    dst_ = JoinPath(fs_->path(), "dst");
  }

  // Every file type, odd owners and modes, xattrs in the user, trusted and security namespaces,
  // hard links across directories, and times set in the past.
  void BuildSource() {
    ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
    std::string d = JoinPath(src_, "d"), other = JoinPath(src_, "other");
    ASSERT_EQ(::mkdir(d.c_str(), 0750), 0);
    ASSERT_EQ(::mkdir(other.c_str(), 0700), 0);
    std::string f = JoinPath(d, "f");
    ASSERT_TRUE(WriteFileAtomic(f, std::string(100000, 'q')));
    ASSERT_EQ(::chown(f.c_str(), 123, 456), 0);
    ASSERT_EQ(::chmod(f.c_str(), 04755), 0);
    Xattr(f, "user.note", "hello");
    Xattr(f, "trusted.overlay.origin", std::string("\0\x01\x02", 3));
    Xattr(f, "security.capability", NetBindCapability());
    ASSERT_EQ(::link(f.c_str(), JoinPath(d, "f-link").c_str()), 0);
    ASSERT_EQ(::link(f.c_str(), JoinPath(other, "f-link2").c_str()), 0);
    SetTimes(f, 1000000, 2000000);

    std::string empty = JoinPath(src_, "empty");
    ASSERT_TRUE(WriteFileAtomic(empty, ""));
    ASSERT_EQ(::chown(empty.c_str(), 0, 65534), 0);

    std::string link = JoinPath(src_, "link");
    ASSERT_EQ(::symlink("d/f", link.c_str()), 0);
    ASSERT_EQ(::lchown(link.c_str(), 5, 6), 0);
    Xattr(link, "trusted.tag", "on-the-link");
    SetTimes(link, 3000000, 4000000);
    std::string dangling = JoinPath(src_, "dangling");
    ASSERT_EQ(::symlink("/nonexistent/target", dangling.c_str()), 0);

    ASSERT_EQ(::mkfifo(JoinPath(src_, "fifo").c_str(), 0620), 0);
    ASSERT_EQ(::mknod(JoinPath(src_, "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    std::string whiteout = JoinPath(d, "whiteout");
    ASSERT_EQ(::mknod(whiteout.c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
    ASSERT_EQ(::mknod(JoinPath(src_, "blk").c_str(), S_IFBLK | 0640, makedev(7, 200)), 0);
    ASSERT_EQ(::mknod(JoinPath(src_, "sock").c_str(), S_IFSOCK | 0755, 0), 0);
    ASSERT_EQ(::chown(JoinPath(src_, "fifo").c_str(), 7, 8), 0);

    Xattr(d, "trusted.overlay.opaque", "y");
    ASSERT_EQ(::chown(d.c_str(), 1000, 1001), 0);
    ASSERT_EQ(::chmod(d.c_str(), 02750), 0);
    // Directory times last: creating entries would bump them.
    SetTimes(d, 5000000, 6000000);
    SetTimes(other, 7000000, 8000000);
    SetTimes(src_, 9000000, 9500000);
  }

  // Compares one entry of src and dst; `rel` is "" for the roots.
  void ExpectSame(const std::string& rel) {
    std::string s = rel.empty() ? src_ : JoinPath(src_, rel);
    std::string d = rel.empty() ? dst_ : JoinPath(dst_, rel);
    auto a = LStat(s), b = LStat(d);
    ASSERT_TRUE(a && b) << rel;
    EXPECT_EQ(a->st_mode, b->st_mode) << rel;
    EXPECT_EQ(a->st_uid, b->st_uid) << rel;
    EXPECT_EQ(a->st_gid, b->st_gid) << rel;
    EXPECT_EQ(a->st_mtim.tv_sec, b->st_mtim.tv_sec) << rel;
    EXPECT_EQ(a->st_mtim.tv_nsec, b->st_mtim.tv_nsec) << rel;
    EXPECT_EQ(a->st_rdev, b->st_rdev) << rel;
    EXPECT_EQ(a->st_nlink, b->st_nlink) << rel;
    EXPECT_EQ(Xattrs(s), Xattrs(d)) << rel;
    if (S_ISLNK(a->st_mode)) {
      EXPECT_EQ(*ReadLink(s), *ReadLink(d)) << rel;
    } else if (S_ISREG(a->st_mode)) {
      EXPECT_EQ(a->st_size, b->st_size) << rel;
      EXPECT_TRUE(*ReadFileText(s) == *ReadFileText(d)) << rel;
    } else if (S_ISDIR(a->st_mode)) {
      auto names = ListDir(s);
      ASSERT_TRUE(names);
      EXPECT_EQ(names->size(), ListDir(d)->size()) << rel;
      for (const auto& n : *names) ExpectSame(rel.empty() ? n : JoinPath(rel, n));
    }
  }

  std::unique_ptr<scratch::ScratchFs> fs_;
  std::string src_, dst_;
};

TEST_F(TreeCopyTest, PreservesEverything) {
  BuildSource();
  auto stats = CopyTree(src_, dst_);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->dirs, 3u);   // src, d, other
  EXPECT_EQ(stats->files, 4u);  // f, its two links, empty
  EXPECT_EQ(stats->others, 7u);
  EXPECT_EQ(stats->bytes_copied, 100000u);
  ExpectSame("");
  // Hard links are links again, not three copies.
  auto f = LStat(JoinPath(dst_, "d/f")), l1 = LStat(JoinPath(dst_, "d/f-link")),
       l2 = LStat(JoinPath(dst_, "other/f-link2"));
  ASSERT_TRUE(f && l1 && l2);
  EXPECT_EQ(f->st_ino, l1->st_ino);
  EXPECT_EQ(f->st_ino, l2->st_ino);
  EXPECT_EQ(f->st_nlink, 3u);
  EXPECT_EQ(f->st_mode & 07777, 04755u);  // setuid survived the chown
  EXPECT_EQ(Xattrs(JoinPath(dst_, "d/f"))["security.capability"], NetBindCapability());
}

TEST_F(TreeCopyTest, EveryStrategyCopiesTheTree) {
  BuildSource();
  for (auto s : {CopyStrategy::kCopyFileRange, CopyStrategy::kIoUring, CopyStrategy::kReadWrite}) {
    auto stats = CopyTree(src_, dst_, s);
    ASSERT_TRUE(stats) << CopyStrategyName(s) << ": " << stats.error().message;
    ExpectSame("");
    ASSERT_TRUE(RemoveTree(dst_));
  }
}

TEST_F(TreeCopyTest, ExistingDestinationIsRefused) {
  BuildSource();
  ASSERT_EQ(::mkdir(dst_.c_str(), 0755), 0);
  auto stats = CopyTree(src_, dst_);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, EEXIST);
  EXPECT_NE(stats.error().message.find("exists"), std::string::npos);
  auto names = ListDir(dst_);
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());
}

TEST_F(TreeCopyTest, ForcedCloneFailureLeavesNothing) {
  // ext4 cannot clone: the copy fails part-way and the half-made destination is removed.
  BuildSource();
  auto stats = CopyTree(src_, dst_, CopyStrategy::kClone);
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find("copy data of"), std::string::npos) << stats.error().message;
  EXPECT_FALSE(PathExists(dst_));
}

TEST_F(TreeCopyTest, MissingSourceIsClear) {
  auto stats = CopyTree(JoinPath(fs_->path(), "nope"), dst_);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ENOENT);
  EXPECT_FALSE(PathExists(dst_));
}

}  // namespace
}  // namespace ovlab::io
