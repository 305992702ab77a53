#include "fuse/daemon.h"

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/fs.h"
#include "base/result.h"
#include "fuse/union_ops.h"
#include "union/union.h"

namespace ovlab::fuse {
namespace {

void PrintError(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", kProgramName, message.c_str());
}

struct SessionDeleter {
  void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};
struct LoopConfigDeleter {
  void operator()(fuse_loop_config* c) const { fuse_loop_cfg_destroy(c); }
};

Status CheckMountPoint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (IsDisconnectedErrno(err)) {
      return Fail(err, "mount point " + path +
                           " is a dead FUSE mount: detach it first (umount -l " + path + ")");
    }
    return Fail(err, "mount point " + path + ": " + ErrnoText(err) + ": create the directory");
  }
  if (!S_ISDIR(st.st_mode)) return Fail(ENOTDIR, "mount point " + path + " is not a directory");
  return {};
}

// Answers SIGUSR1 with the node count (daemon.h). The signal is blocked in every thread (the
// loop's workers inherit the mask of the thread that starts them) and taken by sigwait in a
// thread of its own, which may lock and print, as a handler may not.
class NodeCountOnSignal {
 public:
  // Before the mount appears: from then on a SIGUSR1 waits for the thread instead of killing.
  static void Block() {
    sigset_t set = Signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  explicit NodeCountOnSignal(ServerContext& ctx) : ctx_(ctx), set_(Signals()) {
    thread_ = std::thread([this] { Run(); });
  }
  ~NodeCountOnSignal() {
    stop_ = true;
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

 private:
  static sigset_t Signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    return set;
  }
  void Run() {
    for (int sig = 0; sigwait(&set_, &sig) == 0 && !stop_;) {
      std::fprintf(stderr, "%s: nodes %zu\n", kProgramName,
                   ctx_.memory.SettledNodeCount(*ctx_.engine));
      std::fflush(stderr);
    }
  }

  ServerContext& ctx_;
  sigset_t set_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int Serve(fuse_session* se, const SpeedOptions& speed) {
  if (!speed.multithread) return fuse_session_loop(se);
  std::unique_ptr<fuse_loop_config, LoopConfigDeleter> loop(fuse_loop_cfg_create());
  fuse_loop_cfg_set_clone_fd(loop.get(), speed.clone_fd ? 1 : 0);
  fuse_loop_cfg_set_max_threads(loop.get(), speed.max_threads);
  // Keep workers instead of making and ending a thread per burst of requests.
  fuse_loop_cfg_set_idle_threads(loop.get(), speed.max_threads);
  return fuse_session_loop_mt(se, loop.get());
}

}  // namespace

int RunDaemon(const DaemonConfig& config) {
  if (auto st = CheckMountPoint(config.mountpoint); !st) {
    PrintError(st.error().message);
    return 1;
  }
  auto engine = unionfs::Union::Open(config.union_options);
  if (!engine) {
    PrintError(engine.error().message);
    return 1;
  }
  ServerContext ctx;
  ctx.engine = engine->get();
  ctx.speed = config.speed;
  fuse_lowlevel_ops ops = UnionOperations(config.speed);

  std::vector<std::string> args = LibfuseArguments(config);
  // The kernel's VFS checks a FUSE mount's permissions itself only with default_permissions;
  // without it, may_delete's ENOTDIR / EISDIR (rmdir of a file, unlink of a directory) and
  // the sticky bit come before the daemon sees the call, where the kernel's overlay says
  // EACCES for a directory the caller cannot write (vfs_rename, do_rmdir, do_unlinkat), and
  // dentries the kernel caches are walked without a search permission check. With it the
  // kernel checks the caller (uid, gid, all groups) against the attributes the engine reports,
  // in its own order; the engine still checks too.
  args.push_back("-o");
  args.push_back("default_permissions");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  std::unique_ptr<fuse_session, SessionDeleter> se(
      fuse_session_new(&fargs, &ops, sizeof(ops), &ctx));
  fuse_opt_free_args(&fargs);
  if (!se) {
    PrintError("libfuse refused the mount options (its reason is above)");
    return 1;
  }
  ctx.session = se.get();
  NodeCountOnSignal::Block();
  if (fuse_set_signal_handlers(se.get()) != 0) {
    PrintError("cannot install signal handlers");
    return 1;
  }
  if (fuse_session_mount(se.get(), config.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se.get());
    PrintError("mounting on " + config.mountpoint + " failed (the reason is above)");
    return 1;
  }
  fuse_daemonize(config.foreground ? 1 : 0);
  int rc;
  {
    NodeCountOnSignal node_count(ctx);  // after fuse_daemonize, whose fork keeps no thread
    rc = Serve(se.get(), config.speed);
  }
  fuse_session_unmount(se.get());
  fuse_remove_signal_handlers(se.get());
  // The loop returns the number of the signal that ended it (a clean shutdown) or -errno.
  if (rc < 0) PrintError("serving requests failed: " + ErrnoText(-rc));
  return rc < 0 ? 1 : 0;
}

}  // namespace ovlab::fuse
