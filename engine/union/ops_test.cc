// Write side against the kernel: the same script of operations runs on the engine and on a kernel
// overlay of an identical stack; every result (errno) and the final merged view must match. Then
// the on-disk compatibility in both directions: the kernel mounts the engine's upper, the engine
// opens the kernel's upper, and each shows the other's merged view.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <gtest/gtest.h>

#include "base/strings.h"
#include "union/union_test_support.h"

namespace ovlab::unionfs::testing {
namespace {

const Cred kRoot = Cred::Root();

struct Op {
  enum Kind {
    kWrite,     // a: path, b: data (O_CREAT|O_TRUNC)
    kAppend,    // a: path, b: data (existing file)
    kMkdir,     // a
    kRmdir,     // a
    kUnlink,    // a
    kRename,    // a -> b, flags
    kLink,      // a -> b
    kSymlink,   // b: target, a: link path
    kChmod,     // a, mode
    kChown,     // a, uid=mode, gid=mode
    kTruncate,  // a, size=mode
    kSetXattr,  // a, name b, value "v"
    kRmXattr,   // a, name b
    kMkfifo,    // a
  } kind;
  std::string a, b = {};
  unsigned arg = 0;
};

int EngineDo(Union& u, const Op& op) {
  auto err = [](const SysResult<void>& r) { return r ? 0 : r.error(); };
  switch (op.kind) {
    case Op::kWrite:
    case Op::kAppend: {
      int flags = op.kind == Op::kWrite ? (O_WRONLY | O_CREAT | O_TRUNC) : (O_WRONLY | O_APPEND);
      auto h = u.Open(kRoot, op.a, flags, 0644);
      if (!h) return h.error();
      off_t off = 0;
      if (op.kind == Op::kAppend) off = u.Stat(kRoot, op.a)->st_size;
      auto n = u.Write(*h, op.b.data(), op.b.size(), off);
      (void)u.Release(*h);
      return n ? 0 : n.error();
    }
    case Op::kMkdir:
      return err(u.Mkdir(kRoot, op.a, 0755));
    case Op::kRmdir:
      return err(u.Rmdir(kRoot, op.a));
    case Op::kUnlink:
      return err(u.Unlink(kRoot, op.a));
    case Op::kRename:
      return err(u.Rename(kRoot, op.a, op.b, op.arg));
    case Op::kLink:
      return err(u.Link(kRoot, op.a, op.b));
    case Op::kSymlink:
      return err(u.Symlink(kRoot, op.b, op.a));
    case Op::kChmod:
      return err(u.Chmod(kRoot, op.a, op.arg));
    case Op::kChown:
      return err(u.Chown(kRoot, op.a, op.arg, op.arg));
    case Op::kTruncate:
      return err(u.Truncate(kRoot, op.a, op.arg));
    case Op::kSetXattr:
      return err(u.SetXattr(kRoot, op.a, op.b, "v", 0, AT_SYMLINK_NOFOLLOW));
    case Op::kRmXattr:
      return err(u.RemoveXattr(kRoot, op.a, op.b, AT_SYMLINK_NOFOLLOW));
    case Op::kMkfifo:
      return err(u.Mknod(kRoot, op.a, S_IFIFO | 0644, 0));
  }
  return EINVAL;
}

int KernelDo(const std::string& m, const Op& op) {
  std::string a = m + op.a, b = m + op.b;
  auto rc = [](int r) { return r == 0 ? 0 : errno; };
  switch (op.kind) {
    case Op::kWrite:
    case Op::kAppend: {
      int flags = op.kind == Op::kWrite ? (O_WRONLY | O_CREAT | O_TRUNC) : (O_WRONLY | O_APPEND);
      int fd = ::open(a.c_str(), flags | O_CLOEXEC, 0644);
      if (fd < 0) return errno;
      ssize_t n = ::write(fd, op.b.data(), op.b.size());
      int e = n < 0 ? errno : 0;
      ::close(fd);
      return e;
    }
    case Op::kMkdir:
      return rc(::mkdir(a.c_str(), 0755));
    case Op::kRmdir:
      return rc(::rmdir(a.c_str()));
    case Op::kUnlink:
      return rc(::unlink(a.c_str()));
    case Op::kRename:
      return rc(::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), op.arg));
    case Op::kLink:
      return rc(::link(a.c_str(), b.c_str()));
    case Op::kSymlink:
      return rc(::symlink(op.b.c_str(), a.c_str()));
    case Op::kChmod:
      return rc(::chmod(a.c_str(), op.arg));
    case Op::kChown:
      return rc(::chown(a.c_str(), op.arg, op.arg));
    case Op::kTruncate:
      return rc(::truncate(a.c_str(), op.arg));
    case Op::kSetXattr:
      return rc(::lsetxattr(a.c_str(), op.b.c_str(), "v", 1, 0));
    case Op::kRmXattr:
      return rc(::lremovexattr(a.c_str(), op.b.c_str()));
    case Op::kMkfifo:
      return rc(::mknod(a.c_str(), S_IFIFO | 0644, 0));
  }
  return EINVAL;
}

