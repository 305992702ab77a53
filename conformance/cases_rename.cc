// Family "rename": files, hard-linked files, symlinks and special files onto new and existing
// names; directories (lower, merged, copied-up, upper, new, opaque) with and without redirect_dir
// (RN1: EXDEV without it; RN2: redirect xattr with it); renames into ancestors and descendants,
// over existing names, over themselves, circular chains, RENAME_NOREPLACE/RENAME_EXCHANGE.
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

struct FileSource {
  const char* id;
  const char* path;
  bool lower;  // something below must be whited out when it moves
};

struct FileDest {
  const char* id;
  const char* path;
};

const FileSource kFileSources[] = {
    {"lower_file", "/f", true},  {"upper_file", "/u", false}, {"upper_over_lower", "/cu", true},
    {"hardlinked", "/h1", true}, {"symlink", "/s", true},     {"dangling_symlink", "/dangle", true},
    {"fifo", "/fifo", true},     {"chardev", "/cdev", true},  {"top_lower_file", "/top", true},
};

const FileDest kFileDests[] = {
    {"new_name", "/new"},           {"over_lower_file", "/f2"},  {"over_upper_file", "/ud/q"},
    {"into_lower_dir", "/d/moved"}, {"into_merged_dir", "/m/y"}, {"over_whiteout", "/wh"},
};

using FileRenameParam = std::tuple<FileSource, FileDest>;
class FileRename : public ::testing::TestWithParam<FileRenameParam> {};

TEST_P(FileRename, Move) {
  const auto& [src, dst] = GetParam();
  RunCase("rename", "WO1 CU1 HL1", std::string("rename ") + src.path + " -> " + dst.path,
          [src, dst](CaseRun& r) {
            std::string before = r.StatLine(src.path);
            r.Expect(std::string("rename ") + src.path + " " + dst.path,
                     Res(r.t().Rename(src.path, dst.path)), "ok");
            r.Expect(std::string("lstat ") + src.path, r.TypeOf(src.path), "ENOENT");
            r.Expect(std::string("upper ") + src.path, r.Placement(src.path),
                     src.lower ? "whiteout" : "absent");
            // Without index, copy-up (which rename does) breaks a lower hard link (HL1).
            if (std::string(src.id) == "hardlinked")
              before = before.replace(before.find("nlink=2"), 7, "nlink=1");
            r.Expect(std::string("moved ") + dst.path, r.StatLine(dst.path), before);
            r.Note(std::string("upper ") + dst.path, r.Placement(dst.path));
            r.Note(std::string("content ") + dst.path, r.ReadAll(dst.path));
            r.Note("list " + DirName(dst.path), r.List(DirName(dst.path)));
            if (std::string(src.id) == "hardlinked") r.Note("stat /h2", r.StatLine("/h2"));
          });
}

INSTANTIATE_TEST_SUITE_P(Rename, FileRename,
                         ::testing::Combine(::testing::ValuesIn(kFileSources),
                                            ::testing::ValuesIn(kFileDests)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).id) + "_to_" +
                                  std::get<1>(info.param).id;
                         });

struct DirSource {
  const char* id;
  const char* path;
  const char* prepare;  // "chmod": copy it up first; "mkdir": make it new
  bool has_lower;       // lower content: EXDEV without redirect_dir
  const char* listing;
};

const DirSource kDirSources[] = {
    {"lower_dir", "/d", "", true, "[a b sub]"},
    {"lower_subdir", "/d/sub", "", true, "[c]"},
    {"merged_lowers", "/m", "", true, "[x y z]"},
    {"merged_with_upper", "/mu", "", true, "[v x]"},
    {"copied_up", "/d", "chmod", true, "[a b sub]"},
    {"opaque_lower", "/opq", "", true, "[new]"},
    {"upper_only", "/ud", "", false, "[q]"},
    {"new_dir", "/nd", "mkdir", false, "[]"},
};

