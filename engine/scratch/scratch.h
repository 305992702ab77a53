// Scratch backing filesystems: a loop-mounted ext4/xfs/btrfs image or a tmpfs of a given size,
// made for a test or benchmark and removed with everything it made (mount, loop device, image,
// directories) on destruction, on error paths, and on SIGINT/SIGTERM. The image is unlinked as
// soon as its autoclear loop device holds it, so even a SIGKILL leaks no image.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ovlab::scratch {

enum class Backing { kTmpfs, kExt4, kXfs, kXfsReflink, kBtrfs };
const char* BackingName(Backing b);  // "tmpfs", "ext4", "xfs", "xfs-reflink", "btrfs"
std::optional<Backing> ParseBacking(std::string_view name);
std::vector<Backing> AllBackings();

struct ScratchOptions {
  Backing backing = Backing::kTmpfs;
  uint64_t size_bytes = 1ull << 30;
  // Where images and mount points go; default $OVLAB_SCRATCH_DIR or /var/tmp/ovlab.
  std::string parent_dir;
};

class ScratchFs {
 public:
  static Result<std::unique_ptr<ScratchFs>> Create(const ScratchOptions& options);
  ~ScratchFs();
  ScratchFs(const ScratchFs&) = delete;
  ScratchFs& operator=(const ScratchFs&) = delete;

  const std::string& path() const;  // the mounted directory
  Backing backing() const;
  const std::string& mkfs_command()
      const;  // e.g. "mkfs.xfs -f -m reflink=1 -n ftype=1" ("" for tmpfs)
  const std::string& loop_device() const;  // "" for tmpfs
  std::string Describe() const;            // one line for logs and JSON context

  // Unmounts, detaches and deletes now (the destructor does the same if not yet done).
  Status Destroy();

 private:
  struct State;
  explicit ScratchFs(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Installs SIGINT/SIGTERM handlers (once per process; ScratchFs::Create calls it) that tear down
// every live ScratchFs and every path registered below, then re-raise the signal.
void InstallSignalCleanup();
// Extra mount points to detach on a signal (drivers' merged dirs, FUSE mounts). Returns a token.
int RegisterCleanupMount(const std::string& path);
void UnregisterCleanupMount(int token);

}  // namespace ovlab::scratch
