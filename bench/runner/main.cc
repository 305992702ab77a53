// ovlab-bench: the benchmark runner (bench/README.md).
//   ovlab-bench --profile quick|default|full [--targets a,b] [--backing a,b] [--out FILE.json]
//               [--seed N] [--scratch-dir DIR] [--fuse-options OPTS]
//               [--benchmark_* flags of Google Benchmark]
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/namespace.h"
#include "base/strings.h"
#include "base/version.h"
#include "runner/context.h"
#include "runner/estimate.h"
#include "runner/families.h"
#include "runner/output.h"
#include "runner/run_plan.h"
#include "runner/session.h"
#include "runner/targets.h"
#include "scratch/scratch.h"

namespace ovlab::bench {
namespace {

struct Args {
  std::string profile = "default";
  std::string targets, backings, out, scratch_dir, fuse_options;
  std::string list_targets;  // --list-targets[=json]: print the table and exit
  uint64_t seed = 1;
  std::vector<std::string> benchmark_flags;
  std::string filter;
  int repetitions = 0;  // from --benchmark_repetitions, 0 = the profile's
};

constexpr const char* kUsage =
    "usage: ovlab-bench [--profile quick|default|full] [--targets a,b] [--backing a,b]\n"
    "                   [--out FILE.json] [--seed N] [--scratch-dir DIR]\n"
    "                   [--fuse-options OPTS] [--benchmark_*...]\n"
    "       ovlab-bench --list-targets[=json]\n"
    "       ovlab-bench --version\n"
    "--fuse-options OPTS: extra ovlab-fuse -o options for the fuse target (A/B runs of its\n"
    "options, e.g. ovlab_entry_timeout=1,ovlab_splice=on), kept in the JSON context.\n"
    "--list-targets: every target with its traits and whether it runs here.\n"
    "Exit status: 0 when every instance ran, 1 when one errored, 2 on bad usage.\n";

// "--name=value" or "--name value"; returns false when argv[i] is not --name.
bool Flag(int argc, char** argv, int& i, const char* name, std::string& value) {
  std::string_view a = argv[i];
  std::string eq = std::string(name) + "=";
  if (StartsWith(a, eq)) {
    value = std::string(a.substr(eq.size()));
    return true;
  }
  if (a == name && i + 1 < argc) {
    value = argv[++i];
    return true;
  }
  return false;
}

Result<Args> ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string v;
    if (a == "--help" || a == "-h") return Fail(0, kUsage);
    if (a == "--version") return Fail(0, VersionLine("ovlab-bench") + "\n");
    if (Flag(argc, argv, i, "--profile", args.profile)) continue;
    if (Flag(argc, argv, i, "--targets", args.targets)) continue;
    if (Flag(argc, argv, i, "--backing", args.backings)) continue;
    if (Flag(argc, argv, i, "--backings", args.backings)) continue;
    if (Flag(argc, argv, i, "--out", args.out)) continue;
    if (Flag(argc, argv, i, "--scratch-dir", args.scratch_dir)) continue;
    if (Flag(argc, argv, i, "--fuse-options", args.fuse_options)) continue;
    if (a == "--list-targets" || a == "--list-targets=text") {
      args.list_targets = "text";
      continue;
    }
    if (a == "--list-targets=json") {
      args.list_targets = "json";
      continue;
    }
    if (Flag(argc, argv, i, "--seed", v)) {
      auto n = ParseUint(v);
      if (!n) return Fail(EINVAL, "--seed wants a number, got '" + v + "'");
      args.seed = *n;
      continue;
    }
    if (StartsWith(a, "--benchmark_")) {
      if (StartsWith(a, "--benchmark_filter=")) args.filter = std::string(a.substr(19));
      if (StartsWith(a, "--benchmark_repetitions=")) {
        auto n = ParseUint(a.substr(24));
        if (!n || *n == 0) return Fail(EINVAL, "--benchmark_repetitions wants a number >= 1");
        args.repetitions = static_cast<int>(*n);
      }
      args.benchmark_flags.emplace_back(a);
      continue;
    }
    return Fail(EINVAL, "unknown argument '" + std::string(a) + "'; see ovlab-bench --help");
  }
  return args;
}

