// Test fixture for the layer store: a scratch tmpfs as the data root, staging of layer diffs, and
// directory listings to prove that a failed operation left nothing behind.
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "drivers/driver.h"
#include "drivers/tree_view.h"
#include "mount/mount.h"
#include "scratch/scratch.h"

namespace ovlab::drivers::testing_util {

// A Docker-like 64-character layer id; `n` keeps them apart and sorted.
inline std::string LayerId(int n, char fill = 'a') {
  return std::string(56, fill) + StrPrintf("%08d", n);
}

// Every path of a view (relative, sorted) with its type and mode, and symlink targets.
inline std::vector<std::string> TreeListing(const TreeView& view, const std::string& rel = "") {
  std::vector<std::string> out;
  auto names = view.List(rel);
  if (!names) return {"<" + names.error().message + ">"};
  std::sort(names->begin(), names->end());
  for (const auto& n : *names) {
    std::string child = rel.empty() ? n : rel + "/" + n;
    auto st = view.Stat(child);
    if (!st) continue;
    std::string line = StrPrintf("%s %o", child.c_str(), st->st_mode);
    if (S_ISLNK(st->st_mode)) line += " -> " + view.ReadLink(child).value_or("?");
    out.push_back(line);
    if (S_ISDIR(st->st_mode)) {
      auto sub = TreeListing(view, child);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  }
  return out;
}
// Every path below `dir`.
inline std::vector<std::string> TreeListing(const std::string& dir) {
  return TreeListing(TreeView(dir));
}

// Everything a command could change in a tree: every entry (the top one included) with its type,
// mode, owner, size and mtime, and a file's content or a symlink's target. Equal fingerprints
// before and after a command mean it left the tree untouched (no entry made, removed or changed).
inline std::vector<std::string> Fingerprint(const std::string& dir, const std::string& rel = "") {
  std::string path = rel.empty() ? dir : JoinPath(dir, rel);
  auto st = LStat(path);
  if (!st) return {rel + " <" + st.error().message + ">"};
  std::string line =
      StrPrintf("%s %o %u:%u %lld %lld.%09ld", rel.empty() ? "." : rel.c_str(), st->st_mode,
                st->st_uid, st->st_gid, static_cast<long long>(st->st_size),
                static_cast<long long>(st->st_mtim.tv_sec), st->st_mtim.tv_nsec);
  if (S_ISLNK(st->st_mode)) line += " -> " + ReadLink(path).value_or("?");
  if (S_ISREG(st->st_mode)) line += " " + JsonQuote(ReadFileText(path).value_or("?"));
  std::vector<std::string> out{line};
  if (!S_ISDIR(st->st_mode)) return out;
  auto names = ListDir(path);
  if (!names) return {line, "<" + names.error().message + ">"};
  std::sort(names->begin(), names->end());
  for (const auto& n : *names) {
    auto sub = Fingerprint(dir, rel.empty() ? n : rel + "/" + n);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

// A directory outside the store for an attack to aim at: a file, a directory holding a file, a
// symlink, and an entry named like a short id (what a repair of l/ would take for a dangling link).
inline void MakeCanary(const std::string& dir) {
  ASSERT_TRUE(MakeDirs(JoinPath(dir, "d")));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "f"), "canary"));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "d/g"), "canary too"));
  ASSERT_EQ(::symlink("f", JoinPath(dir, "s").c_str()), 0);
  ASSERT_EQ(::symlink("../x/diff", JoinPath(dir, std::string(26, 'Q')).c_str()), 0);
}

class StoreTest : public testing::Test {
 protected:
  void SetUp() override { MakeScratch(64ull << 20); }

  void MakeScratch(uint64_t bytes, scratch::Backing backing = scratch::Backing::kTmpfs) {
    scratch::InstallSignalCleanup();
    scratch::ScratchOptions o;
    o.backing = backing;
    o.size_bytes = bytes;
    auto fs = scratch::ScratchFs::Create(o);
    ASSERT_TRUE(fs) << fs.error().message;
    fs_ = std::move(*fs);
    root_ = JoinPath(fs_->path(), "root");
    staging_ = JoinPath(fs_->path(), "staging");
    ASSERT_TRUE(MakeDirs(staging_));
  }

  void TearDown() override {
    if (fs_) {
      auto mounts = mount::MountsUnder(fs_->path());
      if (mounts) {
        for (const auto& m : *mounts) {
          if (m.target != fs_->path()) ADD_FAILURE() << "left mounted: " << m.target;
        }
      }
      driver_.reset();
      EXPECT_TRUE(fs_->Destroy());
    }
  }

  Driver& Open(const std::string& name, size_t max_depth = 128) {
    DriverOptions o;
    o.root = root_;
    o.max_depth = max_depth;
    auto d = OpenDriver(name, o);
    EXPECT_TRUE(d) << (d ? "" : d.error().message);
    if (!d) std::abort();
    driver_ = std::move(*d);
    return *driver_;
  }

  // A staged diff: files (path -> content; a trailing '/' makes a directory; content "@wh" makes
  // a tar-style whiteout `.wh.<name>`; "@opq" drops the opaque marker into the directory).
  std::string Stage(const std::map<std::string, std::string>& entries) {
    std::string dir = JoinPath(staging_, StrPrintf("diff-%d", staged_++));
    EXPECT_TRUE(MakeDirs(dir));
    for (const auto& [path, content] : entries) {
      std::string full = JoinPath(dir, path);
      if (EndsWith(path, "/")) {
        EXPECT_TRUE(MakeDirs(full));
        continue;
      }
      EXPECT_TRUE(MakeDirs(DirName(full)));
      if (content == "@wh") {
        WriteFile(JoinPath(DirName(full), ".wh." + BaseName(full)), "");
      } else if (content == "@opq") {
        EXPECT_TRUE(MakeDirs(full));
        WriteFile(JoinPath(full, ".wh..wh..opq"), "");
      } else {
        WriteFile(full, content);
      }
    }
    PinTimes(dir, 1'000'000'000 + 3600 * staged_);
    return dir;
  }

  // Like a tar archive, a staged diff carries fixed times, distinct per diff: change lists that
  // compare mtimes must not depend on whether two diffs were made in the same clock tick.
  static void PinTimes(const std::string& dir, time_t when) {
    static thread_local time_t pinned;
    pinned = when;
    auto pin = [](const char* path, const struct stat*, int, struct FTW*) {
      const struct timespec times[2] = {{pinned, 0}, {pinned, 0}};
      return ::utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
    };
    EXPECT_EQ(::nftw(dir.c_str(), pin, 16, FTW_DEPTH | FTW_PHYS), 0) << dir;
  }

  void Apply(Driver& d, const std::string& id, const std::map<std::string, std::string>& entries) {
    std::string staged = Stage(entries);
    auto st = d.ApplyDiff(id, staged);
    ASSERT_TRUE(st) << st.error().message;
    ASSERT_TRUE(RemoveTree(staged));
  }

  static void WriteFile(const std::string& path, const std::string& content) {
    ASSERT_TRUE(WriteFileAtomic(path, content, 0644)) << path;
  }
  static std::string Read(const std::string& path) {
    return ReadFileText(path).value_or("<missing " + path + ">");
  }

  std::unique_ptr<scratch::ScratchFs> fs_;
  std::unique_ptr<Driver> driver_;
  std::string root_, staging_;
  int staged_ = 0;
};

}  // namespace ovlab::drivers::testing_util
