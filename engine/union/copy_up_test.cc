// Copy-up and object identity: CU2 (metadata, parents, atomicity, interrupted copy-up, ENOSPC),
// MC1, ID1, XA1, PM1, LM1 and the options checks, with the kernel as the oracle where DESIGN.md
// leaves the answer open.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "mount/mount.h"
#include "union/union_test_support.h"

namespace ovlab::unionfs::testing {
namespace {

const Cred kRoot = Cred::Root();

std::string Xattr(const std::string& path, const char* name) {
  char buf[512];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof(buf));
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

class CopyUpTest : public UnionFixture {
 protected:
  // The engine on `es` and the kernel on `ks`, both with metacopy=on and redirect_dir=on; the
  // kernel's merged dir ("" when the mount failed).
  std::pair<std::unique_ptr<Union>, std::string> OpenMetacopyTwin(const Stack& es,
                                                                  const Stack& ks) {
    UnionOptions o = es.Options();
    o.metacopy = true;
    o.redirect_dir = true;
    return {OpenEngine(o), MountKernel(ks, {"metacopy=on", "redirect_dir=on"})};
  }
};

// Nameless (O_TMPFILE) and named-temp copy-ups of a regular file give the same upper file.
class CopyUpPathTest : public UnionFixture, public ::testing::WithParamInterface<bool> {};

TEST_P(CopyUpPathTest, CopiesParentsThenObjectWithMetadata_CU2) {
  Stack s = MakeStack("s", 1);
  PutDir(s.lower(0) + "/a", 0751);
  PutDir(s.lower(0) + "/a/b", 0705);
  PutFile(s.lower(0) + "/a/b/f", "data", 0640);
  PutSymlink(s.lower(0) + "/a/b/l", "f");
  ASSERT_EQ(::lchown((s.lower(0) + "/a/b").c_str(), 42, 43), 0);
  ASSERT_EQ(::chown((s.lower(0) + "/a/b/f").c_str(), 1000, 1001), 0);
  PutXattr(s.lower(0) + "/a/b/f", "user.keep", "1");
  PutXattr(s.lower(0) + "/a/b/f", "trusted.overlay.stale", "drop");  // never copied
  struct timespec times[2] = {{1000000, 5}, {2000000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (s.lower(0) + "/a/b/f").c_str(), times, 0), 0);
  UnionOptions o = s.Options();
  o.nameless_copy_up = GetParam();
  auto u = OpenEngine(o);
  ASSERT_TRUE(u);
  auto h = u->Open(kRoot, "/a/b/f", O_WRONLY | O_APPEND);
  ASSERT_TRUE(h);
  EXPECT_TRUE(u->Release(*h));

  struct stat d {
  }, f{};
  ASSERT_EQ(::lstat((s.upper() + "/a/b").c_str(), &d), 0);
  EXPECT_EQ(d.st_mode & 07777, 0705u);
  EXPECT_EQ(d.st_uid, 42u);
  EXPECT_EQ(d.st_gid, 43u);
  ASSERT_EQ(::lstat((s.upper() + "/a/b/f").c_str(), &f), 0);
  EXPECT_EQ(f.st_mode & 07777, 0640u);
  EXPECT_EQ(f.st_uid, 1000u);
  EXPECT_EQ(f.st_gid, 1001u);
  EXPECT_EQ(f.st_mtim.tv_sec, 2000000);
  EXPECT_EQ(f.st_mtim.tv_nsec, 7);
  struct stat lower {};
  ASSERT_EQ(::lstat((s.lower(0) + "/a/b/f").c_str(), &lower), 0);
  EXPECT_EQ(lower.st_atim.tv_sec, 1000000) << "the copy-up reads the lower O_NOATIME (NP1)";
  EXPECT_EQ(ReadText(s.upper() + "/a/b/f"), "data");
  EXPECT_EQ(Xattr(s.upper() + "/a/b/f", "user.keep"), "1");
  EXPECT_EQ(Xattr(s.upper() + "/a/b/f", "trusted.overlay.stale"), "<none>");
  EXPECT_NE(Xattr(s.upper() + "/a/b/f", "trusted.overlay.origin"), "<none>");
  EXPECT_EQ(Xattr(s.upper() + "/a/b", "trusted.overlay.impure"), "y");
  EXPECT_FALSE(Exists(s.upper() + "/a/b/l")) << "siblings are not copied up";
  auto listing = ListDir(s.work() + "/work");
  ASSERT_TRUE(listing);
  EXPECT_TRUE(listing->empty()) << "nothing left in the work dir";
  EXPECT_EQ(u->stats().copy_ups, 3u);  // a, a/b, a/b/f
  EXPECT_EQ(u->stats().data_copy_ups, 1u);
  EXPECT_EQ(u->stats().bytes_copied, 4u);
  EXPECT_NE(u->stats().last_copy_strategy, io::CopyStrategy::kAuto);
}

INSTANTIATE_TEST_SUITE_P(NamelessOrNamed, CopyUpPathTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "nameless" : "named"; });

// A read-only handle on a lower file leases the lower fd; once another handle copies the file up
// and writes, a new lease reads the upper copy, while the old lease's fd stays open and usable.
TEST_F(CopyUpTest, FileFdLeaseFollowsCopyUpAndOutlivesRelease) {
  Stack s = MakeStack("s", 1);
  PutFile(s.lower(0) + "/f", "lower");
  auto u = OpenEngine(s.Options());
  ASSERT_TRUE(u);
  auto reader = u->Open(kRoot, "/f", O_RDONLY);
  ASSERT_TRUE(reader);
  auto before = u->FileFd(*reader);
  ASSERT_TRUE(before);
  auto PreadAll = [](int fd) {
    char buf[64];
    ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
    return n < 0 ? std::string("<error>") : std::string(buf, static_cast<size_t>(n));
  };
  EXPECT_EQ(PreadAll(before->fd), "lower");

  auto writer = u->Open(kRoot, "/f", O_WRONLY);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(Exists(s.upper() + "/f")) << "opening for write copied up";
  auto wfd = u->FileFd(*writer);
  ASSERT_TRUE(wfd);
  ASSERT_EQ(::pwrite(wfd->fd, "UP", 2, 0), 2);
  EXPECT_EQ(ReadText(s.upper() + "/f"), "UPwer");
  EXPECT_EQ(ReadText(s.lower(0) + "/f"), "lower") << "the lower layer is never written";

  auto after = u->FileFd(*reader);
  ASSERT_TRUE(after);
  EXPECT_NE(after->fd, before->fd) << "the handle moved to the upper copy";
  EXPECT_EQ(PreadAll(after->fd), "UPwer");
  EXPECT_EQ(::pwrite(after->fd, "x", 1, 0), -1) << "a read-only handle's fd cannot write";

  ASSERT_TRUE(u->Release(*reader));
  ASSERT_TRUE(u->Release(*writer));
  EXPECT_EQ(PreadAll(before->fd), "lower") << "a lease keeps its fd open past Release";
  EXPECT_EQ(PreadAll(after->fd), "UPwer");
  EXPECT_EQ(u->FileFd(*reader).error(), EBADF);
}

TEST_F(CopyUpTest, OriginMatchesKernelFormat_CU2_ID1) {
  auto [es, ks] = MakeTwin(1, [](const Stack& s) { PutFile(s.lower(0) + "/f", "x"); });
  auto u = OpenEngine(es.Options());
  ASSERT_TRUE(u);
  ASSERT_TRUE(u->Chmod(kRoot, "/f", 0600));
  std::string merged = MountKernel(ks);
  ASSERT_EQ(::chmod((merged + "/f").c_str(), 0600), 0);
  UnmountKernel(ks);
  std::string mine = Xattr(es.upper() + "/f", "trusted.overlay.origin");
  std::string theirs = Xattr(ks.upper() + "/f", "trusted.overlay.origin");
  ASSERT_NE(theirs, "<none>");
  ASSERT_EQ(mine.size(), theirs.size());
  EXPECT_EQ(mine.substr(0, 21), theirs.substr(0, 21))
      << "version, magic, length, flags, type, uuid";
}

TEST_F(CopyUpTest, InterruptedCopyUpLeavesNothingAndIsCleaned_CU2) {
  Stack s = MakeStack("s", 1);
  PutFile(s.lower(0) + "/f", "lower");
  {
    auto u = OpenEngine(s.Options());
    ASSERT_TRUE(u);
  }
  // What a crash mid-copy-up leaves: temp objects in work/work, none in upper.
  PutFile(s.work() + "/work/#ovlab.1.1", "half");
  PutDir(s.work() + "/work/#ovlab.1.2/sub");
  PutFile(s.work() + "/work/#ovlab.1.2/sub/x", "x");
  auto u = OpenEngine(s.Options());
  ASSERT_TRUE(u);
  auto listing = ListDir(s.work() + "/work");
  ASSERT_TRUE(listing);
  EXPECT_TRUE(listing->empty());
  View v = EngineView(*u);
  EXPECT_EQ(v.size(), 2u) << Describe(v);
  EXPECT_NE(v["/f"].find("data=lower"), std::string::npos);
}

TEST_F(CopyUpTest, FullUpperFailsWithEnospcAndLeavesNothing) {
  // Upper and work on a tiny filesystem; the lower file does not fit.
  Stack s = MakeStack("s", 1);
  PutFile(s.lower(0) + "/big", std::string(4 << 20, 'b'));
  PutFile(s.lower(0) + "/small", "s");
  std::string tiny = root_ + "/tiny";
  PutDir(tiny);
  auto m = mount::Mount("tmpfs", tiny, "tmpfs", "size=1m");
  ASSERT_TRUE(m) << m.error().message;
  mounted_.push_back(tiny);
  PutDir(tiny + "/upper");
  PutDir(tiny + "/work");
  UnionOptions o = s.Options();
  o.upper = tiny + "/upper";
  o.work = tiny + "/work";
  auto u = OpenEngine(o);
  ASSERT_TRUE(u);
  auto h = u->Open(kRoot, "/big", O_RDWR);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), ENOSPC);
  EXPECT_FALSE(Exists(tiny + "/upper/big"));
  auto listing = ListDir(tiny + "/work/work");
  ASSERT_TRUE(listing);
  EXPECT_TRUE(listing->empty());
  EXPECT_EQ(ReadText(s.lower(0) + "/big").size(), 4u << 20);
  View v = EngineView(*u);
  EXPECT_NE(v["/big"].find("size=4194304"), std::string::npos);
  EXPECT_TRUE(u->Chmod(kRoot, "/small", 0600)) << "the union still works";
}

