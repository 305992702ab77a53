// Family "path-ops": every path operation on every kind of name, trailing slashes included.
// Checks the result against the documented POSIX answer on the merged view, and layer placement:
// copy-up exactly for the changing operations (CU1), never for reads or for the symlink itself
// when the operation follows it; unlink writes a whiteout only where a lower name must be hidden
// (WO1).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <string_view>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "conformance/harness.h"
#include "conformance/names.h"

namespace ovlab::conformance {
namespace {

enum class Effect { kNone, kCopyUp, kRemove, kCreateDir };

struct PathOp {
  const char* id;
  bool follows;  // resolves a final symlink
  Effect effect;
  std::string (*run)(CaseRun& r, const std::string& path);
};

std::string DoTruncate(CaseRun& r, const std::string& p) {
  return Res(r.t().Truncate(p, 3));
}
std::string DoUnlink(CaseRun& r, const std::string& p) {
  return Res(r.t().Unlink(p));
}
std::string DoRmdir(CaseRun& r, const std::string& p) {
  return Res(r.t().Rmdir(p));
}
std::string DoReadlink(CaseRun& r, const std::string& p) {
  auto t = r.t().Readlink(p);
  return t ? "-> " + *t : Res(t);
}
std::string DoLstat(CaseRun& r, const std::string& p) {
  return r.StatLine(p, false);
}
std::string DoStat(CaseRun& r, const std::string& p) {
  return r.StatLine(p, true);
}
std::string DoAccess(CaseRun& r, const std::string& p) {
  return Res(r.t().Access(p, W_OK));
}
std::string DoChmod(CaseRun& r, const std::string& p) {
  return Res(r.t().Chmod(p, 0700));
}
std::string DoLchown(CaseRun& r, const std::string& p) {
  return Res(r.t().Lchown(p, 1000, 1000));
}
std::string DoUtimens(CaseRun& r, const std::string& p) {
  struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  return Res(r.t().Utimens(p, ts, 0));
}
std::string DoSetXattr(CaseRun& r, const std::string& p) {
  return Res(r.t().SetXattr(p, "user.k", "v", 0));
}
std::string DoGetXattr(CaseRun& r, const std::string& p) {
  auto v = r.t().GetXattr(p, "user.none");
  return v ? "ok" : Res(v);
}
std::string DoListXattr(CaseRun& r, const std::string& p) {
  auto v = r.t().ListXattr(p);
  return v ? "[" + Join(*v, " ") + "]" : Res(v);
}
std::string DoMkdir(CaseRun& r, const std::string& p) {
  return Res(r.t().Mkdir(p, 0750));
}
std::string DoMknod(CaseRun& r, const std::string& p) {
  return Res(r.t().Mknod(p, S_IFIFO | 0640, 0));
}
std::string DoSymlinkAt(CaseRun& r, const std::string& p) {
  return Res(r.t().Symlink("f", p));
}

const PathOp kPathOps[] = {
    {"truncate", true, Effect::kCopyUp, DoTruncate},
    {"unlink", false, Effect::kRemove, DoUnlink},
    {"rmdir", false, Effect::kRemove, DoRmdir},
    {"readlink", false, Effect::kNone, DoReadlink},
    {"lstat", false, Effect::kNone, DoLstat},
    {"stat", true, Effect::kNone, DoStat},
    {"access_w", true, Effect::kNone, DoAccess},
    {"chmod", true, Effect::kCopyUp, DoChmod},
    {"lchown", false, Effect::kCopyUp, DoLchown},
    {"utimens", true, Effect::kCopyUp, DoUtimens},
    {"lsetxattr", false, Effect::kCopyUp, DoSetXattr},
    {"lgetxattr", false, Effect::kNone, DoGetXattr},
    {"llistxattr", false, Effect::kNone, DoListXattr},
    {"mkdir", false, Effect::kCreateDir, DoMkdir},
    {"mkfifo", false, Effect::kCreateDir, DoMknod},
    {"symlink", false, Effect::kCreateDir, DoSymlinkAt},
};

// The documented errno for ops whose result is ok/errno; "" when the result is data (stat,
// readlink, listxattr), which is compared across targets only.
std::string ExpectedErrno(const PathOp& op, const NameKind& n) {
  std::string id = op.id;
  const bool self_symlink = n.symlink && !op.follows;
  Shape s = n.shape;
  if (self_symlink) s = Shape::kFile;  // the symlink itself is a non-directory that exists
  const bool creates = op.effect == Effect::kCreateDir;
  switch (s) {
    case Shape::kMissingParent:
      return "ENOENT";
    case Shape::kMissingSlash:
      if (id == "mkdir") return "ok";
      return creates ? "ENOENT" : "ENOENT";
    case Shape::kMissing:
    case Shape::kDangling:
      return creates ? "ok" : "ENOENT";
    case Shape::kFileSlash:
      if (creates) return "EEXIST";
      return "ENOTDIR";
    case Shape::kFile:
      if (creates) return "EEXIST";
      if (id == "rmdir") return "ENOTDIR";
      if (id == "readlink" || id == "lstat" || id == "stat" || id == "llistxattr") return "";
      if (id == "lsetxattr" && n.symlink) return "EPERM";
      if (id == "lgetxattr") return "ENODATA";
      return "ok";
    case Shape::kDir:
      if (creates) return "EEXIST";
      if (id == "truncate") return "EISDIR";
      if (id == "unlink") return "EISDIR";
      if (id == "rmdir") return "ENOTEMPTY";
      if (id == "readlink") return "EINVAL";
      if (id == "lstat" || id == "stat" || id == "llistxattr") return "";
      if (id == "lgetxattr") return "ENODATA";
      return "ok";
  }
  return "";
}

// What the upper layer must hold at the changed name afterwards; "" = not asserted.
std::string ExpectedPlacement(const PathOp& op, const NameKind& n, const std::string& path,
                              bool ok) {
  const bool self = n.symlink && !op.follows;
  const bool was_dir = n.shape == Shape::kDir && !self;
  if (!ok) {
    if (n.in_upper && path == n.object) return was_dir ? "dir" : "file";
    return n.in_upper ? "" : "absent";
  }
  switch (op.effect) {
    case Effect::kNone:
      if (n.in_upper) return was_dir ? "dir" : "file";
      return "absent";
    case Effect::kCopyUp:
      if (self) return "";  // symlink copy-up: compared across targets
      return was_dir ? "dir" : "file";
    case Effect::kRemove:
      // Names that exist only in the upper vanish; names with something below become whiteouts.
      return std::string(n.id) == "upper_file" ? "absent" : "whiteout";
    case Effect::kCreateDir:
      return "";
  }
  return "";
}

using PathOpParam = std::tuple<PathOp, NameKind>;

class PathOps : public ::testing::TestWithParam<PathOpParam> {};

TEST_P(PathOps, OnName) {
  const auto& [op, n] = GetParam();
  CaseDef def;
  def.family = "path-ops";
  def.checklist = "CU1 WO1 LK1";
  def.description = std::string(op.id) + " on " + n.path + " (" + n.id + ")";
  def.body = [op, n](CaseRun& r) {
    std::string result = op.run(r, n.path);
    std::string step = std::string(op.id) + " " + n.path;
    std::string want = ExpectedErrno(op, n);
    if (want.empty())
      r.Note(step, result);
    else
      r.Expect(step, result, want);
    const bool self = n.symlink && !op.follows;
    std::string changed = (self || op.effect == Effect::kRemove || op.effect == Effect::kCreateDir)
                              ? std::string(n.path)
                              : std::string(n.object);
    while (changed.size() > 1 && changed.back() == '/') changed.pop_back();
    std::string placed = r.Placement(changed);
    std::string want_place = ExpectedPlacement(op, n, changed, result == "ok");
    if (want_place.empty() || (!want.empty() && result != want))
      r.Note("upper " + changed, placed);
    else
      r.Expect("upper " + changed, placed, want_place);
    if (n.symlink && !self) r.Expect(std::string("upper ") + n.path, r.Placement(n.path), "absent");
    r.Note("after " + changed, r.StatLine(changed));
    r.Note("list " + DirName(changed), r.List(DirName(changed)));
  };
  RunCase(def);
}

void PrintTo(const PathOp& op, std::ostream* os) {
  *os << op.id;
}

std::string PathOpName(const ::testing::TestParamInfo<PathOpParam>& info) {
  return std::string(std::get<0>(info.param).id) + "_" + std::get<1>(info.param).id;
}

INSTANTIATE_TEST_SUITE_P(PathOps, PathOps,
                         ::testing::Combine(::testing::ValuesIn(kPathOps),
                                            ::testing::ValuesIn(AllNameKinds())),
                         PathOpName);

}  // namespace
}  // namespace ovlab::conformance