Result<std::vector<std::string>> SelectTargets(const std::string& list) {
  std::vector<std::string> out;
  if (list.empty()) {
    for (const auto& t : targets::AllTargets()) out.emplace_back(t.name);
    return out;
  }
  for (const auto& t : Split(list, ',')) {
    if (!targets::FindTarget(t)) {
      return Fail(EINVAL,
                  "unknown target '" + t + "' in --targets; known: " + targets::TargetNames());
    }
    out.push_back(t);
  }
  return out;
}

// --list-targets: the table, as text for people or as the JSON the output's context carries.
int ListTargets(const std::string& format) {
  if (format == "json") {
    std::printf("%s\n", TargetsContext({}).dump(2).c_str());
    return 0;
  }
  for (const auto& t : targets::AllTargets()) {
    std::string why = targets::UnavailableReason(t);
    std::printf("%-15s %-13s %s\n%17s%s\n", std::string(t.name).c_str(),
                targets::BringupName(t.bringup), std::string(t.summary).c_str(), "",
                why.empty() ? "runs here" : ("not here: " + why).c_str());
  }
  return 0;
}

Result<std::vector<scratch::Backing>> SelectBackings(const std::string& list,
                                                     const std::vector<scratch::Backing>& plan) {
  if (list.empty()) return plan;
  std::vector<scratch::Backing> out;
  for (const auto& name : Split(list, ',')) {
    auto b = scratch::ParseBacking(name);
    if (!b) {
      return Fail(EINVAL, "unknown backing '" + name +
                              "' in --backing; known: tmpfs,ext4,xfs,xfs-reflink,btrfs");
    }
    out.push_back(*b);
  }
  return out;
}

// A target bound to one backing (btrfs) runs every family there, as the narrow backings do.
void Register(Session& s, const std::vector<std::string>& targets) {
  const RunPlan& p = s.plan();
  for (size_t i = 0; i < p.backings.size(); ++i) {
    scratch::Backing b = p.backings[i];
    RegisterBounds(s, b);
    for (const auto& t : targets) {
      std::optional<scratch::Backing> only = Spec(t).only_backing;
      if (only && *only != b) continue;
      bool narrow = i < p.narrow_backings || only;
      if (narrow || p.CopyUpOn(b, t)) {
        RegisterCopyUp(s, t, b, narrow || p.copy_variants_on_all_backings);
      }
      if (p.usage_on_all_backings || narrow) RegisterInodeUsage(s, t, b);
      if (narrow) {
        RegisterLayerWalks(s, t, b);
        RegisterWriteHeavy(s, t, b);
      }
    }
  }
}

// Targets that need a backing the run does not use are skipped with that reason.
std::string MissingBackingReason(const std::string& target, const RunPlan& plan) {
  std::optional<scratch::Backing> only = Spec(target).only_backing;
  if (!only || std::find(plan.backings.begin(), plan.backings.end(), *only) != plan.backings.end())
    return "";
  return StrPrintf("runs on the %s backing only, which this run does not use (--backing %s)",
                   scratch::BackingName(*only), scratch::BackingName(*only));
}

