// The launch layer: one argv rule for every daemon, checked on paths, and against the real
// daemons with layer paths holding ',', ':' and '\' (each works, or is refused before the daemon
// starts with the character named).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "base/fs.h"
#include "launch/daemon_process.h"
#include "launch/programs.h"
#include "launch/union_argv.h"
#include "scratch/scratch.h"

namespace ovlab::launch {
namespace {

DaemonCommand Command(Syntax syntax, UnionDirs dirs) {
  DaemonCommand c;
  c.program = "d";
  c.syntax = syntax;
  c.dirs = std::move(dirs);
  c.mountpoint = "/m";
  return c;
}

TEST(DaemonArgvTest, OverlaySyntaxEscapesBackslashCommaAndColon) {
  auto argv = DaemonArgv(Command(Syntax::kOverlay, {{"/a,b", "/c:d"}, "/u\\v", "/w"}));
  ASSERT_TRUE(argv) << argv.error().message;
  EXPECT_EQ(*argv,
            (std::vector<std::string>{"d", "-f", "-o",
                                      "lowerdir=/a\\,b:/c\\:d,upperdir=/u\\\\v,workdir=/w", "/m"}));
}

TEST(DaemonArgvTest, ReadOnlyUnionAndExtraOptions) {
  DaemonCommand c = Command(Syntax::kOverlay, {{"/a", "/b"}, "", ""});
  c.options = {"redirect_dir=on", "allow_other"};
  c.foreground = false;
  auto argv = DaemonArgv(c);
  ASSERT_TRUE(argv) << argv.error().message;
  EXPECT_EQ(*argv, (std::vector<std::string>{"d", "-o",
                                             "lowerdir=/a:/b,redirect_dir=on,allow_other", "/m"}));
}

TEST(DaemonArgvTest, NoColonSyntaxRefusesColonsAndEscapesCommas) {
  auto bad = DaemonArgv(Command(Syntax::kOverlayNoColon, {{"/a:b"}, "/u", "/w"}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("holds ':'"), std::string::npos) << bad.error().message;
  auto ok = DaemonArgv(Command(Syntax::kOverlayNoColon, {{"/a,b"}, "/u", "/w"}));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)[3], "lowerdir=/a\\,b,upperdir=/u,workdir=/w");
}

TEST(DaemonArgvTest, UnionfsSyntaxListsBranchesAndRefusesItsSeparators) {
  auto argv = DaemonArgv(Command(Syntax::kUnionfs, {{"/l1", "/l,2"}, "/u", "/w"}));
  ASSERT_TRUE(argv) << argv.error().message;
  EXPECT_EQ(*argv,
            (std::vector<std::string>{"d", "-f", "-o", "cow", "/u=RW:/l1=RO:/l,2=RO", "/m"}));
  for (std::string bad : {"/a:b", "/a=b"}) {
    auto refused = DaemonArgv(Command(Syntax::kUnionfs, {{bad}, "/u", "/w"}));
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, EINVAL);
  }
}

TEST(DaemonArgvTest, BadShapesAreRefused) {
  EXPECT_FALSE(DaemonArgv(Command(Syntax::kOverlay, {{}, "/u", "/w"})));
  EXPECT_FALSE(DaemonArgv(Command(Syntax::kOverlay, {{"/a"}, "/u", ""})));
  EXPECT_FALSE(DaemonArgv(Command(Syntax::kOverlay, {{""}, "/u", "/w"})));
  DaemonCommand c = Command(Syntax::kOverlay, {{"/a"}, "/u", "/w"});
  c.options = {"a,b"};
  EXPECT_FALSE(DaemonArgv(c));
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.empty()) {
      ::unsetenv(name_);
    } else {
      ::setenv(name_, old_.c_str(), 1);
    }
  }

 private:
  const char* name_;
  std::string old_;
};

