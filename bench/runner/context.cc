#include "runner/context.h"

#include <sys/utsname.h>

#include <cstdlib>

#include <benchmark/benchmark.h>

#include "base/fs.h"
#include "base/strings.h"
#include "base/version.h"

namespace ovlab::bench {
namespace {

// The value of the first line "key<sep>value" of a text file, unquoted.
std::string FirstValue(const std::string& path, std::string_view key, char sep) {
  auto text = ReadFileText(path);
  if (!text) return "unknown";
  for (const auto& line : Split(*text, '\n')) {
    auto pos = line.find(sep);
    if (pos == std::string::npos || Trim(std::string_view(line).substr(0, pos)) != key) continue;
    std::string_view value = Trim(std::string_view(line).substr(pos + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return "unknown";
}

}  // namespace

std::string KernelRelease() {
  struct utsname u {};
  return ::uname(&u) == 0 ? u.release : "unknown";
}

std::string Distribution() {
  // /etc/os-release is usually a symlink to /usr/lib/os-release, and ReadFileText does not follow.
  std::string name = FirstValue("/usr/lib/os-release", "PRETTY_NAME", '=');
  return name != "unknown" ? name : FirstValue("/etc/os-release", "PRETTY_NAME", '=');
}
std::string CpuModel() {
  return FirstValue("/proc/cpuinfo", "model name", ':');
}

bool Emulated() {
  const char* e = std::getenv("OVLAB_EMULATED");
  return e && std::string_view(e) == "1";
}

std::string LoadAverage() {
  auto text = ReadFileText("/proc/loadavg");
  if (!text) return "unknown";
  auto fields = Split(std::string(Trim(*text)), ' ');
  return fields.size() >= 3 ? fields[0] + " " + fields[1] + " " + fields[2] : "unknown";
}

void AddMachineContext(const std::string& profile) {
  benchmark::AddCustomContext("ovlab_version", Version());
  benchmark::AddCustomContext("git_commit", GitDescribe());
  benchmark::AddCustomContext("build_type", BuildType());
  benchmark::AddCustomContext("compiler", Compiler());
  benchmark::AddCustomContext("load_avg_start", LoadAverage());
  benchmark::AddCustomContext("kernel", KernelRelease());
  benchmark::AddCustomContext("distribution", Distribution());
  benchmark::AddCustomContext("cpu", CpuModel());
  benchmark::AddCustomContext("profile", profile);
  benchmark::AddCustomContext("emulated", Emulated() ? "true" : "false");
}

}  // namespace ovlab::bench
