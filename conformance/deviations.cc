#include "conformance/deviations.h"

#include <string_view>

namespace ovlab::conformance {

namespace {

struct Known {
  const char* target;  // "" for any peer
  const char* needle;  // substring of the first difference
  const char* why;
};

// Filled from what the peers were observed doing on this machine; see README.md.
constexpr Known kKnown[] = {
    {"unionfs-fuse", ".unionfs-fuse",
     "unionfs-fuse shows its .unionfs-fuse metadata dir and ignores overlay whiteouts in lowers"},
    {"unionfs-fuse", "= whiteout | target: upper",
     "unionfs-fuse records deletions as .unionfs-fuse/*_HIDDEN~ files, not 0/0 char devices"},
    {"unionfs-fuse", "EOPNOTSUPP", "unionfs-fuse (Debian build) has no xattr support"},
    {"", "| target: rename", "EXDEV: no redirect_dir support"},
    {"", "EXDEV", "EXDEV: no redirect_dir support"},
    {"fuse-overlayfs", "set trusted.overlay",
     "fuse-overlayfs refuses trusted.overlay.* instead of storing it escaped"},
    {"fuse-overlayfs", "nlink=", "fuse-overlayfs reports other link counts for lower hard links"},
    {"fuse-overlayfs", "alt", "fuse-overlayfs does not read xattr whiteouts (WO2)"},
    {"fuse-overlayfs", "dir opaque=y | target:",
     "fuse-overlayfs does not mark an upper-only directory renamed into place opaque (the kernel "
     "does)"},
    {"fuse-overlayfs", "opaque=y",
     "fuse-overlayfs marks a new directory opaque where the kernel does not (nothing below it to "
     "hide)"},
    {"", "metacopy =", "no metacopy=on support: copy-up always copies the data"},
    {"", "lower atime after = kept | target: lower atime after = updated",
     "reads lower files without O_NOATIME, so a read changes the lower file's atime (NP1)"},
    {"", "= same | target: times /",
     "a copy-up changes the parent directory's times (the kernel restores them)"},
    {"unionfs-fuse", "work/work leftovers", "unionfs-fuse uses no work directory"},
    {"fuse-overlayfs", "= absent | target: upper",
     "fuse-overlayfs copies up where the kernel does not (e.g. open without write access)"},
};

}  // namespace

std::string ExplainDeviation(const std::string& target, const std::string& first_difference) {
  for (const auto& k : kKnown) {
    if (*k.why == '\0') continue;
    if (*k.target != '\0' && target != k.target) continue;
    if (first_difference.find(k.needle) == std::string::npos) continue;
    return std::string(k.why) + " (" + first_difference + ")";
  }
  return first_difference;
}

}  // namespace ovlab::conformance
