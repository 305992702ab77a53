// Family "metacopy" (MC1): with metacopy=on a metadata change copies up only the metadata (the
// upper file carries trusted.overlay.metacopy and no data); the data follows on the first open
// for write. The kernel needs redirect_dir=on with metacopy=on; a kernel that refuses the
// mount skips the case with its reason.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "base/fs.h"

#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

// "yes"/"no": the upper copy of `p` carries trusted.overlay.metacopy (read in the layer).
std::string UpperMetacopy(CaseRun& r, const std::string& p) {
  std::string real = r.layers().upper + p;
  if (::lgetxattr(real.c_str(), "trusted.overlay.metacopy", nullptr, 0) >= 0) return "yes";
  return errno == ENODATA ? "no" : ErrnoName(errno);
}

// The upper copy's own content, read in the layer: "holes" (all zero bytes, as a metacopy
// upper is a sparse file of the lower's size), "empty", or the data. (st_blocks cannot tell:
// ext4 counts an external xattr block in it.)
std::string UpperData(CaseRun& r, const std::string& p) {
  auto data = ReadFileText(r.layers().upper + p);
  if (!data) return "unreadable";
  if (data->empty()) return "empty";
  if (data->find_first_not_of('\0') == std::string::npos) return "holes";
  return "\"" + *data + "\"";
}

struct MetaOp {
  const char* id;
  const char* want_metacopy;  // documented for chmod/chown; "" = observed only
};

const MetaOp kMetaOps[] = {
    {"chmod", "yes"}, {"lchown", "yes"}, {"utimens", ""}, {"setxattr", ""}, {"truncate", ""},
};

class Metacopy : public ::testing::TestWithParam<MetaOp> {};

TEST_P(Metacopy, MetadataOnlyThenData) {
  MetaOp op = GetParam();
  CaseDef def;
  def.family = "metacopy";
  def.checklist = "MC1 CU1";
  def.description = std::string("metacopy=on: ") + op.id + " on a lower file, then a write";
  def.config.redirect_dir = true;
  def.config.metacopy = true;
  def.kernel_option_needed = "metacopy=on";
  def.body = [op](CaseRun& r) {
    std::string id = op.id;
    std::string got;
    if (id == "chmod") got = Res(r.t().Chmod("/f", 0600));
    if (id == "lchown") got = Res(r.t().Lchown("/f", 1000, 1000));
    if (id == "utimens") {
      const struct timespec times[2] = {{1000, 0}, {2000, 0}};
      got = Res(r.t().Utimens("/f", times, 0));
    }
    if (id == "setxattr") got = Res(r.t().SetXattr("/f", "user.mc", "v", 0));
    if (id == "truncate") got = Res(r.t().Truncate("/f", 3));
    r.Expect(id + " /f", got, "ok");
    r.Expect("upper /f", r.Placement("/f"), "file");
    if (*op.want_metacopy)
      r.Expect("upper /f metacopy", UpperMetacopy(r, "/f"), op.want_metacopy);
    else
      r.Note("upper /f metacopy", UpperMetacopy(r, "/f"));
    r.Note("upper /f data", UpperData(r, "/f"));
    r.Note("stat /f", r.StatLine("/f"));
    r.Note("read /f", r.ReadAll("/f"));
    r.Note("upper /f metacopy after read", UpperMetacopy(r, "/f"));
    r.Expect("append /f", r.WriteAt("/f", O_WRONLY | O_APPEND, "x\n"), "ok");
    r.Expect("upper /f metacopy after write", UpperMetacopy(r, "/f"), "no");
    r.Note("read /f after write", r.ReadAll("/f"));
    if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
    r.Note("read /f after remount", r.ReadAll("/f"));
    r.Note("stat /f after remount", r.StatLine("/f"));
  };
  RunCase(def);
}

INSTANTIATE_TEST_SUITE_P(Metacopy, Metacopy, ::testing::ValuesIn(kMetaOps),
                         [](const auto& info) { return std::string(info.param.id); });

TEST(Metacopy, SurvivesRemountBeforeDataCopy) {
  CaseDef def;
  def.family = "metacopy";
  def.checklist = "MC1";
  def.description = "metacopy=on: a metadata-only copy-up still reads the lower data after remount";
  def.config.redirect_dir = true;
  def.config.metacopy = true;
  def.kernel_option_needed = "metacopy=on";
  def.body = [](CaseRun& r) {
    r.Expect("chmod /f", Res(r.t().Chmod("/f", 0600)), "ok");
    if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
    r.Expect("read /f", r.ReadAll("/f"), "lower-f\n");
    r.Note("stat /f", r.StatLine("/f"));
    r.Expect("upper /f metacopy", UpperMetacopy(r, "/f"), "yes");
  };
  RunCase(def);
}

}  // namespace
}  // namespace ovlab::conformance