struct DirDest {
  const char* id;
  const char* path;
};

const DirDest kDirDests[] = {
    {"new_name", "/moved"},
    {"into_merged_upper_dir", "/mu/moved"},
    {"into_lower_dir", "/pubdir/moved"},
};

using DirRenameParam = std::tuple<DirSource, DirDest, bool>;
class DirRename : public ::testing::TestWithParam<DirRenameParam> {};

TEST_P(DirRename, Move) {
  const auto& [src, dst, redirect] = GetParam();
  TargetConfig config;
  config.redirect_dir = redirect;
  RunCase(
      "rename", redirect ? "RN2 WO1" : "RN1",
      StrPrintf("rename dir %s -> %s, redirect_dir=%s", src.path, dst.path,
                redirect ? "on" : "off"),
      [src, dst, redirect](CaseRun& r) {
        std::string s = src.path, d = dst.path;
        if (std::string(src.prepare) == "chmod")
          r.Expect("chmod " + s, Res(r.t().Chmod(s, 0750)), "ok");
        if (std::string(src.prepare) == "mkdir")
          r.Expect("mkdir " + s, Res(r.t().Mkdir(s, 0755)), "ok");
        std::string want = (src.has_lower && !redirect) ? "EXDEV" : "ok";
        if (StartsWith(d, s + "/")) want = "EINVAL";  // into its own subtree
        std::string got = Res(r.t().Rename(s, d));
        r.Expect("rename " + s + " " + d, got, want);
        if (got == "ok") {
          r.Expect("list " + d, r.List(d), src.listing);
          r.Expect("lstat " + s, r.TypeOf(s), "ENOENT");
          r.Expect("upper " + s, r.Placement(s), src.has_lower ? "whiteout" : "absent");
          std::string placed = r.Placement(d);
          r.Note("upper " + d, placed);
          if (src.has_lower)
            r.Expect("upper " + d + " has redirect",
                     placed.find("redirect=") != std::string::npos ? "yes" : "no", "yes");
          // The moved directory must keep its lower contents after a remount (redirect followed).
          if (auto st = r.Remount(); !st) r.Note("remount", st.error().message);
          r.Expect("list after remount " + d, r.List(d), src.listing);
          r.Expect("lstat after remount " + s, r.TypeOf(s), "ENOENT");
          // The old name is free again: a new directory there is empty.
          r.Expect("mkdir " + s, Res(r.t().Mkdir(s, 0755)), "ok");
          r.Expect("list new " + s, r.List(s), "[]");
        } else {
          r.Expect("list " + s, r.List(s), src.listing);
          r.Expect("lstat " + d, r.TypeOf(d), "ENOENT");
        }
      },
      config);
}

INSTANTIATE_TEST_SUITE_P(Rename, DirRename,
                         ::testing::Combine(::testing::ValuesIn(kDirSources),
                                            ::testing::ValuesIn(kDirDests), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).id) + "_to_" +
                                  std::get<1>(info.param).id +
                                  (std::get<2>(info.param) ? "_redirect_on" : "_redirect_off");
                         });

TargetConfig Redirect(bool on) {
  TargetConfig c;
  c.redirect_dir = on;
  return c;
}

TEST(Rename, IntoOwnDescendantIsEinval) {
  RunCase(
      "rename", "", "rename a directory into itself",
      [](CaseRun& r) {
        r.Expect("rename /ud /ud/x", Res(r.t().Rename("/ud", "/ud/x")), "EINVAL");
        r.Expect("rename /d /d/sub/x", Res(r.t().Rename("/d", "/d/sub/x")), "EINVAL");
        r.Expect("rename /d/sub /d/sub/c/x", Res(r.t().Rename("/d/sub", "/d/sub/c/x")), "ENOTDIR");
      },
      Redirect(true));
}

