// The JSON context ovlab adds to Google Benchmark's (bench/README.md): kernel, distribution, CPU,
// profile, emulation, backing filesystems and targets.
#pragma once

#include <string>

namespace ovlab::bench {

std::string KernelRelease();
std::string Distribution();  // PRETTY_NAME of /etc/os-release
std::string CpuModel();      // first "model name" of /proc/cpuinfo
bool Emulated();             // OVLAB_EMULATED=1 (set by the VM runner)
std::string LoadAverage();   // the 1, 5 and 15 minute load averages: "0.52 0.41 0.33"

// AddCustomContext for the machine-level keys.
void AddMachineContext(const std::string& profile);

}  // namespace ovlab::bench
