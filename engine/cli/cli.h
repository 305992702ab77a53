// The `ovlab` command line: global options, subcommands, exit codes. main() only forwards here so
// tests can also run commands in-process.
#pragma once

#include <string>
#include <vector>

namespace ovlab::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (or `check` found problems left)
inline constexpr int kExitUsage = 2;    // the command line itself is wrong

// Runs `ovlab <args...>` (args without the program name); writes results to stdout and one line
// per error to stderr.
int Run(const std::vector<std::string>& args);

}  // namespace ovlab::cli
