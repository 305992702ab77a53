// Read side of the union: LK1-LK3, WO1, WO2, OP1, RD1, RD2, redirects read (RN2), with the kernel
// overlay over an identical stack as the oracle.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "base/strings.h"
#include "base/unique_fd.h"
#include "union/union_test_support.h"

namespace ovlab::unionfs::testing {
namespace {

const Cred kRoot = Cred::Root();

// Two lowers and an upper exercising every read-side rule.
void RichStack(const Stack& s) {
  const std::string b = s.lower(1), t = s.lower(0), u = s.upper();
  PutFile(b + "/only_bottom", "b");
  PutFile(b + "/both", "bottom");
  PutDir(b + "/d");
  PutFile(b + "/d/b1", "x");
  PutFile(b + "/d/shared", "bottom");
  PutDir(b + "/file_over_dir");
  PutFile(b + "/file_over_dir/hidden", "h");
  PutFile(b + "/dir_over_file", "f");
  PutDir(b + "/opq");
  PutFile(b + "/opq/hidden", "h");
  PutFile(b + "/wo_target", "gone");
  PutDir(b + "/xw");
  PutFile(b + "/xw/gone", "g");
  PutFile(b + "/xw/kept", "k");

  PutFile(t + "/both", "top");
  PutXattr(t + "/both", "user.k", "v");
  PutDir(t + "/d", 0700);
  PutFile(t + "/d/t1", "y");
  PutFile(t + "/d/shared", "top");
  PutFile(t + "/file_over_dir", "file");
  PutDir(t + "/dir_over_file");
  PutFile(t + "/dir_over_file/inner", "i");
  PutDir(t + "/opq");
  PutXattr(t + "/opq", "trusted.overlay.opaque", "y");
  PutFile(t + "/opq/visible", "v");
  PutWhiteout(t + "/wo_target");
  PutDir(t + "/xw");
  PutXattr(t + "/xw", "trusted.overlay.opaque", "x");
  PutFile(t + "/xw/gone", "");
  PutXattr(t + "/xw/gone", "trusted.overlay.whiteout", "y");
  PutFile(t + "/xw/top", "t");
  PutSymlink(t + "/link", "both");
  PutSymlink(t + "/dlink", "d");

  PutDir(u + "/d", 0750);
  PutXattr(u + "/d", "user.dir", "upper");
  PutFile(u + "/d/u1", "u");
  PutWhiteout(u + "/d/b1");
  PutFile(u + "/only_upper", "u");
}

class LookupTest : public UnionFixture {};

TEST_F(LookupTest, MergedViewMatchesKernel_LK1_LK3_WO1_WO2_OP1) {
  auto [es, ks, u, merged] = OpenTwins(2, RichStack);
  ASSERT_TRUE(u);
  ASSERT_FALSE(merged.empty());
  View engine = EngineView(*u), kernel = FsView(merged);
  EXPECT_EQ(Describe(engine), Describe(kernel));

  // The rules themselves, so engine and kernel cannot agree on a mistake.
  EXPECT_NE(engine["/both"].find("data=top"), std::string::npos);  // LK1 upper wins
  EXPECT_EQ(engine.count("/file_over_dir/hidden"), 0u);            // LK1 non-dir hides
  EXPECT_EQ(engine.count("/d/t1") + engine.count("/d/u1"), 2u);    // LK1 dirs merge
  EXPECT_EQ(engine.count("/d/b1"), 0u);                            // WO1 hides
  EXPECT_EQ(engine.count("/wo_target"), 0u);                       // WO1 in lower
  EXPECT_EQ(engine.count("/xw/gone"), 0u);                         // WO2
  EXPECT_EQ(engine.count("/xw/kept"), 1u);
  EXPECT_EQ(engine.count("/opq/hidden"), 0u);                           // OP1
  EXPECT_NE(engine["/d"].find("dir 0750"), std::string::npos);          // LK3 mode
  EXPECT_NE(engine["/d"].find("x:user.dir=upper"), std::string::npos);  // LK3 xattrs
}

TEST_F(LookupTest, ReadOnlyUnionOfLowersMatchesKernelAndRefusesWrites) {
  auto [es, ks] = MakeTwin(2, RichStack);
  auto u = OpenEngine(es.Options(false));
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->read_only());
  std::string merged = MountKernel(ks, {}, false);
  ASSERT_FALSE(merged.empty());
  EXPECT_EQ(Describe(EngineView(*u)), Describe(FsView(merged)));
  EXPECT_EQ(u->Mkdir(kRoot, "/new", 0755).error(), EROFS);
  EXPECT_EQ(u->Open(kRoot, "/both", O_WRONLY).error(), EROFS);
  EXPECT_EQ(u->Unlink(kRoot, "/both").error(), EROFS);
  EXPECT_EQ(u->Chmod(kRoot, "/both", 0600).error(), EROFS);
  EXPECT_EQ(u->Access(kRoot, "/both", W_OK).error(), EROFS);
}

TEST_F(LookupTest, NodeLookupCountsAndAttributes) {
  Stack s = MakeStack("s", 1);
  PutFile(s.lower(0) + "/f", "hello", 0640);
  PutDir(s.lower(0) + "/dir");
  auto u = OpenEngine(s.Options());
  ASSERT_TRUE(u);
  auto e = u->Lookup(kRoot, kRootNode, "f");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->attr.st_size, 5);
  EXPECT_EQ(e->attr.st_mode & 07777, 0640u);
  auto again = u->Lookup(kRoot, kRootNode, "f");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->node, e->node);  // one node per object while cached
  EXPECT_EQ(u->Lookup(kRoot, kRootNode, "missing").error(), ENOENT);
  EXPECT_EQ(u->Lookup(kRoot, e->node, "x").error(), ENOTDIR);
  u->Forget(e->node, 2);
  auto h = u->Open(kRoot, e->node, O_RDONLY);
  EXPECT_FALSE(h);  // forgotten nodes are gone for the node API
  EXPECT_EQ(h.error(), ESTALE);
}