TEST_F(CopyUpTest, MetacopyCopiesDataOnFirstWrite_MC1) {
  auto [es, ks] = MakeTwin(
      1, [](const Stack& s) { PutFile(s.lower(0) + "/f", std::string(1 << 20, 'm'), 0644); });
  auto [u, merged] = OpenMetacopyTwin(es, ks);
  ASSERT_TRUE(u);
  ASSERT_FALSE(merged.empty());
  ASSERT_TRUE(u->Chmod(kRoot, "/f", 0600));
  ASSERT_TRUE(u->Chown(kRoot, "/f", 7, 7));
  ASSERT_EQ(::chmod((merged + "/f").c_str(), 0600), 0);
  ASSERT_EQ(::chown((merged + "/f").c_str(), 7, 7), 0);
  struct stat eu {
  }, ku{};
  ASSERT_EQ(::lstat((es.upper() + "/f").c_str(), &eu), 0);
  ASSERT_EQ(::lstat((ks.upper() + "/f").c_str(), &ku), 0);
  EXPECT_EQ(eu.st_size, ku.st_size);
  EXPECT_EQ(eu.st_blocks, 0);  // metadata only
  EXPECT_EQ(ku.st_blocks, 0);
  EXPECT_EQ(Xattr(es.upper() + "/f", "trusted.overlay.metacopy"),
            Xattr(ks.upper() + "/f", "trusted.overlay.metacopy"));
  EXPECT_EQ(u->stats().data_copy_ups, 0u);
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));
  // First open for write brings the data.
  auto h = u->Open(kRoot, "/f", O_WRONLY);
  ASSERT_TRUE(h);
  ASSERT_TRUE(u->Write(*h, "W", 1, 0));
  ASSERT_TRUE(u->Release(*h));
  EXPECT_EQ(Xattr(es.upper() + "/f", "trusted.overlay.metacopy"), "<none>");
  std::string data = ReadText(es.upper() + "/f");
  ASSERT_EQ(data.size(), 1u << 20);
  EXPECT_EQ(data[0], 'W');
  EXPECT_EQ(data[1], 'm');
  EXPECT_EQ(u->stats().data_copy_ups, 1u);
}

