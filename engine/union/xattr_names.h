// The overlay's private xattrs, in the kernel's on-disk format (trusted.overlay.*), the filter
// that keeps them out of sight of union users (XA1), and the kernel's (>= 6.7) escaping: a user's
// "trusted.overlay.X" is stored as "trusted.overlay.overlay.X" and shown unescaped, so users can
// keep such xattrs (e.g. a nested overlay's layers) while the overlay's own stay private.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ovlab::unionfs {

inline constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";
inline constexpr const char* kXattrOpaque = "trusted.overlay.opaque";      // "y", or "x" (WO2)
inline constexpr const char* kXattrRedirect = "trusted.overlay.redirect";  // RN2
inline constexpr const char* kXattrOrigin = "trusted.overlay.origin";      // copy-up origin fh
inline constexpr const char* kXattrImpure = "trusted.overlay.impure";      // has copied-up kids
inline constexpr const char* kXattrMetacopy = "trusted.overlay.metacopy";  // MC1
inline constexpr const char* kXattrWhiteout = "trusted.overlay.whiteout";  // WO2 xwhiteout

inline constexpr std::string_view kEscapedXattrPrefix = "trusted.overlay.overlay.";
inline constexpr size_t kXattrNameMax = 255;  // XATTR_NAME_MAX

// Any name in the overlay's namespace, escaped or not.
inline bool IsOverlayXattr(std::string_view name) {
  return name.starts_with(kOverlayXattrPrefix);
}
// A name stored for a user under the overlay's namespace ("trusted.overlay.overlay.X").
inline bool IsEscapedXattr(std::string_view name) {
  return name.starts_with(kEscapedXattrPrefix);
}
// The overlay's own xattrs (opaque, redirect, origin, ...): never listed, copied up or reachable.
inline bool IsPrivateXattr(std::string_view name) {
  return IsOverlayXattr(name) && !IsEscapedXattr(name);
}

// The on-disk name of a name a user asks for: "trusted.overlay.X" gains one "overlay." level.
// Fails as the kernel does: EINVAL for an empty X, EOPNOTSUPP when the result is too long.
inline SysResult<std::string> EscapeXattrName(std::string_view name) {
  if (!IsOverlayXattr(name)) return std::string(name);
  std::string_view rest = name.substr(kOverlayXattrPrefix.size());
  if (rest.empty()) return SysFail(EINVAL);
  if (kEscapedXattrPrefix.size() + rest.size() > kXattrNameMax) return SysFail(EOPNOTSUPP);
  return std::string(kEscapedXattrPrefix) + std::string(rest);
}

// The name a user sees for a stored, listable name (the inverse of EscapeXattrName).
inline std::string UnescapeXattrName(std::string_view stored) {
  if (!IsEscapedXattr(stored)) return std::string(stored);
  return std::string(kOverlayXattrPrefix) + std::string(stored.substr(kEscapedXattrPrefix.size()));
}

}  // namespace ovlab::unionfs
