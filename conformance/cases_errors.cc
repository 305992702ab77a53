// Family "errors": which errno a call gets when several apply at once, in the kernel's order
// (fs/namei.c: the path walk left to right, then do_renameat2 / filename_create / do_rmdir /
// do_unlinkat, then vfs_rename / may_delete / may_create, then the overlay's own checks in
// fs/overlayfs/dir.c). Each case sets up one clash (a lower dir that cannot move onto a
// non-empty one, an existing name in a read-only dir, a missing component before a long one)
// and records the single errno the call returns, then that nothing changed.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <functional>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "base/strings.h"
#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

constexpr uid_t kUser = 1000;

// Lower and merged directories (non-empty, empty), files, a read-only directory and a sticky one
// holding root's objects, a directory users cannot search, and an upper-only directory.
Fixture ErrorsFixture() {
  Fixture fx;
  fx.lowers = {Layer(), Layer()};
  Layer& top = fx.lowers[0];
  Layer& bottom = fx.lowers[1];
  bottom.File("/d/a", "a\n")
      .File("/d/sub/c", "c\n")
      .File("/t/k", "k\n")
      .Dir("/e")
      .File("/m/x", "x\n")
      .File("/f", "f\n")
      .File("/g", "g\n")
      .Dir("/rodir", 0555)
      .File("/rodir/f", "ro\n")
      .File("/rodir/sub/z", "z\n")
      .Dir("/sticky", 01777)
      .File("/sticky/rootfile", "root\n")
      .File("/sticky/rootdir/r", "r\n")
      .Dir("/nox", 0700)
      .File("/nox/f", "hidden\n");
  top.File("/m/y", "y\n");
  fx.upper.File("/ud/q", "q\n").Dir("/ued");
  return fx;
}

struct ErrorCase {
  const char* id;
  const char* checklist;
  const char* what;
  bool as_user;  // uid/gid 1000 instead of root
  bool redirect_dir;
  std::function<int(Ops&)> op;
  const char* kernel;                  // the kernel's errno (6.18), "ok" for success
  std::vector<const char*> unchanged;  // paths whose listing or type must be as before
};

const std::string kLong(NAME_MAX + 1, 'n');

// open(O_CREAT | O_EXCL) of `path`: 0 or its errno.
int CreateExclusive(Ops& t, const std::string& path) {
  auto fd = t.Open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd) (void)t.Close(*fd);
  return Err(fd);
}

