#include "fuse/command_line.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ovlab::fuse {
namespace {

Result<DaemonConfig> Parse(std::vector<std::string> args) {
  return ParseCommandLine(args);
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(FuseCommandLine, OverlayOptionsBeforeMountPoint) {
  auto c = Parse({"-o", "lowerdir=/a:/b\\:c,upperdir=/u,workdir=/w", "/mnt"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->union_options.lowers, (std::vector<std::string>{"/a", "/b:c"}));
  EXPECT_EQ(c->union_options.upper, "/u");
  EXPECT_EQ(c->union_options.work, "/w");
  EXPECT_EQ(c->mountpoint, "/mnt");
  EXPECT_EQ(c->source, "ovlab-fuse");
  EXPECT_TRUE(c->union_options.redirect_dir) << "redirect_dir defaults to on";
  EXPECT_FALSE(c->union_options.metacopy);
  EXPECT_FALSE(c->foreground);
  EXPECT_TRUE(Has(c->fuse_options, "allow_other")) << "allow_other is on by default";
  EXPECT_TRUE(Has(c->fuse_options, "dev") && Has(c->fuse_options, "suid"))
      << "device nodes and setuid work, as on a kernel overlay";
}

TEST(FuseCommandLine, MountHelperOrderSourceThenMountPointThenOptions) {
  // mount.fuse3 runs: ovlab-fuse SOURCE MOUNTPOINT -o OPTIONS
  auto c = Parse({"mysrc", "/mnt", "-o",
                  "rw,nosuid,nodev,lowerdir=/l,upperdir=/u,workdir=/w,redirect_dir=off,"
                  "metacopy=on,volatile"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->source, "mysrc");
  EXPECT_EQ(c->mountpoint, "/mnt");
  EXPECT_FALSE(c->union_options.redirect_dir);
  EXPECT_TRUE(c->union_options.metacopy);
  EXPECT_TRUE(c->union_options.volatile_);
  EXPECT_TRUE(Has(c->fuse_options, "nosuid"));
  EXPECT_TRUE(Has(c->fuse_options, "nodev"));
  EXPECT_FALSE(Has(c->fuse_options, "dev"));
  EXPECT_FALSE(Has(c->fuse_options, "suid"));
  EXPECT_TRUE(Has(c->fuse_options, "rw"));
}

TEST(FuseCommandLine, FsyncModesAsTheKernel) {
  auto strict = Parse({"-o", "lowerdir=/l,upperdir=/u,workdir=/w,fsync=strict", "/mnt"});
  ASSERT_TRUE(strict) << strict.error().message;
  EXPECT_TRUE(strict->union_options.fsync_strict);
  EXPECT_FALSE(strict->union_options.volatile_);
  auto vol = Parse({"-o", "lowerdir=/l,upperdir=/u,workdir=/w,fsync=volatile", "/mnt"});
  ASSERT_TRUE(vol) << vol.error().message;
  EXPECT_TRUE(vol->union_options.volatile_);
  auto def = Parse({"-o", "lowerdir=/l,upperdir=/u,workdir=/w", "/mnt"});
  ASSERT_TRUE(def) << def.error().message;
  EXPECT_FALSE(def->union_options.fsync_strict || def->union_options.volatile_);
}

TEST(FuseCommandLine, ReadOnlyUnionWithoutUpper) {
  auto c = Parse({"-oro,lowerdir=/a:/b", "/mnt", "-f", "-d"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->union_options.upper.empty());
  EXPECT_TRUE(Has(c->fuse_options, "ro"));
  EXPECT_TRUE(c->foreground);
  EXPECT_TRUE(c->debug);
}

TEST(FuseCommandLine, SpeedOptions) {
  auto c = Parse({"-o",
                  "lowerdir=/l,ovlab_entry_timeout=0,ovlab_attr_timeout=2.5,"
                  "ovlab_writeback_cache=on,ovlab_splice=on,ovlab_max_write=128K,"
                  "ovlab_copy_file_range=off,ovlab_multithread=off,ovlab_readdirplus=off,"
                  "ovlab_allow_other=off,ovlab_copy=read_write",
                  "/mnt"});
  ASSERT_TRUE(c) << c.error().message;
  const auto& s = c->speed;
  EXPECT_EQ(s.entry_timeout, 0.0);
  EXPECT_EQ(s.attr_timeout, 2.5);
  EXPECT_TRUE(s.writeback_cache);
  EXPECT_TRUE(s.splice_read && s.splice_write && s.splice_move);
  EXPECT_EQ(s.max_write, 128u * 1024);
  EXPECT_FALSE(s.copy_file_range);
  EXPECT_FALSE(s.multithread);
  EXPECT_EQ(s.readdirplus, ReaddirPlus::kOff);
  EXPECT_FALSE(Has(c->fuse_options, "allow_other"));
  EXPECT_EQ(c->union_options.copy_strategy, io::CopyStrategy::kReadWrite);
}

TEST(FuseCommandLine, LibfuseArgumentsCarryTypeAndSource) {
  auto c = Parse({"src,x", "/mnt", "-o", "lowerdir=/l,default_permissions"});
  ASSERT_TRUE(c) << c.error().message;
  auto args = LibfuseArguments(*c);
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[1], "-o");
  EXPECT_NE(args[2].find("subtype=ovlab-fuse"), std::string::npos);
  EXPECT_NE(args[2].find("fsname=src\\,x"), std::string::npos);
  EXPECT_NE(args[2].find("default_permissions"), std::string::npos);
}

// Each bad command line fails with a message that names the problem.
struct BadCase {
  std::vector<std::string> args;
  std::string message_part;
};

class FuseCommandLineBad : public testing::TestWithParam<BadCase> {};

TEST_P(FuseCommandLineBad, FailsWithClearMessage) {
  auto c = Parse(GetParam().args);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find(GetParam().message_part), std::string::npos)
      << c.error().message;
  EXPECT_EQ(c.error().message.find('\n'), std::string::npos) << "one line";
}

INSTANTIATE_TEST_SUITE_P(
    All, FuseCommandLineBad,
    testing::Values(BadCase{{"-o", "lowerdir=/l,bogus=1", "/mnt"}, "unknown option \"bogus=1\""},
                    BadCase{{"-o", "lowerdir=/l,userxattr", "/mnt"}, "unknown option"},
                    BadCase{{"-o", "lowerdir=/l,ovlab_nonsense=1", "/mnt"}, "ovlab_nonsense"},
                    BadCase{{"-o", "lowerdir=/l"}, "no mount point"},
                    BadCase{{"-o", "upperdir=/u,workdir=/w", "/mnt"}, "no lowerdir"},
                    BadCase{{"-o", "lowerdir=/l,upperdir=/u", "/mnt"}, "without workdir"},
                    BadCase{{"-o", "lowerdir=/a::/b", "/mnt"}, "empty layer"},
                    BadCase{{"-o", "lowerdir=/l,redirect_dir=maybe", "/mnt"}, "on or off"},
                    BadCase{{"-o", "lowerdir=/l,index=on", "/mnt"}, "index=on"},
                    BadCase{{"-o", "lowerdir=/l,fsync=always", "/mnt"}, "auto, strict or volatile"},
                    BadCase{{"-o", "lowerdir=/l,ovlab_passthrough=on", "/mnt"}, "3.17"},
                    BadCase{{"-o", "lowerdir=/l,ovlab_max_write=8M", "/mnt"}, "ovlab_max_write"},
                    BadCase{{"-o", "lowerdir=/l,subtype=x", "/mnt"}, "subtype"},
                    BadCase{{"-o", "lowerdir=/l", "a", "b", "c"}, "too many arguments"},
                    BadCase{{"-x", "-o", "lowerdir=/l", "/mnt"}, "unknown argument \"-x\""},
                    BadCase{{"/mnt", "-o"}, "-o needs a value"}));

TEST(FuseCommandLine, HelpAndVersionNeedNothingElse) {
  auto h = Parse({"--help"});
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_TRUE(h->show_help);
  auto v = Parse({"--version"});
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_TRUE(v->show_version);
  EXPECT_NE(UsageText().find("lowerdir"), std::string::npos);
}

}  // namespace
}  // namespace ovlab::fuse
