#include "conformance/run.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/fs.h"
#include "base/strings.h"
#include "conformance/fixture.h"

namespace ovlab::conformance {

std::string ErrnoName(int err) {
  if (err == 0) return "ok";
  const char* name = ::strerrorname_np(err);
  return name ? name : StrPrintf("errno%d", err);
}

std::string TypeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "file";
    case S_IFDIR:
      return "dir";
    case S_IFLNK:
      return "symlink";
    case S_IFIFO:
      return "fifo";
    case S_IFCHR:
      return "chr";
    case S_IFBLK:
      return "blk";
    case S_IFSOCK:
      return "sock";
  }
  return "unknown";
}

std::string OpenFlagsName(int flags) {
  std::string out;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      out = "O_RDONLY";
      break;
    case O_WRONLY:
      out = "O_WRONLY";
      break;
    default:
      out = "O_RDWR";
  }
  static const std::pair<int, const char*> kFlags[] = {{O_CREAT, "O_CREAT"},
                                                       {O_EXCL, "O_EXCL"},
                                                       {O_TRUNC, "O_TRUNC"},
                                                       {O_APPEND, "O_APPEND"},
                                                       {O_DIRECTORY, "O_DIRECTORY"},
                                                       {O_NOFOLLOW, "O_NOFOLLOW"},
                                                       {O_NONBLOCK, "O_NONBLOCK"},
                                                       {O_PATH, "O_PATH"},
                                                       {O_TMPFILE & ~O_DIRECTORY, "O_TMPFILE"}};
  for (auto [bit, name] : kFlags) {
    if ((flags & bit) == bit) out += std::string("|") + name;
  }
  return out;
}

CaseRun::CaseRun(Target& target, LayerSet layers, std::string case_dir)
    : target_(target), layers_(std::move(layers)), case_dir_(std::move(case_dir)) {}

void CaseRun::Note(const std::string& step, const std::string& observed) {
  transcript_.push_back(step + " = " + observed);
}

void CaseRun::Expect(const std::string& step, const std::string& observed,
                     const std::string& expected) {
  Note(step, observed);
  expectations_.push_back(step + " = " + expected);
  if (observed != expected)
    violations_.push_back(step + ": expected " + expected + ", observed " + observed);
}

std::string CaseRun::OpenClose(const std::string& path, int flags, mode_t mode) {
  auto fd = target_.ops().Open(path, flags, mode);
  if (!fd) return ErrnoName(fd.error());
  auto closed = target_.ops().Close(*fd);
  return closed ? "ok" : "close " + ErrnoName(closed.error());
}

std::string CaseRun::ReadAll(const std::string& path) {
  // O_NONBLOCK: a fifo opens without a writer and reads as empty instead of hanging the case.
  auto fd = target_.ops().Open(path, O_RDONLY | O_NONBLOCK);
  if (!fd) return ErrnoName(fd.error());
  std::string all;
  for (;;) {
    auto chunk = target_.ops().Read(*fd, 65536);
    if (!chunk && chunk.error() == EAGAIN) break;
    if (!chunk) {
      all = "read " + ErrnoName(chunk.error());
      break;
    }
    if (chunk->empty()) break;
    all += *chunk;
  }
  (void)target_.ops().Close(*fd);
  return all;
}

std::string CaseRun::WriteAt(const std::string& path, int flags, const std::string& data) {
  auto fd = target_.ops().Open(path, flags, 0644);
  if (!fd) return ErrnoName(fd.error());
  auto n = target_.ops().Write(*fd, data);
  std::string out = n ? (*n == data.size() ? "ok" : "short") : "write " + ErrnoName(n.error());
  (void)target_.ops().Close(*fd);
  return out;
}

std::string CaseRun::TypeOf(const std::string& path) {
  auto st = target_.ops().Lstat(path);
  if (!st) return ErrnoName(st.error());
  return TypeName(st->st_mode) + StrPrintf(" %04o", st->st_mode & 07777);
}

std::string CaseRun::StatLine(const std::string& path, bool follow) {
  auto st = follow ? target_.ops().Stat(path) : target_.ops().Lstat(path);
  if (!st) return ErrnoName(st.error());
  std::string out =
      TypeName(st->st_mode) + StrPrintf(" %04o %u:%u", st->st_mode & 07777, st->st_uid, st->st_gid);
  if (!S_ISDIR(st->st_mode)) {
    out += StrPrintf(" size=%lld nlink=%lu", static_cast<long long>(st->st_size),
                     static_cast<unsigned long>(st->st_nlink));
  }
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
    out += StrPrintf(" rdev=%u:%u", major(st->st_rdev), minor(st->st_rdev));
  return out;
}

