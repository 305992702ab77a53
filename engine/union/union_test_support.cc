#include "union/union_test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "mount/mount.h"

namespace ovlab::unionfs::testing {

UnionOptions Stack::Options(bool with_upper) const {
  UnionOptions o;
  for (int i = 0; i < nlowers; ++i) o.lowers.push_back(lower(i));
  if (with_upper) {
    o.upper = upper();
    o.work = work();
  }
  return o;
}

namespace {

void MakeParents(const std::string& path) {
  auto st = MakeDirs(DirName(path), 0755);
  ASSERT_TRUE(st) << st.error().message;
}

}  // namespace

void PutFile(const std::string& path, const std::string& content, mode_t mode) {
  MakeParents(path);
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path << ": " << ErrnoText(errno);
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::fchmod(fd, mode);
  ::close(fd);
}

void PutDir(const std::string& path, mode_t mode) {
  MakeParents(path);
  ASSERT_TRUE(::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) << path;
  ::chmod(path.c_str(), mode);
}

void PutSymlink(const std::string& path, const std::string& target) {
  MakeParents(path);
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0) << path << ": " << ErrnoText(errno);
}

void PutWhiteout(const std::string& path) {
  MakeParents(path);
  ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0, makedev(0, 0)), 0) << path;
}

void PutXattr(const std::string& path, const std::string& name, const std::string& value) {
  ASSERT_EQ(::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0), 0)
      << path << " " << name << ": " << ErrnoText(errno);
}

std::string ReadText(const std::string& path) {
  auto t = ReadFileText(path);
  return t ? *t : std::string();
}

bool Exists(const std::string& path) {
  return PathExists(path);
}

namespace {

const char* TypeName(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG:
      return "reg";
    case S_IFDIR:
      return "dir";
    case S_IFLNK:
      return "lnk";
    case S_IFCHR:
      return "chr";
    case S_IFBLK:
      return "blk";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "sock";
  }
  return "?";
}

std::string Head(const struct stat& st) {
  std::string s =
      StrPrintf("%s %04o %u:%u", TypeName(st.st_mode), st.st_mode & 07777, st.st_uid, st.st_gid);
  if (!S_ISDIR(st.st_mode)) s += StrPrintf(" size=%lld", static_cast<long long>(st.st_size));
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    s += StrPrintf(" rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
  return s;
}

std::string XattrText(std::vector<std::string> names,
                      const std::function<std::string(const std::string&)>& get) {
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += " x:" + n + "=" + get(n);
  return out;
}

void FsWalk(const std::string& root, const std::string& rel, View& view) {
  std::string path = rel.empty() ? root : root + "/" + rel;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    view["/" + rel] = "stat error " + ErrnoText(errno);
    return;
  }
  std::string line = Head(st);
  if (S_ISREG(st.st_mode)) line += " data=" + ReadText(path);
  if (S_ISLNK(st.st_mode)) {
    auto t = ReadLink(path);
    line += " ->" + (t ? *t : std::string("?"));
  }
  std::vector<std::string> names;
  char buf[4096];
  ssize_t n = ::llistxattr(path.c_str(), buf, sizeof(buf));
  for (ssize_t i = 0; i < n;) {
    std::string name(buf + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    names.push_back(name);
  }
  line += XattrText(names, [&](const std::string& name) {
    char v[1024];
    ssize_t m = ::lgetxattr(path.c_str(), name.c_str(), v, sizeof(v));
    return m < 0 ? std::string("?") : std::string(v, static_cast<size_t>(m));
  });
  view["/" + rel] = line;
  if (!S_ISDIR(st.st_mode)) return;
  auto entries = ListDir(path);
  if (!entries) return;
  for (const auto& e : *entries) FsWalk(root, rel.empty() ? e : rel + "/" + e, view);
}

void EngineWalk(Union& u, const std::string& path, View& view) {
  Cred root = Cred::Root();
  auto st = u.Stat(root, path, AT_SYMLINK_NOFOLLOW);
  if (!st) {
    view[path] = "stat error " + ErrnoText(st.error());
    return;
  }
  std::string line = Head(*st);
  if (S_ISREG(st->st_mode)) {
    std::string data;
    auto h = u.Open(root, path, O_RDONLY);
    if (h) {
      char buf[65536];
      off_t off = 0;
      for (;;) {
        auto n = u.Read(*h, buf, sizeof(buf), off);
        if (!n || *n == 0) break;
        data.append(buf, *n);
        off += static_cast<off_t>(*n);
      }
      (void)u.Release(*h);
    } else {
      data = "open error " + ErrnoText(h.error());
    }
    line += " data=" + data;
  }
  if (S_ISLNK(st->st_mode)) {
    auto t = u.ReadLink(root, path);
    line += " ->" + (t ? *t : std::string("?"));
  }
  auto names = u.ListXattr(root, path, AT_SYMLINK_NOFOLLOW);
  line += XattrText(names ? *names : std::vector<std::string>{}, [&](const std::string& name) {
    auto v = u.GetXattr(root, path, name, AT_SYMLINK_NOFOLLOW);
    return v ? *v : std::string("?");
  });
  view[path == "/" ? "/" : path] = line;
  if (!S_ISDIR(st->st_mode)) return;
  auto entries = u.ReadDir(root, path);
  if (!entries) return;
  for (const auto& e : *entries) {
    if (e.name == "." || e.name == "..") continue;
    EngineWalk(u, path == "/" ? "/" + e.name : path + "/" + e.name, view);
  }
}

}  // namespace

