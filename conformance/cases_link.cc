// Family "link": hard links of lower, upper and hard-linked files, symlinks, special files and
// directories; link copies the source up (CU1) and then shares one upper inode.
#include <fcntl.h>

#include <gtest/gtest.h>

#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

struct LinkSource {
  const char* id;
  const char* path;
  const char* want;  // documented link(2) result
  bool lower;        // copied up by link
};

const LinkSource kLinkSources[] = {
    {"lower_file", "/f", "ok", true},
    {"upper_file", "/u", "ok", false},
    {"upper_over_lower", "/cu", "ok", false},
    {"hardlinked_lower", "/h1", "ok", true},
    {"symlink", "/s", "ok", true},
    {"dangling_symlink", "/dangle", "ok", true},
    {"symlink_to_dir", "/sd", "ok", true},
    {"fifo", "/fifo", "ok", true},
    {"chardev", "/cdev", "ok", true},
    {"lower_dir", "/d", "EPERM", false},
    {"upper_dir", "/ud", "EPERM", false},
    {"missing", "/nope", "ENOENT", false},
    {"whiteout", "/wh", "ENOENT", false},
    {"file_slash", "/f/", "ENOTDIR", false},
};

struct LinkDest {
  const char* id;
  const char* path;
};

const LinkDest kLinkDests[] = {
    {"root", "/ln"},
    {"lower_dir", "/d/ln"},
    {"over_whiteout", "/wh"},
};

using LinkParam = std::tuple<LinkSource, LinkDest>;
class Link : public ::testing::TestWithParam<LinkParam> {};

TEST_P(Link, Make) {
  const auto& [src, dst] = GetParam();
  RunCase("link", "CU1 HL1", std::string("link ") + src.path + " " + dst.path,
          [src, dst](CaseRun& r) {
            std::string s = src.path, d = dst.path;
            std::string got = Res(r.t().Link(s, d));
            r.Expect("link " + s + " " + d, got, src.want);
            if (got != "ok") {
              r.Expect("lstat " + d, r.TypeOf(d), "ENOENT");
              return;
            }
            if (src.lower) {
              std::string placed = r.Placement(s);
              r.Expect("upper " + s + " copied up", placed == "absent" ? "no" : "yes", "yes");
            }
            r.Note("upper " + d, r.Placement(d));
            r.Note("stat " + s, r.StatLine(s));
            r.Note("stat " + d, r.StatLine(d));
            r.Expect("same inode", r.SameIno(r.t().Lstat(s), d), "same");
            r.Note("content " + d, r.ReadAll(d));
            r.Expect("unlink " + s, Res(r.t().Unlink(s)), "ok");
            r.Note("stat after unlink " + d, r.StatLine(d));
          });
}

INSTANTIATE_TEST_SUITE_P(Link, Link,
                         ::testing::Combine(::testing::ValuesIn(kLinkSources),
                                            ::testing::ValuesIn(kLinkDests)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).id) + "_to_" +
                                  std::get<1>(info.param).id;
                         });

TEST(Link, ErrorsOnDestination) {
  RunCase("link", "", "link onto existing, missing-parent and slashed names", [](CaseRun& r) {
    r.Expect("link /f /f2", Res(r.t().Link("/f", "/f2")), "EEXIST");
    r.Expect("link /f /d", Res(r.t().Link("/f", "/d")), "EEXIST");
    r.Expect("link /f /nodir/x", Res(r.t().Link("/f", "/nodir/x")), "ENOENT");
    r.Expect("link /f /new/", Res(r.t().Link("/f", "/new/")), "ENOENT");
    r.Expect("upper /f", r.Placement("/f"), "absent");
  });
}

TEST(Link, WriteThroughEitherName) {
  RunCase("link", "CU1 HL1", "after link, a write through one name shows through the other",
          [](CaseRun& r) {
            r.Expect("link /f /ln", Res(r.t().Link("/f", "/ln")), "ok");
            r.Expect("append /ln", r.WriteAt("/ln", O_WRONLY | O_APPEND, "x\n"), "ok");
            r.Expect("read /f", r.ReadAll("/f"), "lower-f\nx\n");
            if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
            r.Expect("read /f after remount", r.ReadAll("/f"), "lower-f\nx\n");
            r.Note("stat /f", r.StatLine("/f"));
          });
}

}  // namespace
}  // namespace ovlab::conformance