// open(O_TRUNC) copies up without data, as the kernel (its copy-up of size 0): the upper file
// starts empty with the lower's owner, mode and xattrs; a metacopy upper is completed emptied.
TEST_F(CopyUpTest, OpenWithTruncateCopiesNoData_CU1) {
  auto [es, ks] = MakeTwin(1, [](const Stack& s) {
    PutFile(s.lower(0) + "/f", std::string(1 << 20, 'f'), 0640);
    PutFile(s.lower(0) + "/g", std::string(1 << 20, 'g'), 0644);
    ASSERT_EQ(::lchown((s.lower(0) + "/f").c_str(), 7, 8), 0);
    ASSERT_EQ(::lsetxattr((s.lower(0) + "/f").c_str(), "user.kept", "1", 1, 0), 0);
  });
  auto [u, merged] = OpenMetacopyTwin(es, ks);
  ASSERT_TRUE(u);
  ASSERT_FALSE(merged.empty());
  ASSERT_TRUE(u->Chmod(kRoot, "/g", 0600));  // g: a metacopy upper first
  ASSERT_EQ(::chmod((merged + "/g").c_str(), 0600), 0);
  for (const char* name : {"/f", "/g"}) {
    SCOPED_TRACE(name);
    auto h = u->Open(kRoot, name, O_WRONLY | O_TRUNC);
    ASSERT_TRUE(h);
    ASSERT_TRUE(u->Release(*h));
    int fd = ::open((merged + name).c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ::close(fd);
    struct stat eu {
    }, ku{};
    ASSERT_EQ(::lstat((es.upper() + name).c_str(), &eu), 0);
    ASSERT_EQ(::lstat((ks.upper() + name).c_str(), &ku), 0);
    EXPECT_EQ(eu.st_size, 0);
    EXPECT_EQ(eu.st_size, ku.st_size);
    EXPECT_EQ(eu.st_mode, ku.st_mode);
    EXPECT_EQ(eu.st_uid, ku.st_uid);
    EXPECT_EQ(eu.st_gid, ku.st_gid);
    EXPECT_EQ(Xattr(es.upper() + name, "trusted.overlay.metacopy"), "<none>");
    EXPECT_EQ(Xattr(ks.upper() + name, "trusted.overlay.metacopy"), "<none>");
  }
  EXPECT_EQ(Xattr(es.upper() + "/f", "user.kept"), "1");
  EXPECT_EQ(u->stats().data_copy_ups, 0u);
  EXPECT_EQ(u->stats().bytes_copied, 0u);
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));
}

