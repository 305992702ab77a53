#include "base/version.h"

#include "ovlab_git_describe.h"

namespace ovlab {

std::string Version() {
  std::string git = OVLAB_GIT_DESCRIBE;
  return git.empty() ? std::string(OVLAB_VERSION)
                     : std::string(OVLAB_VERSION) + " (git " + git + ")";
}

std::string GitDescribe() {
  return OVLAB_GIT_DESCRIBE;
}

std::string BuildType() {
  return OVLAB_BUILD_TYPE;
}

std::string Compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "g++ " __VERSION__;
#else
  return "unknown";
#endif
}

std::string VersionLine(const std::string& program) {
  return program + " " + Version();
}

}  // namespace ovlab
