// Userspace union engine vs kernel overlayfs on the same layer stacks (Google Benchmark, manual
// time around the measured call only):
//   stat/<target>/depth:D/<top|bottom|missing|nested>/<warm|cold>  lookup through D lower layers
//   readdir/<target>/entries:1000/layers:16                   merged listing
//   copyup/<target>/<backing>/<strategy>/bytes:N             first open for write of a lower file
// --big adds 1 GiB copy-ups; --only=stat,readdir,copyup sets up and runs only those families.
// Cold: the engine drops its lookup cache and indexes; the kernel drops dentries and inodes
// (vm/drop_caches = 2). Copy-up runs after syncfs, on a file not yet copied up. Stat rows also
// give cpu_us, the thread's CPU time per call: on a loaded machine it is free of run-queue waits.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/fs.h"
#include "base/strings.h"
#include "io/copy.h"
#include "mount/mount.h"
#include "scratch/cold_caches.h"
#include "scratch/scratch.h"
#include "union/union.h"

namespace ovlab::unionfs {
namespace {

using Clock = std::chrono::steady_clock;
const Cred kRoot = Cred::Root();

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time of this thread (user + system): unlike the wall clock it does not count the time the
// thread waits for a CPU, which on a loaded machine penalises many short syscalls (a preemption
// point each) against one long one.
double ThreadCpuSeconds() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Reported as cpu_us: mean thread CPU microseconds of the measured call.
void SetCpuCounter(benchmark::State& state, double cpu_seconds) {
  state.counters["cpu_us"] =
      benchmark::Counter(cpu_seconds * 1e6 / static_cast<double>(state.iterations()));
}

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "union_bench: %s\n", what.c_str());
    std::exit(1);
  }
}

void WriteFile(const std::string& path, size_t size) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  Check(fd >= 0, "create " + path);
  std::string block(1 << 20, 'd');
  for (size_t done = 0; done < size;) {
    size_t n = std::min(block.size(), size - done);
    Check(::write(fd, block.data(), n) == static_cast<ssize_t>(n), "write " + path);
    done += n;
  }
  ::close(fd);
}

// Everything the benchmarks mounted, torn down at exit (scratch::ScratchFs handles signals).
struct Env {
  std::vector<std::unique_ptr<scratch::ScratchFs>> filesystems;
  std::vector<std::string> mounts;
  ~Env() {
    for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) (void)mount::Unmount(*it, true);
  }
  std::string Scratch(scratch::Backing b, uint64_t bytes) {
    scratch::ScratchOptions o;
    o.backing = b;
    o.size_bytes = bytes;
    auto fs = scratch::ScratchFs::Create(o);
    Check(static_cast<bool>(fs), fs ? "" : fs.error().message);
    filesystems.push_back(std::move(*fs));
    return filesystems.back()->path();
  }
  std::string MountKernel(const std::vector<std::string>& lowers, const std::string& upper,
                          const std::string& work, const std::string& target) {
    Check(MakeDirs(target).has_value(), "mkdir " + target);
    mount::OverlaySpec spec;
    spec.lowers = lowers;
    spec.upper = upper;
    spec.work = work;
    auto m = mount::MountOverlay(spec, target);
    Check(static_cast<bool>(m), m ? "" : m.error().message);
    mounts.push_back(target);
    return target;
  }
};

Env* env = nullptr;

// ---- stat through deep stacks ------------------------------------------------------------------

struct DeepStack {
  int depth = 0;
  std::vector<std::string> lowers;
  std::unique_ptr<Union> engine;
  std::string merged;
};

