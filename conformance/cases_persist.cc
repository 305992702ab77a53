// Families "inode" (ID1: st_dev of directories, st_ino stable across copy-up, rename, remount),
// "remount" (changes persist across remount and layer rotation), "copy-up" (CU2 metadata, data
// integrity, HL1), "limits" (LM1: 128 and 500 lowers, one more fails) and "names" (long names
// and paths).
#include <fcntl.h>
#include <limits.h>

#include <gtest/gtest.h>

#include "base/strings.h"
#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

TargetConfig Redirect() {
  TargetConfig c;
  c.redirect_dir = true;
  return c;
}

std::string DevRelation(CaseRun& r, const std::string& p) {
  auto root = r.t().Lstat("/");
  auto st = r.t().Lstat(p);
  if (!root || !st) return "ENOENT";
  return st->st_dev == root->st_dev ? "same" : "different";
}

struct InoCase {
  const char* id;
  const char* path;
  const char* change;  // chmod | write | rename | remount | rotate | link
};

class InodeStability : public ::testing::TestWithParam<InoCase> {};

TEST_P(InodeStability, AcrossChange) {
  InoCase c = GetParam();
  RunCase(
      "inode", "ID1", std::string("st_ino of ") + c.path + " across " + c.change,
      [c](CaseRun& r) {
        std::string p = c.path, change = c.change, after = p;
        auto before = r.t().Lstat(p);
        r.Expect("st_dev of " + p + " vs root", DevRelation(r, p), "same");
        if (change == "chmod") r.Expect("chmod", Res(r.t().Chmod(p, 0700)), "ok");
        if (change == "write") r.Expect("append", r.WriteAt(p, O_WRONLY | O_APPEND, "+"), "ok");
        if (change == "link") r.Expect("link", Res(r.t().Link(p, "/lnk")), "ok");
        if (change == "rename") {
          after = "/renamed";
          r.Expect("rename", Res(r.t().Rename(p, after)), "ok");
        }
        if (change == "remount") {
          if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
        }
        if (change == "rotate") {
          if (auto s = r.Rotate(); !s) r.Note("rotate", s.error().message);
        }
        r.Note("st_ino across " + change, r.SameIno(before, after));
        r.Expect("st_dev after vs root", DevRelation(r, after), "same");
        auto fd = r.t().Open(after, O_RDONLY | O_NONBLOCK);
        if (fd) {
          auto fst = r.t().Fstat(*fd);
          auto lst = r.t().Stat(after);
          r.Expect("fstat ino == stat ino", fst && lst && fst->st_ino == lst->st_ino ? "yes" : "no",
                   "yes");
          (void)r.t().Close(*fd);
        }
      },
      Redirect());
}

const InoCase kInoCases[] = {
    {"lower_file_chmod", "/f", "chmod"},      {"lower_file_write", "/f", "write"},
    {"lower_file_rename", "/f", "rename"},    {"lower_file_remount", "/f", "remount"},
    {"lower_file_link", "/f", "link"},        {"lower_file_rotate", "/f", "rotate"},
    {"upper_file_remount", "/u", "remount"},  {"upper_file_rename", "/u", "rename"},
    {"lower_dir_chmod", "/d", "chmod"},       {"lower_dir_rename", "/d", "rename"},
    {"lower_dir_remount", "/d", "remount"},   {"merged_dir_chmod", "/m", "chmod"},
    {"merged_dir_remount", "/mu", "remount"}, {"symlink_remount", "/s", "remount"},
    {"fifo_chmod", "/fifo", "chmod"},         {"hardlink_chmod", "/h1", "chmod"},
};

INSTANTIATE_TEST_SUITE_P(Inode, InodeStability, ::testing::ValuesIn(kInoCases),
                         [](const auto& info) { return std::string(info.param.id); });

TEST(Inode, HardLinksShareInode) {
  RunCase("inode", "ID1 HL1", "two lower links report one inode until one is copied up",
          [](CaseRun& r) {
            r.Expect("same before", r.SameIno(r.t().Lstat("/h1"), "/h2"), "same");
            r.Expect("append /h1", r.WriteAt("/h1", O_WRONLY | O_APPEND, "+"), "ok");
            r.Note("same after copy-up", r.SameIno(r.t().Lstat("/h1"), "/h2"));
            r.Expect("read /h2", r.ReadAll("/h2"), "linked\n");
          });
}

// Remount and layer rotation: the whole merged view must come back identical.
class Persistence : public ::testing::TestWithParam<bool> {};

