// Command-line parsing for `ovlab`: global options anywhere, subcommand flags, positionals.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "drivers/driver.h"

namespace ovlab::cli {

inline constexpr char kDefaultRoot[] = "/var/lib/ovlab";
inline constexpr char kDefaultDriver[] = "overlay2";

struct Invocation {
  std::string driver = kDefaultDriver;
  drivers::DriverOptions options;            // root, max_depth
  std::vector<std::string> words;            // subcommand words, then positionals
  std::map<std::string, std::string> flags;  // subcommand flags: "parent" -> "ID", "rw" -> ""
  bool help = false;
  bool version = false;
};

// Flags that take a value; every other known flag is a switch.
inline const std::set<std::string> kValueFlags = {"root", "driver", "max-depth", "parent", "image"};
inline const std::set<std::string> kSwitchFlags = {"rw", "repair", "help", "version"};

// Fails (with a one-line message) on an unknown flag, a missing value or a bad --max-depth.
Result<Invocation> ParseArgs(const std::vector<std::string>& args);

}  // namespace ovlab::cli