DeepStack MakeDeep(const std::string& root, int depth) {
  DeepStack d;
  d.depth = depth;
  std::string base = root + "/deep" + std::to_string(depth);
  for (int i = 0; i < depth; ++i) {
    std::string l = base + "/" + std::to_string(i);
    Check(MakeDirs(l).has_value(), "mkdir " + l);
    for (int f = 0; f < 8; ++f)
      WriteFile(l + "/filler" + std::to_string(i) + "_" + std::to_string(f), 0);
    // A directory in every layer, as /usr/lib in image layers: nested names merge through it.
    Check(MakeDirs(l + "/usr/lib").has_value(), "mkdir " + l + "/usr/lib");
    WriteFile(l + "/usr/lib/filler" + std::to_string(i), 0);
    d.lowers.push_back(l);
  }
  WriteFile(d.lowers.front() + "/top", 16);
  WriteFile(d.lowers.back() + "/bottom", 16);
  WriteFile(d.lowers.back() + "/usr/lib/bottom", 16);
  // An empty upper on both sides (the kernel wants 2 lowers without one); stat writes nothing.
  UnionOptions o;
  o.lowers = d.lowers;
  o.upper = base + "/eu";
  o.work = base + "/ew";
  for (const auto& dir : {o.upper, o.work, base + "/ku", base + "/kw"})
    Check(MakeDirs(dir).has_value(), "mkdir " + dir);
  auto u = Union::Open(o);
  Check(static_cast<bool>(u), u ? "" : u.error().message);
  d.engine = std::move(*u);
  d.merged = env->MountKernel(d.lowers, base + "/ku", base + "/kw", base + "/merged");
  return d;
}

void StatEngine(benchmark::State& state, DeepStack* d, std::string name, bool cold) {
  int expect = name == "/missing" ? ENOENT : 0;
  double cpu = 0;
  for (auto _ : state) {
    if (cold) d->engine->DropCaches();
    double c0 = ThreadCpuSeconds();
    auto t0 = Clock::now();
    auto st = d->engine->Stat(kRoot, name);
    auto t1 = Clock::now();
    cpu += ThreadCpuSeconds() - c0;
    if ((st ? 0 : st.error()) != expect) state.SkipWithError("unexpected stat result");
    state.SetIterationTime(Seconds(t0, t1));
  }
  SetCpuCounter(state, cpu);
}

void StatKernel(benchmark::State& state, DeepStack* d, std::string name, bool cold) {
  std::string path = d->merged + name;
  double cpu = 0;
  for (auto _ : state) {
    if (cold) (void)scratch::DropKernelCaches(2);
    struct stat st {};
    double c0 = ThreadCpuSeconds();
    auto t0 = Clock::now();
    int rc = ::stat(path.c_str(), &st);
    auto t1 = Clock::now();
    cpu += ThreadCpuSeconds() - c0;
    benchmark::DoNotOptimize(rc);
    state.SetIterationTime(Seconds(t0, t1));
  }
  SetCpuCounter(state, cpu);
}

// ---- merged readdir ----------------------------------------------------------------------------

struct WideStack {
  std::unique_ptr<Union> engine;
  std::string merged;
};

WideStack MakeWide(const std::string& root) {
  WideStack w;
  std::vector<std::string> lowers;
  for (int i = 0; i < 16; ++i) {
    std::string l = root + "/wide/" + std::to_string(i);
    Check(MakeDirs(l + "/big").has_value(), "mkdir " + l);
    for (int f = i; f < 1000; f += 16) WriteFile(l + "/big/f" + std::to_string(f), 0);
    lowers.push_back(l);
  }
  UnionOptions o;
  o.lowers = lowers;
  auto u = Union::Open(o);
  Check(static_cast<bool>(u), u ? "" : u.error().message);
  w.engine = std::move(*u);
  w.merged = env->MountKernel(lowers, "", "", root + "/wide/merged");
  return w;
}

void ReaddirEngine(benchmark::State& state, WideStack* w) {
  auto dir = w->engine->LookupPath(kRoot, "/big");
  Check(static_cast<bool>(dir), "lookup /big");
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto h = w->engine->OpenDir(kRoot, dir->node);
    auto list = w->engine->ReadDir(*h, 0);
    (void)w->engine->ReleaseDir(*h);
    auto t1 = Clock::now();
    if (!list || list->size() != 1002) state.SkipWithError("wrong listing size");
    state.SetIterationTime(Seconds(t0, t1));
  }
  state.counters["entries"] = 1000;
}

void ReaddirKernel(benchmark::State& state, WideStack* w) {
  std::string path = w->merged + "/big";
  for (auto _ : state) {
    auto t0 = Clock::now();
    DIR* d = ::opendir(path.c_str());
    size_t n = 0;
    while (::readdir(d)) ++n;
    ::closedir(d);
    auto t1 = Clock::now();
    if (n != 1002) state.SkipWithError("wrong listing size");
    state.SetIterationTime(Seconds(t0, t1));
  }
  state.counters["entries"] = 1000;
}

