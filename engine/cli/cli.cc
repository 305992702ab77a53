#include "cli/cli.h"

#include <cstdio>
#include <functional>
#include <memory>

#include "base/strings.h"
#include "base/version.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "drivers/driver.h"

namespace ovlab::cli {
namespace {

struct Command {
  std::vector<std::string> name;  // {"container", "create"}
  std::string usage;              // after "ovlab [global options] "
  std::string summary;
  size_t min_args, max_args;    // positionals after the name
  std::set<std::string> flags;  // subcommand flags allowed
  std::function<Status(const CommandContext&)> run;
  // Makes the store when missing; every other command needs one and makes nothing.
  bool creates_store = false;
};

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {{"create"},
       "create ID [--parent ID] [--rw]",
       "create a layer (on PARENT; --rw: a container's read-write layer)",
       1,
       1,
       {"parent", "rw"},
       RunCreate,
       true},
      {{"container", "create"},
       "container create ID --image TOP",
       "create ID-init (Docker's init layer) on image layer TOP and container layer ID on it",
       1,
       1,
       {"image"},
       RunContainerCreate,
       true},
      {{"rm"},
       "rm ID",
       "remove a layer (refused while it is mounted or has children)",
       1,
       1,
       {},
       RunRemove},
      {{"ls"}, "ls", "list layers with their parents", 0, 0, {}, RunList},
      {{"mount"},
       "mount ID",
       "mount a layer and print the directory of its full view",
       1,
       1,
       {},
       RunMount},
      {{"umount"},
       "umount ID",
       "drop the mount made by `mount` (detach, remove merged/)",
       1,
       1,
       {},
       RunUnmount},
      {{"inspect"},
       "inspect ID",
       "print the layer's GraphDriver as JSON (LowerDir, UpperDir, WorkDir, MergedDir)",
       1,
       1,
       {},
       RunInspect},
      {{"info"},
       "info",
       "print the driver status like the Storage Driver part of docker info",
       0,
       0,
       {},
       RunInfo},
      {{"du"},
       "du [ID]",
       "bytes and inodes the layer's own storage uses (every layer if no ID)",
       0,
       1,
       {},
       RunDiskUsage},
      {{"diff"},
       "diff ID",
       "changes against the parent: A (added), C (changed), D (deleted)",
       1,
       1,
       {},
       RunDiff},
      {{"check"},
       "check [--repair]",
       "check the store; --repair fixes what Docker fixes; exit 1 when problems remain",
       0,
       0,
       {"repair"},
       RunCheck},
  };
  return commands;
}

constexpr char kGlobalHelp[] =
    "Global options:\n"
    "  --root DIR        data root; the driver uses DIR/<driver> (default /var/lib/ovlab)\n"
    "  --driver NAME     storage driver: %s (default overlay2)\n"
    "  --max-depth N     lower layers allowed below a layer (default 128, at most 500)\n"
    "  --help            help for ovlab or for a subcommand\n"
    "  --version         ovlab's version\n";

void PrintTopHelp() {
  std::printf(
      "Usage: ovlab [global options] COMMAND [ARGS]\n\n"
      "Docker-compatible layer store and storage drivers.\n\nCommands:\n");
  for (const auto& c : Commands()) std::printf("  %-34s %s\n", c.usage.c_str(), c.summary.c_str());
  std::printf("\n");
  std::printf(kGlobalHelp, Join(drivers::RegisteredDrivers(), ", ").c_str());
}

void PrintCommandHelp(const Command& c) {
  std::printf("Usage: ovlab [global options] %s\n\n%s\n\n", c.usage.c_str(), c.summary.c_str());
  std::printf(kGlobalHelp, Join(drivers::RegisteredDrivers(), ", ").c_str());
}

const Command* FindCommand(const std::vector<std::string>& words) {
  for (const auto& c : Commands()) {
    if (words.size() >= c.name.size() && std::equal(c.name.begin(), c.name.end(), words.begin())) {
      return &c;
    }
  }
  return nullptr;
}

int Complain(int code, const std::string& message) {
  std::fprintf(stderr, "ovlab: %s\n", message.c_str());
  return code;
}

Status CheckArgs(const Command& c, const Invocation& inv, size_t positionals) {
  std::string name = Join(c.name, " ");
  if (positionals < c.min_args || positionals > c.max_args) {
    return Fail(EINVAL, "wrong arguments for " + name + ": usage: ovlab " + c.usage);
  }
  for (const auto& [flag, value] : inv.flags) {
    if (!c.flags.contains(flag)) {
      return Fail(EINVAL,
                  "option --" + flag + " does not apply to " + name + ": usage: ovlab " + c.usage);
    }
  }
  return {};
}

}  // namespace

int Run(const std::vector<std::string>& args) {
  auto inv = ParseArgs(args);
  if (!inv) return Complain(kExitUsage, inv.error().message);
  if (inv->version) {
    std::printf("%s\n", VersionLine("ovlab").c_str());
    return kExitOk;
  }
  if (inv->words.empty()) {
    if (inv->help) {
      PrintTopHelp();
      return kExitOk;
    }
    return Complain(kExitUsage, "no command given (see ovlab --help)");
  }
  const Command* command = FindCommand(inv->words);
  if (!command) {
    return Complain(kExitUsage,
                    "unknown command \"" + Join(inv->words, " ") + "\" (see ovlab --help)");
  }
  if (inv->help) {
    PrintCommandHelp(*command);
    return kExitOk;
  }
  std::vector<std::string> positionals(inv->words.begin() + command->name.size(), inv->words.end());
  if (auto st = CheckArgs(*command, *inv, positionals.size()); !st) {
    return Complain(kExitUsage, st.error().message);
  }
  inv->options.create_store = command->creates_store;
  auto driver = drivers::OpenDriver(inv->driver, inv->options);
  if (!driver) return Complain(kExitFailure, driver.error().message);
  CommandContext ctx{**driver, positionals, inv->flags};
  auto st = command->run(ctx);
  if (!st) return Complain(kExitFailure, st.error().message);
  return ctx.exit_code;
}

}  // namespace ovlab::cli
