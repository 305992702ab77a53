// Docker-level driver targets (issue 5), for the image-level cases only: a layer stack built
// through Driver::ApplyDiff from the same fixture spec the kernel cases use. Each driver's merged
// view, and its Changes between the top layer and its parent, are compared with kernel overlayfs
// mounted read-only over the same layers (the oracle).
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "conformance/fixture.h"
#include "drivers/driver.h"
#include "mount/mount.h"
#include "scratch/scratch.h"

namespace ovlab::conformance {
namespace {

// Three layers (uppermost first) with what an image holds: files with modes and owners,
// directories, symlinks, hard links, fifos, user xattrs, whiteouts of files and directories and
// an opaque directory.
Fixture ImageFixture() {
  Fixture fx;
  fx.lowers.assign(3, Layer());
  fx.lowers[2]
      .File("/etc/os-release", "base\n")
      .File("/etc/hosts", "127.0.0.1 localhost\n")
      .File("/bin/tool", "#!/bin/sh\n", 0755)
      .File("/home/u/rc", "rc\n", 0600, 1000, 1000)
      .Symlink("/bin/sh", "tool")
      .File("/lib/a.so", "a\n")
      .Hardlink("/lib/a.so.1", "/lib/a.so")
      .File("/var/cache/x", "x\n")
      .File("/var/cache/y", "y\n")
      .File("/opt/old/file", "old\n")
      .Fifo("/run/fifo")
      .File("/x", "xattrs\n")
      .Xattr("/x", "user.color", "blue");
  fx.lowers[1]
      .File("/etc/hosts", "10.0.0.1 host\n")
      .File("/usr/app", "app v1\n", 0755)
      .Whiteout("/var/cache/x")
      .Symlink("/etc/link", "/usr/app");
  fx.lowers[0]
      .File("/usr/app", "app v2\n", 0750)
      .File("/usr/new", "new\n")
      .Whiteout("/opt/old")
      .Opaque("/var/cache")
      .File("/var/cache/fresh", "fresh\n")
      .Whiteout("/lib/a.so.1")
      .Dir("/srv/data", 0700, 1000, 1000);
  return fx;
}

// Kernel format to the Docker tar layout, in place: a whiteout (char device 0/0) becomes an empty
// `.wh.<name>`, trusted.overlay.opaque=y becomes a `.wh..wh..opq` file in the directory.
Status ToDockerLayout(const std::string& dir) {
  char opaque[2] = {};
  if (::lgetxattr(dir.c_str(), "trusted.overlay.opaque", opaque, 1) == 1 && opaque[0] == 'y') {
    ::lremovexattr(dir.c_str(), "trusted.overlay.opaque");
    if (auto s = WriteFileAtomic(JoinPath(dir, ".wh..wh..opq"), ""); !s) return s;
  }
  auto names = ListDir(dir);
  if (!names) return std::unexpected(names.error());
  for (const auto& name : *names) {
    std::string path = JoinPath(dir, name);
    auto st = LStat(path);
    if (!st) return std::unexpected(st.error());
    if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0)) {
      if (::unlink(path.c_str()) != 0) return FailErrno(errno, "unlink " + path);
      if (auto s = WriteFileAtomic(JoinPath(dir, ".wh." + name), ""); !s) return s;
    } else if (S_ISDIR(st->st_mode)) {
      if (name == "work") continue;
      if (auto s = ToDockerLayout(path); !s) return s;
    }
  }
  return {};
}

std::string TypeName(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISCHR(mode)) return "chardev";
  if (S_ISBLK(mode)) return "blockdev";
  return "other";
}

// path -> one line describing it: type, mode, owner, size, content or target, user xattrs, and
// the first path sharing its inode (raw link counts differ by design: legacy overlay hard-links
// every file of the parent layer).
using View = std::map<std::string, std::string>;