std::string CaseRun::List(const std::string& dir) {
  auto fd = target_.ops().Open(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return ErrnoName(fd.error());
  auto entries = target_.ops().ReadDir(*fd, 0);
  (void)target_.ops().Close(*fd);
  if (!entries) return "readdir " + ErrnoName(entries.error());
  std::vector<std::string> names;
  for (const auto& e : *entries)
    if (e.name != "." && e.name != "..") names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return "[" + Join(names, " ") + "]";
}

std::string UpperPlacement(const std::string& upper, const std::string& path) {
  std::string p = JoinPath(upper, path);
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return "absent";
  auto xattr = [&](const char* name) -> std::string {
    char buf[4096];
    ssize_t n = ::lgetxattr(p.c_str(), name, buf, sizeof buf);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
  };
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return "whiteout";
  if (S_ISREG(st.st_mode) && st.st_size == 0 &&
      ::lgetxattr(p.c_str(), "trusted.overlay.whiteout", nullptr, 0) >= 0)
    return "whiteout(xattr)";
  std::string out = TypeName(st.st_mode);
  if (S_ISDIR(st.st_mode)) {
    if (std::string o = xattr("trusted.overlay.opaque"); !o.empty()) out += " opaque=" + o;
  }
  if (!S_ISLNK(st.st_mode)) {
    if (std::string r = xattr("trusted.overlay.redirect"); !r.empty()) out += " redirect=" + r;
  }
  if (S_ISLNK(st.st_mode)) {
    auto target = ReadLink(p);
    if (target) out += " -> " + *target;
  }
  return out;
}

std::string CaseRun::Placement(const std::string& path) {
  return UpperPlacement(target_.UpperDir(), path);
}

namespace {

std::string Printable(const std::string& s) {
  if (s.size() <= 40 &&
      std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
    return JsonQuote(s);
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return StrPrintf("fnv:%016llx", static_cast<unsigned long long>(h));
}

}  // namespace

void CaseRun::ViewEntry(const std::string& path, dev_t root_dev) {
  auto st = target_.ops().Lstat(path);
  if (!st) {
    Note("view " + path, "lstat " + ErrnoName(st.error()));
    return;
  }
  std::string line = StatLine(path);
  line += st->st_dev == root_dev ? " dev=root" : " dev=other";
  if (S_ISREG(st->st_mode)) line += " data=" + Printable(ReadAll(path));
  if (S_ISLNK(st->st_mode)) {
    auto t = target_.ops().Readlink(path);
    line += " -> " + (t ? *t : ErrnoName(t.error()));
  }
  auto names = target_.ops().ListXattr(path);
  if (names) {
    std::sort(names->begin(), names->end());
    for (const auto& n : *names) {
      auto v = target_.ops().GetXattr(path, n);
      line += " " + n + "=" + (v ? Printable(*v) : ErrnoName(v.error()));
    }
  }
  Note("view " + path, line);
  if (!S_ISDIR(st->st_mode)) return;
  auto fd = target_.ops().Open(path, O_RDONLY | O_DIRECTORY);
  if (!fd) {
    Note("view " + path + " open", ErrnoName(fd.error()));
    return;
  }
  auto entries = target_.ops().ReadDir(*fd, 0);
  (void)target_.ops().Close(*fd);
  if (!entries) {
    Note("view " + path + " readdir", ErrnoName(entries.error()));
    return;
  }
  std::vector<DirEntry> sorted = *entries;
  std::sort(sorted.begin(), sorted.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const DirEntry& e = sorted[i];
    if (i > 0 && sorted[i - 1].name == e.name) Note("view " + path, "duplicate entry " + e.name);
    if (e.name == "." || e.name == "..") continue;
    std::string child = path == "/" ? "/" + e.name : path + "/" + e.name;
    auto cst = target_.ops().Lstat(child);
    if (cst && e.type != DT_UNKNOWN && e.type != IFTODT(cst->st_mode))
      Note("view " + child, StrPrintf("d_type %u disagrees with lstat", e.type));
    ViewEntry(child, root_dev);
  }
}

void CaseRun::View(const std::string& dir) {
  auto root = target_.ops().Lstat("/");
  ViewEntry(dir, root ? root->st_dev : 0);
}

std::string CaseRun::As(uid_t uid, gid_t gid, const std::function<int(Ops&)>& op) {
  return ErrnoName(target_.ops().RunAs(Cred{uid, gid, {}}, op));
}

std::string CaseRun::SameIno(const SysResult<struct stat>& before, const std::string& path_after) {
  if (!before) return "before " + ErrnoName(before.error());
  auto after = target_.ops().Lstat(path_after);
  if (!after) return "after " + ErrnoName(after.error());
  return before->st_ino == after->st_ino ? "same" : "changed";
}

std::string CaseRun::SameTimes(const SysResult<struct stat>& before,
                               const std::string& path_after) {
  if (!before) return "before " + ErrnoName(before.error());
  auto after = target_.ops().Lstat(path_after);
  if (!after) return "after " + ErrnoName(after.error());
  auto same = [](const struct timespec& a, const struct timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
  };
  std::vector<std::string> changed;
  if (!same(before->st_atim, after->st_atim)) changed.push_back("atime");
  if (!same(before->st_mtim, after->st_mtim)) changed.push_back("mtime");
  return changed.empty() ? "same" : Join(changed, "+") + " changed";
}

Status CaseRun::Remount() {
  return target_.Remount(layers_);
}

Status CaseRun::Rotate() {
  auto next = RotateLayers(layers_, case_dir_, ++generation_);
  if (!next) return std::unexpected(next.error());
  if (auto s = target_.Remount(*next); !s) return s;
  layers_ = *next;
  return {};
}

}  // namespace ovlab::conformance