TEST(FindProgramTest, TheVariableWinsAndATypoIsAnError) {
  {
    ScopedEnv env("OVLAB_FUSE", "/bin/true");
    auto found = FindProgram(kOvlabFuse);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(*found, "/bin/true");
  }
  ScopedEnv env("OVLAB_FUSE", "/nonexistent/ovlab-fuse");
  auto missing = FindProgram(kOvlabFuse);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("OVLAB_FUSE=/nonexistent/ovlab-fuse"), std::string::npos)
      << missing.error().message;
}

TEST(FindProgramTest, ThisBuildsOvlabFuseIsFound) {
  auto found = FindProgram(kOvlabFuse);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(BaseName(*found), "ovlab-fuse");
  EXPECT_NE(VersionLine(*found, "ovlab-fuse"), "version unknown");
}

struct Daemon {
  Program program;
  Syntax syntax;
};
const Daemon kDaemons[] = {
    {kOvlabFuse, Syntax::kOverlay},
    {{"fuse-overlayfs", "OVLAB_FUSE_OVERLAYFS", "fuse-overlayfs"}, Syntax::kOverlayNoColon},
    {{"unionfs-fuse", "OVLAB_UNIONFS_FUSE", "unionfs-fuse"}, Syntax::kUnionfs},
};

class OddPathTest : public testing::TestWithParam<std::tuple<Daemon, char>> {};

// Every layer path (two lowers, upper, work) holds the character; the union must show the lower
// file and take a new one into the upper, or the argv builder must refuse it up front.
TEST_P(OddPathTest, WorksOrIsRefusedUpFront) {
  auto [daemon, odd] = GetParam();
  auto binary = FindProgram(daemon.program);
  if (!binary) GTEST_SKIP() << binary.error().message;
  scratch::ScratchOptions so;
  so.size_bytes = 64 << 20;
  auto fs = scratch::ScratchFs::Create(so);
  ASSERT_TRUE(fs) << fs.error().message;
  auto dir = [&](const std::string& name) {
    std::string d = JoinPath((*fs)->path(), name + std::string(1, odd) + "x");
    EXPECT_TRUE(MakeDirs(d));
    return d;
  };
  DaemonCommand c;
  c.program = *binary;
  c.syntax = daemon.syntax;
  c.dirs = {{dir("l1"), dir("l2")}, dir("u"), dir("w")};
  c.mountpoint = JoinPath((*fs)->path(), "m");
  ASSERT_TRUE(MakeDirs(c.mountpoint));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(c.dirs.lowers[1], "f"), "bottom"));
  auto argv = DaemonArgv(c);
  bool refusable = (odd == ':' && daemon.syntax != Syntax::kOverlay) ||
                   (odd == '=' && daemon.syntax == Syntax::kUnionfs);
  if (!argv) {
    EXPECT_TRUE(refusable) << argv.error().message;
    EXPECT_NE(argv.error().message.find(std::string("holds '") + odd), std::string::npos);
    return;
  }
  EXPECT_FALSE(refusable) << "expected a refusal for '" << odd << "'";
  auto d = DaemonProcess::Start(*argv, c.mountpoint);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(ReadFileText(JoinPath(c.mountpoint, "f")).value_or("?"), "bottom");
  EXPECT_TRUE(WriteFileAtomic(JoinPath(c.mountpoint, "new"), "top"));
  auto code = (*d)->Unmount();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(ReadFileText(JoinPath(c.dirs.upper, "new")).value_or("?"), "top");
}

INSTANTIATE_TEST_SUITE_P(Daemons, OddPathTest,
                         testing::Combine(testing::ValuesIn(kDaemons),
                                          testing::Values(',', ':', '\\', '=')),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param).program.name;
                           for (char& ch : name) ch = ch == '-' ? '_' : ch;
                           const char* odd = std::get<1>(info.param) == ','    ? "comma"
                                             : std::get<1>(info.param) == ':'  ? "colon"
                                             : std::get<1>(info.param) == '\\' ? "backslash"
                                                                               : "equals";
                           return name + "_" + odd;
                         });

}  // namespace
}  // namespace ovlab::launch
