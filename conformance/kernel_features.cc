#include "conformance/kernel_features.h"

#include <algorithm>

#include "base/strings.h"

namespace ovlab::conformance {

// Sources: Documentation/filesystems/overlayfs.rst and fs/overlayfs history; each change was
// also observed in the Debian 5.10, 6.1 and 6.12 guests of vagrant/run-kernels.
// - xattr whiteouts: "ovl: Add an alternative type of whiteout" (6.7); the directory marker
//   became overlay.opaque=x in 6.8 and was backported to 6.7.y. The standard fixture keeps its
//   WO2 whiteouts under /alt only, so "/alt" marks the lines they can change.
// - escaped overlay xattrs: "ovl: Support escaped overlay.* xattrs" (6.7). Before, setting or
//   getting trusted.overlay.* through the union fails EOPNOTSUPP / ENODATA.
// - new directories not opaque: 5.10 marks a directory created in a merged parent
//   overlay.opaque=y as a lookup shortcut ("ovl: create directories inside merged parent
//   opaque", 4.x); 6.1 and later do not. Bracketed by the guests: 6.1 is the first known good.
// - truncate(2) of a lower file that is being executed: 5.10 fails ETXTBSY (setattr took write
//   access on the lower inode before copy-up); 6.1 and later copy up and truncate. Bracketed by
//   the guests (5.10 / 6.1), the exact release is not established: 6.1 is the first known good.
// - lowerdir+: fsconfig key of the new mount API (6.8); before, 500 absolute lower paths do not
//   fit the one-page option string and the kernel target mounts with relative paths.
const std::vector<KernelFeature>& KernelFeatures() {
  static const std::vector<KernelFeature> features = {
      {"xattr whiteouts (WO2)", 6, 7, "an xattr whiteout is a plain empty file", "/alt"},
      {"escaped trusted.overlay.* xattrs (XA1)", 6, 7,
       "trusted.overlay.* is refused (EOPNOTSUPP) and hidden", "trusted.overlay"},
      {"new directories not marked opaque", 6, 1,
       "mkdir in a merged directory sets overlay.opaque=y", "opaque=y"},
      {"truncate(2) of a running lower file copies it up", 6, 1,
       "truncate fails ETXTBSY while the lower file is executed", "truncate /sleeper"},
  };
  return features;
}

std::vector<const KernelFeature*> MissingFeatures(const KernelVersion& kernel) {
  std::vector<const KernelFeature*> missing;
  for (const auto& f : KernelFeatures())
    if (!kernel.AtLeast(f.major, f.minor)) missing.push_back(&f);
  return missing;
}

const KernelFeature* ExplainingFeature(const std::vector<const KernelFeature*>& missing,
                                       const std::string& line) {
  for (const auto* f : missing)
    if (line.find(f->line_mark) != std::string::npos) return f;
  return nullptr;
}

std::vector<const KernelFeature*> ExplainAll(const std::vector<const KernelFeature*>& missing,
                                             const std::vector<std::string>& lines) {
  std::vector<const KernelFeature*> used;
  for (const auto& line : lines) {
    const KernelFeature* f = ExplainingFeature(missing, line);
    if (!f) return {};
    if (std::find(used.begin(), used.end(), f) == used.end()) used.push_back(f);
  }
  return used;
}

std::string NeedsText(const std::vector<const KernelFeature*>& features) {
  std::vector<std::string> parts;
  for (const auto* f : features)
    parts.push_back(
        StrPrintf("needs %d.%d: %s (older kernels: %s)", f->major, f->minor, f->id, f->old_way));
  return Join(parts, "; ");
}

}  // namespace ovlab::conformance
