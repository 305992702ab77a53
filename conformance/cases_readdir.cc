// Family "readdir": merged listings (upper first, no duplicates, no whiteouts: RD1), the listing
// fixed per open directory and rebuilt by a seek to 0 (RD2), seekdir to a saved offset, and
// large merged directories.
#include <fcntl.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "base/strings.h"
#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

std::string Names(const SysResult<std::vector<DirEntry>>& entries, bool sorted = true) {
  if (!entries) return Res(entries);
  std::vector<std::string> names;
  for (const auto& e : *entries)
    if (e.name != "." && e.name != "..") names.push_back(e.name);
  if (sorted) std::sort(names.begin(), names.end());
  return "[" + Join(names, " ") + "]";
}

struct Listing {
  const char* id;
  const char* dir;
  const char* want;
};

class MergedListing : public ::testing::TestWithParam<Listing> {};

TEST_P(MergedListing, Names) {
  Listing l = GetParam();
  RunCase("readdir", "RD1 LK1 WO1 WO2 OP1", std::string("merged listing of ") + l.dir,
          [l](CaseRun& r) {
            r.Expect(std::string("list ") + l.dir, r.List(l.dir), l.want);
            r.View(l.dir);
          });
}

const Listing kListings[] = {
    {"root", "/",
     "[alt cdev cu d dangle exe f f2 fifo h1 h2 m mu opq own pub pubdir ro s s2 sd sdd shadow "
     "sticky top u ud x]"},
    {"lower_dir", "/d", "[a b sub]"},
    {"merged_lowers", "/m", "[x y z]"},
    {"merged_upper", "/mu", "[v x]"},
    {"opaque", "/opq", "[new]"},
    {"xattr_whiteouts", "/alt", "[keep]"},
    {"upper_only", "/ud", "[q]"},
    {"through_symlink", "/sd", "[a b sub]"},
    {"through_chained_symlink", "/sdd", "[a b sub]"},
};

INSTANTIATE_TEST_SUITE_P(Readdir, MergedListing, ::testing::ValuesIn(kListings),
                         [](const auto& info) { return std::string(info.param.id); });

TEST(Readdir, ListingAfterChanges) {
  RunCase("readdir", "RD1 WO1", "listing after unlink, create and rename in a merged dir",
          [](CaseRun& r) {
            r.Expect("unlink /m/x", Res(r.t().Unlink("/m/x")), "ok");
            r.Expect("create /m/n", r.WriteAt("/m/n", O_WRONLY | O_CREAT, "n"), "ok");
            r.Expect("rename /m/y /m/x", Res(r.t().Rename("/m/y", "/m/x")), "ok");
            r.Expect("list /m", r.List("/m"), "[n x z]");
            r.Expect("read /m/x", r.ReadAll("/m/x"), "y0\n");
            r.Expect("upper /m/y", r.Placement("/m/y"), "whiteout");
          });
}

class FixedPerOpen : public ::testing::TestWithParam<Listing> {};

// RD2: entries added after the first read of an open merged directory do not appear until the
// stream is rewound; a rewind rebuilds the listing.
TEST_P(FixedPerOpen, SeekZeroRebuilds) {
  Listing l = GetParam();
  RunCase("readdir", "RD2", std::string("listing fixed per open, rebuilt by seek 0: ") + l.dir,
          [l](CaseRun& r) {
            std::string d = l.dir;
            auto fd = r.t().Open(d, O_RDONLY | O_DIRECTORY);
            r.Expect("opendir " + d, Res(fd), "ok");
            if (!fd) return;
            auto first = r.t().ReadDir(*fd, 2);
            r.Note("first two", first ? std::to_string(first->size()) : Res(first));
            r.Expect("create " + d + "/added", r.WriteAt(d + "/added", O_WRONLY | O_CREAT, "a"),
                     "ok");
            r.Expect("unlink " + d + "/x", Res(r.t().Unlink(d + "/x")), "ok");
            auto rest = r.t().ReadDir(*fd, 0);
            std::vector<DirEntry> all = first ? *first : std::vector<DirEntry>{};
            if (rest) all.insert(all.end(), rest->begin(), rest->end());
            r.Note("rest of stream", Names(SysResult<std::vector<DirEntry>>(all)));
            r.Expect("seek 0", Res(r.t().SeekDir(*fd, 0)), "ok");
            r.Expect("after rewind", Names(r.t().ReadDir(*fd, 0)), l.want);
            (void)r.t().Close(*fd);
          });
}