TEST_F(CopyUpTest, InodeNumbersLikeKernel_ID1) {
  auto fill = [](const Stack& s) {
    PutDir(s.lower(0) + "/dir");
    PutFile(s.lower(0) + "/dir/f", "f");
    PutFile(s.lower(0) + "/g", "g");
    PutDir(s.upper() + "/dir");
  };
  auto [es, ks, u, merged] = OpenTwins(1, fill);
  ASSERT_TRUE(u);
  ASSERT_FALSE(merged.empty());
  auto kstat = [&](const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat((merged + p).c_str(), &st), 0) << p;
    return st;
  };
  auto estat = [&](const std::string& p) {
    auto st = u->Stat(kRoot, p, AT_SYMLINK_NOFOLLOW);
    EXPECT_TRUE(st) << p;
    return st ? *st : (struct stat){};
  };
  // Which real object's inode number each path reports, in the kernel and in the engine.
  auto source = [](const Stack& s, const std::string& p, ino_t ino) {
    struct stat st {};
    if (::lstat((s.upper() + p).c_str(), &st) == 0 && st.st_ino == ino) return "upper";
    if (::lstat((s.lower(0) + p).c_str(), &st) == 0 && st.st_ino == ino) return "lower";
    return "other";
  };
  const char* paths[] = {"/", "/dir", "/dir/f", "/g"};
  for (const char* p : paths) {
    EXPECT_STREQ(source(es, p, estat(p).st_ino), source(ks, p, kstat(p).st_ino)) << p;
  }
  dev_t dev = estat("/").st_dev;
  for (const char* p : paths) EXPECT_EQ(estat(p).st_dev, dev) << "one st_dev for all: " << p;
  // Stable across copy-up, rename and reopen.
  ino_t g = estat("/g").st_ino, f = estat("/dir/f").st_ino;
  ASSERT_TRUE(u->Chmod(kRoot, "/g", 0600));
  ino_t kg = kstat("/g").st_ino;
  ASSERT_EQ(::chmod((merged + "/g").c_str(), 0600), 0);
  EXPECT_EQ(estat("/g").st_ino, g);
  EXPECT_EQ(kstat("/g").st_ino, kg);
  ASSERT_TRUE(u->Truncate(kRoot, "/dir/f", 0));
  ASSERT_TRUE(u->Rename(kRoot, "/dir/f", "/f2"));
  EXPECT_EQ(estat("/f2").st_ino, f);
  u.reset();
  u = OpenEngine(es.Options());
  EXPECT_EQ(estat("/f2").st_ino, f);
  EXPECT_EQ(estat("/g").st_ino, g);
  // A directory reports nlink 1 when merged, as the kernel does.
  EXPECT_EQ(estat("/dir").st_nlink, kstat("/dir").st_nlink);
}

