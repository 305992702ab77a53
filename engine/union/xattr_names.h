// The overlay's private xattrs, in the kernel's on-disk format (trusted.overlay.*), and the
// filter that keeps them out of sight of union users (XA1).
#pragma once

#include <string_view>

namespace ovlab::unionfs {

inline constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";
inline constexpr const char* kXattrOpaque = "trusted.overlay.opaque";      // "y", or "x" (WO2)
inline constexpr const char* kXattrRedirect = "trusted.overlay.redirect";  // RN2
inline constexpr const char* kXattrOrigin = "trusted.overlay.origin";      // copy-up origin fh
inline constexpr const char* kXattrImpure = "trusted.overlay.impure";      // has copied-up kids
inline constexpr const char* kXattrMetacopy = "trusted.overlay.metacopy";  // MC1
inline constexpr const char* kXattrWhiteout = "trusted.overlay.whiteout";  // WO2 xwhiteout

inline bool IsOverlayXattr(std::string_view name) {
  return name.substr(0, kOverlayXattrPrefix.size()) == kOverlayXattrPrefix;
}

}  // namespace ovlab::unionfs