TEST_F(LookupTest, MergedReaddirMatchesKernel_RD1) {
  auto fill = [](const Stack& s) {
    for (int l = 0; l < 3; ++l) {
      PutDir(s.lower(l) + "/d");
      for (int i = 0; i < 20; ++i) {
        if (i % 3 == l) PutFile(s.lower(l) + "/d/f" + std::to_string(i), "x");
      }
      PutFile(s.lower(l) + "/d/common", std::to_string(l));
    }
    PutWhiteout(s.lower(0) + "/d/f1");  // hides f1 of layer 1
    PutDir(s.upper() + "/d");
    PutFile(s.upper() + "/d/up", "u");
    PutWhiteout(s.upper() + "/d/f2");
  };
  auto [es, ks, u, merged] = OpenTwins(3, fill);
  ASSERT_TRUE(u);
  ASSERT_FALSE(merged.empty());
  auto listing = u->ReadDir(kRoot, "/d");
  ASSERT_TRUE(listing);
  std::vector<std::string> engine_names, kernel_names;
  for (const auto& e : *listing) engine_names.push_back(e.name);
  DIR* dir = ::opendir((merged + "/d").c_str());
  ASSERT_NE(dir, nullptr);
  while (dirent* e = ::readdir(dir)) kernel_names.emplace_back(e->d_name);
  ::closedir(dir);
  // Same names, same order (the kernel's: lowest layer's names first).
  EXPECT_EQ(Join(engine_names, ","), Join(kernel_names, ","));
  std::set<std::string> unique(engine_names.begin(), engine_names.end());
  EXPECT_EQ(unique.size(), engine_names.size()) << "duplicates";
  EXPECT_EQ(unique.count("f1") + unique.count("f2"), 0u) << "whiteouts listed";
  // d_ino equals st_ino for every entry.
  for (const auto& e : *listing) {
    if (e.name == "..") continue;
    auto st = u->Stat(kRoot, "/d/" + e.name, AT_SYMLINK_NOFOLLOW);
    ASSERT_TRUE(st) << e.name;
    EXPECT_EQ(e.ino, st->st_ino) << e.name;
  }
}

