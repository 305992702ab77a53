// ovlab-fuse vs fuse-overlayfs vs the kernel's overlay on the same layers (loop-mounted scratch
// filesystems): lookups at depth 128 (warm, and cold after dropping caches and restarting the
// daemons), merged readdir (warm and cold), create+unlink of 10,000 files, sequential read and
// write, and copy-up of 64 MiB on ext4 and xfs with reflink. Names follow bench/README.md:
// FAMILY/TARGET/BACKING/... with TARGET overlay2 (the kernel overlay mount overlay2 makes), fuse
// (ovlab-fuse) and fuse-overlayfs. Run as root:
//   fuse_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// OVLAB_BENCH_SEQ_BYTES sets the sequential I/O size (default 1G, as issue #4 asks);
// OVLAB_BENCH_FUSE_OPTIONS adds ovlab-fuse options (e.g. "ovlab_entry_timeout=1") to compare
// speed settings.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "launch/daemon_process.h"
#include "mount/mount.h"
#include "scratch/cold_caches.h"
#include "scratch/scratch.h"

namespace ovlab::fuse {
using launch::DaemonProcess;
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = 1ull << 20;
constexpr int kDepth = 128;
constexpr int kReaddirLayers = 8;
constexpr int kReaddirFilesPerLayer = 500;
constexpr int kReaddirShared = 100;  // names present in every layer (the top one wins)
constexpr int kCreateFiles = 10000;
constexpr uint64_t kCopyUpBytes = 64 * kMiB;
constexpr int kCopyUpFiles = 10;  // one fresh lower file per timed copy-up (their CV is high)

enum class Kind { kKernel, kOvlabFuse, kFuseOverlayfs };
const Kind kKinds[] = {Kind::kKernel, Kind::kOvlabFuse, Kind::kFuseOverlayfs};

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kKernel:
      return "overlay2";
    case Kind::kOvlabFuse:
      return "fuse";
    case Kind::kFuseOverlayfs:
      return "fuse-overlayfs";
  }
  return "?";
}

uint64_t SeqBytes() {
  const char* env = std::getenv("OVLAB_BENCH_SEQ_BYTES");
  auto v = env ? ParseSize(env) : std::nullopt;
  return v.value_or(1024 * kMiB);
}

// ",OPTIONS" from $OVLAB_BENCH_FUSE_OPTIONS, or "".
std::string ExtraFuseOptions() {
  const char* env = std::getenv("OVLAB_BENCH_FUSE_OPTIONS");
  return env && *env ? std::string(",") + env : std::string();
}

void Die(const std::string& what) {
  std::fprintf(stderr, "fuse_bench: %s\n", what.c_str());
  std::exit(2);
}

// `quiesce`: mount points whose deferred metadata writeback must not run into the measurement.
void DropCaches(const std::vector<std::string>& quiesce = {}) {
  if (auto st = scratch::DropKernelCaches(3, quiesce); !st) Die(st.error().message);
}

void WriteFileOfSize(const std::string& path, uint64_t bytes) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) Die("create " + path + ": " + ErrnoText(errno));
  std::string chunk(kMiB, '\0');
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((i * 131) ^ (i >> 9));
  for (uint64_t done = 0; done < bytes; done += chunk.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), bytes - done));
    if (::write(fd, chunk.data(), n) != static_cast<ssize_t>(n)) Die("write " + path);
  }
  ::close(fd);
}

// Lowers (uppermost first) on one scratch filesystem; targets get their own upper/work there.
struct Stack {
  std::string backing_name;
  std::string dir;
  std::vector<std::string> lowers;
};

// Scratch filesystems live for the whole run (destroyed at exit, also on signals).
scratch::ScratchFs& Backing(scratch::Backing b) {
  static std::map<scratch::Backing, std::unique_ptr<scratch::ScratchFs>> fs;
  auto& slot = fs[b];
  if (!slot) {
    scratch::ScratchOptions o;
    o.backing = b;
    o.size_bytes = 3ull << 30;
    auto made = scratch::ScratchFs::Create(o);
    if (!made) Die(made.error().message);
    slot = std::move(*made);
    benchmark::AddCustomContext(std::string("backing.") + scratch::BackingName(b),
                                slot->Describe());
  }
  return *slot;
}