// One xattr call on a path; the result as text ("=value", "ok" or the errno's name), so the
// engine's and the kernel's answers compare as strings.
struct XattrOp {
  enum Kind { kGet, kSet, kRemove } kind;
  const char* path;
  std::string name;
};

std::string RunOnKernel(const std::string& merged, const XattrOp& op) {
  std::string path = merged + op.path;
  char buf[512];
  ssize_t n = 0;
  switch (op.kind) {
    case XattrOp::kGet:
      n = ::lgetxattr(path.c_str(), op.name.c_str(), buf, sizeof(buf));
      return n < 0 ? ErrnoText(errno) : "=" + std::string(buf, static_cast<size_t>(n));
    case XattrOp::kSet:
      n = ::lsetxattr(path.c_str(), op.name.c_str(), "v", 1, 0);
      break;
    case XattrOp::kRemove:
      n = ::lremovexattr(path.c_str(), op.name.c_str());
      break;
  }
  return n < 0 ? ErrnoText(errno) : "ok";
}

std::string RunOnEngine(Union& u, const XattrOp& op) {
  SysResult<void> done;
  switch (op.kind) {
    case XattrOp::kGet: {
      auto v = u.GetXattr(kRoot, op.path, op.name, AT_SYMLINK_NOFOLLOW);
      return v ? "=" + *v : ErrnoText(v.error());
    }
    case XattrOp::kSet:
      done = u.SetXattr(kRoot, op.path, op.name, "v", 0, AT_SYMLINK_NOFOLLOW);
      break;
    case XattrOp::kRemove:
      done = u.RemoveXattr(kRoot, op.path, op.name, AT_SYMLINK_NOFOLLOW);
      break;
  }
  return done ? "ok" : ErrnoText(done.error());
}

// Stored xattr names and values of a layer object; origin is a file handle of a lower inode, so
// only its presence is compared.
std::string StoredXattrs(const std::string& path) {
  char list[4096];
  ssize_t n = ::llistxattr(path.c_str(), list, sizeof(list));
  if (n < 0) return "list error " + ErrnoText(errno);
  std::vector<std::string> names;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(list + i)) + 1)
    names.emplace_back(list + i);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& name : names) {
    std::string value = name == "trusted.overlay.origin" ? "<fh>" : Xattr(path, name.c_str());
    out += name + "=" + value + "\n";
  }
  return out;
}

