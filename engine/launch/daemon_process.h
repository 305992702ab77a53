// A FUSE daemon (ovlab-fuse, fuse-overlayfs, ...) run as a foreground child process, for tests,
// benchmarks and the conformance suite: started and waited for until its mount appears, unmounted
// and waited for, sent signals, and watched through /proc (descriptors, memory). Its mount point is
// registered with scratch's signal cleanup, and the destructor unmounts and reaps it, so nothing
// outlives a test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ovlab::launch {

class DaemonProcess {
 public:
  // Runs argv (argv[0] searched in PATH; it must stay in the foreground, e.g. with -f) and waits
  // up to `timeout` until `mountpoint` carries a mount whose type starts with "fuse". Fails with
  // the daemon's own output when it exits or times out first (then nothing is left running).
  static Result<std::unique_ptr<DaemonProcess>> Start(
      const std::vector<std::string>& argv, const std::string& mountpoint,
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& mountpoint() const { return mountpoint_; }
  bool running() const { return pid_ > 0 && !exit_code_; }

  // Unmounts (umount2, lazily if busy) and waits for the daemon to exit; returns its exit code.
  Result<int> Unmount(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  Status Signal(int sig);
  // Waits for exit; the code is 128+signal when it was killed. ETIMEDOUT when still running.
  Result<int> Wait(std::chrono::milliseconds timeout);
  // What the daemon wrote to stdout and stderr so far.
  std::string Output() const;

  // Open descriptors (/proc/<pid>/fd) and resident memory (VmRSS) of the daemon.
  Result<size_t> OpenFdCount() const;
  Result<uint64_t> RssBytes() const;

 private:
  DaemonProcess() = default;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string mountpoint_;
  UniqueFd output_;  // memfd holding the daemon's stdout+stderr
  int cleanup_token_ = -1;
};

// Live processes whose program (base name of argv[0]) is `program` and that have `arg` among
// their arguments: daemons that detached from whoever started them (mount.fuse3, the driver).
std::vector<pid_t> FindProcesses(const std::string& program, const std::string& arg);

// Waits until `path` is (or, with mounted=false, is no longer) the target of a mount whose type
// starts with `fstype_prefix`.
Status WaitForMount(const std::string& path, bool mounted, std::chrono::milliseconds timeout,
                    const std::string& fstype_prefix = "fuse");

}  // namespace ovlab::launch
