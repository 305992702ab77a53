// Builds a planned image through any Driver: each layer is staged as an unpacked OCI layer
// (whiteouts as `.wh.<name>`) and applied with Driver::ApplyDiff, so every driver gets the same
// image in its own native form.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "drivers/driver.h"
#include "generators/image_plan.h"

namespace ovlab::bench {

struct BuiltImage {
  std::vector<std::string> layer_ids;  // bottom first
  const std::string& top() const { return layer_ids.back(); }
};

// Writes one planned layer into the empty directory `dir`.
Status StageLayer(const LayerPlan& layer, const std::string& dir);

// Creates layers "<id_prefix>-<n>" bottom up. Staging directories are made under `staging_parent`
// (the same filesystem as the driver root keeps reflinks possible) and removed after each layer.
// All or nothing: on error the layers made so far are removed again.
Result<BuiltImage> BuildImage(drivers::Driver& driver, const ImagePlan& plan,
                              const std::string& id_prefix, const std::string& staging_parent);

// Removes the image's layers top down (the first error is returned; the rest are still tried).
Status RemoveImage(drivers::Driver& driver, const BuiltImage& image);

// Writes `size` bytes derived from `seed` at the start of fd (an empty file); sparse: one 4 KiB
// block of data at offset 0 and a hole up to `size`.
Status FillContent(int fd, uint64_t size, uint64_t seed, bool sparse);

}  // namespace ovlab::bench
