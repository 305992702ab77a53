#include "union/origin.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "base/strings.h"
#include "mount/mount.h"

namespace ovlab::unionfs {

namespace {

// The kernel's struct ovl_fb layout (packed): 5 bytes, uuid, then the file id words.
constexpr size_t kHeaderSize = 5 + 16;
constexpr unsigned char kFhVersion = 0;
constexpr unsigned char kFhMagic = 0xfb;
constexpr unsigned char kFlagBigEndian = 1 << 0;
constexpr unsigned char kFlagAnyEndian = 1 << 1;
constexpr unsigned char kFlagPathUpper = 1 << 2;
constexpr unsigned char kCpuEndianFlag =
    (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) ? kFlagBigEndian : 0;
constexpr size_t kMaxFid = 128;  // MAX_HANDLE_SZ; the overlay handle must also fit 255 bytes

// FS_IOC_GETFSUUID (kernel 6.5 UAPI; the installed headers may predate it).
struct FsUuidArg {
  unsigned char len;
  unsigned char uuid[16];
};
constexpr unsigned long kGetFsUuid = _IOR(0x15, 0, FsUuidArg);

// The block device holding the layer: st_dev names it for ext4 and xfs; btrfs gives every
// subvolume an anonymous st_dev, so there the layer's mount entry names the device.
std::string LayerBlockDevice(const Layer& layer) {
  if (char* name = ::blkid_devno_to_devname(layer.dev)) {
    std::string out(name);
    ::free(name);
    return out;
  }
  struct statx stx {};
  if (::statx(layer.root.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) != 0 ||
      !(stx.stx_mask & STATX_MNT_ID)) {
    return {};
  }
  auto table = mount::ReadMountTable();
  if (!table) return {};
  for (const auto& e : *table) {
    if (static_cast<uint64_t>(e.id) == stx.stx_mnt_id && StartsWith(e.source, "/dev/"))
      return e.source;
  }
  return {};
}

// Filesystems whose sb->s_uuid is the UUID in their on-disk superblock. Others (FUSE on a block
// device, say) may have a probeable superblock but a null s_uuid, so the probe would be wrong.
bool KernelUuidIsSuperblockUuid(const Layer& layer) {
  struct statfs sfs {};
  if (::fstatfs(layer.root.get(), &sfs) != 0) return false;
  return sfs.f_type == EXT4_SUPER_MAGIC || sfs.f_type == XFS_SUPER_MAGIC ||
         sfs.f_type == BTRFS_SUPER_MAGIC;
}

struct ProbeDeleter {
  void operator()(blkid_struct_probe* p) const { ::blkid_free_probe(p); }
};

}  // namespace

std::optional<FsUuid> ProbeLayerUuid(const Layer& layer) {
  if (!KernelUuidIsSuperblockUuid(layer)) return std::nullopt;
  std::string dev = LayerBlockDevice(layer);
  struct stat st {};
  if (dev.empty() || ::stat(dev.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return std::nullopt;
  std::unique_ptr<blkid_struct_probe, ProbeDeleter> probe(
      ::blkid_new_probe_from_filename(dev.c_str()));
  if (!probe) return std::nullopt;
  // UUID_RAW is the superblock's bytes as stored, which is what the kernel copies to s_uuid.
  ::blkid_probe_enable_superblocks(probe.get(), 1);
  ::blkid_probe_set_superblocks_flags(probe.get(), BLKID_SUBLKS_UUIDRAW);
  if (::blkid_do_safeprobe(probe.get()) != 0) return std::nullopt;
  const char* raw = nullptr;
  size_t len = 0;
  if (::blkid_probe_lookup_value(probe.get(), "UUID_RAW", &raw, &len) != 0 || len != 16)
    return std::nullopt;
  FsUuid out{};
  std::memcpy(out.data(), raw, 16);
  return out;
}

std::optional<FsUuid> LayerUuid(const Layer& layer) {
  int fd = ::openat(layer.root.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  FsUuidArg u{};
  int rc = ::ioctl(fd, kGetFsUuid, &u);
  int err = errno;
  ::close(fd);
  if (rc == 0) {
    if (u.len != 16) return std::nullopt;
    FsUuid out{};
    std::memcpy(out.data(), u.uuid, 16);
    return out;
  }
  // Before 6.5 the ioctl does not exist; from 6.5 on ENOTTY also means "no UUID" (tmpfs before
  // 6.6), which the probe confirms since such filesystems have no block device superblock.
  if (err == ENOTTY || err == EINVAL || err == EOPNOTSUPP) return ProbeLayerUuid(layer);
  return std::nullopt;
}

std::string EncodeOrigin(int dirfd, std::string_view name, const FsUuid& uuid) {
  std::vector<unsigned char> buf(sizeof(struct file_handle) + kMaxFid);
  auto* fh = reinterpret_cast<struct file_handle*>(buf.data());
  fh->handle_bytes = kMaxFid;
  int mount_id = 0;
  std::string n(name);
  if (::name_to_handle_at(dirfd, n.c_str(), fh, &mount_id, n.empty() ? AT_EMPTY_PATH : 0) != 0)
    return {};
  std::string out;
  out.push_back(static_cast<char>(kFhVersion));
  out.push_back(static_cast<char>(kFhMagic));
  out.push_back(static_cast<char>(kHeaderSize + fh->handle_bytes));
  out.push_back(static_cast<char>(kCpuEndianFlag));
  out.push_back(static_cast<char>(fh->handle_type));
  out.append(reinterpret_cast<const char*>(uuid.data()), uuid.size());
  out.append(reinterpret_cast<const char*>(fh->f_handle), fh->handle_bytes);
  return out;
}

std::optional<OriginInfo> DecodeOrigin(std::string_view fb, const Layer& layer,
                                       const std::optional<FsUuid>& layer_uuid) {
  if (fb.size() < kHeaderSize) return std::nullopt;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(fb[i]); };
  if (byte(0) != kFhVersion || byte(1) != kFhMagic || byte(2) > fb.size() || byte(2) < kHeaderSize)
    return std::nullopt;
  unsigned char flags = byte(3);
  if (flags & ~(kFlagBigEndian | kFlagAnyEndian | kFlagPathUpper)) return std::nullopt;
  if (!(flags & kFlagAnyEndian) && (flags & kFlagBigEndian) != kCpuEndianFlag) return std::nullopt;
  if (!layer_uuid || std::memcmp(fb.data() + 5, layer_uuid->data(), 16) != 0) return std::nullopt;
  size_t fid_len = byte(2) - kHeaderSize;
  std::vector<unsigned char> buf(sizeof(struct file_handle) + fid_len);
  auto* fh = reinterpret_cast<struct file_handle*>(buf.data());
  fh->handle_bytes = static_cast<unsigned int>(fid_len);
  fh->handle_type = byte(4);
  std::memcpy(fh->f_handle, fb.data() + kHeaderSize, fid_len);
  // open_by_handle_at wants a real (not O_PATH) fd on the filesystem.
  int mount_fd = ::openat(layer.root.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mount_fd < 0) return std::nullopt;
  int fd = ::open_by_handle_at(mount_fd, fh, O_PATH | O_CLOEXEC);
  ::close(mount_fd);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  int rc = ::fstat(fd, &st);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  return OriginInfo{st.st_ino, st.st_nlink, static_cast<mode_t>(st.st_mode & S_IFMT)};
}

}  // namespace ovlab::unionfs
