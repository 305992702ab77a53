// FUSE targets: a daemon started in the foreground per mount, as our child, with a parent-death
// signal so it dies with the suite even when a case crashes; unmounted and reaped on teardown.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "conformance/mounted_target.h"
#include "conformance/targets.h"
#include "mount/mount.h"
#include "scratch/scratch.h"

namespace ovlab::conformance {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

void SleepMs(int ms) {
  struct timespec ts {
    0, ms * 1000000L
  };
  ::nanosleep(&ts, nullptr);
}

bool IsFuseMount(const std::string& dir) {
  struct statfs sf;
  return ::statfs(dir.c_str(), &sf) == 0 && sf.f_type == kFuseSuperMagic;
}

std::string LastLine(const std::string& path) {
  auto text = ReadFileText(path);
  if (!text) return "";
  std::string_view t = Trim(*text);
  auto nl = t.rfind('\n');
  return std::string(nl == std::string_view::npos ? t : t.substr(nl + 1));
}

using ArgvBuilder = std::function<std::vector<std::string>(const LayerSet&, const TargetConfig&,
                                                           const std::string& mountpoint)>;

class FuseDaemonTarget : public MountedTarget {
 public:
  FuseDaemonTarget(std::string name, std::string version, ArgvBuilder argv,
                   std::function<std::string(const TargetConfig&)> options)
      : name_(std::move(name)),
        version_(std::move(version)),
        argv_(std::move(argv)),
        options_(std::move(options)) {}
  ~FuseDaemonTarget() override { StopDaemon(); }

  std::string Name() const override { return name_; }
  std::string Version() const override { return version_; }
  std::string Options() const override { return options_(config()); }

 protected:
  Status MountUnion(const LayerSet& layers, const std::string& mountpoint) override {
    std::vector<std::string> argv = argv_(layers, config(), mountpoint);
    log_ = JoinPath(DirName(layers.upper), name_ + ".log");
    pid_t pid = ::fork();
    if (pid < 0) return FailErrno(errno, "fork for " + name_);
    if (pid == 0) Exec(argv);
    pid_ = pid;
    for (int waited = 0; waited < 10000; waited += 10) {
      if (IsFuseMount(mountpoint)) {
        cleanup_token_ = scratch::RegisterCleanupMount(mountpoint);
        return {};
      }
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return Fail(EIO, name_ + " exited before mounting: " + LastLine(log_) +
                             " (command: " + Join(argv, " ") + ")");
      }
      SleepMs(10);
    }
    StopDaemon();
    return Fail(ETIMEDOUT, name_ + " did not mount within 10 s: " + LastLine(log_));
  }

  Status UnmountUnion(const std::string& mountpoint) override {
    Status result;
    if (::umount2(mountpoint.c_str(), 0) != 0 && ::umount2(mountpoint.c_str(), MNT_DETACH) != 0)
      result = FailErrno(errno, "unmount " + mountpoint);
    if (cleanup_token_ >= 0) scratch::UnregisterCleanupMount(cleanup_token_);
    cleanup_token_ = -1;
    StopDaemon();
    return result;
  }

 private:
  [[noreturn]] void Exec(const std::vector<std::string>& argv) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }

  // After the unmount the daemon exits by itself; give it a moment, then insist.
  void StopDaemon() {
    if (pid_ < 0) return;
    for (int waited = 0; waited < 2000; waited += 10) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      if (waited == 500) ::kill(pid_, SIGTERM);
      SleepMs(10);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string name_, version_;
  ArgvBuilder argv_;
  std::function<std::string(const TargetConfig&)> options_;
  std::string log_;
  pid_t pid_ = -1;
  int cleanup_token_ = -1;
};

std::string FirstLineOf(const std::vector<std::string>& argv, const std::string& prefix) {
  auto out = RunCommand(argv);
  if (!out) return "unknown";
  for (const auto& line : Split(out->output, '\n')) {
    if (StartsWith(line, prefix)) return std::string(Trim(line.substr(prefix.size())));
  }
  return "unknown";
}

// Overlay's option syntax, colons in layer paths escaped (LK2).
std::string OverlayStyleOptions(const LayerSet& l) {
  std::vector<std::string> lowers;
  // A path with a comma stays as it is: the daemon then reports it.
  auto escape = [](const std::string& p) { return mount::EscapeLayerPath(p).value_or(p); };
  for (const auto& lower : l.lowers) lowers.push_back(escape(lower));
  return "lowerdir=" + Join(lowers, ":") + ",upperdir=" + escape(l.upper) +
         ",workdir=" + escape(l.work);
}

}  // namespace

std::unique_ptr<Target> MakeFuseOverlayfsTarget() {
  // fuse-overlayfs has no redirect_dir option: it copies a renamed directory up whole.
  return std::make_unique<FuseDaemonTarget>(
      "fuse-overlayfs", FirstLineOf({"fuse-overlayfs", "--version"}, "fuse-overlayfs: version "),
      [](const LayerSet& l, const TargetConfig&, const std::string& mnt) {
        return std::vector<std::string>{"fuse-overlayfs", "-f", "-o",
                                        OverlayStyleOptions(l) + ",allow_other", mnt};
      },
      [](const TargetConfig&) { return std::string("allow_other"); });
}

std::unique_ptr<Target> MakeUnionfsFuseTarget() {
  return std::make_unique<FuseDaemonTarget>(
      "unionfs-fuse", FirstLineOf({"unionfs-fuse", "--version"}, "unionfs-fuse version: "),
      [](const LayerSet& l, const TargetConfig&, const std::string& mnt) {
        std::string branches = l.upper + "=RW";
        for (const auto& lower : l.lowers) branches += ":" + lower + "=RO";
        return std::vector<std::string>{"unionfs-fuse",    "-f",     "-o",
                                        "cow,allow_other", branches, mnt};
      },
      [](const TargetConfig&) { return std::string("cow,allow_other"); });
}

std::unique_ptr<Target> MakeOvlabFuseTarget(const std::string& binary) {
  return std::make_unique<FuseDaemonTarget>(
      "fuse", OVLAB_VERSION,
      [binary](const LayerSet& l, const TargetConfig& c, const std::string& mnt) {
        return std::vector<std::string>{binary, "-f", "-o",
                                        OverlayStyleOptions(l) +
                                            ",redirect_dir=" + (c.redirect_dir ? "on" : "off") +
                                            (c.metacopy ? ",metacopy=on" : "") + ",allow_other",
                                        mnt};
      },
      [](const TargetConfig& c) {
        return StrPrintf("redirect_dir=%s%s,allow_other", c.redirect_dir ? "on" : "off",
                         c.metacopy ? ",metacopy=on" : "");
      });
}

}  // namespace ovlab::conformance
