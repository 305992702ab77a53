#include "launch/programs.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"

#ifndef OVLAB_FUSE_BUILT
#define OVLAB_FUSE_BUILT ""
#endif

namespace ovlab::launch {
namespace {

bool Executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

std::string BesideThisProgram(const std::string& name) {
  auto self = ReadLink("/proc/self/exe");
  return self ? JoinPath(DirName(*self), name) : std::string();
}

}  // namespace

Result<std::string> FindProgram(const Program& program) {
  if (const char* env = std::getenv(program.env); env && *env) {
    if (Executable(env)) return std::string(env);
    return Fail(ENOENT, StrPrintf("%s=%s is not an executable file; point it at %s or unset it",
                                  program.env, env, program.name));
  }
  if (std::string beside = BesideThisProgram(program.name); Executable(beside)) return beside;
  if (std::string_view(program.name) == kOvlabFuse.name && Executable(OVLAB_FUSE_BUILT)) {
    return std::string(OVLAB_FUSE_BUILT);
  }
  if (HaveProgram(program.name)) return std::string(program.name);
  std::string how = *program.package ? StrPrintf("install it (apt-get install %s)", program.package)
                                     : std::string("build and install it (cmake --install)");
  return Fail(ENOENT, StrPrintf("%s was not found: %s or set %s to its path", program.name,
                                how.c_str(), program.env));
}

std::string VersionLine(const std::string& path, const std::string& name) {
  auto out = RunCommand({path, "--version"});
  if (!out) return "version unknown";
  for (const auto& line : Split(out->output, '\n')) {
    if (StartsWith(line, name)) return std::string(Trim(line));
  }
  return "version unknown";
}

}  // namespace ovlab::launch
