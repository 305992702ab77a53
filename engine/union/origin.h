// Copy-up origin: the lower object an upper object was copied from, stored like the kernel does
// in trusted.overlay.origin as an overlay file handle (version 0, magic 0xfb, length, flags,
// handle type, filesystem UUID, then the exportfs file id). The kernel reads our handles and we
// read its, so st_ino stays the origin's across copy-up, rename and remount (ID1).
#pragma once

#include <sys/types.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "union/layer.h"

namespace ovlab::unionfs {

using FsUuid = std::array<unsigned char, 16>;

// The filesystem UUID of the layer as the kernel's sb->s_uuid: FS_IOC_GETFSUUID (Linux 6.5+),
// else ProbeLayerUuid. nullopt when the filesystem has none (tmpfs before 6.6).
std::optional<FsUuid> LayerUuid(const Layer& layer);

// The fallback for kernels without FS_IOC_GETFSUUID, for ext4, xfs and btrfs (whose s_uuid is
// their superblock's): the UUID libblkid reads from the superblock on the layer's block device
// (found from st_dev, or from the mount table for btrfs, whose st_dev is anonymous), in the on-disk
// byte order the kernel copies into sb->s_uuid.
std::optional<FsUuid> ProbeLayerUuid(const Layer& layer);

// Encodes the object `name` in directory `dirfd` (`dirfd` itself for "") of a filesystem with
// `uuid` as an overlay file handle. Empty when the filesystem cannot encode handles: the kernel
// then writes an empty origin ("copied up, origin unknown").
std::string EncodeOrigin(int dirfd, std::string_view name, const FsUuid& uuid);

struct OriginInfo {
  ino_t ino = 0;
  nlink_t nlink = 0;
  mode_t type = 0;
};
// Decodes a handle against a layer of the same UUID (open_by_handle_at). nullopt when the handle
// is malformed, for another filesystem, or stale.
std::optional<OriginInfo> DecodeOrigin(std::string_view fh, const Layer& layer,
                                       const std::optional<FsUuid>& layer_uuid);

}  // namespace ovlab::unionfs
