// lookup, readdir and mount: the families that walk the layer stack.
#include <fcntl.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "base/strings.h"
#include "drivers/container.h"
#include "generators/image_plan.h"
#include "runner/families.h"
#include "runner/targets.h"
#include "runner/timing.h"

namespace ovlab::bench {
namespace {

using scratch::Backing;
// A warm iteration times kWarmBatches batches of the same lookup and keeps the fastest (the
// machine is shared: see FastestOf). A batch is as many lookups as take about kBatchSeconds, at
// least kMinOps and at most kMaxOps, so slow targets (FUSE daemons at depth 128) do not take
// minutes and fast ones are not timed below the clock's resolution.
constexpr int kWarmIterations = 5;
constexpr int kWarmBatches = 5;
constexpr double kBatchSeconds = 0.5e-3;
constexpr int kMinOps = 4, kMaxOps = 200;

struct Where {
  const char* name;
  std::string path;
};

std::vector<Where> Places(uint32_t depth) {
  return {{"top", LayerMarker(depth - 1)},
          {"middle", LayerMarker(depth / 2)},
          {"bottom", LayerMarker(0)},
          {"missing", kMissingName}};
}

// Depths of the family for this target: the plan's, plus the kernel's deep stack.
std::vector<uint32_t> Depths(const RunPlan& p, const std::string& target) {
  std::vector<uint32_t> depths;
  for (uint32_t d : p.depths) {
    if (!Spec(target).flat || !p.flat_max_depth || d <= p.flat_max_depth) {
      depths.push_back(d);
    }
  }
  if (p.kernel_extra_depth && Spec(target).deep_lowers) {
    depths.push_back(p.kernel_extra_depth);
  }
  return depths;
}

bool IsCold(const RunPlan& p, uint32_t depth) {
  for (uint32_t d : p.cold_depths) {
    if (d == depth) return true;
  }
  return depth > 128 && !p.cold_depths.empty();
}

// Docker's lower limit, or the kernel's for the stacks deeper than Docker allows.
size_t MaxDepthFor(uint32_t depth) {
  return depth > 128 ? 500 : 128;
}

Result<Stack*> DeepStack(Session& s, const std::string& target, Backing b, uint32_t depth) {
  return s.GetStack(target, b, DeepProfile(depth), MaxDepthFor(depth));
}

// stat, or open+close: ENOENT is the expected answer for the missing name.
SysResult<void> LookupOp(Ops& view, const std::string& path, bool open, bool missing) {
  SysResult<void> r;
  if (open) {
    auto h = view.Open(path, O_RDONLY);
    r = h ? view.Close(*h) : SysFail(h.error());
  } else {
    auto st = view.Stat(path);
    r = st ? SysResult<void>{} : SysFail(st.error());
  }
  if (missing) return r ? SysFail(EEXIST) : SysResult<void>{};
  return r;
}

SysResult<void> LookupBatch(Ops& view, const std::string& path, bool open, bool missing, int ops) {
  for (int i = 0; i < ops; ++i) {
    if (auto r = LookupOp(view, path, open, missing); !r) return r;
  }
  return {};
}

// Lookups per warm batch of `instance`, measured on its first repetition and kept for the others,
// so every repetition times the same work.
SysResult<int> WarmOps(const std::string& instance, Ops& view, const std::string& path, bool open,
                       bool missing) {
  static std::map<std::string, int> calibrated;
  if (auto it = calibrated.find(instance); it != calibrated.end()) return it->second;
  auto [r, seconds] = FastestOf(3, [&] { return LookupBatch(view, path, open, missing, kMinOps); });
  if (!r) return SysFail(r.error());
  double per_op = seconds / kMinOps;
  int ops = per_op > 0 ? static_cast<int>(kBatchSeconds / per_op) : kMaxOps;
  return calibrated[instance] = std::clamp(ops, kMinOps, kMaxOps);
}

void LookupInstance(Session& s, const std::string& instance, const std::string& target, Backing b,
                    uint32_t depth, const Where& where, bool open, bool cold,
                    benchmark::State& state) {
  auto stack = DeepStack(s, target, b, depth);
  if (!stack) return SkipWithError(state, stack.error().message);
  bool missing = where.path == kMissingName;
  auto fail = [&](int code) {
    SkipWithError(state, "lookup " + where.path + ": " + ErrnoText(code));
  };
  int ops = 1;
  if (!cold) {  // the calibration also warms the caches
    auto warm = WarmOps(instance, (*stack)->ops(), where.path, open, missing);
    if (!warm) return fail(warm.error());
    ops = *warm;
  }
  // Warm, where the calling thread does all the work (no daemon): its CPU time per lookup, over
  // every batch (free of run-queue waits, which a kept fastest batch only mostly avoids).
  bool cpu = !cold && !Spec(target).daemon.has_value();
  double cpu_seconds = 0;
  for (auto _ : state) {
    if (cold) {
      if (auto st = (*stack)->MakeCold(); !st) return SkipWithError(state, st.error().message);
    }
    Ops& view = (*stack)->ops();  // MakeCold may bring up a new view
    auto batch = [&] { return LookupBatch(view, where.path, open, missing, ops); };
    double cpu0 = cpu ? ThreadCpuSeconds() : 0;
    auto [r, seconds] = cold ? Timed(batch) : FastestOf(kWarmBatches, batch);
    if (cpu) cpu_seconds += ThreadCpuSeconds() - cpu0;
    if (!r) return fail(r.error());
    state.SetIterationTime(seconds);
  }
  state.counters["ops"] = ops;
  if (cpu) {
    double lookups = static_cast<double>(state.iterations()) * kWarmBatches * ops;
    state.counters["cpu_us"] = cpu_seconds * 1e6 / lookups;
  }
}

}  // namespace

bool Listed(const std::vector<std::string>& list, const char* name) {
  for (const auto& n : list) {
    if (n == name) return true;
  }
  return false;
}

void RegisterLookup(Session& s, const std::string& target, Backing b, uint32_t depth) {
  const RunPlan& p = s.plan();
  {
    for (const Where& where : Places(depth)) {
      for (bool open : {false, true}) {
        for (bool cold : {false, true}) {
          if (!Listed(open ? p.open_wheres : p.stat_wheres, where.name)) continue;
          if (cold && (!IsCold(p, depth) || open || !Listed(p.cold_wheres, where.name))) continue;
          std::string name = StrPrintf("lookup/%s/%s/depth:%u/where:%s/op:%s/%s", target.c_str(),
                                       scratch::BackingName(b), depth, where.name,
                                       open ? "open" : "stat", cold ? "cold" : "warm");
          s.Add(name, cold ? 1 : kWarmIterations,
                [&s, name, target, b, depth, where, open, cold](benchmark::State& st) {
                  LookupInstance(s, name, target, b, depth, where, open, cold, st);
                });
        }
      }
    }
  }
}

namespace {

// The listing of /spread of `profile` (a deep stack, or the wide one).
void ReaddirInstance(Session& s, const std::string& target, Backing b, const ImageProfile& profile,
                     bool cold, benchmark::State& state) {
  auto stack = s.GetStack(target, b, profile, MaxDepthFor(profile.layers));
  if (!stack) return SkipWithError(state, stack.error().message);
  size_t expected = profile.spread_entries;
  for (auto _ : state) {
    if (cold) {
      if (auto st = (*stack)->MakeCold(); !st) return SkipWithError(state, st.error().message);
    }
    Ops& view = (*stack)->ops();
    auto list = [&] { return targets::CountEntries(view, kSpreadDir); };
    auto [n, seconds] = cold ? Timed(list) : FastestOf(kWarmBatches, list);
    if (!n) return SkipWithError(state, "readdir: " + ErrnoText(n.error()));
    if (*n != expected) {
      return SkipWithError(state,
                           StrPrintf("merged listing has %zu entries, expected %zu", *n, expected));
    }
    state.SetIterationTime(seconds);
  }
  state.counters["ops"] = 1;
  state.counters["entries"] = static_cast<double>(expected);
}

void AddReaddir(Session& s, const std::string& target, Backing b, const ImageProfile& profile,
                bool cold) {
  std::string name =
      StrPrintf("readdir/%s/%s/layers:%u/entries:%u/%s", target.c_str(), scratch::BackingName(b),
                profile.layers, profile.spread_entries, cold ? "cold" : "warm");
  s.Add(name, cold ? 1 : 5, [&s, target, b, profile, cold](benchmark::State& st) {
    ReaddirInstance(s, target, b, profile, cold, st);
  });
}

}  // namespace

void RegisterReaddir(Session& s, const std::string& target, Backing b, uint32_t depth) {
  for (bool cold : {false, true}) {
    if (!cold || IsCold(s.plan(), depth)) AddReaddir(s, target, b, DeepProfile(depth), cold);
  }
}

void RegisterWideReaddir(Session& s, const std::string& target, Backing b) {
  const RunPlan& p = s.plan();
  if (!p.wide_readdir_layers) return;
  ImageProfile wide = DeepProfile(p.wide_readdir_layers);
  wide.spread_entries = p.wide_readdir_entries;
  wide.name += StrPrintf("-wide%u", p.wide_readdir_entries);
  for (bool cold : {false, true}) AddReaddir(s, target, b, wide, cold);
}

namespace {

void MountInstance(Session& s, const std::string& target, Backing b, uint32_t depth,
                   benchmark::State& state) {
  auto stack = DeepStack(s, target, b, depth);
  if (!stack) return SkipWithError(state, stack.error().message);
  for (auto _ : state) {
    auto seconds = (*stack)->TimedRemount();
    if (!seconds) return SkipWithError(state, seconds.error().message);
    state.SetIterationTime(*seconds);
  }
}

// Creates a container (`<id>-init` + `<id>`) and removes it; times one of the two.
void ContainerInstance(Session& s, const std::string& target, Backing b, uint32_t depth,
                       bool time_create, benchmark::State& state) {
  auto stack = DeepStack(s, target, b, depth);
  if (!stack) return SkipWithError(state, stack.error().message);
  drivers::Driver& driver = (*stack)->driver();
  for (auto _ : state) {
    std::string id = StrPrintf("c%llu", static_cast<unsigned long long>(s.NextId()));
    auto [made, create_s] =
        Timed([&] { return drivers::CreateContainer(driver, id, (*stack)->image_top()); });
    if (!made) return SkipWithError(state, made.error().message);
    auto [removed, remove_s] = Timed([&] {
      Status st = driver.Remove(id);
      return st ? driver.Remove(drivers::InitLayerId(id)) : st;
    });
    if (!removed) return SkipWithError(state, removed.error().message);
    state.SetIterationTime(time_create ? create_s : remove_s);
  }
}

}  // namespace

void RegisterMount(Session& s, const std::string& target, Backing b, uint32_t depth) {
  bool driver = (Spec(target).inode_model != targets::InodeModel::kNone);
  {
    std::string base =
        StrPrintf("mount/%s/%s/layers:%u", target.c_str(), scratch::BackingName(b), depth);
    s.Add(base, 3,
          [&s, target, b, depth](benchmark::State& st) { MountInstance(s, target, b, depth, st); });
    // A container needs depth + 1 lowers (init + rw layer): Docker's 128 allow depth <= 127.
    if (!driver || depth + 1 > MaxDepthFor(depth)) return;
    for (bool create : {true, false}) {
      s.Add(base + (create ? "/op:create_container" : "/op:remove_container"), 3,
            [&s, target, b, depth, create](benchmark::State& st) {
              ContainerInstance(s, target, b, depth, create, st);
            });
    }
  }
}

void RegisterLayerWalks(Session& s, const std::string& target, Backing b) {
  // Depth by depth, so the three families share each deep stack.
  for (uint32_t depth : Depths(s.plan(), target)) {
    RegisterLookup(s, target, b, depth);
    RegisterReaddir(s, target, b, depth);
    RegisterMount(s, target, b, depth);
  }
  RegisterWideReaddir(s, target, b);
}

}  // namespace ovlab::bench
