#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "base/beneath.h"
#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"

namespace ovlab {
namespace {

TEST(Strings, SplitJoinRoundTrip) {
  auto parts = Split("l/A:l/B::l/C", ':');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(Join(parts, ":"), "l/A:l/B::l/C");
}

TEST(Strings, ParseSizeUnits) {
  EXPECT_EQ(ParseSize("512M"), 512ull << 20);
  EXPECT_EQ(ParseSize("4GiB"), 4ull << 30);
  EXPECT_EQ(ParseSize("65536"), 65536u);
  EXPECT_EQ(ParseSize("12Q"), std::nullopt);
  EXPECT_EQ(ParseSize(""), std::nullopt);
}

TEST(Strings, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
}

TEST(Paths, JoinBaseDir) {
  EXPECT_EQ(JoinPath("/a/", "/b"), "/a/b");
  EXPECT_EQ(BaseName("/x/y/"), "y");
  EXPECT_EQ(DirName("/x/y"), "/x");
  EXPECT_EQ(DirName("y"), ".");
  EXPECT_EQ(DirName("/y"), "/");
}

TEST(Fs, AtomicWriteMakeDirsRemoveTree) {
  auto dir = MakeTempDir("/tmp", "ovlab-base-");
  ASSERT_TRUE(dir) << dir.error().message;
  std::string deep = JoinPath(*dir, "a/b/c");
  ASSERT_TRUE(MakeDirs(deep));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(deep, "f"), "hello", 0600));
  EXPECT_EQ(*ReadFileText(JoinPath(deep, "f")), "hello");
  EXPECT_EQ(LStat(JoinPath(deep, "f"))->st_mode & 07777, 0600u);
  ASSERT_EQ(::symlink("/etc", JoinPath(deep, "etc").c_str()), 0);
  ASSERT_TRUE(RemoveTree(*dir));
  EXPECT_FALSE(PathExists(*dir));
  EXPECT_TRUE(PathExists("/etc/passwd")) << "RemoveTree followed a symlink";
  EXPECT_TRUE(RemoveTree(*dir)) << "a missing path is success";
}

