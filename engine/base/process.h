// Running helper programs (mkfs, fuse daemons) without a shell.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace ovlab {

struct CommandOutput {
  int exit_code = 0;   // 128+signal when killed
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (searched in PATH) and waits. Fails only if it could not be started.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv);
// Runs and requires exit 0; the error names the command and quotes the last line of its output.
Result<std::string> RunChecked(const std::vector<std::string>& argv);
// True when argv0 is found in PATH.
bool HaveProgram(const std::string& name);

}  // namespace ovlab
