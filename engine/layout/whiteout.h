// Whiteouts in their two forms: in layer tarballs (`.wh.NAME`, `.wh..wh..opq`) and on an overlay
// upper/diff directory (a 0/0 character device, the xattr trusted.overlay.opaque=y).
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "base/result.h"

namespace ovlab::layout {

inline constexpr std::string_view kTarWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kTarOpaqueMarker = ".wh..wh..opq";
inline constexpr char kOpaqueXattr[] = "trusted.overlay.opaque";

// A char device 0/0: overlay's whiteout (WO1).
bool IsOverlayWhiteout(const struct stat& st);
// Makes `name` in dirfd a whiteout (mknod c 0 0, mode 0 like the kernel's).
Status MakeOverlayWhiteout(int dirfd, const std::string& name);
// trusted.overlay.opaque = "y" (OP1).
bool IsOpaqueDir(const std::string& path);
Status MarkOpaque(const std::string& path);

}  // namespace ovlab::layout