// XA1 on this kernel (>= 6.7, overlayfs.rst "xattr escaping"): the same gets, sets and removes
// of trusted.overlay.* names through the kernel's mount and the engine give the same answers,
// the same merged view and the same names on disk. The overlay's private xattrs (here the lower
// dir's opaque and a stray trusted.overlay.overlayX) stay invisible and untouchable.
TEST_F(CopyUpTest, OverlayXattrsEscapedLikeKernel_XA1) {
  auto [es, ks, u, merged] = OpenTwins(1, [](const Stack& s) {
    PutDir(s.lower(0) + "/d");
    PutXattr(s.lower(0) + "/d", "trusted.overlay.opaque", "y");
    PutXattr(s.lower(0) + "/d", "trusted.overlay.overlay.opaque", "escaped");
    PutXattr(s.lower(0) + "/d", "user.a", "1");
    PutFile(s.lower(0) + "/f", "data");
    PutXattr(s.lower(0) + "/f", "trusted.overlay.overlay.low", "L");
    PutXattr(s.lower(0) + "/f", "trusted.overlay.overlayX", "private");
    PutXattr(s.lower(0) + "/f", "trusted.other", "t");
    PutFile(s.lower(0) + "/g", "g");
  });
  ASSERT_TRUE(u);
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));  // lists and reads unescaped

  const std::string too_long = "trusted.overlay." + std::string(235, 'a');
  const std::string longest = "trusted.overlay." + std::string(231, 'a');
  const XattrOp ops[] = {
      {XattrOp::kGet, "/f", "trusted.overlay.low"},
      {XattrOp::kGet, "/d", "trusted.overlay.opaque"},  // the escaped one, not the private one
      {XattrOp::kGet, "/f", "trusted.overlay.origin"},
      {XattrOp::kGet, "/f", "trusted.overlay.overlayX"},
      {XattrOp::kRemove, "/g", "trusted.overlay.origin"},  // missing: no copy-up
      {XattrOp::kSet, "/g", "trusted.overlay."},           // empty name
      {XattrOp::kSet, "/g", too_long},                     // escaped name over 255 bytes
      {XattrOp::kSet, "/f", "trusted.overlay.foo"},        // copy-up keeps the escaped "low"
      {XattrOp::kSet, "/f", "trusted.overlay.overlay.bar"},
      {XattrOp::kSet, "/f", longest},
      {XattrOp::kGet, "/f", "trusted.overlay.foo"},
      {XattrOp::kRemove, "/f", "trusted.overlay.low"},
      {XattrOp::kRemove, "/f", "trusted.overlay.origin"},  // the real origin stays private
      {XattrOp::kSet, "/d", "trusted.overlay.redirect"},
      {XattrOp::kGet, "/d", "trusted.overlay.redirect"},
      {XattrOp::kRemove, "/d", "trusted.overlay.opaque"},
  };
  for (const XattrOp& op : ops) {
    EXPECT_EQ(RunOnEngine(*u, op), RunOnKernel(merged, op))
        << "op " << static_cast<int>(op.kind) << " " << op.path << " " << op.name;
  }
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));
  for (const char* p : {"/f", "/d", "/g"}) {
    EXPECT_EQ(StoredXattrs(es.upper() + p), StoredXattrs(ks.upper() + p)) << p;
  }
  EXPECT_FALSE(Exists(es.upper() + "/g")) << "failed changes copy nothing up";
}