TEST(Rename, IntoAncestors) {
  RunCase(
      "rename", "RN2 WO1", "rename files and dirs into their ancestors",
      [](CaseRun& r) {
        r.Expect("rename /d/sub/c /d/c", Res(r.t().Rename("/d/sub/c", "/d/c")), "ok");
        r.Expect("rename /d/c /c", Res(r.t().Rename("/d/c", "/c")), "ok");
        r.Expect("rename /d/sub /sub", Res(r.t().Rename("/d/sub", "/sub")), "ok");
        r.Expect("list /d", r.List("/d"), "[a b]");
        r.Expect("list /sub", r.List("/sub"), "[]");
        r.Expect("read /c", r.ReadAll("/c"), "c\n");
        r.Note("upper /sub", r.Placement("/sub"));
        r.Note("upper /d/sub", r.Placement("/d/sub"));
        if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
        r.Expect("list / has sub after remount", r.List("/sub"), "[]");
        r.View("/d");
      },
      Redirect(true));
}

TEST(Rename, DirUpAndBackDown) {
  RunCase(
      "rename", "RN2", "a lower dir moved to a sibling's child and back",
      [](CaseRun& r) {
        r.Expect("rename /d /pubdir/d", Res(r.t().Rename("/d", "/pubdir/d")), "ok");
        r.Expect("rename /pubdir/d /d", Res(r.t().Rename("/pubdir/d", "/d")), "ok");
        r.Expect("list /d", r.List("/d"), "[a b sub]");
        r.Note("upper /d", r.Placement("/d"));
        if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
        r.Expect("list /d after remount", r.List("/d"), "[a b sub]");
        r.Expect("list /pubdir after remount", r.List("/pubdir"), "[]");
      },
      Redirect(true));
}

TEST(Rename, OverExistingNames) {
  RunCase(
      "rename", "", "file over dir, dir over file, dir over empty and non-empty dirs",
      [](CaseRun& r) {
        r.Expect("rename /u /ud", Res(r.t().Rename("/u", "/ud")), "EISDIR");
        r.Expect("rename /ud /u", Res(r.t().Rename("/ud", "/u")), "ENOTDIR");
        r.Expect("mkdir /e1", Res(r.t().Mkdir("/e1", 0755)), "ok");
        // rename(2) allows ENOTEMPTY or EEXIST for a non-empty target; for a target only in the
        // upper layer the kernel lets the upper filesystem answer (xfs: EEXIST).
        std::string over_ud = Res(r.t().Rename("/e1", "/ud"));
        r.Note("rename /e1 /ud errno", over_ud);
        r.Expect("rename /e1 /ud", over_ud == "EEXIST" ? "ENOTEMPTY" : over_ud, "ENOTEMPTY");
        r.Expect("mkdir /e2", Res(r.t().Mkdir("/e2", 0755)), "ok");
        r.Expect("rename /ud /e2", Res(r.t().Rename("/ud", "/e2")), "ok");
        r.Expect("list /e2", r.List("/e2"), "[q]");
        r.Expect("rename /e1 /m", Res(r.t().Rename("/e1", "/m")), "ENOTEMPTY");
        r.Expect("rename /e2/q /d", Res(r.t().Rename("/e2/q", "/d")), "EISDIR");
      },
      Redirect(true));
}

TEST(Rename, OverEmptiedLowerDir) {
  RunCase("rename", "OP1 WO1", "a new dir renamed over a lower dir whose entries were removed",
          [](CaseRun& r) {
            for (const char* p : {"/m/x", "/m/y", "/m/z"})
              r.Note(std::string("unlink ") + p, Res(r.t().Unlink(p)));
            r.Expect("mkdir /nd", Res(r.t().Mkdir("/nd", 0755)), "ok");
            r.Expect("create /nd/k", r.WriteAt("/nd/k", O_WRONLY | O_CREAT, "k"), "ok");
            r.Expect("rename /nd /m", Res(r.t().Rename("/nd", "/m")), "ok");
            r.Expect("list /m", r.List("/m"), "[k]");
            r.Note("upper /m", r.Placement("/m"));
            if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
            r.Expect("list /m after remount", r.List("/m"), "[k]");
          });
}