int Main(int argc, char** argv) {
  auto args = ParseArgs(argc, argv);
  if (!args) {
    std::fprintf(args.error().code ? stderr : stdout, "%s%s", args.error().message.c_str(),
                 args.error().code ? "\n" : "");
    return args.error().code ? 2 : 0;
  }
  if (!args->list_targets.empty()) return ListTargets(args->list_targets);
  auto plan = MakeRunPlan(args->profile);
  if (!plan) return std::fprintf(stderr, "ovlab-bench: %s\n", plan.error().message.c_str()), 2;
  auto targets = SelectTargets(args->targets);
  if (!targets)
    return std::fprintf(stderr, "ovlab-bench: %s\n", targets.error().message.c_str()), 2;
  auto backings = SelectBackings(args->backings, plan->backings);
  if (!backings) {
    return std::fprintf(stderr, "ovlab-bench: %s\n", backings.error().message.c_str()), 2;
  }
  if (!args->backings.empty()) plan->narrow_backings = backings->size();
  plan->backings = *backings;
  if (auto st = EnterPrivateMountNamespace("ovlab-bench"); !st) {
    return std::fprintf(stderr, "ovlab-bench: %s\n", st.error().message.c_str()), 2;
  }
  scratch::InstallSignalCleanup();
  SetFuseOptions(args->fuse_options);

  Session session(*plan, args->scratch_dir, args->seed);
  if (args->repetitions) session.set_repetitions(args->repetitions);
  AddMachineContext(plan->profile);
  benchmark::AddCustomContext("seed", std::to_string(args->seed));

  std::vector<std::string> runnable;
  std::vector<std::pair<std::string, std::string>> skipped;
  for (const auto& t : targets::AllTargets()) {
    std::string name(t.name);
    std::string why = std::find(targets->begin(), targets->end(), name) == targets->end()
                          ? "not selected (--targets)"
                          : targets::UnavailableReason(t);
    if (why.empty()) why = MissingBackingReason(name, *plan);
    if (!why.empty()) {
      if (why != "not selected (--targets)") {
        std::fprintf(stderr, "ovlab-bench: skipping target %s: %s\n", name.c_str(), why.c_str());
        benchmark::AddCustomContext("skipped.target." + name, why);
      }
      skipped.emplace_back(name, why);
      continue;
    }
    benchmark::AddCustomContext("target." + name, TargetContext(t));
    runnable.push_back(name);
  }
  Register(session, runnable);

  // Google Benchmark's own flags: ours first, the user's after them (so theirs win).
  std::vector<std::string> gb = {argv[0]};
  gb.push_back(StrPrintf("--benchmark_repetitions=%d", session.repetitions()));
  if (!args->out.empty()) {
    gb.push_back("--benchmark_out=" + args->out);
    gb.push_back("--benchmark_out_format=json");
  }
  gb.insert(gb.end(), args->benchmark_flags.begin(), args->benchmark_flags.end());
  std::vector<char*> gb_argv;
  for (auto& a : gb) gb_argv.push_back(a.data());
  int gb_argc = static_cast<int>(gb_argv.size());
  benchmark::Initialize(&gb_argc, gb_argv.data());

  // Scratch filesystems only for backings some selected instance uses.
  std::vector<std::string> selected = session.SelectedNames(args->filter);
  if (selected.empty()) {
    std::fprintf(stderr,
                 "ovlab-bench: no instance of the %s profile matches --benchmark_filter=%s "
                 "(--benchmark_list_tests=true lists them)\n",
                 plan->profile.c_str(), args->filter.c_str());
    return 2;
  }
  for (scratch::Backing b : plan->backings) {
    std::string token = std::string("/") + scratch::BackingName(b) + "/";
    bool used = false;
    for (const auto& n : selected) used |= n.find(token) != std::string::npos;
    if (!used) continue;
    if (auto st = session.PrepareBacking(b); !st) {
      std::fprintf(stderr, "ovlab-bench: no %s backing: %s\n", scratch::BackingName(b),
                   st.error().message.c_str());
      benchmark::AddCustomContext(std::string("skipped.backing.") + scratch::BackingName(b),
                                  st.error().message);
      continue;
    }
    benchmark::AddCustomContext(std::string("backing.") + scratch::BackingName(b),
                                session.Scratch(b).Describe());
  }
  std::fprintf(stderr, "ovlab-bench: %s profile: %zu instances, estimated %.0f minutes\n",
               plan->profile.c_str(), selected.size(),
               EstimateSeconds(selected, session.repetitions()) / 60);
  session.StartClock(selected.size());
  ErrorCountingReporter console;
  benchmark::RunSpecifiedBenchmarks(&console);
  session.Shutdown();
  benchmark::Shutdown();
  int status = 0;
  if (!args->out.empty()) {
    nlohmann::json extra = {{"ovlab_targets", TargetsContext(skipped)},
                            {"load_avg_end", LoadAverage()}};
    if (auto st = AddToJsonContext(args->out, extra); !st) {
      std::fprintf(stderr, "ovlab-bench: %s\n", st.error().message.c_str());
      status = 1;
    }
  }
  if (!console.errored().empty()) {
    std::fprintf(stderr, "ovlab-bench: %zu instances errored; the first: %s\n",
                 console.errored().size(), console.first_error().c_str());
    status = 1;
  }
  return status;
}

}  // namespace
}  // namespace ovlab::bench

int main(int argc, char** argv) {
  return ovlab::bench::Main(argc, argv);
}