std::string Name(const Op& op) {
  static const char* names[] = {"write",    "append",   "mkdir",       "rmdir", "unlink",
                                "rename",   "link",     "symlink",     "chmod", "chown",
                                "truncate", "setxattr", "removexattr", "mkfifo"};
  return StrPrintf("%s(%s, %s, %u)", names[op.kind], op.a.c_str(), op.b.c_str(), op.arg);
}

void BaseLayers(const Stack& s) {
  const std::string b = s.lower(1), t = s.lower(0);
  PutDir(b + "/etc");
  PutFile(b + "/etc/passwd", "root:x:0:0\n");
  PutFile(b + "/etc/hosts", "127.0.0.1 localhost\n");
  PutXattr(b + "/etc/hosts", "user.origin", "bottom");
  PutDir(b + "/usr/lib", 0755);
  PutFile(b + "/usr/lib/libc.so", std::string(100000, 'c'));
  PutFile(b + "/usr/lib/hard1", "linked");
  ASSERT_EQ(::link((b + "/usr/lib/hard1").c_str(), (b + "/usr/lib/hard2").c_str()), 0);
  PutDir(b + "/var/empty");
  PutDir(b + "/var/full");
  PutFile(b + "/var/full/x", "x");
  PutFile(t + "/etc/os-release", "ID=ovlab\n");
  PutSymlink(t + "/etc/mtab", "/proc/mounts");
  PutDir(t + "/usr/bin");
  PutFile(t + "/usr/bin/sh", "#!", 0755);
  PutDir(t + "/home/user", 0700);
  PutFile(t + "/home/user/.profile", "export X=1\n", 0600);
  PutWhiteout(t + "/var/full/x");  // var/full looks empty but is merged
}

std::vector<Op> Script() {
  return {
      {Op::kWrite, "/etc/passwd", "changed\n"},        // CU1 open O_TRUNC
      {Op::kAppend, "/etc/hosts", "::1 localhost\n"},  // CU1 open for write
      {Op::kChmod, "/usr/bin/sh", "", 0700},           // CU1 chmod
      {Op::kChown, "/etc/os-release", "", 1234},       // CU1 chown
      {Op::kTruncate, "/usr/lib/libc.so", "", 10},     // CU1 truncate
      {Op::kSetXattr, "/usr/lib", "user.mark"},        // CU1 setxattr on a dir
      {Op::kRmXattr, "/etc/hosts", "user.origin"},     // CU1 removexattr
      {Op::kRmXattr, "/etc/hosts", "user.none"},       // ENODATA
      {Op::kWrite, "/usr/lib/hard1", "broken"},        // HL1
      {Op::kLink, "/etc/os-release", "/etc/os-link"},  // CU1 link
      {Op::kSymlink, "/etc/sym", "passwd"},            // no copy-up of the target
      {Op::kMkfifo, "/var/fifo"},
      {Op::kUnlink, "/etc/mtab"},                       // WO1 written
      {Op::kUnlink, "/etc/mtab"},                       // ENOENT
      {Op::kRmdir, "/var/full"},                        // merged empty dir
      {Op::kMkdir, "/var/full"},                        // OP1: now opaque
      {Op::kRmdir, "/usr"},                             // ENOTEMPTY
      {Op::kRmdir, "/etc/passwd"},                      // ENOTDIR
      {Op::kUnlink, "/var"},                            // EISDIR
      {Op::kMkdir, "/etc"},                             // EEXIST
      {Op::kRename, "/etc/hosts", "/etc/hosts.old"},    // whiteout at the old name
      {Op::kRename, "/etc/os-release", "/etc/passwd"},  // replace
      {Op::kRename, "/usr/bin", "/usr/sbin"},           // RN1: EXDEV (lower dir)
      {Op::kMkdir, "/new"},
      {Op::kMkdir, "/new/sub"},
      {Op::kWrite, "/new/sub/f", "new"},
      {Op::kRename, "/new", "/var/new"},                             // pure upper dir moves
      {Op::kRename, "/etc/sym", "/etc/passwd", RENAME_NOREPLACE},    // EEXIST
      {Op::kRename, "/etc/sym", "/etc/hosts.old", RENAME_EXCHANGE},  // both stay
      {Op::kRename, "/home/user/.profile", "/var/empty/p"},
      {Op::kRmdir, "/var/empty"},  // ENOTEMPTY now
      {Op::kUnlink, "/var/empty/p"},
      {Op::kRmdir, "/var/empty"},
      {Op::kMkdir, "/var/empty"},
      {Op::kWrite, "/var/empty/again", "a"},
      {Op::kRename, "/var/new/sub", "/var/new/sub"},  // same name: no-op
      {Op::kRename, "/var/new", "/var/new/sub/x"},    // EINVAL: into itself
      {Op::kUnlink, "/usr/lib/hard2"},
  };
}

