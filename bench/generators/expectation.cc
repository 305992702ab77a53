#include "generators/expectation.h"

namespace ovlab::bench {
namespace {

// overlay2: <id>/, diff/, link, l/<short>; a child adds work/ and lower, and marks its parent
// with an empty `committed` file.
constexpr uint64_t kOverlay2Base = 4, kOverlay2Child = 6 + 1;
// overlay v1: <id>/ and root/; a child's parent is recorded in .parents/<id>.
constexpr uint64_t kOverlayLayer = 2, kParentRecord = 1;

}  // namespace

std::optional<UsageExpectation> ExpectImageUsage(std::string_view driver, const ImagePlan& plan) {
  UsageExpectation e;
  for (size_t n = 0; n < plan.layers.size(); ++n) {
    const LayerFacts& f = plan.layers[n].facts;
    bool child = n > 0;
    if (driver == "overlay2") {
      e.inodes += (child ? kOverlay2Child : kOverlay2Base) + f.entry_inodes;
      e.data_bytes += f.new_file_bytes;
    } else if (driver == "overlay") {
      e.inodes += kOverlayLayer + (child ? kParentRecord : 0) + f.visible_dirs +
                  f.visible_symlinks + f.new_file_inodes;
      e.data_bytes += f.new_file_bytes;
    } else if (driver == "vfs") {
      // The layer directory is the tree's root.
      e.inodes += 1 + (child ? kParentRecord : 0) + f.visible_dirs + f.visible_symlinks +
                  f.visible_file_inodes;
      e.data_bytes += f.visible_file_bytes;
    } else {
      return std::nullopt;
    }
  }
  return e;
}

}  // namespace ovlab::bench