TEST_F(LookupTest, ListingFixedPerOpenDirAndRebuiltAtZero_RD2) {
  Stack s = MakeStack("s", 1);
  PutFile(s.lower(0) + "/a", "a");
  PutFile(s.lower(0) + "/b", "b");
  auto u = OpenEngine(s.Options());
  ASSERT_TRUE(u);
  auto h = u->OpenDir(kRoot, kRootNode);
  ASSERT_TRUE(h);
  auto first = u->ReadDir(*h, 0, 2);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  ASSERT_TRUE(u->Mkdir(kRoot, "/c", 0755));
  ASSERT_TRUE(u->Unlink(kRoot, "/a"));
  auto rest = u->ReadDir(*h, first->back().offset);
  ASSERT_TRUE(rest);
  std::set<std::string> seen;
  for (auto& e : *first) seen.insert(e.name);
  for (auto& e : *rest) seen.insert(e.name);
  EXPECT_EQ(seen, (std::set<std::string>{".", "..", "a", "b"}));  // the snapshot of OpenDir
  auto rebuilt = u->ReadDir(*h, 0);
  ASSERT_TRUE(rebuilt);
  seen.clear();
  for (auto& e : *rebuilt) seen.insert(e.name);
  EXPECT_EQ(seen, (std::set<std::string>{".", "..", "b", "c"}));
  // Offsets are stable cookies: each entry's offset continues after it.
  for (size_t i = 0; i + 1 < rebuilt->size(); ++i) {
    auto next = u->ReadDir(*h, (*rebuilt)[i].offset, 1);
    ASSERT_TRUE(next);
    ASSERT_EQ(next->size(), 1u);
    EXPECT_EQ((*next)[0].name, (*rebuilt)[i + 1].name);
  }
  EXPECT_TRUE(u->ReleaseDir(*h));
  EXPECT_EQ(u->ReleaseDir(*h).error(), EBADF);
}

// Merged-dir offsets on every backing: the kernel caches a merged listing in its own order
// ("." and ".." where the lowest layer's getdents puts them: hashed in among the names on ext4)
// and its offsets are positions in that cache. After seeking to the offset saved after entry i,
// both read on with entry i + 1.
class ReaddirOffsetTest : public BackingFixture {};

// The kernel's listing of `dir` read to the end, then, after seekdir to the position saved after
// entry `after`, read again: the names of that tail in order (after = -1: the whole listing).
std::vector<std::string> KernelTail(const std::string& dir, int after) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return {"opendir: " + ErrnoText(errno)};
  std::vector<long> saved;
  while (::readdir(d)) saved.push_back(::telldir(d));
  if (after >= 0 && static_cast<size_t>(after) < saved.size()) {
    ::seekdir(d, saved[static_cast<size_t>(after)]);
  } else {
    ::rewinddir(d);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  return names;
}