class OpsTest : public UnionFixture {};

TEST_F(OpsTest, ScriptMatchesKernelResultsAndView_CU1_WO1_OP1_HL1_RN1) {
  auto [es, ks, u, merged] = OpenTwins(2, BaseLayers);
  ASSERT_TRUE(u);
  ASSERT_FALSE(merged.empty());
  std::string errors;
  for (const Op& op : Script()) {
    int kernel = KernelDo(merged, op);
    int engine = EngineDo(*u, op);
    EXPECT_EQ(ErrnoText(engine), ErrnoText(kernel)) << Name(op);
    if (kernel) errors += Name(op) + ": " + ErrnoText(kernel) + "\n";
  }
  // The script does reach the error paths it was written for.
  EXPECT_NE(errors.find("rename(/usr/bin, /usr/sbin, 0): " + ErrnoText(EXDEV)), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("rmdir(/usr, , 0): " + ErrnoText(ENOTEMPTY)), std::string::npos) << errors;
  View engine_view = EngineView(*u);
  EXPECT_NE(engine_view["/etc/passwd"].find("data=ID=ovlab"), std::string::npos);
  EXPECT_NE(engine_view["/usr/lib/hard1"].find("data=broken"), std::string::npos);
  EXPECT_EQ(Describe(engine_view), Describe(FsView(merged)));
  // The symlink never copied up its target; hard2 kept the lower data (HL1).
  EXPECT_FALSE(Exists(es.upper() + "/usr/bin/sh/x"));
  struct stat st {};
  ASSERT_EQ(::lstat((es.upper() + "/etc/mtab").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == 0) << "WO1 whiteout is a 0/0 char device";
  char v[8];
  EXPECT_EQ(::lgetxattr((es.upper() + "/var/full").c_str(), "trusted.overlay.opaque", v, 8), 1);
  EXPECT_GE(u->stats().copy_ups, 5u);
}

// open(O_CREAT) of a dangling symlink follows it and creates the missing target, as the kernel
// does (open_last_lookups); O_EXCL, O_NOFOLLOW, loops and missing parents fail the same way.
TEST_F(OpsTest, CreateThroughDanglingSymlinkMatchesKernel) {
  auto [es, ks, u, merged] = OpenTwins(1, [](const Stack& s) {
    PutSymlink(s.lower(0) + "/dang", "made");
    PutDir(s.lower(0) + "/sub");
    PutDir(s.lower(0) + "/d");
    PutSymlink(s.lower(0) + "/d/up", "../sub/new");
    PutSymlink(s.lower(0) + "/chain", "dang3");
    PutSymlink(s.lower(0) + "/dang3", "d/m3");
    PutSymlink(s.lower(0) + "/excl", "ex");
    PutSymlink(s.lower(0) + "/nofollow", "nf");
    PutSymlink(s.lower(0) + "/noparent", "nodir/x");
    PutSymlink(s.lower(0) + "/slash", "sl/");
    PutSymlink(s.lower(0) + "/loop", "loop");
    PutSymlink(s.lower(0) + "/todir", "sub");
    PutSymlink(s.lower(0) + "/viadir", "d/../sub/via");
  });
  ASSERT_TRUE(u);
  const struct {
    const char* path;
    int flags;
  } cases[] = {
      {"/dang", O_WRONLY | O_CREAT},
      {"/d/up", O_RDWR | O_CREAT | O_TRUNC},
      {"/chain", O_WRONLY | O_CREAT},
      {"/excl", O_WRONLY | O_CREAT | O_EXCL},
      {"/nofollow", O_WRONLY | O_CREAT | O_NOFOLLOW},
      {"/noparent", O_WRONLY | O_CREAT},
      {"/slash", O_WRONLY | O_CREAT},
      {"/loop", O_WRONLY | O_CREAT},
      {"/todir", O_WRONLY | O_CREAT},
      {"/viadir", O_WRONLY | O_CREAT},
      {"/dang", O_WRONLY | O_CREAT | O_APPEND},  // now an existing target
  };
  for (const auto& c : cases) {
    int kernel = 0;
    int fd = ::open((merged + c.path).c_str(), c.flags | O_CLOEXEC, 0640);
    if (fd < 0) {
      kernel = errno;
    } else {
      if (::write(fd, "w", 1) != 1) kernel = errno;
      ::close(fd);
    }
    int engine = 0;
    auto h = u->Open(kRoot, c.path, c.flags, 0640);
    if (!h) {
      engine = h.error();
    } else {
      auto n = u->Write(*h, "w", 1, u->Stat(kRoot, c.path)->st_size);
      if (!n) engine = n.error();
      (void)u->Release(*h);
    }
    EXPECT_EQ(ErrnoText(engine), ErrnoText(kernel)) << c.path << " flags " << c.flags;
  }
  View engine_view = EngineView(*u);
  EXPECT_NE(engine_view["/made"].find("data=ww"), std::string::npos) << Describe(engine_view);
  EXPECT_EQ(Describe(engine_view), Describe(FsView(merged)));
}

// Three kernel behaviours the conformance suite found: an fd opened read-only before a copy-up
// reads the copied-up data; lower hard links are separate objects, so renaming one onto the other
// moves it; a dir whose names are hidden by lower WO2 (xattr) whiteouts is not empty for rmdir.
TEST_F(OpsTest, OldFdHardLinkRenameAndXattrWhiteoutRmdirMatchKernel) {
  auto [es, ks, u, merged] = OpenTwins(2, [](const Stack& s) {
    PutFile(s.lower(1) + "/f", "lower");
    ASSERT_EQ(::link((s.lower(1) + "/f").c_str(), (s.lower(1) + "/h2").c_str()), 0);
    PutFile(s.lower(1) + "/alt/gone", "g");
    PutDir(s.lower(0) + "/alt");
    PutXattr(s.lower(0) + "/alt", "trusted.overlay.opaque", "x");
    PutFile(s.lower(0) + "/alt/gone", "");
    PutXattr(s.lower(0) + "/alt/gone", "trusted.overlay.whiteout", "");
  });
  ASSERT_TRUE(u);
  auto rc = [](bool ok) { return ErrnoText(ok ? 0 : errno); };
  auto result = [](const SysResult<void>& r) { return ErrnoText(r ? 0 : r.error()); };

  // Kernel: old read-only fd, copy-up by a write through a second fd, read through the old fd.
  std::string kernel_read;
  int old_fd = ::open((merged + "/f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(old_fd, 0);
  int wr = ::open((merged + "/f").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  ASSERT_GE(wr, 0);
  ASSERT_EQ(::write(wr, "NEW", 3), 3);
  ::close(wr);
  char buf[16];
  ssize_t n = ::pread(old_fd, buf, sizeof(buf), 0);
  ::close(old_fd);
  kernel_read = n < 0 ? ErrnoText(errno) : std::string(buf, static_cast<size_t>(n));
  // Engine: the same.
  auto old_h = u->Open(kRoot, "/f", O_RDONLY);
  ASSERT_TRUE(old_h);
  auto wr_h = u->Open(kRoot, "/f", O_WRONLY | O_TRUNC);
  ASSERT_TRUE(wr_h);
  ASSERT_TRUE(u->Write(*wr_h, "NEW", 3, 0));
  ASSERT_TRUE(u->Release(*wr_h));
  auto got = u->Read(*old_h, buf, sizeof(buf), 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(buf, *got), kernel_read);
  EXPECT_EQ(kernel_read, "NEW");
  ASSERT_TRUE(u->Release(*old_h));

  EXPECT_EQ(result(u->Rename(kRoot, "/h2", "/f")),
            rc(::rename((merged + "/h2").c_str(), (merged + "/f").c_str()) == 0));
  std::string kernel_rmdir = rc(::rmdir((merged + "/alt").c_str()) == 0);
  EXPECT_EQ(kernel_rmdir, ErrnoText(ENOTEMPTY));
  EXPECT_EQ(result(u->Rmdir(kRoot, "/alt")), kernel_rmdir);
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));
}

TEST_F(OpsTest, KernelMountsEngineUpperAndEngineReadsKernelUpper) {
  auto [es, ks] = MakeTwin(2, BaseLayers);
  std::string engine_view;
  {
    auto u = OpenEngine(es.Options());
    ASSERT_TRUE(u);
    for (const Op& op : Script()) (void)EngineDo(*u, op);
    engine_view = Describe(EngineView(*u));
  }
  // Engine-written upper, mounted by the kernel over the same lowers.
  ASSERT_FALSE(MountKernel(es).empty());
  EXPECT_EQ(Describe(FsView(es.merged())), engine_view);
  UnmountKernel(es);

  // Kernel-written upper, read by the engine.
  std::string merged = MountKernel(ks);
  ASSERT_FALSE(merged.empty());
  for (const Op& op : Script()) (void)KernelDo(merged, op);
  std::string kernel_view = Describe(FsView(merged));
  UnmountKernel(ks);
  auto u = OpenEngine(ks.Options());
  ASSERT_TRUE(u);
  EXPECT_EQ(Describe(EngineView(*u)), kernel_view);
}

TEST_F(OpsTest, RedirectDirRenamesMatchKernel_RN2) {
  auto fill = [](const Stack& s) {
    PutDir(s.lower(0) + "/a/b/c");
    PutFile(s.lower(0) + "/a/b/c/f", "deep");
    PutDir(s.lower(0) + "/x");
    PutDir(s.lower(0) + "/y");
    PutFile(s.lower(0) + "/y/in_y", "y");
  };
  auto [es, ks] = MakeTwin(1, fill);
  UnionOptions o = es.Options();
  o.redirect_dir = true;
  auto u = OpenEngine(o);
  ASSERT_TRUE(u);
  std::string merged = MountKernel(ks, {"redirect_dir=on"});
  ASSERT_FALSE(merged.empty());
  std::vector<Op> ops = {
      {Op::kRename, "/a/b", "/a/b2"},    // same dir: relative redirect
      {Op::kRename, "/a/b2/c", "/x/c"},  // absolute redirect
      {Op::kRename, "/y", "/x/y"},
      {Op::kRename, "/x/y", "/x/y2"},  // keeps the absolute one
      {Op::kMkdir, "/a/b"},            // the old name is free again
      {Op::kWrite, "/x/c/g", "new"},
      {Op::kRename, "/x", "/a/b", RENAME_EXCHANGE},
  };
  for (const Op& op : ops) {
    EXPECT_EQ(ErrnoText(EngineDo(*u, op)), ErrnoText(KernelDo(merged, op))) << Name(op);
  }
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));
  UnmountKernel(ks);
  // Same redirect xattrs, in the kernel's format, on both uppers.
  for (const char* p : {"/a/b2", "/a/b/c", "/a/b/y2", "/x"}) {
    char ev[256] = {}, kv[256] = {};
    ssize_t en = ::lgetxattr((es.upper() + p).c_str(), "trusted.overlay.redirect", ev, 255);
    ssize_t kn = ::lgetxattr((ks.upper() + p).c_str(), "trusted.overlay.redirect", kv, 255);
    EXPECT_EQ(std::string(ev, en > 0 ? en : 0), std::string(kv, kn > 0 ? kn : 0)) << p;
  }
  u.reset();
  // And the kernel reads the engine's redirects.
  ASSERT_FALSE(MountKernel(es, {"redirect_dir=on"}).empty());
  auto again = OpenEngine(ks.Options());
  EXPECT_EQ(Describe(FsView(es.merged())), Describe(EngineView(*again)));
}