// ---- copy-up -----------------------------------------------------------------------------------

struct CopyStack {
  std::string root, lower, upper, work;
  scratch::Backing backing;
};

void SyncFs(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::syncfs(fd);
    ::close(fd);
  }
}

void CopyUpEngine(benchmark::State& state, CopyStack* c, io::CopyStrategy strategy, size_t bytes) {
  std::string name = "/f" + std::to_string(bytes);
  UnionOptions o;
  o.lowers = {c->lower};
  o.upper = c->upper;
  o.work = c->work;
  o.copy_strategy = strategy;
  auto u = Union::Open(o);
  Check(static_cast<bool>(u), u ? "" : u.error().message);
  std::string used;
  for (auto _ : state) {
    (void)RemoveTree(c->upper + name);  // start each round from a lower-only file
    (*u)->DropCaches();
    SyncFs(c->root);
    auto t0 = Clock::now();
    auto h = (*u)->Open(kRoot, name, O_WRONLY);
    auto t1 = Clock::now();
    if (!h) {
      state.SkipWithError(("copy-up failed: " + ErrnoText(h.error())).c_str());
      break;
    }
    (void)(*u)->Release(*h);
    state.SetIterationTime(Seconds(t0, t1));
    used = io::CopyStrategyName((*u)->stats().last_copy_strategy);
  }
  (void)RemoveTree(c->upper + name);
  state.SetLabel("used=" + used);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void CopyUpKernel(benchmark::State& state, CopyStack* c, size_t bytes) {
  // Each round copies up a fresh lower file, on a fresh mount.
  std::string base = c->root + "/k" + std::to_string(bytes);
  int round = 0;
  for (auto _ : state) {
    std::string dir = base + "/" + std::to_string(round++);
    std::string lower = dir + "/lower", upper = dir + "/upper", work = dir + "/work";
    for (const auto& d : {lower, upper, work}) Check(MakeDirs(d).has_value(), "mkdir " + d);
    WriteFile(lower + "/f", bytes);
    std::string merged = env->MountKernel({lower}, upper, work, dir + "/merged");
    SyncFs(c->root);
    auto t0 = Clock::now();
    int fd = ::open((merged + "/f").c_str(), O_WRONLY | O_CLOEXEC);
    auto t1 = Clock::now();
    if (fd < 0) state.SkipWithError("kernel copy-up failed");
    if (fd >= 0) ::close(fd);
    state.SetIterationTime(Seconds(t0, t1));
    (void)mount::Unmount(merged, false);
    env->mounts.pop_back();
    (void)RemoveTree(dir);
  }
  state.SetLabel("used=kernel");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

std::string TmpfsRoot() {
  static std::string tmp = env->Scratch(scratch::Backing::kTmpfs, 1ull << 30);
  return tmp;
}

void RegisterStat() {
  static std::vector<std::unique_ptr<DeepStack>> deep;
  std::string tmp = TmpfsRoot();
  for (int depth : {1, 16, 128, 500}) {
    deep.push_back(std::make_unique<DeepStack>(MakeDeep(tmp, depth)));
    DeepStack* d = deep.back().get();
    // nested: /usr/lib/bottom, two merged directories of every layer on the way.
    for (const char* which : {"top", "bottom", "missing", "nested"}) {
      for (bool cold : {false, true}) {
        std::string suffix = StrPrintf("depth:%d/%s/%s", depth, which, cold ? "cold" : "warm");
        std::string name =
            std::string(which) == "nested" ? "/usr/lib/bottom" : std::string("/") + which;
        benchmark::RegisterBenchmark(("stat/engine/" + suffix).c_str(), StatEngine, d, name, cold)
            ->UseManualTime()
            ->Iterations(cold ? 200 : 20000);
        benchmark::RegisterBenchmark(("stat/kernel/" + suffix).c_str(), StatKernel, d, name, cold)
            ->UseManualTime()
            ->Iterations(cold ? 50 : 20000);
      }
    }
  }
}

void RegisterReaddir() {
  static std::unique_ptr<WideStack> wide;
  wide = std::make_unique<WideStack>(MakeWide(TmpfsRoot()));
  benchmark::RegisterBenchmark("readdir/engine/entries:1000/layers:16", ReaddirEngine, wide.get())
      ->UseManualTime()
      ->Iterations(300);
  benchmark::RegisterBenchmark("readdir/kernel/entries:1000/layers:16", ReaddirKernel, wide.get())
      ->UseManualTime()
      ->Iterations(300);
}

void RegisterCopyUp(bool big) {
  static std::vector<std::unique_ptr<CopyStack>> copies;
  std::vector<size_t> sizes = {4096, 1u << 20, 64u << 20};
  if (big) sizes.push_back(1u << 30);
  for (auto backing : {scratch::Backing::kExt4, scratch::Backing::kXfsReflink}) {
    auto c = std::make_unique<CopyStack>();
    c->backing = backing;
    c->root = env->Scratch(backing, big ? (6ull << 30) : (1536ull << 20));
    c->lower = c->root + "/lower";
    c->upper = c->root + "/upper";
    c->work = c->root + "/work";
    for (const auto& d : {c->lower, c->upper, c->work}) Check(MakeDirs(d).has_value(), d);
    for (size_t s : sizes) WriteFile(c->lower + "/f" + std::to_string(s), s);
    CopyStack* cp = c.get();
    copies.push_back(std::move(c));
    const char* bname = scratch::BackingName(backing);
    for (size_t s : sizes) {
      int iters = s >= (64u << 20) ? 5 : 30;
      for (auto strategy : {io::CopyStrategy::kAuto, io::CopyStrategy::kClone,
                            io::CopyStrategy::kCopyFileRange, io::CopyStrategy::kIoUring,
                            io::CopyStrategy::kIoUringSplice, io::CopyStrategy::kReadWrite}) {
        std::string n =
            StrPrintf("copyup/engine/%s/%s/bytes:%zu", bname, io::CopyStrategyName(strategy), s);
        benchmark::RegisterBenchmark(n.c_str(), CopyUpEngine, cp, strategy, s)
            ->UseManualTime()
            ->Iterations(iters);
      }
      std::string n = StrPrintf("copyup/kernel/%s/kernel/bytes:%zu", bname, s);
      benchmark::RegisterBenchmark(n.c_str(), CopyUpKernel, cp, s)
          ->UseManualTime()
          ->Iterations(s >= (64u << 20) ? 3 : 10);
    }
  }
}

// Which families to set up: building every stack takes minutes (1 GiB files with --big), so a
// run of one family builds only its own.
struct Families {
  bool stat = true, readdir = true, copyup = true;
};

void RegisterAll(const Families& f, bool big) {
  if (f.stat) RegisterStat();
  if (f.readdir) RegisterReaddir();
  if (f.copyup) RegisterCopyUp(big);
}

}  // namespace
}  // namespace ovlab::unionfs

