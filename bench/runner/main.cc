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
#include "runner/run_plan.h"
#include "runner/session.h"
#include "runner/targets.h"
#include "scratch/scratch.h"

namespace ovlab::bench {
namespace {

struct Args {
  std::string profile = "default";
  std::string targets, backings, out, scratch_dir, fuse_options;
  uint64_t seed = 1;
  std::vector<std::string> benchmark_flags;
  std::string filter;
  int repetitions = 0;  // from --benchmark_repetitions, 0 = the profile's
};

constexpr const char* kUsage =
    "usage: ovlab-bench [--profile quick|default|full] [--targets a,b] [--backing a,b]\n"
    "                   [--out FILE.json] [--seed N] [--scratch-dir DIR]\n"
    "                   [--fuse-options OPTS] [--benchmark_*...]\n"
    "--fuse-options OPTS: extra ovlab-fuse -o options for the fuse target (A/B runs of its\n"
    "options, e.g. ovlab_entry_timeout=1,ovlab_splice=on), kept in the JSON context\n"
    "       ovlab-bench --version\n";

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
  if (list.empty()) return AllTargetNames();
  std::vector<std::string> out;
  for (const auto& t : Split(list, ',')) {
    bool known = false;
    for (const auto& k : AllTargetNames()) known |= k == t;
    if (!known) {
      return Fail(EINVAL,
                  "unknown target '" + t + "' in --targets; known: " + Join(AllTargetNames(), ","));
    }
    out.push_back(t);
  }
  return out;
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
      std::optional<scratch::Backing> only = DescribeTarget(t).only_backing;
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
  std::optional<scratch::Backing> only = DescribeTarget(target).only_backing;
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
  ExportOvlabFuseBinary();
  SetExtraFuseOptions(args->fuse_options);

  Session session(*plan, args->scratch_dir, args->seed);
  if (args->repetitions) session.set_repetitions(args->repetitions);
  AddMachineContext(plan->profile);
  benchmark::AddCustomContext("seed", std::to_string(args->seed));

  std::vector<std::string> runnable;
  for (const auto& t : *targets) {
    std::string why = TargetUnavailableReason(t);
    if (why.empty()) why = MissingBackingReason(t, *plan);
    if (!why.empty()) {
      std::fprintf(stderr, "ovlab-bench: skipping target %s: %s\n", t.c_str(), why.c_str());
      benchmark::AddCustomContext("skipped.target." + t, why);
      continue;
    }
    benchmark::AddCustomContext("target." + t, TargetContext(t));
    runnable.push_back(t);
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
  benchmark::RunSpecifiedBenchmarks();
  session.Shutdown();
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace ovlab::bench

int main(int argc, char** argv) {
  return ovlab::bench::Main(argc, argv);
}