Stack MakeStack(scratch::Backing b, const std::string& name, int layers) {
  Stack s;
  s.backing_name = scratch::BackingName(b);
  s.dir = Backing(b).path() + "/" + name;
  if (!MakeDirs(s.dir)) Die("mkdir " + s.dir);
  for (int i = 0; i < layers; ++i) {
    s.lowers.push_back(StrPrintf("%s/%d", s.dir.c_str(), i));
    if (!MakeDirs(s.lowers.back())) Die("mkdir " + s.lowers.back());
  }
  return s;
}

// One target mounted over a stack, with its own upper and work directories.
class Target {
 public:
  Target(Kind kind, const Stack& stack) : kind_(kind), stack_(stack) {
    base_ = StrPrintf("%s/t-%s-%d", stack.dir.c_str(), KindName(kind), counter_++);
    for (const char* d : {"u", "w", "m"}) {
      if (!MakeDirs(base_ + "/" + d)) Die("mkdir " + base_);
    }
  }
  ~Target() {
    Unmount();
    (void)RemoveTree(base_);
  }

  std::string path(const std::string& rel = "") const {
    return rel.empty() ? base_ + "/m" : base_ + "/m/" + rel;
  }

  Status Mount() {
    std::string lowers = Join(stack_.lowers, ":");
    std::string opts = "lowerdir=" + lowers + ",upperdir=" + base_ + "/u,workdir=" + base_ + "/w";
    if (kind_ == Kind::kKernel) {
      mount::OverlaySpec spec;
      spec.lowers = stack_.lowers;
      spec.upper = base_ + "/u";
      spec.work = base_ + "/w";
      spec.options = {"index=off", "redirect_dir=on", "metacopy=off"};
      auto info = mount::MountOverlay(spec, path());
      if (!info) return std::unexpected(info.error());
      kernel_mounted_ = true;
      return {};
    }
    std::vector<std::string> argv;
    if (kind_ == Kind::kOvlabFuse) {
      argv = {OVLAB_FUSE_BINARY, "-f", "-o", opts + ExtraFuseOptions(), path()};
    } else {
      argv = {"fuse-overlayfs", "-f", "-o", opts, path()};
    }
    auto d = DaemonProcess::Start(argv, path());
    if (!d) return std::unexpected(d.error());
    daemon_ = std::move(*d);
    return {};
  }

  void Unmount() {
    if (kernel_mounted_) {
      (void)mount::Unmount(path(), false);
      kernel_mounted_ = false;
    }
    if (daemon_) {
      (void)daemon_->Unmount();
      daemon_.reset();
    }
  }

  // Cold: unmount (the daemon exits), drop every cache, mount again (a fresh daemon).
  Status Remount() {
    Unmount();
    DropCaches();
    return Mount();
  }

 private:
  static inline int counter_ = 0;
  Kind kind_;
  const Stack& stack_;
  std::string base_;
  bool kernel_mounted_ = false;
  std::unique_ptr<DaemonProcess> daemon_;
};

bool Available(Kind k, std::string* why) {
  if (k == Kind::kFuseOverlayfs && !HaveProgram("fuse-overlayfs")) {
    *why = "fuse-overlayfs is not installed (Debian package fuse-overlayfs)";
    return false;
  }
  return true;
}

// Mounts a target for one benchmark run or marks the run as skipped/errored.
std::unique_ptr<Target> MountOrSkip(benchmark::State& state, Kind kind, const Stack& stack) {
  std::string why;
  if (!Available(kind, &why)) {
    state.SkipWithError(("skipped: " + why).c_str());
    return nullptr;
  }
  auto t = std::make_unique<Target>(kind, stack);
  if (auto st = t->Mount(); !st) {
    state.SkipWithError(st.error().message.c_str());
    return nullptr;
  }
  return t;
}

// ---- lookup: stat of a file found only in the bottom of 128 lowers, through a merged dir ----

const Stack& DepthStack() {
  static Stack s = [] {
    Stack st = MakeStack(scratch::Backing::kExt4, "depth", kDepth);
    for (int i = 0; i < kDepth; ++i) {
      if (!MakeDirs(st.lowers[i] + "/d")) Die("mkdir");
      if (!WriteFileAtomic(StrPrintf("%s/d/f%d", st.lowers[i].c_str(), i), "x")) Die("write");
    }
    if (!WriteFileAtomic(st.lowers.back() + "/d/target", "bottom")) Die("write");
    return st;
  }();
  return s;
}