TEST_P(Persistence, ViewSurvives) {
  bool rotate = GetParam();
  RunCase(
      "remount", "RN2 WO1 OP1 CU1",
      rotate ? "changes survive the upper becoming a lower" : "changes survive a remount",
      [rotate](CaseRun& r) {
        r.Expect("unlink /f", Res(r.t().Unlink("/f")), "ok");
        r.Expect("write /f2", r.WriteAt("/f2", O_WRONLY | O_TRUNC, "new"), "ok");
        r.Expect("rename /d /d2", Res(r.t().Rename("/d", "/d2")), "ok");
        r.Expect("rm /m/*",
                 Res(r.t().Unlink("/m/x")) + Res(r.t().Unlink("/m/y")) + Res(r.t().Unlink("/m/z")),
                 "okokok");
        r.Expect("rmdir /m", Res(r.t().Rmdir("/m")), "ok");
        r.Expect("mkdir /m", Res(r.t().Mkdir("/m", 0700)), "ok");
        r.Expect("chmod /x", Res(r.t().Chmod("/x", 0600)), "ok");
        r.Expect("symlink /nl", Res(r.t().Symlink("d2/a", "/nl")), "ok");
        r.View("/");
        if (auto s = rotate ? r.Rotate() : r.Remount(); !s) r.Note("remount", s.error().message);
        r.View("/");
        r.Expect("list /m", r.List("/m"), "[]");
        r.Expect("list /d2", r.List("/d2"), "[a b sub]");
        r.Expect("read /nl", r.ReadAll("/nl"), "a\n");
        r.Expect("lstat /f", r.TypeOf("/f"), "ENOENT");
        if (rotate) {
          r.Expect("write after rotation", r.WriteAt("/d2/a", O_WRONLY | O_APPEND, "+"), "ok");
          r.Expect("upper2 /d2/a", r.Placement("/d2/a"), "file");
          if (auto s = r.Rotate(); !s) r.Note("rotate2", s.error().message);
          r.Expect("read /d2/a after 2nd rotation", r.ReadAll("/d2/a"), "a\n+");
        }
      },
      Redirect());
}

INSTANTIATE_TEST_SUITE_P(Remount, Persistence, ::testing::Bool(), [](const auto& info) {
  return std::string(info.param ? "rotation" : "remount");
});

TEST(CopyUp, KeepsOwnerModeTimesXattrs) {
  RunCase("copy-up", "CU2", "metadata of a lower file survives a data copy-up", [](CaseRun& r) {
    struct timespec ts[2] = {{1500000000, 0}, {1500000000, 0}};
    r.Expect("utimens /own", Res(r.t().Utimens("/own", ts, 0)), "ok");
    r.Expect("setxattr /own", Res(r.t().SetXattr("/own", "user.a", "1", 0)), "ok");
    auto before = r.t().Lstat("/own");
    r.Expect("chown back", Res(r.t().Lchown("/own", 1000, 1000)), "ok");
    auto after = r.t().Lstat("/own");
    r.Expect("mtime kept",
             before && after && before->st_mtim.tv_sec == after->st_mtim.tv_sec ? "yes" : "no",
             "yes");
    r.Expect("stat /own", r.StatLine("/own"), "file 0640 1000:1000 size=6 nlink=1");
    r.Expect("xattr kept", Res(r.t().GetXattr("/own", "user.a")), "ok");
  });
}

TEST(CopyUp, SetuidSurvivesCopyUpByRoot) {
  Fixture fx = StandardFixture();
  fx.lowers[1].File("/suid", "s", 04755);
  RunCase(
      "copy-up", "CU2", "a setuid lower file copied up by utimens keeps its mode",
      [](CaseRun& r) {
        r.Expect("utimens", Res(r.t().Utimens("/suid", nullptr, 0)), "ok");
        r.Expect("stat /suid", r.StatLine("/suid"), "file 4755 0:0 size=1 nlink=1");
      },
      {}, fx);
}

TEST(CopyUp, LargeFileDataIntact) {
  std::string data;
  for (int i = 0; i < 200000; ++i) data += static_cast<char>('a' + (i * 7919) % 26);
  Fixture fx = StandardFixture();
  fx.lowers[1].File("/big", data);
  RunCase(
      "copy-up", "CU2", "copy-up of a 200 kB file by appending one byte",
      [data](CaseRun& r) {
        r.Expect("append", r.WriteAt("/big", O_WRONLY | O_APPEND, "!"), "ok");
        r.Expect("content", r.ReadAll("/big") == data + "!" ? "intact" : "corrupt", "intact");
        r.Expect("upper /big", r.Placement("/big"), "file");
      },
      {}, fx);
}

TEST(CopyUp, ReadOnlyAccessNeverCopiesUp) {
  RunCase("copy-up", "CU1", "reads, stats, listings and readlinks leave the upper untouched",
          [](CaseRun& r) {
            r.View("/");
            std::vector<std::string> upper;
            for (const char* p : {"/f", "/d", "/d/a", "/m", "/s", "/x", "/h1", "/fifo", "/opq"})
              upper.push_back(std::string(p) + ":" + r.Placement(p));
            r.Expect("upper after reading everything", Join(upper, " "),
                     "/f:absent /d:absent /d/a:absent /m:absent /s:absent /x:absent /h1:absent "
                     "/fifo:absent /opq:absent");
          });
}

