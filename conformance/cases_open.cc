// Family "open": every access mode and O_TRUNC/O_CREAT/O_EXCL/O_APPEND/O_NOFOLLOW/O_DIRECTORY/
// O_PATH on every kind of name (lower, upper, missing, whited out, symlinked, directories,
// trailing slashes). Checks the result, the opened object, written data, and that copy-up
// happened exactly when the open asked for write access or truncation (CU1).
#include <fcntl.h>

#include <string_view>

#include <gtest/gtest.h>

#include "conformance/harness.h"
#include "conformance/names.h"

namespace ovlab::conformance {
namespace {

struct OpenFlags {
  const char* id;
  int flags;
};

const OpenFlags kOpenFlags[] = {
    {"RDONLY", O_RDONLY},
    {"WRONLY", O_WRONLY},
    {"RDWR", O_RDWR},
    {"RDONLY_TRUNC", O_RDONLY | O_TRUNC},
    {"WRONLY_TRUNC", O_WRONLY | O_TRUNC},
    {"RDWR_APPEND", O_RDWR | O_APPEND},
    {"RDONLY_APPEND", O_RDONLY | O_APPEND},
    {"RDONLY_CREAT", O_RDONLY | O_CREAT},
    {"WRONLY_CREAT", O_WRONLY | O_CREAT},
    {"RDWR_CREAT_EXCL", O_RDWR | O_CREAT | O_EXCL},
    {"WRONLY_CREAT_TRUNC", O_WRONLY | O_CREAT | O_TRUNC},
    {"RDONLY_NOFOLLOW", O_RDONLY | O_NOFOLLOW},
    {"RDONLY_DIRECTORY", O_RDONLY | O_DIRECTORY},
    {"PATH", O_PATH},
};

bool WantsWrite(int flags) {
  return !(flags & O_PATH) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC));
}

// The documented open(2) result on the merged view.
std::string ExpectedOpen(const NameKind& n, int flags) {
  const bool creat = (flags & O_CREAT) && !(flags & O_PATH);
  const bool excl = creat && (flags & O_EXCL);
  const bool nofollow = flags & O_NOFOLLOW;
  const bool directory = flags & O_DIRECTORY;
  if (creat && std::string_view(n.path).ends_with('/')) return "EISDIR";
  switch (n.shape) {
    case Shape::kMissingParent:
      return "ENOENT";
    case Shape::kMissing:
      return creat ? "ok" : "ENOENT";
    case Shape::kMissingSlash:
      return creat ? "EISDIR" : "ENOENT";
    case Shape::kFileSlash:
      return creat ? "EISDIR" : "ENOTDIR";
    case Shape::kDangling:
      if (excl) return "EEXIST";
      if (nofollow && !(flags & O_PATH)) return "ELOOP";
      if (flags & O_PATH) return nofollow ? "ok" : "ENOENT";
      return creat ? "ok" : "ENOENT";
    case Shape::kFile:
      if (excl) return "EEXIST";
      if (n.symlink && nofollow) return (flags & O_PATH) ? "ok" : "ELOOP";
      if (directory) return "ENOTDIR";
      return "ok";
    case Shape::kDir:
      if (excl) return "EEXIST";
      if (n.symlink && nofollow) return (flags & O_PATH) ? "ok" : "ELOOP";
      if (creat) return "EISDIR";
      if (WantsWrite(flags)) return "EISDIR";
      return "ok";
  }
  return "?";
}

// What the upper layer must hold at `n.object` afterwards.
std::string ExpectedPlacement(const NameKind& n, int flags, bool opened) {
  const bool was_dir = n.shape == Shape::kDir;
  if (n.in_upper) return was_dir ? "dir" : "file";
  if (!opened) return "absent";
  if (n.shape == Shape::kMissing || n.shape == Shape::kDangling) return "file";
  if (n.shape == Shape::kFile && WantsWrite(flags)) return "file";
  return "absent";
}

void PrintTo(const OpenFlags& f, std::ostream* os) {
  *os << f.id;
}

using OpenParam = std::tuple<NameKind, OpenFlags>;

class OpenMatrix : public ::testing::TestWithParam<OpenParam> {};

TEST_P(OpenMatrix, Flags) {
  const auto& [n, f] = GetParam();
  CaseDef def;
  def.family = "open";
  def.checklist = "CU1 LK1 WO1 WO2 OP1";
  def.description = std::string("open ") + n.path + " with " + OpenFlagsName(f.flags);
  def.body = [n, f](CaseRun& r) {
    std::string step = std::string("open ") + n.path + " " + OpenFlagsName(f.flags);
    auto fd = r.t().Open(n.path, f.flags, 0640);
    std::string want = ExpectedOpen(n, f.flags);
    r.Expect(step, Res(fd), want);
    if (fd) {
      if (!(f.flags & O_PATH)) {
        auto st = r.t().Fstat(*fd);
        r.Note("fstat", st ? TypeName(st->st_mode) : Res(st));
      }
      if (WantsWrite(f.flags) && !(f.flags & O_DIRECTORY)) {
        auto w = r.t().Write(*fd, "+W");
        r.Note("write", Res(w));
      }
      (void)r.t().Close(*fd);
    }
    // The placement rule only applies when the kernel result is the documented one.
    r.Expect(
        std::string("upper ") + n.object, r.Placement(n.object),
        want == Res(fd) ? ExpectedPlacement(n, f.flags, fd.has_value()) : r.Placement(n.object));
    if (n.symlink) r.Expect(std::string("upper ") + n.path, r.Placement(n.path), "absent");
    r.Note(std::string("content ") + n.object, r.ReadAll(n.object));
    r.Note(std::string("stat ") + n.object, r.StatLine(n.object));
  };
  RunCase(def);
}

std::string OpenName(const ::testing::TestParamInfo<OpenParam>& info) {
  return std::string(std::get<0>(info.param).id) + "_" + std::get<1>(info.param).id;
}

INSTANTIATE_TEST_SUITE_P(Open, OpenMatrix,
                         ::testing::Combine(::testing::ValuesIn(AllNameKinds()),
                                            ::testing::ValuesIn(kOpenFlags)),
                         OpenName);

}  // namespace
}  // namespace ovlab::conformance