void BM_StatDepthWarm(benchmark::State& state, Kind kind) {
  auto t = MountOrSkip(state, kind, DepthStack());
  if (!t) return;
  std::string p = t->path("d/target");
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) state.SkipWithError(("stat " + p).c_str());
  for (auto _ : state) {
    if (::stat(p.c_str(), &st) != 0) state.SkipWithError("stat failed");
  }
  state.counters["ops"] = 1;
}

void BM_StatDepthCold(benchmark::State& state, Kind kind) {
  auto t = MountOrSkip(state, kind, DepthStack());
  if (!t) return;
  std::string p = t->path("d/target");
  for (auto _ : state) {
    if (auto st = t->Remount(); !st) {
      state.SkipWithError(st.error().message.c_str());
      break;
    }
    struct stat sb {};
    auto start = Clock::now();
    int rc = ::stat(p.c_str(), &sb);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (rc != 0) state.SkipWithError("stat failed");
  }
  state.counters["ops"] = 1;
}

// ---- readdir: one directory merged from 8 layers ----

const Stack& ReaddirStack() {
  static Stack s = [] {
    Stack st = MakeStack(scratch::Backing::kExt4, "readdir", kReaddirLayers);
    for (int l = 0; l < kReaddirLayers; ++l) {
      std::string d = st.lowers[l] + "/dir";
      if (!MakeDirs(d)) Die("mkdir");
      for (int i = 0; i < kReaddirFilesPerLayer; ++i) {
        if (!WriteFileAtomic(StrPrintf("%s/l%d-%d", d.c_str(), l, i), "")) Die("write");
      }
      for (int i = 0; i < kReaddirShared; ++i) {
        if (!WriteFileAtomic(StrPrintf("%s/shared-%d", d.c_str(), i), "")) Die("write");
      }
    }
    return st;
  }();
  return s;
}

size_t ListAll(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  size_t n = 0;
  while (::readdir(d)) ++n;
  ::closedir(d);
  return n;
}

void BM_ReaddirMerged(benchmark::State& state, Kind kind) {
  auto t = MountOrSkip(state, kind, ReaddirStack());
  if (!t) return;
  std::string dir = t->path("dir");
  size_t want = kReaddirLayers * kReaddirFilesPerLayer + kReaddirShared + 2;
  if (ListAll(dir) != want) state.SkipWithError("merged listing has the wrong size");
  for (auto _ : state) {
    if (ListAll(dir) != want) state.SkipWithError("merged listing has the wrong size");
  }
  state.counters["entries"] = static_cast<double>(want);
}

// Cold: the daemon merges the layers afresh (a new daemon, caches dropped); warm listings above
// come from the kernel's readdir cache (cache_readdir) and hardly reach the daemon.
void BM_ReaddirMergedCold(benchmark::State& state, Kind kind) {
  auto t = MountOrSkip(state, kind, ReaddirStack());
  if (!t) return;
  std::string dir = t->path("dir");
  size_t want = kReaddirLayers * kReaddirFilesPerLayer + kReaddirShared + 2;
  for (auto _ : state) {
    if (auto st = t->Remount(); !st) {
      state.SkipWithError(st.error().message.c_str());
      break;
    }
    auto start = Clock::now();
    size_t got = ListAll(dir);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (got != want) state.SkipWithError("merged listing has the wrong size");
  }
  state.counters["entries"] = static_cast<double>(want);
}

// ---- create + unlink of 10,000 files in a new upper directory ----

