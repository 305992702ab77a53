// Overlay mounts by four methods: one absolute option string (mount(2) through libmount, one
// page at most), relative paths after chdir in a thread with its own fs context (Docker's way
// around the page limit), and `lowerdir+` through the new mount API (no page limit).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <thread>

#include "base/fs.h"
#include "base/kernel_version.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "mount/kernel_log.h"
#include "mount/mount.h"

namespace ovlab::mount {

// A layer path in the option string: `:` separates layers so it is escaped; `,` separates
// options and overlay has no escape for it.
Result<std::string> EscapeLayerPath(const std::string& path) {
  if (path.empty()) return Fail(EINVAL, "overlay: an empty layer path was given");
  if (path.find(',') != std::string::npos)
    return Fail(EINVAL, "overlay: layer path '" + path +
                            "' contains a comma, which overlay options cannot carry; rename it");
  std::string out;
  for (char c : path) {
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

namespace {

bool IsAbsolute(const std::string& p) {
  return !p.empty() && p.front() == '/';
}

// For absolute methods: relative spec paths are taken relative to relative_base.
std::string AbsoluteFor(const OverlaySpec& spec, const std::string& p) {
  if (IsAbsolute(p) || spec.relative_base.empty()) return p;
  return JoinPath(spec.relative_base, p);
}

// The spec with every layer path made absolute (or relative to base when base is not empty).
struct LayerPaths {
  std::vector<std::string> lowers;
  std::string upper, work;
};

Result<std::string> RelativeTo(const std::string& base, const std::string& p) {
  if (!IsAbsolute(p)) return p;
  std::string prefix = base.back() == '/' ? base : base + "/";
  if (!StartsWith(p, prefix))
    return Fail(EINVAL, "overlay: layer '" + p + "' is not below the relative base '" + base +
                            "'; give paths under the base (or relative to it)");
  return p.substr(prefix.size());
}

Result<LayerPaths> MakePaths(const OverlaySpec& spec, const std::string& relative_base) {
  LayerPaths out;
  auto convert = [&](const std::string& p) -> Result<std::string> {
    if (relative_base.empty()) return AbsoluteFor(spec, p);
    return RelativeTo(relative_base, AbsoluteFor(spec, p));
  };
  for (const auto& l : spec.lowers) {
    auto p = convert(l);
    if (!p) return std::unexpected(p.error());
    out.lowers.push_back(std::move(*p));
  }
  if (!spec.upper.empty()) {
    auto u = convert(spec.upper);
    auto w = convert(spec.work);
    if (!u) return std::unexpected(u.error());
    if (!w) return std::unexpected(w.error());
    out.upper = std::move(*u);
    out.work = std::move(*w);
  }
  return out;
}

Result<std::string> OptionString(const OverlaySpec& spec, const LayerPaths& paths) {
  std::vector<std::string> escaped;
  for (const auto& l : paths.lowers) {
    auto e = EscapeLayerPath(l);
    if (!e) return std::unexpected(e.error());
    escaped.push_back(std::move(*e));
  }
  std::string opts = "lowerdir=" + Join(escaped, ":");
  if (!paths.upper.empty()) {
    auto u = EscapeLayerPath(paths.upper);
    if (!u) return std::unexpected(u.error());
    auto w = EscapeLayerPath(paths.work);
    if (!w) return std::unexpected(w.error());
    opts += ",upperdir=" + *u + ",workdir=" + *w;
  }
  for (const auto& o : spec.options) opts += "," + o;
  return opts;
}

size_t PageLimit() {
  return static_cast<size_t>(::getpagesize()) - 1;
}

Status CheckSpec(const OverlaySpec& spec) {
  if (spec.lowers.empty())
    return Fail(EINVAL, "overlay: no lower layer given; an overlay needs at least one lowerdir");
  if (!spec.upper.empty() && spec.work.empty())
    return Fail(EINVAL, "overlay: upperdir '" + spec.upper + "' given without a workdir");
  if (spec.upper.empty() && !spec.work.empty())
    return Fail(EINVAL, "overlay: workdir given without an upperdir");
  if (spec.upper.empty() && spec.lowers.size() < 2)
    return Fail(EINVAL,
                "overlay: without an upperdir the kernel needs at least 2 lowerdirs; add a "
                "layer or an upperdir");
  for (const auto& o : spec.options) {
    if (o.empty() || o.find(',') != std::string::npos)
      return Fail(EINVAL,
                  "overlay: option '" + o + "' must be one non-empty option without commas");
  }
  return {};
}

// The kernel's own report of a missing layer is generic ("special device does not exist"), so
// name the missing directory first.
Status CheckLayersExist(const OverlaySpec& spec) {
  auto check = [&](const std::string& p, const char* role) -> Status {
    std::string abs = AbsoluteFor(spec, p);
    struct stat st;
    if (::stat(abs.c_str(), &st) != 0)
      return FailErrno(errno, StrPrintf("overlay: %s '%s'", role, abs.c_str()));
    if (!S_ISDIR(st.st_mode))
      return Fail(ENOTDIR, StrPrintf("overlay: %s '%s' is not a directory", role, abs.c_str()));
    return {};
  };
  for (const auto& l : spec.lowers) {
    if (auto st = check(l, "lowerdir"); !st) return st;
  }
  if (spec.upper.empty()) return {};
  if (auto st = check(spec.upper, "upperdir"); !st) return st;
  return check(spec.work, "workdir");
}

// mount(2) sends overlay's reason to the kernel log only: quote it, or say where to look.
Error WithKernelReason(Error e, KernelLogTail& log) {
  std::string said = log.NewMessages("overlayfs:");
  if (said.empty()) {
    e.message += " (overlayfs logs the reason to the kernel log: dmesg | grep overlayfs)";
  } else {
    e.message += " (kernel: " + said + ")";
  }
  return e;
}

unsigned long MountFlags(const OverlaySpec& spec) {
  return spec.read_only ? MS_RDONLY : 0;
}

Result<OverlayMountInfo> MountAbsolute(const OverlaySpec& spec, const std::string& target) {
  auto paths = MakePaths(spec, "");
  if (!paths) return std::unexpected(paths.error());
  auto opts = OptionString(spec, *paths);
  if (!opts) return std::unexpected(opts.error());
  if (opts->size() > PageLimit())
    return Fail(E2BIG,
                StrPrintf("overlay: the option string for %zu layers is %zu bytes, more than "
                          "the %zu bytes mount(2) accepts; use the lowerdir+ or relative "
                          "method (or shorter layer paths)",
                          spec.lowers.size(), opts->size(), PageLimit()));
  KernelLogTail log;
  if (auto st = Mount("overlay", target, "overlay", *opts, MountFlags(spec)); !st)
    return std::unexpected(WithKernelReason(st.error(), log));
  return OverlayMountInfo{OverlayMethod::kAbsolute, opts->size()};
}

// The directory that holds all layer paths: the default base of the relative method.
std::string CommonParent(const OverlaySpec& spec) {
  std::vector<std::string> all;
  for (const auto& l : spec.lowers) all.push_back(AbsoluteFor(spec, l));
  if (!spec.upper.empty()) {
    all.push_back(AbsoluteFor(spec, spec.upper));
    all.push_back(AbsoluteFor(spec, spec.work));
  }
  std::string common = DirName(all.front());
  for (const auto& p : all) {
    while (common != "/" && !StartsWith(p, common + "/")) common = DirName(common);
  }
  return common;
}

Result<OverlayMountInfo> MountRelative(const OverlaySpec& spec, const std::string& target) {
  std::string base = spec.relative_base.empty() ? CommonParent(spec) : spec.relative_base;
  if (!IsAbsolute(base))
    return Fail(EINVAL, "overlay: relative_base '" + base + "' must be an absolute path");
  auto paths = MakePaths(spec, base);
  if (!paths) return std::unexpected(paths.error());
  auto opts = OptionString(spec, *paths);
  if (!opts) return std::unexpected(opts.error());
  if (opts->size() > PageLimit())
    return Fail(E2BIG, StrPrintf("overlay: even relative to '%s' the option string for %zu layers "
                                 "is %zu bytes (limit %zu); use lowerdir+ or shorter layer links "
                                 "(as Docker's l/ directory does)",
                                 base.c_str(), spec.lowers.size(), opts->size(), PageLimit()));
  char abs_target[PATH_MAX];
  if (!::realpath(target.c_str(), abs_target)) return FailErrno(errno, "overlay target " + target);
  // chdir in a thread with a private fs context, so the process's cwd never changes.
  Status result;
  KernelLogTail log;
  std::thread worker([&] {
    if (::unshare(CLONE_FS) != 0) {
      result = FailErrno(errno, "unshare(CLONE_FS)");
    } else if (::chdir(base.c_str()) != 0) {
      result = FailErrno(errno, "chdir " + base);
    } else {
      result = Mount("overlay", abs_target, "overlay", *opts, MountFlags(spec));
      if (!result) result = std::unexpected(WithKernelReason(result.error(), log));
    }
  });
  worker.join();
  if (!result) return std::unexpected(WithContext(result.error(), "relative to " + base));
  return OverlayMountInfo{OverlayMethod::kRelative, opts->size()};
}

// The kernel's messages for an fs context ("e overlayfs: ..."), joined into one line.
std::string ContextMessages(int fs_fd) {
  std::string out;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fs_fd, buf, sizeof buf - 1);
    if (n <= 0) break;
    std::string_view line(buf, static_cast<size_t>(n));
    if (line.size() > 2 && line[1] == ' ') line.remove_prefix(2);
    if (!out.empty()) out += "; ";
    out += Trim(line);
  }
  return out;
}

// An fsconfig/fsmount failure: errno text plus what the kernel said, if it said something.
std::unexpected<Error> FailContext(int fs_fd, int code, const std::string& what,
                                   KernelLogTail* log = nullptr) {
  std::string said = ContextMessages(fs_fd);
  // Some checks (at superblock creation) still log with pr_err rather than to the context.
  if (said.empty() && log) said = log->NewMessages("overlayfs:");
  std::string msg = what + ": " + ErrnoText(code);
  if (!said.empty()) msg += " (kernel: " + said + ")";
  return Fail(code, msg);
}

Status SetOption(int fs_fd, const std::string& option) {
  auto eq = option.find('=');
  int rc;
  if (eq == std::string::npos) {
    rc = ::fsconfig(fs_fd, FSCONFIG_SET_FLAG, option.c_str(), nullptr, 0);
  } else {
    std::string key = option.substr(0, eq), value = option.substr(eq + 1);
    rc = ::fsconfig(fs_fd, FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0);
  }
  if (rc != 0) return FailContext(fs_fd, errno, "overlay option " + option);
  return {};
}

// ENOSYS/EINVAL on the first lowerdir+ mean "this kernel has no lowerdir+": callers may fall back.
struct LowerdirPlusError {
  Error error;
  bool unsupported = false;
};

// fsconfig takes string values of at most 256 bytes, so long absolute layer paths cannot go
// through lowerdir+: with a relative_base the paths are given relative to it, from a thread that
// chdir'ed there (as MountRelative does).
std::expected<OverlayMountInfo, LowerdirPlusError> MountLowerdirPlusIn(const OverlaySpec& spec,
                                                                       const std::string& target,
                                                                       const std::string& base) {
  auto fail = [](Error e, bool unsupported = false) {
    return std::unexpected(LowerdirPlusError{std::move(e), unsupported});
  };
  auto paths = MakePaths(spec, base);
  if (!paths) return fail(paths.error());
  UniqueFd fs_fd(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs_fd) return fail(FailErrno(errno, "fsopen(overlay)").error(), errno == ENOSYS);
  for (size_t i = 0; i < paths->lowers.size(); ++i) {
    const std::string& l = paths->lowers[i];
    if (::fsconfig(fs_fd.get(), FSCONFIG_SET_STRING, "lowerdir+", l.c_str(), 0) != 0) {
      int e = errno;
      auto err =
          FailContext(fs_fd.get(), e, StrPrintf("overlay lowerdir+ #%zu '%s'", i + 1, l.c_str()));
      bool unsupported = i == 0 && (e == EINVAL || e == ENOSYS) &&
                         err.error().message.find("nknown parameter") != std::string::npos;
      return fail(err.error(), unsupported);
    }
  }
  if (!paths->upper.empty()) {
    if (auto st = SetOption(fs_fd.get(), "upperdir=" + paths->upper); !st) return fail(st.error());
    if (auto st = SetOption(fs_fd.get(), "workdir=" + paths->work); !st) return fail(st.error());
  }
  for (const auto& o : spec.options) {
    if (auto st = SetOption(fs_fd.get(), o); !st) return fail(st.error());
  }
  KernelLogTail log;
  if (::fsconfig(fs_fd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return fail(FailContext(fs_fd.get(), errno, "overlay create", &log).error());
  UniqueFd mnt_fd(::fsmount(fs_fd.get(), FSMOUNT_CLOEXEC, spec.read_only ? MOUNT_ATTR_RDONLY : 0));
  if (!mnt_fd) return fail(FailContext(fs_fd.get(), errno, "overlay fsmount").error());
  if (::move_mount(mnt_fd.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return fail(FailErrno(errno, "move_mount overlay to " + target).error());
  return OverlayMountInfo{OverlayMethod::kLowerdirPlus, 0};
}

std::expected<OverlayMountInfo, LowerdirPlusError> MountLowerdirPlus(const OverlaySpec& spec,
                                                                     const std::string& target) {
  if (spec.relative_base.empty()) return MountLowerdirPlusIn(spec, target, "");
  char abs_target[PATH_MAX];
  if (!::realpath(target.c_str(), abs_target)) {
    return std::unexpected(LowerdirPlusError{FailErrno(errno, "overlay target " + target).error()});
  }
  std::expected<OverlayMountInfo, LowerdirPlusError> result;
  std::thread worker([&] {
    if (::unshare(CLONE_FS) != 0 || ::chdir(spec.relative_base.c_str()) != 0) {
      result = std::unexpected(
          LowerdirPlusError{FailErrno(errno, "chdir " + spec.relative_base).error()});
    } else {
      result = MountLowerdirPlusIn(spec, abs_target, spec.relative_base);
    }
  });
  worker.join();
  return result;
}

}  // namespace

const char* OverlayMethodName(OverlayMethod m) {
  switch (m) {
    case OverlayMethod::kAuto:
      return "auto";
    case OverlayMethod::kAbsolute:
      return "absolute";
    case OverlayMethod::kRelative:
      return "relative";
    case OverlayMethod::kLowerdirPlus:
      return "lowerdir+";
  }
  return "?";
}

Result<OverlayMountInfo> MountOverlay(const OverlaySpec& spec, const std::string& target,
                                      OverlayMethod method) {
  if (auto st = CheckSpec(spec); !st) return std::unexpected(st.error());
  auto in_context = [&](Error e) {
    return std::unexpected(WithContext(std::move(e), "mount overlay on " + target));
  };
  if (auto st = CheckLayersExist(spec); !st) return in_context(st.error());
  switch (method) {
    case OverlayMethod::kAbsolute: {
      auto r = MountAbsolute(spec, target);
      return r ? r : in_context(r.error());
    }
    case OverlayMethod::kRelative: {
      auto r = MountRelative(spec, target);
      return r ? r : in_context(r.error());
    }
    case OverlayMethod::kLowerdirPlus: {
      auto r = MountLowerdirPlus(spec, target);
      if (r) return *r;
      return in_context(r.error().error);
    }
    case OverlayMethod::kAuto:
      break;
  }
  auto abs = MountAbsolute(spec, target);
  if (abs || abs.error().code != E2BIG) return abs ? abs : in_context(abs.error());
  // Before 6.8 fsconfig passes overlay options through the legacy one-page string, which
  // accepts "lowerdir+" as an unknown key until the page is full: go relative there.
  if (KernelVersion::Running().AtLeast(6, 8)) {
    auto plus = MountLowerdirPlus(spec, target);
    if (plus) return *plus;
    if (!plus.error().unsupported) return in_context(plus.error().error);
  }
  auto rel = MountRelative(spec, target);
  return rel ? rel : in_context(rel.error());
}

}  // namespace ovlab::mount
