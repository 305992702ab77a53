#include "launch/daemon_process.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "base/fs.h"
#include "base/strings.h"
#include "launch/stale_mount.h"
#include "mount/mount.h"
#include "scratch/scratch.h"

namespace ovlab::launch {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(5);

int ExitCodeOf(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

bool IsFuseMountOf(const std::string& path, const std::string& fstype_prefix) {
  auto entry = mount::FindMount(path);
  return entry && entry->has_value() && StartsWith((*entry)->fstype, fstype_prefix);
}

}  // namespace

std::vector<pid_t> FindProcesses(const std::string& program, const std::string& arg) {
  std::vector<pid_t> pids;
  for (const auto& name : ListDir("/proc").value_or(std::vector<std::string>{})) {
    auto pid = ParseUint(name);
    if (!pid) continue;
    auto cmdline = ReadFileText("/proc/" + name + "/cmdline");
    auto stat = ReadFileText("/proc/" + name + "/stat");
    if (!cmdline || !stat || stat->find(") Z") != std::string::npos) continue;  // zombies
    std::vector<std::string> argv = Split(*cmdline, '\0');
    if (argv.empty() || BaseName(argv[0]) != program) continue;
    if (std::find(argv.begin() + 1, argv.end(), arg) != argv.end()) {
      pids.push_back(static_cast<pid_t>(*pid));
    }
  }
  return pids;
}

Status WaitForMount(const std::string& path, bool mounted, std::chrono::milliseconds timeout,
                    const std::string& fstype_prefix) {
  auto deadline = Clock::now() + timeout;
  while (IsFuseMountOf(path, fstype_prefix) != mounted) {
    if (Clock::now() > deadline) {
      return Fail(ETIMEDOUT, StrPrintf("%s did not %s within %lld ms", path.c_str(),
                                       mounted ? "get mounted" : "get unmounted",
                                       static_cast<long long>(timeout.count())));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return {};
}

Result<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(const std::vector<std::string>& argv,
                                                            const std::string& mountpoint,
                                                            std::chrono::milliseconds timeout) {
  if (argv.empty()) return Fail(EINVAL, "DaemonProcess::Start: empty command");
  std::unique_ptr<DaemonProcess> d(new DaemonProcess());
  d->mountpoint_ = mountpoint;
  d->output_.reset(::memfd_create("fuse-daemon-output", MFD_CLOEXEC));
  if (!d->output_) return FailErrno(errno, "memfd_create");
  scratch::InstallSignalCleanup();
  d->cleanup_token_ = scratch::RegisterCleanupMount(mountpoint);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return FailErrno(errno, "fork for " + argv[0]);
  if (pid == 0) {
    // The daemon dies with the thread that started it, even when that one crashes: no daemon
    // outlives a test or a benchmark run.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(d->output_.get(), STDOUT_FILENO);
    ::dup2(d->output_.get(), STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  d->pid_ = pid;
  auto deadline = Clock::now() + timeout;
  while (!IsFuseMountOf(mountpoint, "fuse")) {
    auto code = d->Wait(std::chrono::milliseconds(0));
    bool exited = code.has_value();
    if (exited || Clock::now() > deadline) {
      std::string out = d->Output();
      std::string last = Trim(out).empty() ? "no output" : std::string(Trim(out));
      return Fail(exited ? ECHILD : ETIMEDOUT,
                  StrPrintf("%s %s before mounting %s: %s", argv[0].c_str(),
                            exited ? StrPrintf("exited with %d", *code).c_str() : "timed out",
                            mountpoint.c_str(), last.c_str()));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return d;
}

DaemonProcess::~DaemonProcess() {
  if (running()) {
    auto code = Unmount(std::chrono::seconds(10));
    if (!code && running()) {
      ::kill(pid_, SIGKILL);
      (void)Wait(std::chrono::seconds(10));
    }
  }
  (void)CleanupStaleMount(mountpoint_);
  if (cleanup_token_ >= 0) scratch::UnregisterCleanupMount(cleanup_token_);
}

Result<int> DaemonProcess::Unmount(std::chrono::milliseconds timeout) {
  if (IsFuseMountOf(mountpoint_, "fuse") && ::umount2(mountpoint_.c_str(), 0) != 0) {
    if (errno != EBUSY || ::umount2(mountpoint_.c_str(), MNT_DETACH) != 0) {
      return FailErrno(errno, "umount " + mountpoint_);
    }
  }
  return Wait(timeout);
}

Status DaemonProcess::Signal(int sig) {
  if (!running()) return Fail(ESRCH, "the daemon has already exited");
  if (::kill(pid_, sig) != 0) return FailErrno(errno, "kill");
  return {};
}

Result<int> DaemonProcess::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return *exit_code_;
  if (pid_ <= 0) return Fail(ECHILD, "no daemon was started");
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = ExitCodeOf(status);
      return *exit_code_;
    }
    if (r < 0 && errno != EINTR) return FailErrno(errno, "waitpid");
    if (Clock::now() >= deadline) {
      return Fail(ETIMEDOUT, StrPrintf("daemon %d still running", static_cast<int>(pid_)));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string DaemonProcess::Output() const {
  // Read through the memfd itself: its /proc/self/fd link is a magic link that the store's
  // O_NOFOLLOW file reads refuse.
  std::string out;
  char buf[4096];
  for (ssize_t n;
       (n = ::pread(output_.get(), buf, sizeof buf, static_cast<off_t>(out.size()))) > 0;)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

Result<size_t> DaemonProcess::OpenFdCount() const {
  auto names = ListDir(StrPrintf("/proc/%d/fd", static_cast<int>(pid_)));
  if (!names) return std::unexpected(names.error());
  return names->size();
}

Result<uint64_t> DaemonProcess::RssBytes() const {
  auto status = ReadFileText(StrPrintf("/proc/%d/status", static_cast<int>(pid_)));
  if (!status) return std::unexpected(status.error());
  for (const auto& line : Split(*status, '\n')) {
    if (!StartsWith(line, "VmRSS:")) continue;
    std::string_view rest = Trim(std::string_view(line).substr(6));
    auto kb = ParseUint(rest.substr(0, rest.find(' ')));
    if (kb) return *kb * 1024;
  }
  return Fail(EINVAL, "no VmRSS in /proc/<pid>/status");
}

}  // namespace ovlab::launch
