#include "generators/image_builder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "base/strings.h"
#include "generators/random.h"

namespace ovlab::bench {
namespace {

constexpr uint64_t kChunk = 1 << 20;
constexpr uint64_t kSparseData = 4096;

Status WriteAll(int fd, const char* data, uint64_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(errno, "write");
    data += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Status StageFile(const PlanEntry& e, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return FailErrno(errno, "create " + path);
  if (auto st = FillContent(fd.get(), e.size, e.content_seed, e.sparse); !st) {
    return std::unexpected(WithContext(st.error(), path));
  }
  if (e.xattr) {
    std::string value = StrPrintf("%llu", static_cast<unsigned long long>(e.content_seed));
    if (::fsetxattr(fd.get(), "user.ovlab.seed", value.data(), value.size(), 0) != 0) {
      return FailErrno(errno, "set user.ovlab.seed on " + path +
                                  " (the backing filesystem must support user xattrs)");
    }
  }
  if (::fchmod(fd.get(), e.mode) != 0) return FailErrno(errno, "chmod " + path);
  return {};
}

Status StageEntry(const PlanEntry& e, const std::string& root) {
  std::string path = root + e.path;
  switch (e.kind) {
    case EntryKind::kDir:
      if (::mkdir(path.c_str(), e.mode) != 0) return FailErrno(errno, "mkdir " + path);
      if (::chmod(path.c_str(), e.mode) != 0) return FailErrno(errno, "chmod " + path);
      return {};
    case EntryKind::kFile:
      return StageFile(e, path);
    case EntryKind::kSymlink:
      if (::symlink(e.target.c_str(), path.c_str()) != 0)
        return FailErrno(errno, "symlink " + path);
      return {};
    case EntryKind::kHardlink:
      if (::link((root + e.target).c_str(), path.c_str()) != 0) {
        return FailErrno(errno, "link " + path);
      }
      return {};
    case EntryKind::kWhiteout: {
      std::string wh = JoinPath(DirName(path), ".wh." + BaseName(path));
      UniqueFd fd(::open(wh.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!fd) return FailErrno(errno, "create whiteout " + wh);
      return {};
    }
  }
  return {};
}

}  // namespace

Status FillContent(int fd, uint64_t size, uint64_t seed, bool sparse) {
  uint64_t data_bytes = sparse ? std::min(size, kSparseData) : size;
  std::vector<uint64_t> words(std::min(data_bytes, kChunk) / 8 + 1);
  SplitMix64 rng(seed);
  for (uint64_t done = 0; done < data_bytes;) {
    for (auto& w : words) w = rng.Next();
    uint64_t n = std::min(kChunk, data_bytes - done);
    if (auto st = WriteAll(fd, reinterpret_cast<const char*>(words.data()), n, done); !st)
      return st;
    done += n;
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return FailErrno(errno, "truncate");
  return {};
}

Status StageLayer(const LayerPlan& layer, const std::string& dir) {
  for (const auto& e : layer.entries) {
    if (auto st = StageEntry(e, dir); !st) return st;
  }
  return {};
}

Result<BuiltImage> BuildImage(drivers::Driver& driver, const ImagePlan& plan,
                              const std::string& id_prefix, const std::string& staging_parent) {
  BuiltImage image;
  Rollback undo;
  undo.Add([&] { (void)RemoveImage(driver, image); });
  for (size_t n = 0; n < plan.layers.size(); ++n) {
    std::string id = StrPrintf("%s-%zu", id_prefix.c_str(), n);
    drivers::CreateOptions options;
    if (n > 0) options.parent = image.top();
    if (auto st = driver.Create(id, options); !st) {
      return std::unexpected(WithContext(st.error(), "create layer " + id));
    }
    image.layer_ids.push_back(id);
    auto staged = MakeTempDir(staging_parent, "stage-");
    if (!staged) return std::unexpected(staged.error());
    // A layer tarball's root entry is 0755; mkdtemp made it 0700.
    Status st =
        ::chmod(staged->c_str(), 0755) == 0 ? Status{} : FailErrno(errno, "chmod " + *staged);
    if (st) st = StageLayer(plan.layers[n], *staged);
    if (st) st = driver.ApplyDiff(id, *staged);
    Status removed = RemoveTree(*staged);
    if (!st) return std::unexpected(WithContext(st.error(), "layer " + id));
    if (!removed) return std::unexpected(removed.error());
  }
  undo.Dismiss();
  return image;
}

Status RemoveImage(drivers::Driver& driver, const BuiltImage& image) {
  Status first;
  for (auto it = image.layer_ids.rbegin(); it != image.layer_ids.rend(); ++it) {
    Status st = driver.Remove(*it);
    if (!st && first) first = st;
  }
  return first;
}

}  // namespace ovlab::bench