TEST(Rename, OntoItself) {
  RunCase("rename", "CU1", "rename of a name onto itself and onto another link of it",
          [](CaseRun& r) {
            r.Expect("rename /f /f", Res(r.t().Rename("/f", "/f")), "ok");
            r.Expect("upper /f", r.Placement("/f"), "absent");
            r.Expect("rename /d /d", Res(r.t().Rename("/d", "/d")), "ok");
            r.Expect("rename /u /u", Res(r.t().Rename("/u", "/u")), "ok");
            r.Note("rename /h1 /h2", Res(r.t().Rename("/h1", "/h2")));
            r.Note("list /", r.List("/"));
            r.Note("stat /h2", r.StatLine("/h2"));
          });
}

TEST(Rename, CircularChainOfFiles) {
  RunCase("rename", "WO1", "a -> tmp, b -> a, tmp -> b on lower files", [](CaseRun& r) {
    r.Expect("rename /f /tmp", Res(r.t().Rename("/f", "/tmp")), "ok");
    r.Expect("rename /f2 /f", Res(r.t().Rename("/f2", "/f")), "ok");
    r.Expect("rename /tmp /f2", Res(r.t().Rename("/tmp", "/f2")), "ok");
    r.Expect("read /f", r.ReadAll("/f"), "lower-f2\n");
    r.Expect("read /f2", r.ReadAll("/f2"), "lower-f\n");
    r.Expect("upper /tmp", r.Placement("/tmp"), "absent");
    if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
    r.Expect("read /f after remount", r.ReadAll("/f"), "lower-f2\n");
  });
}

TEST(Rename, CircularChainOfDirs) {
  RunCase(
      "rename", "RN2", "d -> tmp, m -> d, tmp -> m with redirect_dir",
      [](CaseRun& r) {
        r.Expect("rename /d /tmp", Res(r.t().Rename("/d", "/tmp")), "ok");
        r.Expect("rename /m /d", Res(r.t().Rename("/m", "/d")), "ok");
        r.Expect("rename /tmp /m", Res(r.t().Rename("/tmp", "/m")), "ok");
        r.Expect("list /d", r.List("/d"), "[x y z]");
        r.Expect("list /m", r.List("/m"), "[a b sub]");
        r.Note("upper /d", r.Placement("/d"));
        r.Note("upper /m", r.Placement("/m"));
        if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
        r.Expect("list /d after remount", r.List("/d"), "[x y z]");
        r.Expect("list /m after remount", r.List("/m"), "[a b sub]");
        r.Expect("read /m/sub/c", r.ReadAll("/m/sub/c"), "c\n");
      },
      Redirect(true));
}

TEST(Rename, ChainOfDirRenamesThenRotation) {
  RunCase(
      "rename", "RN2", "d -> e -> g/h, then the upper becomes a lower",
      [](CaseRun& r) {
        r.Expect("rename /d /e", Res(r.t().Rename("/d", "/e")), "ok");
        r.Expect("mkdir /g", Res(r.t().Mkdir("/g", 0755)), "ok");
        r.Expect("rename /e /g/h", Res(r.t().Rename("/e", "/g/h")), "ok");
        r.Note("upper /g/h", r.Placement("/g/h"));
        if (auto s = r.Rotate(); !s) r.Note("rotate", s.error().message);
        r.Expect("list /g/h after rotation", r.List("/g/h"), "[a b sub]");
        r.Expect("lstat /d after rotation", r.TypeOf("/d"), "ENOENT");
      },
      Redirect(true));
}