TEST(Fs, MakeDirsOverFileIsNotDir) {
  auto dir = MakeTempDir("/tmp", "ovlab-base-");
  ASSERT_TRUE(dir);
  ASSERT_TRUE(WriteFileAtomic(JoinPath(*dir, "f"), "x"));
  auto st = MakeDirs(JoinPath(*dir, "f/g"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ENOTDIR);
  ASSERT_TRUE(RemoveTree(*dir));
}

TEST(Fs, ListDirFdReadsFromTheStartAndKeepsTheFd) {
  auto dir = MakeTempDir("/tmp", "ovlab-base-");
  ASSERT_TRUE(dir);
  ASSERT_TRUE(WriteFileAtomic(JoinPath(*dir, "a"), "x"));
  ASSERT_TRUE(MakeDirs(JoinPath(*dir, "b")));
  auto fd = OpenPath(*dir, O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(fd);
  for (int round = 0; round < 2; ++round) {
    auto names = ListDirFd(fd->get(), *dir);
    ASSERT_TRUE(names) << names.error().message;
    std::sort(names->begin(), names->end());
    EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  }
  EXPECT_FALSE(ListDirFd(-1, "nothing"));
  ASSERT_TRUE(RemoveTree(*dir));
}

TEST(Fs, AtomicWriteAtReplacesASymlinkAndNeverWritesThroughOne) {
  auto dir = MakeTempDir("/tmp", "ovlab-base-");
  ASSERT_TRUE(dir);
  ASSERT_TRUE(WriteFileAtomic(JoinPath(*dir, "outside"), "keep"));
  ASSERT_TRUE(MakeDirs(JoinPath(*dir, "d")));
  auto d = OpenPath(JoinPath(*dir, "d"), O_PATH | O_DIRECTORY);
  ASSERT_TRUE(d);
  ASSERT_EQ(::symlink("../outside", JoinPath(*dir, "d/f").c_str()), 0);
  std::string tmp = "g.tmp-" + std::to_string(::getpid());
  ASSERT_EQ(::symlink("../outside", JoinPath(*dir, "d/" + tmp).c_str()), 0);
  ASSERT_TRUE(WriteFileAtomicAt(d->get(), "f", "new", 0600));
  ASSERT_TRUE(WriteFileAtomicAt(d->get(), "g", "new", 0600));
  EXPECT_EQ(ReadFileText(JoinPath(*dir, "outside")).value_or(""), "keep");
  EXPECT_EQ(ReadFileText(JoinPath(*dir, "d/f")).value_or(""), "new");
  EXPECT_EQ(ReadFileText(JoinPath(*dir, "d/g")).value_or(""), "new");
  EXPECT_FALSE(PathExists(JoinPath(*dir, "d/" + tmp)));
  ASSERT_TRUE(RemoveTree(*dir));
}

TEST(Beneath, OpensWithinAndRefusesSymlinksAndEscapesNamingThem) {
  auto dir = MakeTempDir("/tmp", "ovlab-base-");
  ASSERT_TRUE(dir);
  ASSERT_TRUE(MakeDirs(JoinPath(*dir, "top/a/b")));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(*dir, "top/a/b/f"), "x"));
  ASSERT_EQ(::symlink("b", JoinPath(*dir, "top/a/s").c_str()), 0);
  ASSERT_EQ(::symlink("/proc/self/cwd", JoinPath(*dir, "top/magic").c_str()), 0);
  auto top = OpenPath(JoinPath(*dir, "top"), O_PATH | O_DIRECTORY);
  ASSERT_TRUE(top);
  EXPECT_TRUE(OpenBeneath(top->get(), "T", "a/b/f", O_RDONLY));
  EXPECT_TRUE(OpenBeneath(top->get(), "T", "", O_RDONLY | O_DIRECTORY)) << "empty: the dir";
  EXPECT_TRUE(OpenBeneath(top->get(), "T", "a/s", O_PATH | O_NOFOLLOW)) << "the link itself";
  auto through = OpenBeneath(top->get(), "T", "a/s/f", O_RDONLY);
  ASSERT_FALSE(through);
  EXPECT_EQ(through.error().code, ELOOP);
  EXPECT_EQ(through.error().message, "T/a/s is a symlink to b, which is not followed here");
  auto at_end = OpenBeneath(top->get(), "T", "a/s", O_RDONLY);
  ASSERT_FALSE(at_end);
  EXPECT_EQ(at_end.error().code, ELOOP);
  EXPECT_FALSE(OpenBeneath(top->get(), "T", "magic/x", O_RDONLY));
  for (const char* escape : {"..", "a/../../top", "/etc/passwd"}) {
    auto r = OpenBeneath(top->get(), "T", escape, O_RDONLY);
    ASSERT_FALSE(r) << escape;
    EXPECT_EQ(r.error().code, EXDEV) << escape;
    EXPECT_NE(r.error().message.find("leads out of T"), std::string::npos) << r.error().message;
  }
  auto missing = OpenBeneath(top->get(), "T", "a/nothing", O_RDONLY);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "open T/a/nothing: No such file or directory");
  ASSERT_TRUE(RemoveTree(*dir));
}

TEST(Process, RunCheckedReportsExitAndLastLine) {
  auto ok = RunChecked({"sh", "-c", "echo hi"});
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "hi\n");
  auto bad = RunChecked({"sh", "-c", "echo first; echo last-line >&2; exit 3"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("exited with 3: last-line"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(RunCommand({"/nonexistent/prog"}));
  EXPECT_TRUE(HaveProgram("sh"));
  EXPECT_FALSE(HaveProgram("no-such-program-ovlab"));
}

}  // namespace
}  // namespace ovlab
