// Kernel mounts: overlay (libmount, or the new mount API for `lowerdir+`), plain mounts, unmounts,
// and the mount table read through libmount. Nothing here parses /proc by hand.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab::mount {

// How an overlay mount gets its layer list to the kernel.
enum class OverlayMethod {
  kAuto,      // absolute paths if they fit a page, else lowerdir+ (kernel >= 6.8), else relative
  kAbsolute,  // one option string with absolute paths (must fit a page)
  kRelative,  // chdir(base) in a thread with its own fs context (unshare CLONE_FS), as Docker does
  kLowerdirPlus,  // fsopen/fsconfig, one `lowerdir+` per layer; no page limit
};
const char* OverlayMethodName(OverlayMethod m);

struct OverlaySpec {
  std::vector<std::string> lowers;  // uppermost first
  std::string upper;                // empty: read-only overlay (the kernel then needs >= 2 lowers)
  std::string work;                 // required when upper is set
  std::vector<std::string>
      options;             // extra options: "redirect_dir=on", "metacopy=on", "index=off", ...
  bool read_only = false;  // MS_RDONLY
  // Relative layer paths are taken relative to this. kRelative mounts from here (default: the
  // deepest directory holding every layer); the other methods join it to relative paths.
  std::string relative_base;
};

struct OverlayMountInfo {
  OverlayMethod method = OverlayMethod::kAuto;  // the method actually used
  size_t option_bytes = 0;                      // length of the data string (0 for lowerdir+)
};

// A layer path as overlay options spell it: colons and backslashes escaped with a backslash
// (LK2). A comma cannot be carried (overlay has no escape for it): EINVAL saying so.
Result<std::string> EscapeLayerPath(const std::string& path);

// Mounts overlay at target. Errors quote the kernel's reason when it gives one. Layer paths
// may hold ':' (escaped as LK2 says) but not ','; every layer must exist. kAbsolute with a list
// longer than a page fails with E2BIG and mounts nothing.
Result<OverlayMountInfo> MountOverlay(const OverlaySpec& spec, const std::string& target,
                                      OverlayMethod method = OverlayMethod::kAuto);

// A plain mount through libmount's mnt_context (ext4/xfs/btrfs images, tmpfs, bind).
Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
             const std::string& options = "", unsigned long flags = 0);
// Unmounts; detach = MNT_DETACH (lazy), as Docker does for layers.
Status Unmount(const std::string& target, bool detach = true);

struct MountEntry {
  std::string source, target, fstype, options;  // options: VFS + fs-specific, comma-joined
  int id = 0, parent_id = 0;
};
// The current mount namespace's table (libmount mountinfo).
Result<std::vector<MountEntry>> ReadMountTable();
// The entry whose target is exactly `path` (canonicalised), if mounted.
Result<std::optional<MountEntry>> FindMount(const std::string& path);
// Mount entries below (or at) a directory: what a scratch fs or a driver must unmount.
Result<std::vector<MountEntry>> MountsUnder(const std::string& dir);

// What the running kernel's overlayfs supports (module parameters, version), for driver status.
struct OverlayFeatures {
  std::string kernel_release;  // uname -r
  bool overlay_available = false;
  bool redirect_dir_default = false, metacopy_default = false, index_default = false;
  bool xino_auto_default = false;
  bool lowerdir_plus = false;     // kernel >= 6.8
  bool data_only_lowers = false;  // kernel >= 6.5 ("::" separator)
  int max_lowers = 500;
};
OverlayFeatures ProbeOverlayFeatures();

// True when `dir` supports d_type (overlay requires it): creates and reads back a probe file.
Result<bool> SupportsDType(const std::string& dir);

}  // namespace ovlab::mount
