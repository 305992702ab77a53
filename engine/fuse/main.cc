// ovlab-fuse: see fuse/command_line.h for the command line and fuse/daemon.h for what it does.
#include <fuse_lowlevel.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/version.h"
#include "fuse/command_line.h"
#include "fuse/daemon.h"

int main(int argc, char** argv) {
  using namespace ovlab::fuse;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto config = ParseCommandLine(args);
  if (!config) {
    std::fprintf(stderr, "%s: %s\n", kProgramName, config.error().message.c_str());
    return 1;
  }
  if (config->show_help) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  if (config->show_version) {
    std::printf("%s\nlibfuse %s\n", ovlab::VersionLine(kProgramName).c_str(), fuse_pkgversion());
    return 0;
  }
  return RunDaemon(*config);
}