TEST_P(ReaddirOffsetTest, SeekToSavedOffsetMatchesKernel_RD2) {
  auto [es, ks, u, merged] = OpenTwins(2, [](const Stack& s) {
    for (const char* n : {"x", "y", "k1", "k2", "k3", "gone"}) PutFile(s.lower(1) + "/m/" + n, n);
    for (const char* n : {"y", "z", "t1", "t2"}) PutFile(s.lower(0) + "/m/" + n, n);
    PutWhiteout(s.lower(0) + "/m/gone");
    PutDir(s.upper() + "/m");
    PutFile(s.upper() + "/m/u", "u");
    PutWhiteout(s.upper() + "/m/k2");
  });
  ASSERT_TRUE(u);
  auto m = u->Lookup(kRoot, kRootNode, "m");
  ASSERT_TRUE(m);
  auto h = u->OpenDir(kRoot, m->node);
  ASSERT_TRUE(h);
  auto all = u->ReadDir(*h, 0);
  ASSERT_TRUE(all);
  std::vector<std::string> names;
  for (const auto& e : *all) names.push_back(e.name);
  ASSERT_EQ(Join(names, " "), Join(KernelTail(merged + "/m", -1), " "));
  EXPECT_EQ(names.size(), 10u);  // . .. x y k1 k3 z t1 t2 u, without gone and k2
  for (size_t i = 0; i < all->size(); ++i) {
    auto tail = u->ReadDir(*h, (*all)[i].offset);
    ASSERT_TRUE(tail);
    std::vector<std::string> got;
    for (const auto& e : *tail) got.push_back(e.name);
    std::vector<std::string> want(names.begin() + static_cast<long>(i) + 1, names.end());
    EXPECT_EQ(Join(got, " "), Join(want, " ")) << "after entry " << i;
    EXPECT_EQ(Join(got, " "), Join(KernelTail(merged + "/m", static_cast<int>(i)), " "))
        << "after entry " << i << " (" << names[i] << ")";
  }
  EXPECT_TRUE(u->ReleaseDir(*h));
}

INSTANTIATE_TEST_SUITE_P(Backings, ReaddirOffsetTest, TestBackings(), BackingParamName);

TEST_F(LookupTest, RedirectsReadLikeKernel_RN2) {
  auto fill = [](const Stack& s) {
    // Bottom layer has the original dir; the top lower moved it (absolute redirect) and the
    // upper renamed another (relative redirect), as the kernel writes them.
    PutDir(s.lower(1) + "/orig");
    PutFile(s.lower(1) + "/orig/data", "moved content");
    PutDir(s.lower(1) + "/sib");
    PutFile(s.lower(1) + "/sib/s", "sibling");
    PutDir(s.lower(0) + "/new/place");
    PutXattr(s.lower(0) + "/new/place", "trusted.overlay.redirect", "/orig");
    PutFile(s.lower(0) + "/new/place/added", "a");
    PutWhiteout(s.lower(0) + "/orig");
    PutDir(s.upper() + "/renamed");
    PutXattr(s.upper() + "/renamed", "trusted.overlay.redirect", "sib");
    PutWhiteout(s.upper() + "/sib");
    PutDir(s.upper() + "/bad");
    PutXattr(s.upper() + "/bad", "trusted.overlay.redirect", "/../../etc");
  };
  auto [es, ks, u, merged] = OpenTwins(2, fill);
  ASSERT_TRUE(u);
  ASSERT_FALSE(merged.empty());
  View engine = EngineView(*u);
  EXPECT_EQ(Describe(engine), Describe(FsView(merged)));
  EXPECT_NE(engine["/new/place/data"].find("moved content"), std::string::npos);
  EXPECT_NE(engine["/renamed/s"].find("sibling"), std::string::npos);
  EXPECT_EQ(engine.count("/orig"), 0u);
}

TEST_F(LookupTest, LowerDirListParsing_LK2) {
  auto l = ParseLowerDirList("/a:/b\\:c:/d");
  ASSERT_TRUE(l);
  EXPECT_EQ(*l, (std::vector<std::string>{"/a", "/b:c", "/d"}));
  EXPECT_FALSE(ParseLowerDirList("/a::/b"));
  EXPECT_FALSE(ParseLowerDirList("/a:"));
  EXPECT_FALSE(ParseLowerDirList(""));
}

TEST_F(LookupTest, FirstLowerIsTop_LK2) {
  auto [es, ks, u, merged] = OpenTwins(
      3,
      [](const Stack& s) {
        for (int i = 0; i < 3; ++i) PutFile(s.lower(i) + "/f", "layer" + std::to_string(i));
        PutFile(s.lower(2) + "/g", "bottom");
      },
      {}, false);
  ASSERT_TRUE(u);
  View v = EngineView(*u);
  EXPECT_NE(v["/f"].find("data=layer0"), std::string::npos);
  EXPECT_EQ(Describe(v), Describe(FsView(merged)));
}