const Listing kFixed[] = {
    {"merged_lowers", "/m", "[added y z]"},
    {"merged_upper", "/mu", "[added v]"},
};

INSTANTIATE_TEST_SUITE_P(Readdir, FixedPerOpen, ::testing::ValuesIn(kFixed),
                         [](const auto& info) { return std::string(info.param.id); });

TEST(Readdir, SeekToSavedOffset) {
  RunCase("readdir", "RD2", "seekdir to a saved offset replays the tail", [](CaseRun& r) {
    auto fd = r.t().Open("/m", O_RDONLY | O_DIRECTORY);
    r.Expect("opendir /m", Res(fd), "ok");
    if (!fd) return;
    auto all = r.t().ReadDir(*fd, 0);
    r.Expect("entries", all ? std::to_string(all->size()) : Res(all), "5");
    if (all && all->size() >= 3) {
      r.Expect("seek", Res(r.t().SeekDir(*fd, (*all)[1].next_offset)), "ok");
      auto tail = r.t().ReadDir(*fd, 0);
      std::vector<DirEntry> want(all->begin() + 2, all->end());
      r.Expect("tail", Names(tail, false), Names(SysResult<std::vector<DirEntry>>(want), false));
    }
    (void)r.t().Close(*fd);
  });
}

TEST(Readdir, DotEntries) {
  RunCase("readdir", "RD1", "'.' and '..' once each in merged dirs", [](CaseRun& r) {
    for (const char* d : {"/", "/m", "/mu", "/d", "/opq"}) {
      auto fd = r.t().Open(d, O_RDONLY | O_DIRECTORY);
      if (!fd) continue;
      auto e = r.t().ReadDir(*fd, 0);
      (void)r.t().Close(*fd);
      int dots = 0;
      if (e)
        for (const auto& x : *e) dots += (x.name == "." || x.name == "..");
      r.Expect(std::string("dots in ") + d, std::to_string(dots), "2");
    }
  });
}

Fixture LargeFixture() {
  Fixture fx;
  fx.lowers.assign(3, Layer());
  for (int i = 0; i < 300; ++i) fx.lowers[2].File(StrPrintf("/big/f%03d", i), "2");
  for (int i = 150; i < 450; ++i) fx.lowers[1].File(StrPrintf("/big/f%03d", i), "1");
  for (int i = 0; i < 100; ++i) fx.lowers[0].Whiteout(StrPrintf("/big/f%03d", i * 4));
  for (int i = 440; i < 460; ++i) fx.upper.File(StrPrintf("/big/f%03d", i), "u");
  return fx;
}

TEST(Readdir, LargeMergedDirectory) {
  RunCase(
      "readdir", "RD1 WO1", "300+300 lower entries, 100 whiteouts, upper overlap",
      [](CaseRun& r) {
        auto fd = r.t().Open("/big", O_RDONLY | O_DIRECTORY);
        r.Expect("opendir", Res(fd), "ok");
        if (!fd) return;
        auto e = r.t().ReadDir(*fd, 0);
        (void)r.t().Close(*fd);
        if (!e) return r.Note("readdir", Res(e));
        std::vector<std::string> names;
        for (const auto& x : *e) names.push_back(x.name);
        std::sort(names.begin(), names.end());
        bool dup = std::adjacent_find(names.begin(), names.end()) != names.end();
        r.Expect("duplicates", dup ? "yes" : "no", "no");
        // 460 names, minus 100 whited out (f000, f004, ... f396), plus . and ..
        r.Expect("count", std::to_string(names.size()), "362");
        r.Expect("read f450", r.ReadAll("/big/f450"), "u");
        r.Expect("read f201", r.ReadAll("/big/f201"), "1");
        r.Expect("read f101", r.ReadAll("/big/f101"), "2");
        r.Expect("lstat f004", r.TypeOf("/big/f004"), "ENOENT");
      },
      {}, LargeFixture());
}

}  // namespace
}  // namespace ovlab::conformance
