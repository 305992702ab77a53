#include "fuse/command_line.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <string_view>

#include "base/strings.h"
#include "io/copy.h"

namespace ovlab::fuse {
namespace {

// Generic FUSE and VFS mount options libfuse understands; they are handed to it unchanged.
const std::set<std::string, std::less<>> kGenericFlags = {"allow_other",
                                                          "allow_root",
                                                          "auto_unmount",
                                                          "default_permissions",
                                                          "rw",
                                                          "suid",
                                                          "nosuid",
                                                          "dev",
                                                          "nodev",
                                                          "exec",
                                                          "noexec",
                                                          "async",
                                                          "sync",
                                                          "atime",
                                                          "noatime",
                                                          "diratime",
                                                          "nodiratime",
                                                          "relatime",
                                                          "norelatime",
                                                          "strictatime",
                                                          "nostrictatime",
                                                          "lazytime",
                                                          "nolazytime",
                                                          "dirsync"};
const std::set<std::string, std::less<>> kGenericKeys = {"fsname",    "max_read",   "context",
                                                         "fscontext", "defcontext", "rootcontext"};
// Options meant for mount(8) and fstab only; accepted and dropped, as every mount helper does.
const std::set<std::string, std::less<>> kMountOnlyFlags = {
    "defaults", "auto", "noauto", "user", "nouser", "users", "nofail", "_netdev"};

// Splits an -o value at commas that are not escaped with a backslash (escapes are kept).
std::vector<std::string> SplitOptions(std::string_view value) {
  std::vector<std::string> out;
  std::string current;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      current += value[i];
      current += value[++i];
    } else if (value[i] == ',') {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += value[i];
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::string Unescape(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

Status BadValue(std::string_view key, std::string_view value, std::string_view expected) {
  return Fail(EINVAL, StrPrintf("option %.*s=%.*s: expected %.*s", static_cast<int>(key.size()),
                                key.data(), static_cast<int>(value.size()), value.data(),
                                static_cast<int>(expected.size()), expected.data()));
}

Status ParseOnOff(std::string_view key, std::string_view value, bool& out) {
  if (value == "on" || value == "yes" || value == "1" || value == "true") {
    out = true;
  } else if (value == "off" || value == "no" || value == "0" || value == "false") {
    out = false;
  } else {
    return BadValue(key, value, "on or off");
  }
  return {};
}

Status ParseSeconds(std::string_view key, std::string_view value, double& out) {
  std::string text(value);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0) || v > 1e9) {
    return BadValue(key, value, "a number of seconds >= 0");
  }
  out = v;
  return {};
}

Status ParseBytes(std::string_view key, std::string_view value, uint64_t min, uint64_t max,
                  uint32_t& out) {
  auto v = ParseSize(value);
  if (!v || *v < min || *v > max) {
    return BadValue(
        key, value,
        StrPrintf("a size from %llu to %llu bytes (suffixes K, M allowed)",
                  static_cast<unsigned long long>(min), static_cast<unsigned long long>(max)));
  }
  out = static_cast<uint32_t>(*v);
  return {};
}

// -o ovlab_<name>=<value>: the speed switches.
Status ParseSpeedOption(std::string_view key, std::string_view value, SpeedOptions& s,
                        unionfs::UnionOptions& u) {
  if (key == "ovlab_entry_timeout") return ParseSeconds(key, value, s.entry_timeout);
  if (key == "ovlab_attr_timeout") return ParseSeconds(key, value, s.attr_timeout);
  if (key == "ovlab_negative_timeout") return ParseSeconds(key, value, s.negative_timeout);
  if (key == "ovlab_writeback_cache") return ParseOnOff(key, value, s.writeback_cache);
  if (key == "ovlab_splice_read") return ParseOnOff(key, value, s.splice_read);
  if (key == "ovlab_splice_write") return ParseOnOff(key, value, s.splice_write);
  if (key == "ovlab_splice_move") return ParseOnOff(key, value, s.splice_move);
  if (key == "ovlab_splice") {
    bool on = false;
    if (auto st = ParseOnOff(key, value, on); !st) return st;
    s.splice_read = s.splice_write = s.splice_move = on;
    return {};
  }
  if (key == "ovlab_max_write") return ParseBytes(key, value, 4096, 1u << 20, s.max_write);
  if (key == "ovlab_max_readahead") {
    return ParseBytes(key, value, 0, 16u << 20, s.max_readahead);
  }
  if (key == "ovlab_copy_file_range") return ParseOnOff(key, value, s.copy_file_range);
  if (key == "ovlab_keep_cache") return ParseOnOff(key, value, s.keep_cache);
  if (key == "ovlab_cache_readdir") return ParseOnOff(key, value, s.cache_readdir);
  if (key == "ovlab_multithread") return ParseOnOff(key, value, s.multithread);
  if (key == "ovlab_clone_fd") return ParseOnOff(key, value, s.clone_fd);
  if (key == "ovlab_groups") return ParseOnOff(key, value, s.supplementary_groups);
  if (key == "ovlab_lookup_cache") return ParseOnOff(key, value, u.lookup_cache);
  if (key == "ovlab_max_threads") {
    auto v = ParseUint(value);
    if (!v || *v < 1 || *v > 1024) return BadValue(key, value, "a thread count from 1 to 1024");
    s.max_threads = static_cast<unsigned>(*v);
    return {};
  }
  if (key == "ovlab_readdirplus") {
    if (value == "auto") {
      s.readdirplus = ReaddirPlus::kAuto;
      return {};
    }
    bool on = false;
    if (auto st = ParseOnOff(key, value, on); !st) return BadValue(key, value, "on, off or auto");
    s.readdirplus = on ? ReaddirPlus::kOn : ReaddirPlus::kOff;
    return {};
  }
  if (key == "ovlab_copy") {
    auto strategy = io::ParseCopyStrategy(value);
    if (!strategy) {
      return BadValue(key, value,
                      "auto, clone, copy_file_range, io_uring, io_uring_splice or read_write");
    }
    u.copy_strategy = *strategy;
    return {};
  }
  if (key == "ovlab_passthrough") {
    bool on = false;
    if (auto st = ParseOnOff(key, value, on); !st) return st;
    if (!on) return {};
    return Fail(ENOTSUP,
                "option ovlab_passthrough=on: FUSE passthrough needs libfuse >= 3.17 and this "
                "build uses libfuse " OVLAB_LIBFUSE_VERSION "; leave it off");
  }
  return Fail(EINVAL, StrPrintf("unknown option %.*s: see ovlab-fuse --help for the ovlab_* "
                                "options",
                                static_cast<int>(key.size()), key.data()));
}

struct Parser {
  Parser() { config.union_options.redirect_dir = true; }  // ovlab-fuse's default, as the kernel's