TEST_F(LookupTest, WarmLookupsDoNotTouchLayersAndIndexSkipsEmptyLayers) {
  Stack s = MakeStack("s", 128);
  for (int i = 0; i < 128; ++i) PutFile(s.lower(i) + "/filler" + std::to_string(i), "");
  PutFile(s.lower(127) + "/bottom", "b");
  auto u = OpenEngine(s.Options(false));
  ASSERT_TRUE(u);
  ASSERT_TRUE(u->Stat(kRoot, "/filler0"));  // the first miss in a dir walks the layers
  uint64_t before = u->stats().layer_lookups;
  ASSERT_TRUE(u->Stat(kRoot, "/bottom"));
  uint64_t cold = u->stats().layer_lookups;
  EXPECT_LE(cold - before, 2u) << "the directory index sends the lookup to the bottom layer";
  ASSERT_TRUE(u->Stat(kRoot, "/bottom"));
  EXPECT_EQ(u->stats().layer_lookups, cold) << "warm lookups come from the cache";
  EXPECT_EQ(u->Stat(kRoot, "/missing").error(), ENOENT);
  EXPECT_EQ(u->stats().layer_lookups, cold) << "absent from every layer: no layer touched";
  EXPECT_GE(u->stats().cache_hits, 1u);

  // Without cache and index every layer is walked, and the answers stay the same.
  UnionOptions plain = s.Options(false);
  plain.lookup_cache = false;
  auto p = OpenEngine(plain);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->Stat(kRoot, "/bottom"));
  EXPECT_GE(p->stats().layer_lookups, 128u);
  EXPECT_EQ(Describe(EngineView(*p)), Describe(EngineView(*u)));
}