View FsView(const std::string& root) {
  View v;
  FsWalk(root, "", v);
  return v;
}

View EngineView(Union& u, const std::string& path) {
  View v;
  EngineWalk(u, path, v);
  return v;
}

std::string Describe(const View& v) {
  std::string out;
  for (const auto& [path, line] : v) out += path + ": " + line + "\n";
  return out;
}

int AsUser(uid_t uid, gid_t gid, const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(uid, uid, uid) != 0)
      ::_exit(255);
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 254;
}

void UnionFixture::SetUp() {
  if (backing_ != scratch::Backing::kTmpfs) {
    std::string mkfs = std::string("mkfs.") + (backing_ == scratch::Backing::kExt4    ? "ext4"
                                               : backing_ == scratch::Backing::kBtrfs ? "btrfs"
                                                                                      : "xfs");
    if (!HaveProgram(mkfs)) GTEST_SKIP() << mkfs << " is not installed: no " << mkfs << " stacks";
  }
  scratch::ScratchOptions o;
  o.backing = backing_;
  o.size_bytes = 512ull << 20;
  auto fs = scratch::ScratchFs::Create(o);
  ASSERT_TRUE(fs) << fs.error().message;
  fs_ = std::move(*fs);
  root_ = fs_->path();
  // Tests act as other users too: they must reach the stacks (mkdtemp dirs are 0700).
  for (std::string p = root_; p.size() > 1 && p != "/var/tmp" && p != "/tmp"; p = DirName(p)) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) ::chmod(p.c_str(), (st.st_mode & 07777) | 0711);
  }
}

void UnionFixture::TearDown() {
  for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) (void)mount::Unmount(*it, true);
  mounted_.clear();
  if (fs_) {
    auto st = fs_->Destroy();
    EXPECT_TRUE(st) << st.error().message;
  }
}

Stack UnionFixture::MakeStack(const std::string& name, int nlowers) {
  Stack s;
  s.base = root_ + "/" + name + std::to_string(stacks_++);
  s.nlowers = nlowers;
  for (int i = 0; i < nlowers; ++i) PutDir(s.lower(i));
  PutDir(s.upper());
  PutDir(s.work());
  PutDir(s.merged());
  return s;
}

std::pair<Stack, Stack> UnionFixture::MakeTwin(int nlowers,
                                               const std::function<void(const Stack&)>& fill) {
  Stack a = MakeStack("engine", nlowers);
  Stack b = MakeStack("kernel", nlowers);
  fill(a);
  fill(b);
  return {a, b};
}

std::unique_ptr<Union> UnionFixture::OpenEngine(const UnionOptions& options) {
  auto u = Union::Open(options);
  EXPECT_TRUE(u) << u.error().message;
  return u ? std::move(*u) : nullptr;
}

std::string UnionFixture::MountKernel(const Stack& s, const std::vector<std::string>& extra,
                                      bool with_upper) {
  mount::OverlaySpec spec;
  for (int i = 0; i < s.nlowers; ++i) spec.lowers.push_back(s.lower(i));
  if (with_upper) {
    spec.upper = s.upper();
    spec.work = s.work();
  }
  spec.options = extra;
  auto m = mount::MountOverlay(spec, s.merged());
  EXPECT_TRUE(m) << m.error().message;
  if (!m) return "";
  mounted_.push_back(s.merged());
  return s.merged();
}

void UnionFixture::UnmountKernel(const Stack& s) {
  auto st = mount::Unmount(s.merged(), false);
  EXPECT_TRUE(st) << st.error().message;
  mounted_.erase(std::remove(mounted_.begin(), mounted_.end(), s.merged()), mounted_.end());
}

Twins UnionFixture::OpenTwins(int nlowers, const std::function<void(const Stack&)>& fill,
                              const std::vector<std::string>& kernel_options, bool with_upper) {
  auto [es, ks] = MakeTwin(nlowers, fill);
  Twins t{es, ks, OpenEngine(es.Options(with_upper)), ""};
  if (!t.engine) return t;
  t.merged = MountKernel(ks, kernel_options, with_upper);
  // Without the oracle the test must stop: an empty mount point would make its paths absolute.
  if (t.merged.empty()) t.engine.reset();
  return t;
}

std::string BackingParamName(const ::testing::TestParamInfo<scratch::Backing>& info) {
  return scratch::BackingName(info.param);
}

}  // namespace ovlab::unionfs::testing