const ErrorCase kCases[] = {
    // rename: ovl_rename refuses a dir it cannot move (EXDEV) before looking at the target's
    // contents; the VFS (vfs_rename: may_delete/may_create) and do_renameat2 (NOREPLACE, the
    // ancestor traps) come before the filesystem.
    {"rename_lower_dir_onto_nonempty_dir",
     "RN1",
     "rename lower /d onto non-empty lower /t",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/t")); },
     "EXDEV",
     {"/d", "/t"}},
    {"rename_merged_dir_onto_nonempty_dir",
     "RN1",
     "rename merged /m onto non-empty lower /t",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/m", "/t")); },
     "EXDEV",
     {"/m", "/t"}},
    {"rename_empty_lower_dir_onto_nonempty_dir",
     "RN1",
     "rename empty lower /e onto /t",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/e", "/t")); },
     "EXDEV",
     {"/e", "/t"}},
    {"rename_lower_dir_onto_nonempty_upper_dir",
     "RN1",
     "rename lower /d onto upper /ud",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/ud")); },
     "EXDEV",
     {"/d", "/ud"}},
    {"rename_upper_dir_onto_nonempty_dir",
     "RN1",
     "rename upper /ued onto non-empty lower /t",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/ued", "/t")); },
     "ENOTEMPTY",
     {"/ued", "/t"}},
    {"rename_lower_dir_onto_nonempty_dir_redirect",
     "RN2",
     "rename lower /d onto non-empty /t, redirect_dir=on",
     false,
     true,
     [](Ops& t) { return Err(t.Rename("/d", "/t")); },
     "ENOTEMPTY",
     {"/d", "/t"}},
    {"rename_lower_dir_onto_file",
     "RN1",
     "rename lower dir /d onto file /f",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/f")); },
     "ENOTDIR",
     {"/d", "/f"}},
    {"rename_file_onto_nonempty_dir",
     "RN1",
     "rename file /f onto non-empty dir /t",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/f", "/t")); },
     "EISDIR",
     {"/f", "/t"}},
    {"rename_noreplace_lower_dir_onto_dir",
     "RN1",
     "RENAME_NOREPLACE /d onto /t",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/t", RENAME_NOREPLACE)); },
     "EEXIST",
     {"/d", "/t"}},
    {"rename_noreplace_file_onto_dir",
     "RN1",
     "RENAME_NOREPLACE /f onto /t",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/f", "/t", RENAME_NOREPLACE)); },
     "EEXIST",
     {"/f", "/t"}},
    {"rename_noreplace_missing_onto_file",
     "RN1",
     "RENAME_NOREPLACE /missing onto /f",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/missing", "/f", RENAME_NOREPLACE)); },
     "ENOENT",
     {"/f"}},
    {"rename_exchange_lower_dir_with_file",
     "RN1",
     "RENAME_EXCHANGE /d and /f",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/f", RENAME_EXCHANGE)); },
     "EXDEV",
     {"/d", "/f"}},
    {"rename_lower_dir_into_itself",
     "RN1",
     "rename /d into /d/sub/x",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/d/sub/x")); },
     "EINVAL",
     {"/d", "/d/sub"}},
    {"rename_subdir_onto_its_ancestor",
     "RN1",
     "rename /d/sub onto its parent /d",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/d/sub", "/d")); },
     "ENOTEMPTY",
     {"/d", "/d/sub"}},
    {"rename_user_lower_dir_onto_nonempty_dir",
     "RN1 PM1",
     "uid 1000: rename /d onto /t",
     true,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/t")); },
     "EACCES",
     {"/d", "/t"}},
    {"rename_user_lower_dir_into_itself",
     "RN1 PM1",
     "uid 1000: rename /d into /d/sub/x",
     true,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/d/sub/x")); },
     "EINVAL",
     {"/d"}},
    {"rename_user_noreplace_onto_dir",
     "RN1 PM1",
     "uid 1000: RENAME_NOREPLACE /d onto /t",
     true,
     false,
     [](Ops& t) { return Err(t.Rename("/d", "/t", RENAME_NOREPLACE)); },
     "EEXIST",
     {"/d", "/t"}},
    {"rename_user_sticky_root_dir",
     "RN1 PM1",
     "uid 1000: rename root's lower dir in sticky dir",
     true,
     false,
     [](Ops& t) { return Err(t.Rename("/sticky/rootdir", "/sticky/mine")); },
     "EPERM",
     {"/sticky"}},
    {"rename_user_sticky_root_file_onto_dir",
     "RN1 PM1",
     "uid 1000: rename root's file in sticky dir onto root's dir",
     true,
     false,
     [](Ops& t) { return Err(t.Rename("/sticky/rootfile", "/sticky/rootdir")); },
     "EPERM",
     {"/sticky"}},
    // rmdir: may_delete (permission, sticky, ENOTDIR) before the filesystem's ENOTEMPTY.
    {"rmdir_nonempty_lower_dir",
     "WO1",
     "rmdir non-empty lower /t",
     false,
     false,
     [](Ops& t) { return Err(t.Rmdir("/t")); },
     "ENOTEMPTY",
     {"/t"}},
    {"rmdir_root",
     "WO1",
     "rmdir /",
     false,
     false,
     [](Ops& t) { return Err(t.Rmdir("/")); },
     "EBUSY",
     {"/"}},
    {"rmdir_dot",
     "WO1",
     "rmdir /d/.",
     false,
     false,
     [](Ops& t) { return Err(t.Rmdir("/d/.")); },
     "EINVAL",
     {"/d"}},
    {"rmdir_dotdot",
     "WO1",
     "rmdir /d/sub/..",
     false,
     false,
     [](Ops& t) { return Err(t.Rmdir("/d/sub/..")); },
     "ENOTEMPTY",
     {"/d"}},
    {"rmdir_user_nonempty_in_readonly_dir",
     "PM1",
     "uid 1000: rmdir non-empty /rodir/sub",
     true,
     false,
     [](Ops& t) { return Err(t.Rmdir("/rodir/sub")); },
     "EACCES",
     {"/rodir"}},
    {"rmdir_user_file_in_readonly_dir",
     "PM1",
     "uid 1000: rmdir file /rodir/f",
     true,
     false,
     [](Ops& t) { return Err(t.Rmdir("/rodir/f")); },
     "EACCES",
     {"/rodir"}},
    {"rmdir_user_sticky_root_dir",
     "PM1",
     "uid 1000: rmdir root's non-empty dir in sticky dir",
     true,
     false,
     [](Ops& t) { return Err(t.Rmdir("/sticky/rootdir")); },
     "EPERM",
     {"/sticky"}},
    // Names that exist in a directory the caller cannot write: creating them is EEXIST (the
    // lookup in filename_create / lookup_open finds them before may_create), removing EACCES.
    {"unlink_user_in_readonly_dir",
     "PM1",
     "uid 1000: unlink /rodir/f",
     true,
     false,
     [](Ops& t) { return Err(t.Unlink("/rodir/f")); },
     "EACCES",
     {"/rodir"}},
    {"unlink_user_dir_in_readonly_dir",
     "PM1",
     "uid 1000: unlink dir /rodir/sub",
     true,
     false,
     [](Ops& t) { return Err(t.Unlink("/rodir/sub")); },
     "EACCES",
     {"/rodir"}},
    {"unlink_lower_dir",
     "WO1",
     "unlink dir /d",
     false,
     false,
     [](Ops& t) { return Err(t.Unlink("/d")); },
     "EISDIR",
     {"/d"}},
    {"mkdir_user_existing_in_readonly_dir",
     "PM1",
     "uid 1000: mkdir /rodir/f",
     true,
     false,
     [](Ops& t) { return Err(t.Mkdir("/rodir/f", 0755)); },
     "EEXIST",
     {"/rodir"}},
    {"link_user_existing_in_readonly_dir",
     "PM1 HL1",
     "uid 1000: link /f to /rodir/f",
     true,
     false,
     [](Ops& t) { return Err(t.Link("/f", "/rodir/f")); },
     "EEXIST",
     {"/rodir"}},
    {"symlink_user_existing_in_readonly_dir",
     "PM1",
     "uid 1000: symlink to /rodir/f",
     true,
     false,
     [](Ops& t) { return Err(t.Symlink("x", "/rodir/f")); },
     "EEXIST",
     {"/rodir"}},
    {"mknod_user_existing_in_readonly_dir",
     "PM1",
     "uid 1000: mknod fifo /rodir/f",
     true,
     false,
     [](Ops& t) { return Err(t.Mknod("/rodir/f", S_IFIFO | 0644, 0)); },
     "EEXIST",
     {"/rodir"}},
    {"open_excl_user_existing_in_readonly_dir",
     "PM1",
     "uid 1000: open O_CREAT|O_EXCL /rodir/f",
     true,
     false,
     [](Ops& t) { return CreateExclusive(t, "/rodir/f"); },
     "EEXIST",
     {"/rodir"}},
    {"open_excl_user_missing_in_readonly_dir",
     "PM1",
     "uid 1000: open O_CREAT|O_EXCL /rodir/new",
     true,
     false,
     [](Ops& t) { return CreateExclusive(t, "/rodir/new"); },
     "EACCES",
     {"/rodir"}},
    // The path walk decides left to right: the first bad component gives the errno.
    {"stat_through_file",
     "LK1",
     "stat /f/x",
     false,
     false,
     [](Ops& t) { return Err(t.Stat("/f/x")); },
     "ENOTDIR",
     {}},
    {"stat_through_missing",
     "LK1",
     "stat /missing/x",
     false,
     false,
     [](Ops& t) { return Err(t.Stat("/missing/x")); },
     "ENOENT",
     {}},
    {"stat_through_file_then_missing",
     "LK1",
     "stat /f/missing/x",
     false,
     false,
     [](Ops& t) { return Err(t.Stat("/f/missing/x")); },
     "ENOTDIR",
     {}},
    {"mkdir_through_file",
     "LK1",
     "mkdir /f/x",
     false,
     false,
     [](Ops& t) { return Err(t.Mkdir("/f/x", 0755)); },
     "ENOTDIR",
     {"/f"}},
    {"mkdir_through_missing",
     "LK1",
     "mkdir /missing/x",
     false,
     false,
     [](Ops& t) { return Err(t.Mkdir("/missing/x", 0755)); },
     "ENOENT",
     {}},
    {"stat_user_unsearchable_missing",
     "PM1",
     "uid 1000: stat /nox/missing",
     true,
     false,
     [](Ops& t) { return Err(t.Stat("/nox/missing")); },
     "EACCES",
     {}},
    {"stat_user_unsearchable_through_file",
     "PM1",
     "uid 1000: stat /nox/f/x",
     true,
     false,
     [](Ops& t) { return Err(t.Stat("/nox/f/x")); },
     "EACCES",
     {}},
    {"stat_long_name_after_missing",
     "LK1",
     "stat /missing/<256 bytes>",
     false,
     false,
     [](Ops& t) { return Err(t.Stat("/missing/" + kLong)); },
     "ENOENT",
     {}},
    {"stat_long_name_then_missing",
     "LK1",
     "stat /<256 bytes>/missing",
     false,
     false,
     [](Ops& t) { return Err(t.Stat("/" + kLong + "/missing")); },
     "ENAMETOOLONG",
     {}},
    {"mkdir_long_name_after_missing",
     "LK1",
     "mkdir /missing/<256 bytes>",
     false,
     false,
     [](Ops& t) { return Err(t.Mkdir("/missing/" + kLong, 0755)); },
     "ENOENT",
     {}},
    {"mkdir_long_name_after_file",
     "LK1",
     "mkdir /f/<256 bytes>",
     false,
     false,
     [](Ops& t) { return Err(t.Mkdir("/f/" + kLong, 0755)); },
     "ENOTDIR",
     {"/f"}},
    {"mkdir_user_long_name_in_readonly_dir",
     "PM1",
     "uid 1000: mkdir /rodir/<256 bytes>",
     true,
     false,
     [](Ops& t) { return Err(t.Mkdir("/rodir/" + kLong, 0755)); },
     "ENAMETOOLONG",
     {"/rodir"}},
    {"rename_long_name_onto_missing_dir",
     "LK1",
     "rename /f onto /missing/<256 bytes>",
     false,
     false,
     [](Ops& t) { return Err(t.Rename("/f", "/missing/" + kLong)); },
     "ENOENT",
     {"/f"}},
    // Private overlay xattrs: the path lookup (ENOENT) comes first, then the VFS's trusted.*
    // rule for users (EPERM to set, ENODATA to read).
    {"setxattr_overlay_on_missing",
     "XA1",
     "setxattr trusted.overlay.x on /missing",
     false,
     false,
     [](Ops& t) { return Err(t.SetXattr("/missing", "trusted.overlay.x", "v", 0)); },
     "ENOENT",
     {}},
    {"setxattr_user_overlay_on_missing",
     "XA1 PM1",
     "uid 1000: setxattr trusted.overlay.x on "
     "/missing",
     true,
     false,
     [](Ops& t) { return Err(t.SetXattr("/missing", "trusted.overlay.x", "v", 0)); },
     "ENOENT",
     {}},
    {"setxattr_user_overlay_on_lower_file",
     "XA1 PM1",
     "uid 1000: setxattr trusted.overlay.x on "
     "/f",
     true,
     false,
     [](Ops& t) { return Err(t.SetXattr("/f", "trusted.overlay.x", "v", 0)); },
     "EPERM",
     {"/f"}},
    {"getxattr_user_overlay_on_lower_file",
     "XA1 PM1",
     "uid 1000: getxattr trusted.overlay.x on "
     "/f",
     true,
     false,
     [](Ops& t) { return Err(t.GetXattr("/f", "trusted.overlay.x")); },
     "ENODATA",
     {"/f"}},
    {"removexattr_overlay_missing_name",
     "XA1",
     "removexattr trusted.overlay.x on /f",
     false,
     false,
     [](Ops& t) { return Err(t.RemoveXattr("/f", "trusted.overlay.x")); },
     "ENODATA",
     {"/f"}},
};

// GoogleTest names a failed parameter by this, not by its bytes.
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.id;
}

class Errors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(Errors, Precedence) {
  const ErrorCase& c = GetParam();
  TargetConfig config;
  config.redirect_dir = c.redirect_dir;
  RunCase(
      "errors", c.checklist, c.what,
      [&c](CaseRun& r) {
        std::vector<std::string> before;
        for (const char* p : c.unchanged) before.push_back(r.TypeOf(p) + " " + r.List(p));
        std::string got = c.as_user ? r.As(kUser, kUser, c.op) : ErrnoName(c.op(r.t()));
        r.Expect(c.what, got, c.kernel);
        for (size_t i = 0; i < c.unchanged.size(); ++i) {
          const std::string p = c.unchanged[i];
          r.Expect("unchanged " + p, r.TypeOf(p) + " " + r.List(p), before[i]);
          r.Note("upper " + p, r.Placement(p));
        }
      },
      config, ErrorsFixture());
}

INSTANTIATE_TEST_SUITE_P(Errors, Errors, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.id); });

}  // namespace
}  // namespace ovlab::conformance