TEST_F(CopyUpTest, PermissionsSameAsKernelBeforeAndAfterCopyUp_PM1) {
  auto fill = [](const Stack& s) {
    PutDir(s.lower(0) + "/pub", 0755);
    PutFile(s.lower(0) + "/pub/mine", "m", 0600);
    ASSERT_EQ(::chown((s.lower(0) + "/pub/mine").c_str(), 1000, 1000), 0);
    PutFile(s.lower(0) + "/pub/root_ro", "r", 0644);
    PutFile(s.lower(0) + "/pub/group_rw", "g", 0660);
    ASSERT_EQ(::chown((s.lower(0) + "/pub/group_rw").c_str(), 0, 1000), 0);
    PutDir(s.lower(0) + "/closed", 0700);
    PutFile(s.lower(0) + "/closed/f", "c", 0644);
    PutDir(s.lower(0) + "/tmp", 01777);
    PutFile(s.lower(0) + "/tmp/others", "o", 0666);
    ASSERT_EQ(::chown((s.lower(0) + "/tmp/others").c_str(), 2000, 2000), 0);
  };
  auto [es, ks] = MakeTwin(1, fill);
  auto u = OpenEngine(es.Options());
  ASSERT_TRUE(u);
  std::string m = MountKernel(ks);
  ASSERT_FALSE(m.empty());
  const Cred user = Cred::User(1000, 1000);
  struct Check {
    const char* what;
    std::function<int()> kernel;
    std::function<int()> engine;
  };
  auto open_k = [&](const char* p, int flags) {
    return [&m, p, flags] {
      int fd = ::open((m + p).c_str(), flags);
      if (fd < 0) return errno;
      ::close(fd);
      return 0;
    };
  };
  auto open_e = [&](const char* p, int flags) {
    return [&u, &user, p, flags] {
      auto h = u->Open(user, p, flags);
      if (!h) return h.error();
      (void)u->Release(*h);
      return 0;
    };
  };
  auto r = [](const SysResult<void>& x) { return x ? 0 : x.error(); };
  std::vector<Check> checks = {
      {"write own 0600", open_k("/pub/mine", O_WRONLY), open_e("/pub/mine", O_WRONLY)},
      {"write root 0644", open_k("/pub/root_ro", O_WRONLY), open_e("/pub/root_ro", O_WRONLY)},
      {"read root 0644", open_k("/pub/root_ro", O_RDONLY), open_e("/pub/root_ro", O_RDONLY)},
      {"write group 0660", open_k("/pub/group_rw", O_RDWR), open_e("/pub/group_rw", O_RDWR)},
      {"search 0700 dir", open_k("/closed/f", O_RDONLY), open_e("/closed/f", O_RDONLY)},
      {"create in root-owned dir",
       [&] { return ::mkdir((m + "/pub/new").c_str(), 0755) ? errno : 0; },
       [&] { return r(u->Mkdir(user, "/pub/new", 0755)); }},
      {"unlink others' file in sticky dir",
       [&] { return ::unlink((m + "/tmp/others").c_str()) ? errno : 0; },
       [&] { return r(u->Unlink(user, "/tmp/others")); }},
      {"chmod root's file", [&] { return ::chmod((m + "/pub/root_ro").c_str(), 0777) ? errno : 0; },
       [&] { return r(u->Chmod(user, "/pub/root_ro", 0777)); }},
      {"chmod own file", [&] { return ::chmod((m + "/pub/mine").c_str(), 0640) ? errno : 0; },
       [&] { return r(u->Chmod(user, "/pub/mine", 0640)); }},
      {"chown own file to root",
       [&] { return ::chown((m + "/pub/mine").c_str(), 0, 0) ? errno : 0; },
       [&] { return r(u->Chown(user, "/pub/mine", 0, 0)); }},
      {"utimes now on root's 0644",
       [&] { return ::utimensat(AT_FDCWD, (m + "/pub/root_ro").c_str(), nullptr, 0) ? errno : 0; },
       [&] { return r(u->Utimens(user, "/pub/root_ro", nullptr)); }},
  };
  // Twice: before anything is copied up, then after root copied everything up.
  for (int round = 0; round < 2; ++round) {
    for (const auto& c : checks) {
      int k = AsUser(1000, 1000, c.kernel);
      int e = c.engine();
      EXPECT_EQ(ErrnoText(e), ErrnoText(k)) << c.what << " round " << round;
    }
    for (const char* p : {"/pub/mine", "/pub/root_ro", "/pub/group_rw", "/closed/f"}) {
      ASSERT_TRUE(u->Chown(kRoot, p, static_cast<uid_t>(-1), static_cast<gid_t>(-1)));
      SetAttrValues v;
      ASSERT_TRUE(u->SetXattr(kRoot, p, "user.copied", "1"));
      ASSERT_EQ(::setxattr((m + p).c_str(), "user.copied", "1", 1, 0), 0);
    }
  }
}

