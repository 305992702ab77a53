#include "base/version.h"

#include "ovlab_git_describe.h"

namespace ovlab {

std::string Version() {
  std::string git = OVLAB_GIT_DESCRIBE;
  return git.empty() ? std::string(OVLAB_VERSION) : std::string(OVLAB_VERSION) + " (git " + git + ")";
}

std::string VersionLine(const std::string& program) {
  return program + " " + Version();
}

}  // namespace ovlab