// The directory chain `names` below `dir` (made where missing) as an O_PATH fd of its bottom.
UniqueFd MakeChainAt(const std::string& dir, const std::vector<std::string>& names) {
  UniqueFd at(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  for (const auto& name : names) {
    (void)::mkdirat(at.get(), name.c_str(), 0755);
    at.reset(::openat(at.get(), name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  return at;
}

// 20 levels of 255-byte names (over 5 KiB of path) merged from two lowers: the node API, which
// ovlab-fuse uses, reaches, reads, copies up, renames and lists the bottom as the kernel's
// overlay does; no layer path handed to a syscall may reach PATH_MAX. The path API takes the
// whole path as one string and fails ENAMETOOLONG as a syscall would.
TEST_F(LookupTest, NodeApiReachesLowerTreesDeeperThanPathMax) {
  Stack s = MakeStack("deep", 2);
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) names.push_back(StrPrintf("l%02d", i) + std::string(252, 'd'));
  MakeChainAt(s.lower(0), names);
  UniqueFd bottom = MakeChainAt(s.lower(1), names);
  int fd = ::openat(bottom.get(), "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "deep", 4), 4);
  ::close(fd);
  auto u = OpenEngine(s.Options());
  ASSERT_TRUE(u);

  NodeId dir = kRootNode;
  std::string path;
  for (const auto& name : names) {
    auto e = u->Lookup(kRoot, dir, name);
    ASSERT_TRUE(e) << path.size() << ": " << ErrnoText(e.error());
    dir = e->node;
    path += "/" + name;
  }
  auto file = u->Lookup(kRoot, dir, "file");
  ASSERT_TRUE(file) << ErrnoText(file.error());
  EXPECT_EQ(file->attr.st_size, 4);
  auto h = u->Open(kRoot, file->node, O_RDWR);  // copies the file and its 20 parents up
  ASSERT_TRUE(h) << ErrnoText(h.error());
  char buf[8] = {};
  EXPECT_EQ(u->Read(*h, buf, sizeof(buf), 0).value_or(0), 4u);
  EXPECT_EQ(std::string(buf, 4), "deep");
  ASSERT_TRUE(u->Write(*h, "D", 1, 0));
  ASSERT_TRUE(u->Release(*h));
  ASSERT_TRUE(u->Rename(kRoot, dir, "file", dir, "moved", 0));
  auto d = u->OpenDir(kRoot, dir);
  ASSERT_TRUE(d);
  auto entries = u->ReadDir(*d, 0);
  ASSERT_TRUE(entries);
  std::set<std::string> listed;
  for (const auto& e : *entries) listed.insert(e.name);
  EXPECT_EQ(listed, (std::set<std::string>{".", "..", "moved"}));
  ASSERT_TRUE(u->ReleaseDir(*d));
  EXPECT_EQ(u->Stat(kRoot, path + "/moved").error(), ENAMETOOLONG);

  UniqueFd upper = MakeChainAt(s.upper(), names);
  fd = ::openat(upper.get(), "moved", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "copied up into the upper layer";
  EXPECT_EQ(::read(fd, buf, sizeof(buf)), 4);
  ::close(fd);
  EXPECT_EQ(std::string(buf, 4), "Deep");
  struct stat st {};
  ASSERT_EQ(::fstatat(upper.get(), "file", &st, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == 0) << "the old name is a whiteout";
}

// A node the kernel forgot leaves the lookup cache (its memory goes), and so does its
// directory once forgotten and childless; nodes still held stay cached.
TEST_F(LookupTest, ForgottenNodesLeaveTheLookupCache) {
  Stack s = MakeStack("s", 1);
  PutFile(s.lower(0) + "/d/f", "x");
  PutFile(s.lower(0) + "/d/g", "y");
  auto u = OpenEngine(s.Options());
  ASSERT_TRUE(u);
  auto d = u->Lookup(kRoot, kRootNode, "d");
  ASSERT_TRUE(d);
  auto f = u->Lookup(kRoot, d->node, "f");
  auto g = u->Lookup(kRoot, d->node, "g");
  ASSERT_TRUE(f && g);
  EXPECT_EQ(u->NodeCount(), 4u);
  auto layer_lookups = [&] { return u->stats().layer_lookups; };
  uint64_t before = layer_lookups();
  ASSERT_TRUE(u->Lookup(kRoot, d->node, "f"));  // cached: no layer touched
  EXPECT_EQ(layer_lookups(), before);
  u->Forget(f->node, 2);
  u->Forget(d->node, 1);  // g still holds d in the cache
  EXPECT_EQ(u->NodeCount(), 2u);
  before = layer_lookups();
  ASSERT_TRUE(u->Lookup(kRoot, kRootNode, "d"));
  EXPECT_EQ(layer_lookups(), before) << "d caches g, which is held";
  auto f2 = u->Lookup(kRoot, d->node, "f");
  ASSERT_TRUE(f2);
  EXPECT_GT(layer_lookups(), before) << "f was dropped from the cache";
  EXPECT_NE(f2->node, f->node);
}

TEST_F(LookupTest, CacheFollowsEngineChanges) {
  Stack s = MakeStack("s", 2);
  PutFile(s.lower(1) + "/f", "lower");
  PutDir(s.lower(0) + "/d");
  auto u = OpenEngine(s.Options());
  ASSERT_TRUE(u);
  EXPECT_EQ(u->Stat(kRoot, "/new").error(), ENOENT);  // cached as absent
  ASSERT_TRUE(u->Mkdir(kRoot, "/new", 0700));
  auto st = u->Stat(kRoot, "/new");
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  ASSERT_TRUE(u->Stat(kRoot, "/f"));
  ASSERT_TRUE(u->Unlink(kRoot, "/f"));
  EXPECT_EQ(u->Stat(kRoot, "/f").error(), ENOENT);
  ASSERT_TRUE(u->Rename(kRoot, "/new", "/d/moved"));
  EXPECT_EQ(u->Stat(kRoot, "/new").error(), ENOENT);
  EXPECT_TRUE(u->Stat(kRoot, "/d/moved"));
  u->DropCaches();
  EXPECT_TRUE(u->Stat(kRoot, "/d/moved"));
  EXPECT_EQ(u->Stat(kRoot, "/f").error(), ENOENT);
}

}  // namespace
}  // namespace ovlab::unionfs::testing