  DaemonConfig config;
  bool allow_other = true;
  bool read_only_mount = false;
  std::string lowerdir;

  Status Option(std::string_view opt) {
    size_t eq = opt.find('=');
    std::string_view key = opt.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : opt.substr(eq + 1);
    bool has_value = eq != std::string_view::npos;
    auto& u = config.union_options;
    if (key == "lowerdir" && has_value) {
      lowerdir = std::string(value);
      return {};
    }
    if (key == "upperdir" && has_value) {
      u.upper = Unescape(value);
      return {};
    }
    if (key == "workdir" && has_value) {
      u.work = Unescape(value);
      return {};
    }
    if (key == "redirect_dir" && has_value) {
      // The kernel's "follow" and "nofollow" read redirects without making them: renames EXDEV.
      if (value == "follow" || value == "nofollow") {
        u.redirect_dir = false;
        return {};
      }
      return ParseOnOff(key, value, u.redirect_dir);
    }
    if (key == "metacopy" && has_value) return ParseOnOff(key, value, u.metacopy);
    if (key == "volatile" && !has_value) {
      u.volatile_ = true;
      return {};
    }
    if (key == "fsync" && has_value) {
      if (value != "auto" && value != "strict" && value != "volatile")
        return BadValue(key, value, "auto, strict or volatile");
      u.fsync_strict = value == "strict";
      u.volatile_ = value == "volatile";
      return {};
    }
    if (key == "index" && has_value) {
      if (value == "off") return {};
      return BadValue(key, value, "off (ovlab-fuse has no inode index)");
    }
    if (key == "xino" && has_value) {
      if (value == "on") {
        u.inode_policy = unionfs::InodePolicy::kXino;
      } else if (value == "off" || value == "auto") {
        u.inode_policy = unionfs::InodePolicy::kKernel;
      } else {
        return BadValue(key, value, "on, off or auto");
      }
      return {};
    }
    if (key == "ro" && !has_value) {
      read_only_mount = true;
      return {};
    }
    if (key == "ovlab_allow_other" && has_value) return ParseOnOff(key, value, allow_other);
    if (StartsWith(key, "ovlab_")) return ParseSpeedOption(key, value, config.speed, u);
    if (key == "debug" && !has_value) {
      config.debug = true;
      return {};
    }
    if (key == "allow_other" && !has_value) {
      allow_other = true;
      return {};
    }
    if (!has_value && kGenericFlags.count(key)) {
      config.fuse_options.emplace_back(opt);
      return {};
    }
    if (has_value && key == "fsname") {
      config.source = Unescape(value);
      return {};
    }
    if (has_value && kGenericKeys.count(key)) {
      config.fuse_options.emplace_back(opt);
      return {};
    }
    if ((!has_value && kMountOnlyFlags.count(key)) || StartsWith(key, "x-")) return {};
    if (key == "subtype") {
      return Fail(EINVAL,
                  "option subtype= cannot be changed: the mount's type is always "
                  "fuse.ovlab-fuse");
    }
    return Fail(EINVAL,
                StrPrintf("unknown option \"%.*s\": ovlab-fuse takes the overlay options "
                          "lowerdir, upperdir, workdir, redirect_dir, metacopy, volatile, fsync, "
                          "index=off, xino, ro, generic FUSE mount options and ovlab_* "
                          "options (see --help)",
                          static_cast<int>(opt.size()), opt.data()));
  }

