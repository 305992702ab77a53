#include "generators/profile.h"

#include "base/strings.h"

namespace ovlab::bench {
namespace {

ImageProfile Distro() {
  ImageProfile p;
  p.name = "distro";
  p.based_on =
      "distribution base image: 3 layers, 15,000 files (tens of thousands in the issue; Debian "
      "and Ubuntu bases hold ~10^4) of 32 B-64 KiB in 1,500 dirs 8 deep";
  p.layers = 3;
  p.dirs = 1500;
  p.depth = 8;
  p.base_files = 15000;
  p.files_per_layer = 300;
  p.min_size = 32;
  p.max_size = 64 << 10;
  p.overwrite = 0.01;
  p.remove = 0.005;
  p.chmod = 0.005;
  p.hardlinks_per_layer = 20;
  p.symlinks_per_layer = 200;
  p.xattr = 0.01;
  return p;
}

ImageProfile App() {
  ImageProfile p;
  p.name = "app";
  p.based_on =
      "application image: about ten layers (base, packages, runtime, app code), 3,000 base files "
      "plus 200 per layer, 2% overwritten, 1% deleted and 1% chmod-ed per layer";
  p.layers = 10;
  p.dirs = 300;
  p.depth = 6;
  p.base_files = 3000;
  p.files_per_layer = 200;
  p.min_size = 64;
  p.max_size = 64 << 10;
  p.overwrite = 0.02;
  p.remove = 0.01;
  p.chmod = 0.01;
  p.hardlinks_per_layer = 5;
  p.symlinks_per_layer = 10;
  p.xattr = 0.02;
  p.spread_entries = 1000;
  return p;
}

// The application image scaled down for the default run (inode counts are checked exactly).
ImageProfile Slim() {
  ImageProfile p = App();
  p.name = "slim";
  p.based_on = "app scaled down for the default run: 5 layers, 600 base files + 60 per layer";
  p.layers = 5;
  p.dirs = 60;
  p.base_files = 600;
  p.files_per_layer = 60;
  p.max_size = 16 << 10;
  p.spread_entries = 100;
  return p;
}

// A stand-in for the quick run: the app shape in 3 small layers.
ImageProfile Mini() {
  ImageProfile p = Slim();
  p.name = "mini";
  p.based_on = "app shape in miniature for the quick run: 3 layers, 150 base files + 20 per layer";
  p.layers = 3;
  p.dirs = 15;
  p.base_files = 150;
  p.files_per_layer = 20;
  p.spread_entries = 30;
  return p;
}

ImageProfile Deep() {
  ImageProfile p = DeepProfile(128);
  p.name = "deep";
  return p;
}

ImageProfile SmallFiles() {
  ImageProfile p = TreeProfile(16384, 1024, 14);
  p.name = "smallfiles";
  return p;
}

ImageProfile Large() {
  ImageProfile p = SubjectProfile(1ull << 30, false, 1);
  p.name = "large";
  p.based_on = "large files: one 1 GiB file (databases, models, VM images)";
  return p;
}

}  // namespace

const std::vector<ImageProfile>& NamedProfiles() {
  static const std::vector<ImageProfile> profiles = {Distro(), App(),        Slim(), Mini(),
                                                     Deep(),   SmallFiles(), Large()};
  return profiles;
}

const ImageProfile* FindProfile(std::string_view name) {
  for (const auto& p : NamedProfiles()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

ImageProfile DeepProfile(uint32_t layers) {
  ImageProfile p;
  p.name = StrPrintf("deep%u", layers);
  p.based_on = StrPrintf(
      "deep image: %u layers of 10 small files each (Docker allows 128 lowers, the kernel 500)",
      layers);
  p.layers = layers;
  p.dirs = 4;
  p.depth = 2;
  p.base_files = 10;
  p.files_per_layer = 10;
  p.min_size = 64;
  p.max_size = 4096;
  p.spread_entries = layers * 4;
  return p;
}

ImageProfile SubjectProfile(uint64_t size, bool sparse, uint32_t count) {
  ImageProfile p;
  p.name = StrPrintf("subject-%llu-%s-x%u", static_cast<unsigned long long>(size),
                     sparse ? "sparse" : "dense", count);
  p.based_on = "copy-up and write subjects";
  for (uint32_t i = 0; i < count; ++i) {
    p.fixed_files.push_back({StrPrintf("/subject/f%u", i), size, sparse});
  }
  return p;
}

ImageProfile TreeProfile(uint32_t files, uint32_t dirs, uint32_t depth) {
  ImageProfile p;
  p.name = StrPrintf("tree-%u-%u-%u", files, dirs, depth);
  p.based_on = StrPrintf("many small files: %u files of 16 B-4 KiB in %u dirs, %u levels deep",
                         files, dirs, depth);
  p.dirs = dirs;
  p.depth = depth;
  p.base_files = files;
  p.min_size = 16;
  p.max_size = 4096;
  return p;
}

}  // namespace ovlab::bench