// A node whose name was unlinked or renamed over must never open what now has that name (a
// whiteout: ENXIO; a new file: the wrong data). ESTALE makes the kernel's VFS look the name up
// again, as FUSE opens racing with an unlink need.
TEST_F(OpsTest, NodeOfRemovedNameIsStaleNotItsSuccessor) {
  [[maybe_unused]] auto [es, ks] = MakeTwin(1, [](const Stack& s) {
    PutFile(s.lower(0) + "/f", "lower");
    PutFile(s.lower(0) + "/a", "A");
    PutFile(s.lower(0) + "/b", "B");
  });
  auto u = OpenEngine(es.Options());
  ASSERT_TRUE(u);
  auto f = u->LookupPath(kRoot, "/f");
  auto a = u->LookupPath(kRoot, "/a");
  auto b = u->LookupPath(kRoot, "/b");
  ASSERT_TRUE(f && a && b);
  ASSERT_TRUE(u->Unlink(kRoot, "/f"));  // leaves a whiteout at "f"
  auto h = u->Open(kRoot, f->node, O_WRONLY | O_APPEND);
  EXPECT_FALSE(h);
  if (!h) {
    EXPECT_EQ(h.error(), ESTALE);
  }
  auto nf = u->Open(kRoot, "/f", O_WRONLY | O_CREAT, 0644);  // a new "f"
  ASSERT_TRUE(nf);
  ASSERT_TRUE(u->Release(*nf));
  h = u->Open(kRoot, f->node, O_RDONLY);
  EXPECT_FALSE(h);
  if (!h) {
    EXPECT_EQ(h.error(), ESTALE);
  }

  ASSERT_TRUE(u->Rename(kRoot, "/a", "/b"));
  h = u->Open(kRoot, b->node, O_RDONLY);
  EXPECT_FALSE(h) << "the replaced b";
  if (!h) {
    EXPECT_EQ(h.error(), ESTALE);
  }
  h = u->Open(kRoot, a->node, O_RDONLY);  // the moved a, now at "b"
  ASSERT_TRUE(h);
  char buf[4];
  auto n = u->Read(*h, buf, sizeof(buf), 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf, *n), "A");
  ASSERT_TRUE(u->Release(*h));
}

