// Named image profiles: the shape of a synthetic container image (layers, files, sizes, directory
// tree, and what upper layers change), from which the generator builds the same image under any
// driver. The figures each profile follows are in bench/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ovlab::bench {

// A file of fixed size and place in the base layer: the subjects of copy-up and write benchmarks.
struct FixedFile {
  std::string path;  // "/copyup/f0"
  uint64_t size = 0;
  bool sparse = false;  // a hole except one 4 KiB block at the start
};

struct ImageProfile {
  std::string name;
  std::string based_on;  // the figures this profile follows, for the README and the JSON context
  uint32_t layers = 1;
  uint32_t dirs = 0;             // directories of the base layer besides the root
  uint32_t depth = 1;            // deepest directory level (a spine guarantees it is reached)
  uint32_t base_files = 0;       // regular files in layer 0, spread over the directories
  uint32_t files_per_layer = 0;  // new regular files in every upper layer
  uint64_t min_size = 0, max_size = 0;          // sizes are log-uniform in [min, max]
  double overwrite = 0, remove = 0, chmod = 0;  // fractions of the visible files, per upper layer
  uint32_t hardlinks_per_layer = 0;             // extra names for files of the same layer
  uint32_t symlinks_per_layer = 0;
  double xattr = 0;  // fraction of new files carrying a user.ovlab xattr
  // Files of /spread, spread evenly across the layers: one directory merged from every layer.
  uint32_t spread_entries = 0;
  std::vector<FixedFile> fixed_files;
};

// Every named profile (distro, app, deep, smallfiles, large), in README order.
const std::vector<ImageProfile>& NamedProfiles();
// nullptr for an unknown name.
const ImageProfile* FindProfile(std::string_view name);

// A stack of `layers` small layers, each with its marker /.ovlab/layer-<n>: deep-lower lookups.
ImageProfile DeepProfile(uint32_t layers);
// One layer holding `count` files of `size` bytes under /subject: copy-up and write subjects.
ImageProfile SubjectProfile(uint64_t size, bool sparse, uint32_t count);
// `files` small files in a tree `depth` levels deep, in one layer (the append-to-every-file test).
ImageProfile TreeProfile(uint32_t files, uint32_t dirs, uint32_t depth);

}  // namespace ovlab::bench
