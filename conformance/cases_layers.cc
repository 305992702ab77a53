// Family "layers": how layers are named and prepared. LK2 layer directories whose names hold
// colons (given as "\:" in lowerdir), and CU2 leftovers of an interrupted copy-up in the work
// directory: never visible, removed at the next mount.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

struct ColonPrefix {
  const char* id;
  const char* prefix;  // lower layer i is <prefix><i>
};

const ColonPrefix kColonPrefixes[] = {
    {"colon_inside", "lay:er"},
    {"leading_colon", ":l"},
    {"double_colon", "l::"},  // unescaped, "::" would mean data-only lowers (6.5+)
};

class EscapedColons : public ::testing::TestWithParam<ColonPrefix> {};

TEST_P(EscapedColons, LowerdirKeepsOrder) {
  ColonPrefix c = GetParam();
  Fixture fx;
  fx.lower_prefix = c.prefix;
  fx.lowers = {Layer(), Layer()};
  fx.lowers[0].File("/a", "top\n").Dir("/d").File("/d/t", "t\n");
  fx.lowers[1].File("/a", "bottom\n").File("/b", "b\n").Dir("/d").File("/d/u", "u\n");
  CaseDef def;
  def.family = "layers";
  def.checklist = "LK2 LK1";
  def.description = std::string("lower layers named '") + c.prefix + "N', escaped as \\:";
  def.fixture = std::move(fx);
  def.body = [](CaseRun& r) {
    r.Expect("list /", r.List("/"), "[a b d]");
    r.Expect("read /a", r.ReadAll("/a"), "top\n");
    r.Expect("list /d", r.List("/d"), "[t u]");
    r.Expect("append /b", r.WriteAt("/b", O_WRONLY | O_APPEND, "x\n"), "ok");
    r.Expect("upper /b", r.Placement("/b"), "file");
    if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
    r.Expect("read /b after remount", r.ReadAll("/b"), "b\nx\n");
    r.View("/");
  };
  RunCase(def);
}

INSTANTIATE_TEST_SUITE_P(Layers, EscapedColons, ::testing::ValuesIn(kColonPrefixes),
                         [](const auto& info) { return std::string(info.param.id); });

// Names of the leftovers a case planted that are still in `dir` ("none" when all are gone).
std::string Remaining(const std::string& dir, const std::vector<std::string>& planted) {
  auto entries = ListDir(dir);
  if (!entries) return "none (no " + BaseName(dir) + ")";
  std::vector<std::string> left;
  for (const auto& name : planted)
    if (std::find(entries->begin(), entries->end(), name) != entries->end()) left.push_back(name);
  return left.empty() ? "none" : "[" + Join(left, " ") + "]";
}

struct Leftover {
  const char* id;
  const char* what;
};

const Leftover kLeftovers[] = {
    {"partial_file", "a half-written copy of /f"},
    {"partial_dir", "a copied-up directory without its rename"},
    {"dir_with_whiteouts", "a directory of whiteouts from an unfinished rmdir"},
    {"whiteout", "a whiteout made for a rename that never happened"},
};

class InterruptedCopyUp : public ::testing::TestWithParam<Leftover> {};

TEST_P(InterruptedCopyUp, LeftoversInvisibleAndCleaned) {
  Leftover l = GetParam();
  RunCase("layers", "CU2", std::string("work/ holds ") + l.what + "; remount", [l](CaseRun& r) {
    std::string id = l.id;
    std::string tmp = JoinPath(r.layers().work, "work");
    (void)MakeDirs(tmp);
    std::string name = "#ovlab-left-" + id;
    std::string real = JoinPath(tmp, name);
    bool made = false;
    if (id == "partial_file") made = WriteFileAtomic(real, "lower-", 0644).has_value();
    // What the kernel itself can leave: one level deep. (A deeper tree is not cleaned: the
    // kernel then mounts read-only, "failed to create directory .../work".)
    if (id == "partial_dir")
      made = MakeDirs(real).has_value() && ::setxattr(real.c_str(), "user.copied", "1", 1, 0) == 0;
    if (id == "dir_with_whiteouts")
      made = MakeDirs(real).has_value() &&
             ::mknod(JoinPath(real, "a").c_str(), S_IFCHR | 0, 0) == 0 &&
             ::mknod(JoinPath(real, "b").c_str(), S_IFCHR | 0, 0) == 0;
    if (id == "whiteout") made = ::mknod(real.c_str(), S_IFCHR | 0, 0) == 0;
    r.Note("plant " + name, made ? "ok" : ErrnoName(errno));
    r.Note("list / before remount", r.List("/"));
    if (auto s = r.Remount(); !s) r.Note("remount", s.error().message);
    r.Expect("work/work leftovers after remount", Remaining(tmp, {name}), "none");
    r.Expect("read /f", r.ReadAll("/f"), "lower-f\n");
    r.Expect("upper /f", r.Placement("/f"), "absent");
    r.Expect("append /f", r.WriteAt("/f", O_WRONLY | O_APPEND, "x\n"), "ok");
    r.Expect("read /f after copy-up", r.ReadAll("/f"), "lower-f\nx\n");
    r.View("/");
  });
}

INSTANTIATE_TEST_SUITE_P(Layers, InterruptedCopyUp, ::testing::ValuesIn(kLeftovers),
                         [](const auto& info) { return std::string(info.param.id); });

}  // namespace
}  // namespace ovlab::conformance