Status Describe(const std::string& root, const std::string& rel, View& view,
                std::map<ino_t, std::string>& inodes) {
  auto names = ListDir(rel.empty() ? root : root + rel);
  if (!names) return std::unexpected(names.error());
  std::sort(names->begin(), names->end());
  for (const auto& name : *names) {
    std::string r = rel + "/" + name, path = root + r;
    auto st = LStat(path);
    if (!st) return std::unexpected(st.error());
    std::string line = StrPrintf("%s %04o %u:%u", TypeName(st->st_mode).c_str(),
                                 st->st_mode & 07777, st->st_uid, st->st_gid);
    if (S_ISREG(st->st_mode)) {
      auto text = ReadFileText(path);
      line += StrPrintf(" size=%lld data=%s", static_cast<long long>(st->st_size),
                        text ? JsonQuote(*text).c_str() : "<unreadable>");
      auto [it, fresh] = inodes.emplace(st->st_ino, r);
      if (!fresh) line += " same-inode-as=" + it->second;
    } else if (S_ISLNK(st->st_mode)) {
      auto target = ReadLink(path);
      line += " -> " + (target ? *target : "<unreadable>");
    }
    char value[256];
    ssize_t n = ::lgetxattr(path.c_str(), "user.color", value, sizeof value);
    if (n >= 0) line += " user.color=" + std::string(value, n);
    view[r] = line;
    if (S_ISDIR(st->st_mode)) {
      if (auto s = Describe(root, r, view, inodes); !s) return s;
    }
  }
  return {};
}

Result<View> DescribeTree(const std::string& root) {
  View view;
  std::map<ino_t, std::string> inodes;
  if (auto s = Describe(root, "", view, inodes); !s) return std::unexpected(s.error());
  return view;
}

// The kernel's merged view of `lowers` (uppermost first), read-only; one layer is its own view.
Result<View> KernelView(const std::vector<std::string>& lowers, const std::string& mnt) {
  if (lowers.size() == 1) return DescribeTree(lowers[0]);
  if (auto s = MakeDirs(mnt); !s) return std::unexpected(s.error());
  mount::OverlaySpec spec;
  spec.lowers = lowers;
  spec.read_only = true;
  if (auto m = mount::MountOverlay(spec, mnt); !m) return std::unexpected(m.error());
  auto view = DescribeTree(mnt);
  (void)mount::Unmount(mnt);
  return view;
}

// What Changes must report between `before` and `after`: added and modified entries, and the
// topmost deleted entry of a removed subtree (as `docker diff` does).
std::set<std::string> ExpectedChanges(const View& before, const View& after) {
  std::set<std::string> out;
  for (const auto& [path, line] : after) {
    auto it = before.find(path);
    if (it == before.end())
      out.insert("A " + path);
    else if (it->second != line)
      out.insert("C " + path);
  }
  for (const auto& [path, line] : before) {
    if (after.count(path)) continue;
    if (std::string parent = DirName(path); parent == "/" || after.count(parent))
      out.insert("D " + path);
  }
  return out;
}

std::set<std::string> ChangeSet(const std::vector<drivers::Change>& changes, const View& before,
                                const View& after) {
  std::set<std::string> out;
  for (const auto& c : changes) {
    const char* k = c.kind == drivers::ChangeKind::kAdded      ? "A"
                    : c.kind == drivers::ChangeKind::kModified ? "C"
                                                               : "D";
    // A directory whose entries changed is reported as modified by Docker's drivers (its mtime
    // moved); the merged view itself says nothing about that, so it is not compared.
    auto b = before.find(c.path), a = after.find(c.path);
    if (c.kind == drivers::ChangeKind::kModified && b != before.end() && a != after.end() &&
        b->second == a->second && StartsWith(a->second, "dir "))
      continue;
    out.insert(std::string(k) + " " + c.path);
  }
  return out;
}

std::string Lines(const std::set<std::string>& s) {
  return Join({s.begin(), s.end()}, "\n  ");
}

class ImageDrivers : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto fs = scratch::ScratchFs::Create({scratch::Backing::kTmpfs, 512ull << 20, ""});
    ASSERT_TRUE(fs) << fs.error().message;
    scratch_ = std::move(*fs);
  }
  void TearDown() override {
    if (scratch_) {
      EXPECT_TRUE(scratch_->Destroy());
    }
  }
  std::unique_ptr<scratch::ScratchFs> scratch_;
};

