// A tiny Google Benchmark binary whose real JSON output the loader is tested against: the
// library, not a fixture generator, decides the row layout, name suffixes and error rows.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

namespace {

void Spin(long n) {
  long x = 0;
  for (long i = 0; i < n; ++i) benchmark::DoNotOptimize(x += i);
}

void CopyUp(benchmark::State& state) {
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    Spin(state.range(0) / 64);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    state.SetIterationTime(took.count());
  }
  state.counters["bytes_copied"] = static_cast<double>(state.range(0));
  state.counters["bytes"] = 4096;
}

void CopyBound(benchmark::State& state) {
  for (auto _ : state) Spin(1 << 14);
  state.SetBytesProcessed(state.iterations() * (1 << 20));
}

void Unavailable(benchmark::State& state) {
  state.SkipWithError("devicemapper: kernel has no dm-thin target");
  for (auto _ : state) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("kernel", "6.18.44-sample");
  benchmark::AddCustomContext("profile", "quick");
  benchmark::AddCustomContext("backing.ext4", "mkfs.ext4 -F (64 MiB loop)");
  for (long n : {4096L, 65536L, 1048576L}) {
    std::string name = "copy_up/overlay2/ext4/bytes:" + std::to_string(n) + "/dense";
    benchmark::RegisterBenchmark(name.c_str(), CopyUp)
        ->Arg(n)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("bound/copy/ext4", CopyBound)->UseRealTime();
  benchmark::RegisterBenchmark("copy_up/devicemapper/ext4/bytes:4096/dense", Unavailable)
      ->UseManualTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