TEST(CopyUp, OpenFdSeesCopyUp) {
  RunCase("copy-up", "NP2 CU1", "a read-only fd opened before another fd copies the file up",
          [](CaseRun& r) {
            auto ro = r.t().Open("/f", O_RDONLY);
            r.Expect("open ro", Res(ro), "ok");
            r.Expect("write via new fd", r.WriteAt("/f", O_WRONLY | O_TRUNC, "NEW"), "ok");
            if (ro) {
              auto data = r.t().Read(*ro, 100);
              r.Note("read via old fd", data ? "\"" + *data + "\"" : Res(data));
              (void)r.t().Close(*ro);
            }
          });
}

Fixture ManyLowers(int n) {
  Fixture fx;
  fx.lowers.assign(n, Layer());
  for (int i = 0; i < n; ++i) {
    fx.lowers[i].File(StrPrintf("/l%03d", i), StrPrintf("%d", i));
    fx.lowers[i].File("/who", StrPrintf("%d", i));
  }
  return fx;
}

class LayerLimit : public ::testing::TestWithParam<int> {};

TEST_P(LayerLimit, Lowers) {
  int n = GetParam();
  RunCase(
      "limits", "LM1 LK2", StrPrintf("%d lower layers, then one more by rotation", n),
      [n](CaseRun& r) {
        auto fd = r.t().Open("/", O_RDONLY | O_DIRECTORY);
        auto entries =
            fd ? r.t().ReadDir(*fd, 0) : SysResult<std::vector<DirEntry>>(SysFail(fd.error()));
        if (fd) (void)r.t().Close(*fd);
        r.Expect("entries in /", entries ? std::to_string(entries->size()) : Res(entries),
                 std::to_string(n + 3));
        r.Expect("top wins", r.ReadAll("/who"), "0");
        r.Expect("bottom visible", r.ReadAll(StrPrintf("/l%03d", n - 1)), std::to_string(n - 1));
        r.Expect("write", r.WriteAt("/new", O_WRONLY | O_CREAT, "x"), "ok");
        auto s = r.Rotate();
        r.Expect(StrPrintf("mount with %d lowers", n + 1), s ? "ok" : "fails",
                 n + 1 > 500 ? "fails" : "ok");
      },
      {}, ManyLowers(n));
}

INSTANTIATE_TEST_SUITE_P(Limits, LayerLimit, ::testing::Values(2, 128, 499, 500));

TEST(Names, LongNames) {
  RunCase("names", "", "255-byte names work, 256 fail; copy-up of a long-named lower file",
          [](CaseRun& r) {
            std::string n255(255, 'n'), n256(256, 'n');
            r.Expect("create 255", r.WriteAt("/" + n255, O_WRONLY | O_CREAT, "x"), "ok");
            r.Expect("create 256", r.WriteAt("/" + n256, O_WRONLY | O_CREAT, "x"), "ENAMETOOLONG");
            r.Expect("mkdir 255 in lower dir", Res(r.t().Mkdir("/d/" + n255, 0755)), "ok");
            r.Expect("rename 255", Res(r.t().Rename("/f", "/d/" + n255 + "/" + n255)), "ok");
            r.Expect("read", r.ReadAll("/d/" + n255 + "/" + n255), "lower-f\n");
          });
}

TEST(Names, LongLowerNamesCopyUp) {
  std::string n255(255, 'L');
  Fixture fx = StandardFixture();
  fx.lowers[1].File("/" + n255 + "/" + n255, "deep");
  RunCase(
      "names", "CU2", "copy-up of a lower file whose name and parent are 255 bytes",
      [n255](CaseRun& r) {
        std::string p = "/" + n255 + "/" + n255;
        r.Expect("append", r.WriteAt(p, O_WRONLY | O_APPEND, "+"), "ok");
        r.Expect("read", r.ReadAll(p), "deep+");
        r.Expect("upper", r.Placement(p), "file");
      },
      {}, fx);
}

TEST(Names, LongRedirect) {
  std::string n200(200, 'r');
  RunCase(
      "names", "RN2", "renaming a lower dir to a path longer than redirect_max",
      [n200](CaseRun& r) {
        r.Expect("mkdir", Res(r.t().Mkdir("/" + n200, 0755)), "ok");
        std::string target = "/" + n200 + "/" + n200;
        r.Note("rename /d to a 402-byte path", Res(r.t().Rename("/d", target)));
        r.Note("list", r.List(target));
        r.Note("list /d", r.List("/d"));
      },
      Redirect());
}

TEST(Names, PathMax) {
  RunCase("names", "", "paths near PATH_MAX through the union", [](CaseRun& r) {
    std::string p;
    std::string seg(200, 'p');
    std::string res = "ok";
    while (p.size() + seg.size() + 1 < 3900 && res == "ok") {
      p += "/" + seg;
      res = Res(r.t().Mkdir(p, 0755));
    }
    r.Expect("deep mkdirs", res, "ok");
    r.Expect("create near PATH_MAX", r.WriteAt(p + "/f", O_WRONLY | O_CREAT, "x"), "ok");
    std::string too_long = p + "/" + std::string(255, 'z') + "/" + std::string(255, 'z');
    r.Expect("beyond PATH_MAX", r.WriteAt(too_long, O_WRONLY | O_CREAT, "x"), "ENAMETOOLONG");
  });
}

}  // namespace
}  // namespace ovlab::conformance
