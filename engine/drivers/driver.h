// One storage-driver interface in the spirit of Docker's graphdriver. Every driver (overlay2,
// overlay, vfs, and later fuse, btrfs, devicemapper) is one more file registering itself here;
// benchmarks and the conformance suite see only this interface.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace ovlab::drivers {

struct DriverOptions {
  std::string root;        // like Docker's --data-root: the driver uses <root>/<driver name>/
  size_t max_depth = 128;  // lowers allowed below a layer (Docker: 128; kernel: up to 500)
  std::vector<std::string> mount_options;  // extra overlay options ("metacopy=on", ...)
  // Make the root and the driver's home when missing. Off, OpenDriver needs an existing store
  // and makes nothing, not even a d_type probe file: what commands that only read (or remove)
  // use, so that they neither create a store nor fail on a full filesystem.
  bool create_store = true;
};

struct CreateOptions {
  std::string parent;  // "" for a base layer
  bool rw = false;     // a container's read-write layer (Docker's CreateReadWrite)
};

// Ordered key/value pairs, printed like the Storage Driver part of `docker info`.
using StatusFields = std::vector<std::pair<std::string, std::string>>;

struct LayerUsage {
  uint64_t bytes = 0;   // allocated bytes (st_blocks * 512), hard links counted once
  uint64_t inodes = 0;  // distinct inodes the layer's own storage holds
};

enum class ChangeKind { kAdded, kModified, kDeleted };
struct Change {
  std::string path;  // absolute inside the image, "/etc/hosts"
  ChangeKind kind;
};

struct CheckFinding {
  std::string layer;    // id or "" for store-wide findings
  std::string problem;  // one line
  bool repaired = false;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::string Name() const = 0;
  // The driver's home: <root>/<name>.
  virtual std::string Home() const = 0;

  virtual ovlab::Status Create(const std::string& id, const CreateOptions& options) = 0;
  // Fails with EBUSY when the layer is mounted or has children.
  virtual ovlab::Status Remove(const std::string& id) = 0;
  // Mounts (reference counted) and returns the directory holding the layer's full view.
  virtual Result<std::string> Get(const std::string& id) = 0;
  // Drops one reference; the last one unmounts (MNT_DETACH) and removes the merged directory.
  virtual ovlab::Status Put(const std::string& id) = 0;
  virtual bool Exists(const std::string& id) const = 0;
  virtual Result<std::vector<std::string>> List() const = 0;
  virtual Result<std::string> Parent(const std::string& id) const = 0;

  // Applies a layer in OCI/Docker tar layout, already unpacked in `staged` (whiteouts as
  // `.wh.<name>`, opaque dirs holding `.wh..wh..opq`), onto layer `id`, converting whiteouts
  // to this driver's native form. This is how images are built driver-independently.
  virtual ovlab::Status ApplyDiff(const std::string& id, const std::string& staged) = 0;

  virtual StatusFields Status() const = 0;
  virtual Result<LayerUsage> Usage(const std::string& id) const = 0;
  virtual Result<std::vector<Change>> Changes(const std::string& id) = 0;
  // `docker inspect` GraphDriver.Data: LowerDir, UpperDir, WorkDir, MergedDir (overlay2).
  virtual Result<std::map<std::string, std::string>> Metadata(const std::string& id) const = 0;
  // Consistency check of the store; repair fixes what Docker would fix.
  virtual Result<std::vector<CheckFinding>> Check(bool repair) = 0;
};

using DriverFactory = std::function<Result<std::unique_ptr<Driver>>(const DriverOptions&)>;

// Registration: each driver's .cc file has one static `DriverRegistration`.
struct DriverRegistration {
  DriverRegistration(std::string name, DriverFactory factory);
};

std::vector<std::string> RegisteredDrivers();
// Fails with a message naming the known drivers when `name` is unknown, or the reason the
// driver cannot run here (no overlay in the kernel, root without d_type, not btrfs, ...).
Result<std::unique_ptr<Driver>> OpenDriver(std::string_view name, const DriverOptions& options);

// A layer or container id: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 bytes, no "..", no "/".
Status ValidateLayerId(std::string_view id);

}  // namespace ovlab::drivers