TEST(Rename, NoreplaceAndExchange) {
  RunCase(
      "rename", "WO1", "RENAME_NOREPLACE and RENAME_EXCHANGE on lower and upper names",
      [](CaseRun& r) {
        r.Expect("noreplace /f /f2", Res(r.t().Rename("/f", "/f2", RENAME_NOREPLACE)), "EEXIST");
        r.Expect("noreplace /f /wh", Res(r.t().Rename("/f", "/wh", RENAME_NOREPLACE)), "ok");
        r.Expect("read /wh", r.ReadAll("/wh"), "lower-f\n");
        r.Expect("exchange /u /f2", Res(r.t().Rename("/u", "/f2", RENAME_EXCHANGE)), "ok");
        r.Expect("read /u", r.ReadAll("/u"), "lower-f2\n");
        r.Expect("read /f2", r.ReadAll("/f2"), "upper-u\n");
        r.Expect("exchange /u /nope", Res(r.t().Rename("/u", "/nope", RENAME_EXCHANGE)), "ENOENT");
        r.Note("whiteout flag", Res(r.t().Rename("/u", "/u9", RENAME_WHITEOUT)));
        r.Note("upper /f2", r.Placement("/f2"));
      });
}

TEST(Rename, ExchangeDirs) {
  RunCase(
      "rename", "RN2", "RENAME_EXCHANGE of a lower dir and an upper dir",
      [](CaseRun& r) {
        r.Note("exchange /d /ud", Res(r.t().Rename("/d", "/ud", RENAME_EXCHANGE)));
        r.Note("list /d", r.List("/d"));
        r.Note("list /ud", r.List("/ud"));
      },
      Redirect(true));
}

TEST(Rename, TrailingSlashes) {
  RunCase(
      "rename", "", "rename with trailing slashes on files and dirs",
      [](CaseRun& r) {
        r.Expect("rename /f/ /g", Res(r.t().Rename("/f/", "/g")), "ENOTDIR");
        r.Expect("rename /f /g/", Res(r.t().Rename("/f", "/g/")), "ENOTDIR");
        r.Expect("rename /ud/ /ud2/", Res(r.t().Rename("/ud/", "/ud2/")), "ok");
        r.Expect("rename /d/ /d2", Res(r.t().Rename("/d/", "/d2")), "ok");
        r.Expect("list /d2", r.List("/d2"), "[a b sub]");
      },
      Redirect(true));
}

TEST(Rename, MissingAndWhitedOutSources) {
  RunCase("rename", "WO1", "rename of missing, whited-out and opaque-hidden names", [](CaseRun& r) {
    r.Expect("rename /nope /x2", Res(r.t().Rename("/nope", "/x2")), "ENOENT");
    r.Expect("rename /wh /x2", Res(r.t().Rename("/wh", "/x2")), "ENOENT");
    r.Expect("rename /opq/old /x2", Res(r.t().Rename("/opq/old", "/x2")), "ENOENT");
    r.Expect("rename /alt/gone /x2", Res(r.t().Rename("/alt/gone", "/x2")), "ENOENT");
    r.Expect("rename /f /nodir/x", Res(r.t().Rename("/f", "/nodir/x")), "ENOENT");
  });
}

TEST(Rename, HardlinkedFileKeepsOtherLink) {
  RunCase("rename", "HL1", "renaming one link of a lower hard-linked file", [](CaseRun& r) {
    r.Expect("rename /h1 /hx", Res(r.t().Rename("/h1", "/hx")), "ok");
    r.Expect("read /h2", r.ReadAll("/h2"), "linked\n");
    r.Expect("write /hx", r.WriteAt("/hx", O_WRONLY | O_APPEND, "more\n"), "ok");
    r.Expect("read /hx", r.ReadAll("/hx"), "linked\nmore\n");
    r.Expect("read /h2 after write", r.ReadAll("/h2"), "linked\n");
    r.Note("stat /hx", r.StatLine("/hx"));
    r.Note("stat /h2", r.StatLine("/h2"));
  });
}

}  // namespace
}  // namespace ovlab::conformance