void BM_CreateUnlink(benchmark::State& state, Kind kind) {
  auto t = MountOrSkip(state, kind, ReaddirStack());
  if (!t) return;
  int round = 0;
  for (auto _ : state) {
    std::string dir = t->path(StrPrintf("cu%d", round++));
    auto start = Clock::now();
    if (::mkdir(dir.c_str(), 0755) != 0) state.SkipWithError("mkdir failed");
    for (int i = 0; i < kCreateFiles; ++i) {
      int fd = ::open(StrPrintf("%s/f%d", dir.c_str(), i).c_str(), O_CREAT | O_WRONLY, 0644);
      if (fd < 0) {
        state.SkipWithError("create failed");
        break;
      }
      ::close(fd);
    }
    for (int i = 0; i < kCreateFiles; ++i) {
      if (::unlink(StrPrintf("%s/f%d", dir.c_str(), i).c_str()) != 0) {
        state.SkipWithError("unlink failed");
        break;
      }
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
  }
  state.counters["ops"] = 2.0 * kCreateFiles;
}

// ---- sequential write of a new file and read of a lower file, 1 MiB requests ----

const Stack& SeqStack() {
  static Stack s = [] {
    Stack st = MakeStack(scratch::Backing::kExt4, "seq", 1);
    WriteFileOfSize(st.lowers[0] + "/big", SeqBytes());
    return st;
  }();
  return s;
}

void BM_SeqWrite(benchmark::State& state, Kind kind) {
  auto t = MountOrSkip(state, kind, SeqStack());
  if (!t) return;
  uint64_t bytes = SeqBytes();
  std::string chunk(kMiB, 'w');
  int round = 0;
  for (auto _ : state) {
    std::string p = t->path(StrPrintf("out%d", round++));
    auto start = Clock::now();
    int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) {
      state.SkipWithError("create failed");
      break;
    }
    for (uint64_t done = 0; done < bytes; done += chunk.size()) {
      if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
        state.SkipWithError("write failed");
        break;
      }
    }
    ::close(fd);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    ::unlink(p.c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
}

// open_flags O_DIRECT: every read is a READ request the daemon serves (FUSE keeps no page cache
// for it), from the lower file's page cache; the kernel overlay reads its lower ext4 directly.
void BM_SeqRead(benchmark::State& state, Kind kind, int open_flags) {
  auto t = MountOrSkip(state, kind, SeqStack());
  if (!t) return;
  uint64_t bytes = SeqBytes();
  std::unique_ptr<char, decltype(&std::free)> buf(
      static_cast<char*>(std::aligned_alloc(4096, kMiB)), &std::free);
  auto read_all = [&] {
    int fd = ::open(t->path("big").c_str(), O_RDONLY | open_flags);
    if (fd < 0) return uint64_t{0};
    uint64_t total = 0;
    for (ssize_t n; (n = ::read(fd, buf.get(), kMiB)) > 0;) total += static_cast<uint64_t>(n);
    ::close(fd);
    return total;
  };
  if (read_all() != bytes) state.SkipWithError("short read");  // warm the caches
  for (auto _ : state) {
    auto start = Clock::now();
    uint64_t got = read_all();
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (got != bytes) state.SkipWithError("short read");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
}

// ---- copy-up of a 64 MiB lower file (open for write), caches dropped, after sync ----

const Stack& CopyUpStack(scratch::Backing b) {
  static std::map<scratch::Backing, Stack> stacks;
  auto it = stacks.find(b);
  if (it != stacks.end()) return it->second;
  Stack st = MakeStack(b, "copyup", 1);
  for (int i = 0; i < kCopyUpFiles; ++i) {
    WriteFileOfSize(StrPrintf("%s/c%d", st.lowers[0].c_str(), i), kCopyUpBytes);
  }
  return stacks.emplace(b, std::move(st)).first->second;
}

// The copy-ups measured: a cold first open for write; the same with O_TRUNC (the kernel copies
// no data for it, nor does ovlab-fuse), where the data would dominate; warm (the name looked up
// and the caches kept), where the data costs nothing, so the rest of a copy-up shows.
struct CopyUpCase {
  const char* suffix;
  int open_flags;
  bool cold;
  std::optional<scratch::Backing> only_on;  // none: every backing
};
constexpr CopyUpCase kCopyUpCases[] = {
    {"", 0, true, std::nullopt},
    {"/truncate", O_TRUNC, true, scratch::Backing::kExt4},
    {"/warm", 0, false, scratch::Backing::kXfsReflink},
};

// Cold: after sync, the backing frozen and thawed (so xfs's deferred metadata writeback of the
// previous copy-up does not run into this one) and every cache dropped.
void BM_CopyUp(benchmark::State& state, Kind kind, scratch::Backing b, CopyUpCase c) {
  auto t = MountOrSkip(state, kind, CopyUpStack(b));
  if (!t) return;
  int i = 0;
  for (auto _ : state) {
    if (i >= kCopyUpFiles) {
      state.SkipWithError("more iterations than prepared lower files");
      break;
    }
    std::string p = t->path(StrPrintf("c%d", i++));
    struct stat st {};
    if (c.cold) {
      DropCaches({Backing(b).path()});
    } else if (::stat(p.c_str(), &st) != 0) {
      state.SkipWithError("stat before the warm copy-up failed");
      break;
    }
    auto start = Clock::now();
    int fd = ::open(p.c_str(), O_WRONLY | c.open_flags);
    if (fd >= 0) ::close(fd);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (fd < 0) state.SkipWithError("open for write failed");
  }
  state.counters["bytes"] = static_cast<double>(kCopyUpBytes);
}

std::string VersionOf(const std::vector<std::string>& argv) {
  auto out = RunCommand(argv);
  if (!out) return "unknown";
  auto lines = Split(std::string(Trim(out->output)), '\n');
  return lines.empty() ? "unknown" : Join(lines, "; ");
}

void RegisterAll() {
  struct utsname u {};
  ::uname(&u);
  benchmark::AddCustomContext("kernel", u.release);
  benchmark::AddCustomContext("target.overlay2",
                              "kernel overlay mount, index=off,redirect_dir=on,metacopy=off");
  benchmark::AddCustomContext(
      "target.fuse",
      VersionOf({OVLAB_FUSE_BINARY, "--version"}) + "; options: " +
          (ExtraFuseOptions().empty() ? std::string("defaults") : ExtraFuseOptions().substr(1)));
  benchmark::AddCustomContext(
      "target.fuse-overlayfs",
      HaveProgram("fuse-overlayfs") ? VersionOf({"fuse-overlayfs", "--version"}) : "not installed");
  benchmark::AddCustomContext("seq_bytes", std::to_string(SeqBytes()));
  for (Kind k : kKinds) {
    std::string t = KindName(k);
    benchmark::RegisterBenchmark(("lookup/" + t + "/ext4/depth:128/where:bottom/warm").c_str(),
                                 BM_StatDepthWarm, k)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("lookup/" + t + "/ext4/depth:128/where:bottom/cold").c_str(),
                                 BM_StatDepthCold, k)
        ->UseManualTime()
        ->Iterations(5);
    benchmark::RegisterBenchmark(
        StrPrintf("readdir/%s/ext4/layers:%d/entries:%d/warm", t.c_str(), kReaddirLayers,
                  kReaddirLayers * kReaddirFilesPerLayer + kReaddirShared)
            .c_str(),
        BM_ReaddirMerged, k)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        StrPrintf("readdir/%s/ext4/layers:%d/entries:%d/cold", t.c_str(), kReaddirLayers,
                  kReaddirLayers * kReaddirFilesPerLayer + kReaddirShared)
            .c_str(),
        BM_ReaddirMergedCold, k)
        ->UseManualTime()
        ->Iterations(5);
    benchmark::RegisterBenchmark(
        StrPrintf("write_heavy/%s/ext4/op:create_unlink/files:%d", t.c_str(), kCreateFiles).c_str(),
        BM_CreateUnlink, k)
        ->UseManualTime()
        ->Iterations(2);
    std::string bytes = std::to_string(SeqBytes());
    benchmark::RegisterBenchmark(("write_heavy/" + t + "/ext4/op:seqwrite/bytes:" + bytes).c_str(),
                                 BM_SeqWrite, k)
        ->UseManualTime()
        ->Iterations(2);
    benchmark::RegisterBenchmark(("write_heavy/" + t + "/ext4/op:seqread/bytes:" + bytes).c_str(),
                                 BM_SeqRead, k, 0)
        ->UseManualTime()
        ->Iterations(3);
    benchmark::RegisterBenchmark(
        ("write_heavy/" + t + "/ext4/op:seqread_direct/bytes:" + bytes).c_str(), BM_SeqRead, k,
        O_DIRECT)
        ->UseManualTime()
        ->Iterations(3);
    for (auto b : {scratch::Backing::kExt4, scratch::Backing::kXfsReflink}) {
      for (const CopyUpCase& c : kCopyUpCases) {
        if (c.only_on && *c.only_on != b) continue;
        benchmark::RegisterBenchmark(
            StrPrintf("copy_up/%s/%s/bytes:%llu/dense%s", t.c_str(), scratch::BackingName(b),
                      static_cast<unsigned long long>(kCopyUpBytes), c.suffix)
                .c_str(),
            BM_CopyUp, k, b, c)
            ->UseManualTime()
            ->Iterations(kCopyUpFiles);
      }
    }
  }
}

}  // namespace
}  // namespace ovlab::fuse

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "fuse_bench mounts filesystems and must run as root\n");
    return 2;
  }
  // Like the tests: a private mount namespace, so nothing outlives the run.
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr)) {
    std::perror("fuse_bench: private mount namespace");
    return 2;
  }
  ovlab::scratch::InstallSignalCleanup();
  benchmark::Initialize(&argc, argv);
  ovlab::fuse::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
