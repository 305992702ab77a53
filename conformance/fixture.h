// Declarative layer contents for a case, materialised on disk as real files, directories,
// symlinks, hard links, fifos, devices, xattrs, owners and modes, with whiteouts and opaque
// directories written in the kernel's format. Every target of a case gets its own fresh copy.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "conformance/target.h"

namespace ovlab::conformance {

struct FixtureNode {
  enum class Kind {
    kFile,
    kDir,
    kSymlink,
    kHardlink,
    kFifo,
    kCharDev,
    kBlockDev,
    kWhiteout,
    kAltWhiteout,
    kOpaque,
    kXattr,
    kRedirect
  };
  Kind kind = Kind::kFile;
  std::string path;   // inside the layer, "/a/b"
  std::string data;   // file content, symlink target, hard link source, xattr value
  std::string xattr;  // xattr name (kXattr)
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
  dev_t dev = 0;
};

// One layer's contents; missing parent directories are created 0755 root:root.
class Layer {
 public:
  Layer& File(const std::string& path, const std::string& content, mode_t mode = 0644,
              uid_t uid = 0, gid_t gid = 0);
  Layer& Dir(const std::string& path, mode_t mode = 0755, uid_t uid = 0, gid_t gid = 0);
  Layer& Symlink(const std::string& path, const std::string& target);
  Layer& Hardlink(const std::string& path, const std::string& existing);
  Layer& Fifo(const std::string& path, mode_t mode = 0644);
  Layer& CharDev(const std::string& path, dev_t dev, mode_t mode = 0644);
  Layer& BlockDev(const std::string& path, dev_t dev, mode_t mode = 0644);
  // A char device 0/0 (WO1).
  Layer& Whiteout(const std::string& path);
  // A zero-size file with trusted.overlay.whiteout in a dir marked opaque=x (WO2).
  Layer& AltWhiteout(const std::string& path);
  // trusted.overlay.opaque=y on a directory (made if missing) (OP1).
  Layer& Opaque(const std::string& path);
  Layer& Xattr(const std::string& path, const std::string& name, const std::string& value);
  Layer& Redirect(const std::string& path, const std::string& to);

  const std::vector<FixtureNode>& nodes() const { return nodes_; }

 private:
  Layer& Add(FixtureNode node);
  std::vector<FixtureNode> nodes_;
};

struct Fixture {
  std::vector<Layer> lowers{Layer()};  // uppermost first
  Layer upper;                         // what the upper layer already holds
  // Lower layer i is the directory <lower_prefix><i>; a prefix with ':' tests LK2 escaping.
  std::string lower_prefix = "l";
};

// Writes the fixture under `dir` (l0 = top lower, l1, ..., upper, work) and returns the layers.
Result<LayerSet> Materialize(const Fixture& fixture, const std::string& dir);

// An empty upper + work pair beside the existing layers, for layer rotation: the old upper
// becomes the top lower.
Result<LayerSet> RotateLayers(const LayerSet& layers, const std::string& dir, int generation);

// The common fixture most cases start from (see fixture.cc for what each name is).
Fixture StandardFixture();

}  // namespace ovlab::conformance