TEST_F(CopyUpTest, VolatileSkipsFsyncAndMarksWorkLikeKernel) {
  Stack s = MakeStack("s", 1);
  PutFile(s.lower(0) + "/f", "x");
  UnionOptions o = s.Options();
  o.volatile_ = true;
  {
    auto u = OpenEngine(o);
    ASSERT_TRUE(u);
    ASSERT_TRUE(u->Chmod(kRoot, "/f", 0600));
  }
  EXPECT_TRUE(Exists(s.work() + "/work/incompat/volatile"));
  auto again = Union::Open(s.Options());
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("volatile"), std::string::npos);
  // The kernel refuses the same upper for the same reason.
  mount::OverlaySpec spec;
  spec.lowers = {s.lower(0)};
  spec.upper = s.upper();
  spec.work = s.work();
  auto m = mount::MountOverlay(spec, s.merged());
  if (m) mounted_.push_back(s.merged());
  EXPECT_FALSE(m);
}

// fsync= as the kernel (>= 6.12.y): auto syncs data a copy-up copied but not a reflink, strict
// syncs every file and directory copy-up once after its metadata, volatile never syncs.
class CopyUpSyncTest : public UnionFixture {
 protected:
  CopyUpSyncTest() { backing_ = scratch::Backing::kXfsReflink; }

  // fsyncs made by a chmod of /d/f, which copies up the directory d and the file f with data.
  uint64_t SyncsOfOneCopyUp(bool strict, bool volatile_, io::CopyStrategy strategy) {
    Stack s = MakeStack("s", 1);
    PutFile(s.lower(0) + "/d/f", std::string(1 << 20, 'x'));
    UnionOptions o = s.Options();
    o.fsync_strict = strict;
    o.volatile_ = volatile_;
    o.copy_strategy = strategy;
    auto u = OpenEngine(o);
    if (!u) return ~0ull;
    EXPECT_TRUE(u->Chmod(kRoot, "/d/f", 0600));
    EXPECT_EQ(u->stats().data_copy_ups, 1u);
    EXPECT_EQ(u->stats().last_copy_strategy,
              strategy == io::CopyStrategy::kAuto ? io::CopyStrategy::kClone : strategy);
    return u->stats().copy_up_syncs;
  }
};

TEST_F(CopyUpSyncTest, SyncsAsTheKernelsFsyncOption) {
  EXPECT_EQ(SyncsOfOneCopyUp(false, false, io::CopyStrategy::kAuto), 0u) << "auto, reflink";
  EXPECT_EQ(SyncsOfOneCopyUp(false, false, io::CopyStrategy::kReadWrite), 1u) << "auto, copy";
  EXPECT_EQ(SyncsOfOneCopyUp(true, false, io::CopyStrategy::kAuto), 2u) << "strict: d and f";
  EXPECT_EQ(SyncsOfOneCopyUp(false, true, io::CopyStrategy::kReadWrite), 0u) << "volatile";
}

TEST_F(CopyUpTest, LayerLimitAndOptionErrors_LM1) {
  Stack s = MakeStack("s", 1);
  UnionOptions o;
  for (int i = 0; i < 501; ++i) {
    std::string l = root_ + "/many/l" + std::to_string(i);
    PutDir(l);
    o.lowers.push_back(l);
  }
  PutFile(root_ + "/many/l499/bottom", "b");
  auto too_many = Union::Open(o);
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("500"), std::string::npos) << too_many.error().message;
  o.lowers.pop_back();
  auto ok = Union::Open(o);
  ASSERT_TRUE(ok) << ok.error().message;
  auto st = (*ok)->Stat(kRoot, "/bottom");
  EXPECT_TRUE(st);

  UnionOptions bad = s.Options();
  bad.lowers.push_back(root_ + "/missing");
  auto missing = Union::Open(bad);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
  bad = s.Options();
  bad.upper = s.lower(0) + "/inside";
  PutDir(bad.upper);
  EXPECT_FALSE(Union::Open(bad));
  bad = s.Options();
  bad.work = "/dev/shm";  // another filesystem than upper
  auto xdev = Union::Open(bad);
  ASSERT_FALSE(xdev);
  EXPECT_EQ(xdev.error().code, EXDEV);
  bad = s.Options();
  bad.work.clear();
  EXPECT_FALSE(Union::Open(bad));
}

}  // namespace
}  // namespace ovlab::unionfs::testing
