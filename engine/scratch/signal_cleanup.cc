#include "scratch/signal_cleanup.h"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "scratch/scratch.h"

namespace ovlab::scratch {
namespace {

constexpr size_t kMaxPath = 1024;
constexpr int kScratchSlots = 64;
constexpr int kMountSlots = 256;

// A slot's state: 0 free, 1 being filled or emptied, 2 live (the handler may read it).
enum : int { kFree = 0, kBusy = 1, kLive = 2 };

// `owner` is the process that made the entry: a forked child inherits the tables (and the
// handler) but must never tear down its parent's filesystems when it is killed.
struct ScratchSlot {
  std::atomic<int> state{kFree};
  pid_t owner = 0;
  char mount_point[kMaxPath];
  char image[kMaxPath];
  char dir[kMaxPath];
};
struct MountSlot {
  std::atomic<int> state{kFree};
  pid_t owner = 0;
  char path[kMaxPath];
};

ScratchSlot g_scratch[kScratchSlots];
MountSlot g_mounts[kMountSlots];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

bool Fits(const std::string& s) {
  return s.size() < kMaxPath;
}

void Copy(char* dst, const std::string& s) {
  std::memcpy(dst, s.c_str(), s.size() + 1);
}

template <class Slot>
int Claim(Slot* slots, int count) {
  for (int i = 0; i < count; ++i) {
    int expected = kFree;
    if (slots[i].state.compare_exchange_strong(expected, kBusy)) return i;
  }
  return -1;
}

void HandleSignal(int sig) {
  int saved = errno;
  TearDownAllForSignal();
  ::signal(sig, SIG_DFL);
  errno = saved;
  ::raise(sig);  // delivered when the handler returns: the process dies of the signal
}

}  // namespace

int ClaimScratchSlot(const std::string& mount_point, const std::string& image,
                     const std::string& dir) {
  if (!Fits(mount_point) || !Fits(image) || !Fits(dir)) return -1;
  int i = Claim(g_scratch, kScratchSlots);
  if (i < 0) return -1;
  g_scratch[i].owner = ::getpid();
  Copy(g_scratch[i].mount_point, mount_point);
  Copy(g_scratch[i].image, image);
  Copy(g_scratch[i].dir, dir);
  g_scratch[i].state.store(kLive);
  return i;
}

void ReleaseScratchSlot(int slot) {
  if (slot >= 0 && slot < kScratchSlots) g_scratch[slot].state.store(kFree);
}

int RegisterCleanupMount(const std::string& path) {
  if (!Fits(path)) return -1;
  int i = Claim(g_mounts, kMountSlots);
  if (i < 0) return -1;
  g_mounts[i].owner = ::getpid();
  Copy(g_mounts[i].path, path);
  g_mounts[i].state.store(kLive);
  return i;
}

void UnregisterCleanupMount(int token) {
  if (token >= 0 && token < kMountSlots) g_mounts[token].state.store(kFree);
}

void TearDownAllForSignal() {
  const pid_t self = ::getpid();
  // Registered mounts may sit on a scratch fs: they go first, newest first.
  for (int i = kMountSlots - 1; i >= 0; --i) {
    if (g_mounts[i].owner != self) continue;
    int expected = kLive;
    if (!g_mounts[i].state.compare_exchange_strong(expected, kBusy)) continue;
    ::umount2(g_mounts[i].path, MNT_DETACH);
    g_mounts[i].state.store(kFree);
  }
  for (int i = kScratchSlots - 1; i >= 0; --i) {
    ScratchSlot& s = g_scratch[i];
    if (s.owner != self) continue;
    int expected = kLive;
    if (!s.state.compare_exchange_strong(expected, kBusy)) continue;
    // A lazy unmount takes the submounts along; the loop device autoclears when the fs goes.
    ::umount2(s.mount_point, MNT_DETACH);
    if (s.image[0]) ::unlink(s.image);
    ::rmdir(s.mount_point);
    ::rmdir(s.dir);
    s.state.store(kFree);
  }
}

void InstallSignalCleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = HandleSignal;
    sigemptyset(&sa.sa_mask);
    // Block the other cleanup signal while tearing down, so two signals do not interleave.
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
  });
}

}  // namespace ovlab::scratch