// Kernel answers that show on some backings only: a plain read would update a lower atime (NP1),
// xfs refuses a rename over a non-empty directory with EEXIST where ext4 and tmpfs say ENOTEMPTY.
class OpsOnBackingTest : public BackingFixture {};

time_t AtimeOf(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_atim.tv_sec : -1;
}

// NP1: a read through the union leaves the lower file's atime alone, as the kernel opens real
// lower files O_NOATIME.
TEST_P(OpsOnBackingTest, LowerReadKeepsLowerAtimeLikeKernel_NP1) {
  constexpr time_t kOld = 946684800;  // 2000-01-01: relatime would update it
  auto [es, ks, u, merged] = OpenTwins(1, [](const Stack& s) {
    std::string f = s.lower(0) + "/f";
    PutFile(f, "data");
    struct timespec ts[2] = {{kOld, 0}, {0, UTIME_OMIT}};
    ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  });
  ASSERT_TRUE(u);
  char buf[8];
  auto h = u->Open(kRoot, "/f", O_RDONLY);
  ASSERT_TRUE(h);
  EXPECT_TRUE(u->Read(*h, buf, sizeof(buf), 0));
  EXPECT_TRUE(u->Release(*h));
  int fd = ::open((merged + "/f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_GT(::read(fd, buf, sizeof(buf)), 0);
  ::close(fd);
  EXPECT_EQ(AtimeOf(ks.lower(0) + "/f"), kOld) << "the kernel's rule";
  EXPECT_EQ(AtimeOf(es.lower(0) + "/f"), kOld);
}

// A rename over a non-empty pure upper dir gets the upper filesystem's own errno, as on the
// kernel (which leaves that check to it); a merged target is checked by the union: ENOTEMPTY.
TEST_P(OpsOnBackingTest, RenameOverNonEmptyDirMatchesKernel) {
  auto [es, ks, u, merged] = OpenTwins(1, [](const Stack& s) {
    PutFile(s.lower(0) + "/m/x", "x");
    PutFile(s.upper() + "/ud/q", "q");
    PutDir(s.upper() + "/e");
  });
  ASSERT_TRUE(u);
  for (const char* target : {"/ud", "/m"}) {
    auto r = u->Rename(kRoot, "/e", target);
    int kernel = ::rename((merged + "/e").c_str(), (merged + target).c_str()) == 0 ? 0 : errno;
    EXPECT_EQ(r ? 0 : r.error(), kernel) << "rename /e " << target;
    EXPECT_NE(kernel, 0) << target << " is not empty";
  }
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));
}

INSTANTIATE_TEST_SUITE_P(Backings, OpsOnBackingTest, TestBackings(), BackingParamName);

}  // namespace
}  // namespace ovlab::unionfs::testing