  Status Options(std::string_view value) {
    for (const auto& opt : SplitOptions(value)) {
      if (auto st = Option(opt); !st) return st;
    }
    return {};
  }

  Status Finish(std::vector<std::string>& positional) {
    if (config.show_help || config.show_version) return {};
    if (positional.empty()) {
      return Fail(EINVAL,
                  "no mount point given: ovlab-fuse -o lowerdir=...,upperdir=...,"
                  "workdir=... MOUNTPOINT");
    }
    if (positional.size() > 2) {
      return Fail(EINVAL, StrPrintf("too many arguments (%zu): give at most SOURCE and "
                                    "MOUNTPOINT",
                                    positional.size()));
    }
    if (positional.size() == 2 && config.source == kProgramName) config.source = positional[0];
    config.mountpoint = positional.back();
    if (lowerdir.empty()) {
      return Fail(EINVAL, "no lowerdir= given: ovlab-fuse needs -o lowerdir=DIR[:DIR...]");
    }
    auto lowers = unionfs::ParseLowerDirList(lowerdir);
    if (!lowers) return std::unexpected(lowers.error());
    config.union_options.lowers = std::move(*lowers);
    auto& u = config.union_options;
    if (u.upper.empty() != u.work.empty()) {
      return Fail(EINVAL, u.upper.empty() ? "workdir= given without upperdir=: give both or neither"
                                          : "upperdir= given without workdir=: give both (on the "
                                            "same filesystem) or neither");
    }
    if (read_only_mount) config.fuse_options.push_back("ro");
    // As a kernel overlay mount: device nodes and setuid programs of the image work (libfuse
    // would mount nodev,nosuid). nodev / nosuid turn them off.
    auto given = [&](const char* o) {
      return std::find(config.fuse_options.begin(), config.fuse_options.end(), o) !=
             config.fuse_options.end();
    };
    if (!given("nodev")) config.fuse_options.push_back("dev");
    if (!given("nosuid")) config.fuse_options.push_back("suid");
    if (allow_other) config.fuse_options.insert(config.fuse_options.begin(), "allow_other");
    return {};
  }
};

}  // namespace

Result<DaemonConfig> ParseCommandLine(const std::vector<std::string>& args) {
  Parser p;
  std::vector<std::string> positional;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.empty() || a[0] != '-' || a == "-") {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
    } else if (a == "-o") {
      if (i + 1 >= args.size()) return Fail(EINVAL, "-o needs a value: -o lowerdir=...");
      if (auto st = p.Options(args[++i]); !st) return std::unexpected(st.error());
    } else if (StartsWith(a, "-o")) {
      if (auto st = p.Options(std::string_view(a).substr(2)); !st) {
        return std::unexpected(st.error());
      }
    } else if (a == "-f") {
      p.config.foreground = true;
    } else if (a == "-d" || a == "--debug") {
      p.config.debug = true;
      p.config.foreground = true;
    } else if (a == "-s") {
      p.config.speed.multithread = false;
    } else if (a == "-h" || a == "--help") {
      p.config.show_help = true;
    } else if (a == "-V" || a == "--version") {
      p.config.show_version = true;
    } else {
      return Fail(EINVAL, "unknown argument \"" + a + "\": see ovlab-fuse --help");
    }
  }
  if (auto st = p.Finish(positional); !st) return std::unexpected(st.error());
  return std::move(p.config);
}

