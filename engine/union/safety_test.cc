// Safety and path walk: a hostile layer (symlinks to host paths, ".." in redirects and names)
// can never make the engine read or write outside the layers; the path walk follows the
// kernel's rules (ELOOP, trailing slashes, O_NOFOLLOW), compared with a kernel overlay.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "base/strings.h"
#include "union/union_test_support.h"

namespace ovlab::unionfs::testing {
namespace {

const Cred kRoot = Cred::Root();

class SafetyTest : public UnionFixture {};

TEST_F(SafetyTest, HostileLayerNeverEscapes) {
  Stack s = MakeStack("s", 2);
  // A host file the layers point at; the engine must never touch it.
  std::string secret = root_ + "/host_secret";
  PutFile(secret, "host data");
  PutDir(root_ + "/host_dir");
  PutFile(root_ + "/host_dir/victim", "victim");
  PutSymlink(s.lower(0) + "/etc", root_ + "/host_dir");  // etc -> /<host>/host_dir
  PutSymlink(s.lower(0) + "/up", "../../../..");         // relative escape attempt
  PutSymlink(s.lower(0) + "/secret", secret);
  PutDir(s.lower(1) + "/d");
  PutFile(s.lower(1) + "/d/f", "layer data");
  PutDir(s.lower(0) + "/r");
  PutXattr(s.lower(0) + "/r", "trusted.overlay.redirect", "/../../host_dir");
  auto u = OpenEngine(s.Options());
  ASSERT_TRUE(u);

  // Absolute symlink targets resolve inside the union: /<host>/host_dir does not exist there.
  EXPECT_EQ(u->Stat(kRoot, "/etc/victim").error(), ENOENT);
  EXPECT_EQ(u->Open(kRoot, "/secret", O_RDONLY).error(), ENOENT);
  // ".." stops at the union root.
  auto st = u->Stat(kRoot, "/up/d/f");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->st_size, 10);
  // Writes through the symlinks create nothing on the host.
  EXPECT_FALSE(u->Open(kRoot, "/etc/victim", O_WRONLY | O_TRUNC));
  EXPECT_FALSE(u->Mkdir(kRoot, "/etc/newdir", 0755));
  EXPECT_FALSE(u->Open(kRoot, "/secret", O_WRONLY | O_CREAT, 0644));
  EXPECT_EQ(ReadText(secret), "host data");
  EXPECT_EQ(ReadText(root_ + "/host_dir/victim"), "victim");
  EXPECT_FALSE(Exists(root_ + "/host_dir/newdir"));
  // A redirect with ".." is refused, not followed.
  EXPECT_FALSE(u->Stat(kRoot, "/r/victim"));
  // Names with '/' or ".." never reach a layer through the node API.
  EXPECT_EQ(u->Lookup(kRoot, kRootNode, "../host_secret").error(), EINVAL);
  EXPECT_EQ(u->Lookup(kRoot, kRootNode, "d/f").error(), EINVAL);
  EXPECT_FALSE(u->Mkdir(kRoot, kRootNode, "a/b", 0755));
  EXPECT_FALSE(u->Symlink(kRoot, kRootNode, "..", "/"));
  // The symlinks themselves read back unchanged.
  auto target = u->ReadLink(kRoot, "/etc");
  ASSERT_TRUE(target);
  EXPECT_EQ(*target, root_ + "/host_dir");
}

TEST_F(SafetyTest, LayerWithSymlinkedDirectoryComponentIsNotFollowed) {
  // A lower whose merged dir is a symlink in one layer and a dir in another: the engine never
  // walks through the symlink inside a layer (openat2 RESOLVE_NO_SYMLINKS).
  auto [es, ks, u, merged] = OpenTwins(2, [this](const Stack& s) {
    PutDir(root_ + "/outside");
    PutFile(root_ + "/outside/leak", "leak");
    PutDir(s.lower(1) + "/dir");
    PutFile(s.lower(1) + "/dir/in", "in");
    PutSymlink(s.lower(0) + "/dir", root_ + "/outside");
  });
  ASSERT_TRUE(u);
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));
  EXPECT_EQ(u->Stat(kRoot, "/dir/leak", AT_SYMLINK_NOFOLLOW).error(), ENOENT);
}

TEST_F(SafetyTest, PathWalkErrorsMatchKernel) {
  auto [es, ks] = MakeTwin(1, [](const Stack& s) {
    PutFile(s.lower(0) + "/file", "f");
    PutDir(s.lower(0) + "/dir");
    PutSymlink(s.lower(0) + "/loop1", "loop2");
    PutSymlink(s.lower(0) + "/loop2", "loop1");
    PutSymlink(s.lower(0) + "/tofile", "file");
    PutSymlink(s.lower(0) + "/todir", "dir");
    PutSymlink(s.lower(0) + "/dangling", "nowhere");
    PutDir(s.lower(0) + "/locked", 0700);
    PutFile(s.lower(0) + "/locked/x", "x");
    std::string chain = s.lower(0) + "/chain";
    for (int i = 0; i < 41; ++i)
      PutSymlink(chain + std::to_string(i), "chain" + std::to_string(i + 1));
    PutFile(chain + "41", "end");
  });
  auto u = OpenEngine(es.Options());
  ASSERT_TRUE(u);
  std::string m = MountKernel(ks);
  ASSERT_FALSE(m.empty());
  struct Case {
    std::string path;
    int flags;
  };
  const std::vector<Case> cases = {
      {"/file", O_RDONLY},
      {"/file/", O_RDONLY},
      {"/file/x", O_RDONLY},
      {"/dir", O_RDONLY},
      {"/dir/", O_RDONLY},
      {"/dir", O_WRONLY},
      {"/loop1", O_RDONLY},
      {"/tofile", O_RDONLY},
      {"/tofile", O_RDONLY | O_NOFOLLOW},
      {"/tofile/", O_RDONLY},
      {"/todir/", O_RDONLY},
      {"/todir", O_RDONLY | O_NOFOLLOW},
      {"/dangling", O_RDONLY},
      {"/missing", O_RDONLY},
      {"/file", O_RDONLY | O_DIRECTORY},
      {"/dir/../file", O_RDONLY},
      {"/chain1", O_RDONLY},
      {"/chain0", O_RDONLY},
      {"/./dir/./", O_RDONLY},
      {"/newfile/", O_WRONLY | O_CREAT},
      {"/dir", O_WRONLY | O_CREAT},
      {"/file", O_CREAT | O_EXCL | O_WRONLY},
  };
  for (const auto& c : cases) {
    int kfd = ::open((m + c.path).c_str(), c.flags | O_CLOEXEC, 0644);
    int kernel = kfd < 0 ? errno : 0;
    if (kfd >= 0) ::close(kfd);
    auto h = u->Open(kRoot, c.path, c.flags, 0644);
    int engine = h ? 0 : h.error();
    if (h) (void)u->Release(*h);
    EXPECT_EQ(ErrnoText(engine), ErrnoText(kernel)) << c.path << " flags " << c.flags;
  }
  // Search permission on the way, for a user.
  const Cred user = Cred::User(1000, 1000);
  int kernel = AsUser(1000, 1000, [&] {
    struct stat st {};
    return ::stat((m + "/locked/x").c_str(), &st) == 0 ? 0 : errno;
  });
  auto st = u->Stat(user, "/locked/x");
  EXPECT_EQ(ErrnoText(st ? 0 : st.error()), ErrnoText(kernel));
}

}  // namespace
}  // namespace ovlab::unionfs::testing
