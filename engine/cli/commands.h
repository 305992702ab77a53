// The subcommands of `ovlab`, each on an opened driver.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "drivers/driver.h"

namespace ovlab::cli {

struct CommandContext {
  drivers::Driver& driver;
  std::vector<std::string> args;             // positionals
  std::map<std::string, std::string> flags;  // "parent" -> id, "rw" -> ""
  mutable int exit_code = 0;                 // set by a command that succeeds with a verdict
};

Status RunCreate(const CommandContext& ctx);
Status RunContainerCreate(const CommandContext& ctx);
Status RunRemove(const CommandContext& ctx);
Status RunList(const CommandContext& ctx);
Status RunMount(const CommandContext& ctx);
Status RunUnmount(const CommandContext& ctx);
Status RunInspect(const CommandContext& ctx);
Status RunInfo(const CommandContext& ctx);
Status RunDiskUsage(const CommandContext& ctx);
Status RunDiff(const CommandContext& ctx);
Status RunCheck(const CommandContext& ctx);

// `docker inspect`'s GraphDriver object, indented like docker prints it.
std::string GraphDriverJson(const std::string& name,
                            const std::map<std::string, std::string>& data);

}  // namespace ovlab::cli
