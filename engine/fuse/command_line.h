// The ovlab-fuse command line: fuse-overlayfs' syntax and the kernel's overlay options
//   ovlab-fuse -o lowerdir=A:B,upperdir=U,workdir=W[,redirect_dir=on|off][,metacopy=on|off]
//              [,volatile][,ro] [SOURCE] MOUNTPOINT [-f] [-d] [--help] [--version]
// Options may come before or after the positional arguments (mount.fuse3 puts them last).
// Overlay options configure the union, ovlab_* options the FUSE speed features, and a fixed set
// of generic FUSE/mount options (allow_other, default_permissions, nosuid, ...) go to libfuse.
// Anything else is an error: nothing is silently ignored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "union/options.h"

namespace ovlab::fuse {

inline constexpr char kProgramName[] = "ovlab-fuse";
// The mount's fstype is fuse.<subtype>, which is what `mount -t fuse.ovlab-fuse` looks for.
inline constexpr char kSubtype[] = "ovlab-fuse";

enum class ReaddirPlus { kOff, kOn, kAuto };

// FUSE features that trade consistency or memory for speed; each one is switchable so the
// benchmarks can measure it (-o ovlab_<name>=...).
struct SpeedOptions {
  // Names change only through the mount (overlayfs forbids changing layers under a mount), and
  // the kernel updates its dentries for every change made through it: they can stay cached,
  // which saves the LOOKUP (and its FORGET) that revalidates each name older than the timeout.
  double entry_timeout = 3600.0;     // seconds the kernel may cache a name -> node lookup
  double attr_timeout = 1.0;         // seconds the kernel may cache attributes
  double negative_timeout = 3600.0;  // likewise for "no such name" (names change only here)
  bool writeback_cache = false;      // kernel-side write-back page cache
  bool splice_read = false;          // requests (write data) read from /dev/fuse by splice
  bool splice_write = false;         // replies (read data) written to /dev/fuse by splice
  bool splice_move = false;          // splice may move pages instead of copying them
  uint32_t max_write = 1u << 20;     // bytes per WRITE request
  uint32_t max_readahead = 1u << 20;
  bool copy_file_range = true;  // serve copy_file_range(2) in the daemon
  bool keep_cache = true;       // keep the page cache of a file across opens
  bool cache_readdir = true;    // the kernel caches directory listings (dropped on changes)
  ReaddirPlus readdirplus = ReaddirPlus::kAuto;
  bool multithread = true;           // fuse_session_loop_mt instead of fuse_session_loop
  unsigned max_threads = 10;         // worker limit of the multi-threaded loop
  bool clone_fd = false;             // one /dev/fuse descriptor per worker thread
  bool supplementary_groups = true;  // read the caller's groups (fuse_req_getgroups) for Cred
};

struct DaemonConfig {
  unionfs::UnionOptions union_options;
  SpeedOptions speed;
  std::string source = kProgramName;  // shown as the mount's source (fsname)
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool show_help = false;
  bool show_version = false;
  // Generic options handed to libfuse as "-o a,b,c" (allow_other is added unless refused).
  std::vector<std::string> fuse_options;
};

// Parses argv without argv[0]. Errors are one line naming the offending argument and the fix.
Result<DaemonConfig> ParseCommandLine(const std::vector<std::string>& args);

// --help text.
std::string UsageText();

// The arguments for libfuse's fuse_session_new: argv0 plus "-o <generic options>" (and "-d").
std::vector<std::string> LibfuseArguments(const DaemonConfig& config);

}  // namespace ovlab::fuse