TEST_P(ImageDrivers, MergedViewAndChangesMatchKernel) {
  const std::string& name = GetParam();
  const std::string root = scratch_->path();
  drivers::DriverOptions options;
  options.root = JoinPath(root, "store");
  ASSERT_TRUE(MakeDirs(options.root));
  auto driver = drivers::OpenDriver(name, options);
  if (!driver) GTEST_SKIP() << name << " cannot run here: " << driver.error().message;

  const Fixture fx = ImageFixture();
  auto oracle_layers = Materialize(fx, JoinPath(root, "kernel"));
  ASSERT_TRUE(oracle_layers) << oracle_layers.error().message;
  const auto& lowers = oracle_layers->lowers;
  auto after = KernelView(lowers, JoinPath(root, "mnt"));
  ASSERT_TRUE(after) << after.error().message;
  auto before = KernelView({lowers.begin() + 1, lowers.end()}, JoinPath(root, "mnt"));
  ASSERT_TRUE(before) << before.error().message;

  // The oracle itself shows what the fixture means (whiteouts, opaque dir, replaced files).
  for (const char* hidden : {"/opt/old", "/var/cache/x", "/var/cache/y", "/lib/a.so.1"})
    EXPECT_FALSE(after->count(hidden)) << "kernel view shows " << hidden;
  for (const char* shown : {"/usr/new", "/var/cache/fresh", "/etc/link", "/srv/data", "/run/fifo"})
    EXPECT_TRUE(after->count(shown)) << "kernel view lacks " << shown;
  EXPECT_EQ(after->at("/usr/app"), "file 0750 0:0 size=7 data=\"app v2\\n\"");

  auto staged_layers = Materialize(fx, JoinPath(root, "staged"));
  ASSERT_TRUE(staged_layers) << staged_layers.error().message;
  std::string parent;
  for (size_t i = staged_layers->lowers.size(); i-- > 0;) {
    const std::string& staged = staged_layers->lowers[i];
    ASSERT_TRUE(ToDockerLayout(staged)) << staged;
    std::string id = StrPrintf("layer%zu", i);
    auto created = (*driver)->Create(id, {parent, false});
    ASSERT_TRUE(created) << created.error().message;
    auto applied = (*driver)->ApplyDiff(id, staged);
    ASSERT_TRUE(applied) << id << ": " << applied.error().message;
    parent = id;
  }

  auto merged = (*driver)->Get(parent);
  ASSERT_TRUE(merged) << merged.error().message;
  auto view = DescribeTree(*merged);
  EXPECT_TRUE((*driver)->Put(parent));
  ASSERT_TRUE(view) << view.error().message;
  for (const auto& [path, line] : *after) {
    auto it = view->find(path);
    EXPECT_TRUE(it != view->end()) << name << " lacks " << path << " (kernel: " << line << ")";
    if (it != view->end()) {
      EXPECT_EQ(it->second, line) << name << ": " << path;
    }
  }
  for (const auto& [path, line] : *view)
    EXPECT_TRUE(after->count(path)) << name << " shows " << path << " the kernel hides: " << line;

  auto changes = (*driver)->Changes(parent);
  ASSERT_TRUE(changes) << changes.error().message;
  std::set<std::string> got = ChangeSet(*changes, *before, *after);
  std::set<std::string> want = ExpectedChanges(*before, *after);
  for (const char* c :
       {"D /opt/old", "A /usr/new", "C /usr/app", "D /lib/a.so.1", "D /var/cache/y"})
    EXPECT_TRUE(want.count(c)) << "kernel views lack change " << c;
  EXPECT_EQ(got, want) << name << " Changes(" << parent << ")\n  got:\n  " << Lines(got)
                       << "\n  kernel views say:\n  " << Lines(want);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ImageDrivers,
                         ::testing::Values("overlay2", "overlay", "vfs", "btrfs"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ovlab::conformance