std::vector<std::string> LibfuseArguments(const DaemonConfig& config) {
  std::vector<std::string> args = {kProgramName};
  if (config.debug) args.push_back("-d");
  std::vector<std::string> opts = config.fuse_options;
  // fsname is the mount's source column; escape commas as libfuse expects.
  std::string fsname;
  for (char c : config.source) {
    if (c == ',' || c == '\\') fsname += '\\';
    fsname += c;
  }
  opts.push_back("fsname=" + fsname);
  opts.push_back(std::string("subtype=") + kSubtype);
  args.push_back("-o");
  args.push_back(Join(opts, ","));
  return args;
}

std::string UsageText() {
  return R"(usage: ovlab-fuse -o lowerdir=A[:B...][,upperdir=U,workdir=W][,OPTIONS] [SOURCE] MOUNTPOINT

The ovlab union engine (overlay semantics, the kernel's on-disk format) mounted through FUSE.
Also works as `mount -t fuse.ovlab-fuse SOURCE MOUNTPOINT -o OPTIONS`.

  -f               stay in the foreground
  -d, --debug      print every FUSE request (implies -f)
  -s               single-threaded loop (same as -o ovlab_multithread=off)
  -h, --help       this text
  -V, --version    version of ovlab-fuse and libfuse

Overlay options (as the kernel's overlay):
  lowerdir=A:B     read-only layers, uppermost first; "\:" is a literal colon
  upperdir=U       writable layer; workdir=W on the same filesystem (both or neither)
  redirect_dir=on|off|follow|nofollow
                   on (default): directories can be renamed (redirect xattr); off: EXDEV
  metacopy=on|off  chmod/chown copy metadata only (default off)
  fsync=auto|strict|volatile
                   auto (default): a copy-up syncs data it copied (not a reflink); strict: also
                   every file and directory copy-up, after its metadata; volatile: no fsync
  volatile         the same as fsync=volatile
  index=off        accepted (there is no inode index)
  xino=on|off|auto inode numbers: on puts the layer in the high bits
  ro               mount read-only

Generic FUSE/mount options passed to libfuse: allow_other (on by default so every user can
use the mount; -o ovlab_allow_other=off to drop it), allow_root, default_permissions (always
on: the kernel checks permissions in the VFS's order, as on an overlay mount), dev and suid
(on by default, as on a kernel overlay mount; nodev, nosuid turn them off), auto_unmount,
fsname=, max_read=, nosuid, nodev, noexec, noatime, ... (mount(8)-only options such as
defaults, nofail, _netdev and x-* are ignored).

Speed options (for measurements):
  ovlab_entry_timeout=S, ovlab_attr_timeout=S, ovlab_negative_timeout=S   (3600, 1, 3600)
  ovlab_writeback_cache=on|off (off)      ovlab_keep_cache=on|off (on)
  ovlab_cache_readdir=on|off (on: the kernel keeps listings until the directory changes)
  ovlab_splice_read|splice_write|splice_move=on|off, ovlab_splice=on|off (off)
  ovlab_max_write=BYTES (1M; with splice_read at most fs.pipe-max-size - 4K, so requests fit
                         the pipe they are spliced into)
  ovlab_max_readahead=BYTES (1M)
  ovlab_copy_file_range=on|off (on)       ovlab_readdirplus=on|off|auto (auto)
  ovlab_multithread=on|off (on)           ovlab_max_threads=N (10)   ovlab_clone_fd=on|off
  ovlab_groups=on|off (on: supplementary groups of the caller are checked)
  ovlab_lookup_cache=on|off (on)          ovlab_copy=auto|clone|copy_file_range|...
  ovlab_passthrough=on  refused: FUSE passthrough needs libfuse >= 3.17
)";
}

}  // namespace ovlab::fuse