int main(int argc, char** argv) {
  using namespace ovlab;
  bool big = false;
  unionfs::Families families;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--big") {
      big = true;  // adds the 1 GiB copy-up
    } else if (arg.starts_with("--only=")) {
      std::string list = "," + arg.substr(7) + ",";
      families.stat = list.find(",stat,") != std::string::npos;
      families.readdir = list.find(",readdir,") != std::string::npos;
      families.copyup = list.find(",copyup,") != std::string::npos;
      if (!families.stat && !families.readdir && !families.copyup) {
        std::fprintf(stderr,
                     "union_bench: --only takes stat, readdir and/or copyup (comma list)\n");
        return 2;
      }
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (::geteuid() != 0) {
    std::fprintf(stderr, "union_bench mounts filesystems: run it as root\n");
    return 2;
  }
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::fprintf(stderr, "union_bench: cannot make a private mount namespace\n");
    return 2;
  }
  scratch::InstallSignalCleanup();
  struct utsname un {};
  ::uname(&un);
  benchmark::AddCustomContext("kernel", un.release);
  benchmark::AddCustomContext("union_engine", "ovlab userspace union (in-process)");
  unionfs::Env e;
  unionfs::env = &e;
  unionfs::RegisterAll(families, big);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  unionfs::env = nullptr;
  return 0;
}
