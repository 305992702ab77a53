// A directory tree as the diff and usage walks read it: one directory as it is, or a stack of
// overlay layers merged the way the kernel merges them (the uppermost entry wins, a whiteout
// hides, an opaque directory hides what lies below it), read in place: no mount, nothing written.
#pragma once

#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "mount/mount.h"

namespace ovlab::drivers {

class TreeView {
 public:
  explicit TreeView(std::string dir);                  // one directory, whiteouts as plain files
  explicit TreeView(std::vector<std::string> layers);  // overlay layers, uppermost first

  // lstat of `rel` ("" is the top) in the view; ENOENT when absent or hidden.
  Result<struct stat> Stat(const std::string& rel) const;
  // The names in directory `rel` of the view (unsorted).
  Result<std::vector<std::string>> List(const std::string& rel) const;
  Result<std::string> ReadLink(const std::string& rel) const;

 private:
  // The layers whose `rel` is a directory that shows in the view, uppermost first.
  Result<std::vector<size_t>> DirLayers(const std::string& rel) const;
  // The layer whose `rel` shows in the view, if one does.
  Result<std::optional<size_t>> Locate(const std::string& rel) const;
  std::string PathIn(size_t layer, const std::string& rel) const;

  std::vector<std::string> layers_;
  bool merged_;
  mutable std::map<std::string, std::vector<size_t>> dir_layers_;  // DirLayers, per directory
};

// Whether layers made with these kernel defaults and mount options can be read by TreeView:
// not when redirect_dir or metacopy may have put redirects or metadata-only copies in them (only
// the kernel follows those; Docker then uses its naive diff, over mounts, too).
bool ViewReadsTheLayers(const mount::OverlayFeatures& kernel,
                        const std::vector<std::string>& mount_options);

}  // namespace ovlab::drivers
