#include "cli/commands.h"

#include <cerrno>
#include <cstdio>

#include "base/strings.h"
#include "drivers/container.h"
#include "drivers/tree_stats.h"

namespace ovlab::cli {
namespace {

bool HasFlag(const CommandContext& ctx, const std::string& name) {
  return ctx.flags.contains(name);
}

std::string FlagValue(const CommandContext& ctx, const std::string& name) {
  auto it = ctx.flags.find(name);
  return it == ctx.flags.end() ? "" : it->second;
}

}  // namespace

Status RunCreate(const CommandContext& ctx) {
  drivers::CreateOptions options{FlagValue(ctx, "parent"), HasFlag(ctx, "rw")};
  if (auto st = ctx.driver.Create(ctx.args[0], options); !st) return st;
  std::printf("%s\n", ctx.args[0].c_str());
  return {};
}

Status RunContainerCreate(const CommandContext& ctx) {
  std::string image = FlagValue(ctx, "image");
  if (image.empty()) {
    return Fail(EINVAL, "container create needs --image TOP (the image's top layer)");
  }
  if (auto st = drivers::CreateContainer(ctx.driver, ctx.args[0], image); !st) return st;
  std::printf("%s\n", ctx.args[0].c_str());
  return {};
}

Status RunRemove(const CommandContext& ctx) {
  return ctx.driver.Remove(ctx.args[0]);
}

Status RunList(const CommandContext& ctx) {
  auto layers = ctx.driver.List();
  if (!layers) return std::unexpected(layers.error());
  std::printf("%-40s %s\n", "ID", "PARENT");
  for (const auto& id : *layers) {
    auto parent = ctx.driver.Parent(id);
    std::printf("%-40s %s\n", id.c_str(), parent ? parent->c_str() : "?");
  }
  return {};
}

Status RunMount(const CommandContext& ctx) {
  auto path = ctx.driver.Get(ctx.args[0]);
  if (!path) return std::unexpected(path.error());
  std::printf("%s\n", path->c_str());
  return {};
}

Status RunUnmount(const CommandContext& ctx) {
  return ctx.driver.Put(ctx.args[0]);
}

std::string GraphDriverJson(const std::string& name,
                            const std::map<std::string, std::string>& data) {
  std::string out = "{\n    \"Data\": {";
  bool first = true;
  for (const auto& [key, value] : data) {
    out += first ? "\n" : ",\n";
    out += "        " + JsonQuote(key) + ": " + JsonQuote(value);
    first = false;
  }
  out += data.empty() ? "},\n" : "\n    },\n";
  out += "    \"Name\": " + JsonQuote(name) + "\n}\n";
  return out;
}

Status RunInspect(const CommandContext& ctx) {
  auto data = ctx.driver.Metadata(ctx.args[0]);
  if (!data) return std::unexpected(data.error());
  std::fputs(GraphDriverJson(ctx.driver.Name(), *data).c_str(), stdout);
  return {};
}

Status RunInfo(const CommandContext& ctx) {
  std::printf("Storage Driver: %s\n", ctx.driver.Name().c_str());
  for (const auto& [key, value] : ctx.driver.Status()) {
    std::printf(" %s: %s\n", key.c_str(), value.c_str());
  }
  std::printf("Driver Home: %s\n", ctx.driver.Home().c_str());
  auto layers = ctx.driver.List();
  if (layers) std::printf("Layers: %zu\n", layers->size());
  return {};
}

// Every layer's usage first: a failure prints nothing but the error.
Status RunDiskUsage(const CommandContext& ctx) {
  std::vector<std::string> ids = ctx.args;
  if (ids.empty()) {
    auto all = ctx.driver.List();
    if (!all) return std::unexpected(all.error());
    ids = *all;
  }
  std::vector<drivers::LayerUsage> usages;
  drivers::LayerUsage total;
  for (const auto& id : ids) {
    auto usage = ctx.driver.Usage(id);
    if (!usage) return std::unexpected(usage.error());
    usages.push_back(*usage);
    total.bytes += usage->bytes;
    total.inodes += usage->inodes;
  }
  auto row = [](const std::string& name, const drivers::LayerUsage& u) {
    std::printf("%-40s %14llu %10llu\n", name.c_str(), static_cast<unsigned long long>(u.bytes),
                static_cast<unsigned long long>(u.inodes));
  };
  std::printf("%-40s %14s %10s\n", "ID", "BYTES", "INODES");
  for (size_t i = 0; i < ids.size(); ++i) row(ids[i], usages[i]);
  if (ctx.args.empty()) row("TOTAL", total);
  return {};
}

Status RunDiff(const CommandContext& ctx) {
  auto changes = ctx.driver.Changes(ctx.args[0]);
  if (!changes) return std::unexpected(changes.error());
  for (const auto& c : *changes) {
    std::printf("%c %s\n", drivers::ChangeLetter(c.kind), c.path.c_str());
  }
  return {};
}

Status RunCheck(const CommandContext& ctx) {
  auto findings = ctx.driver.Check(HasFlag(ctx, "repair"));
  if (!findings) return std::unexpected(findings.error());
  size_t remaining = 0;
  for (const auto& f : *findings) {
    if (!f.repaired) ++remaining;
    std::printf("%s%s%s%s\n", f.layer.c_str(), f.layer.empty() ? "" : ": ", f.problem.c_str(),
                f.repaired ? " (repaired)" : "");
  }
  if (findings->empty()) std::printf("no problems found\n");
  if (remaining > 0) {
    std::fprintf(stderr, "ovlab: %zu problem(s) remain%s\n", remaining,
                 HasFlag(ctx, "repair") ? " that cannot be repaired" : " (try check --repair)");
    ctx.exit_code = 1;
  }
  return {};
}

}  // namespace ovlab::cli
