// Family "non-posix": overlay behaviour Documentation/filesystems/overlayfs.rst lists as not
// POSIX (NP1 atime of lower reads, NP3 no ETXTBSY for executing lower files), with the kernel's
// observable behaviour as the oracle.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

// 2000-01-01: older than a day and than the file's mtime, so relatime updates it on a read.
constexpr time_t kOldAtime = 946684800;

// The real file behind union path `p` in the topmost lower layer that has it.
std::string LowerFile(CaseRun& r, const std::string& p) {
  for (const auto& l : r.layers().lowers) {
    struct stat st;
    if (::lstat((l + p).c_str(), &st) == 0) return l + p;
  }
  return "";
}

std::string AtimeRelation(const SysResult<struct stat>& st) {
  if (!st) return ErrnoName(st.error());
  return st->st_atim.tv_sec == kOldAtime ? "kept" : "updated";
}

std::string LowerAtime(const std::string& real) {
  struct stat st;
  if (::lstat(real.c_str(), &st) != 0) return ErrnoName(errno);
  return st.st_atim.tv_sec == kOldAtime ? "kept" : "updated";
}

struct AtimeAccess {
  const char* id;
  const char* what;
};

const AtimeAccess kAtimeAccesses[] = {
    {"read", "open O_RDONLY and read"},
    {"read_noatime", "open O_RDONLY|O_NOATIME and read"},
    {"open_only", "open O_RDONLY, no read"},
    {"stat_only", "stat"},
};

class Atime : public ::testing::TestWithParam<AtimeAccess> {};

TEST_P(Atime, OfLowerRead) {
  AtimeAccess a = GetParam();
  RunCase("non-posix", "NP1 CU1", std::string("atime of a lower file after ") + a.what,
          [a](CaseRun& r) {
            std::string id = a.id, real = LowerFile(r, "/f");
            const struct timespec times[2] = {{kOldAtime, 0}, {0, UTIME_OMIT}};
            r.Note("set lower atime",
                   ::utimensat(AT_FDCWD, real.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0
                       ? "ok"
                       : ErrnoName(errno));
            r.Note("union atime before", AtimeRelation(r.t().Stat("/f")));
            if (id == "stat_only") {
              r.Note("stat /f", r.StatLine("/f"));
            } else {
              int flags = O_RDONLY | (id == "read_noatime" ? O_NOATIME : 0);
              auto h = r.t().Open("/f", flags);
              r.Expect("open /f", Res(h), "ok");
              if (h && id != "open_only") r.Expect("read /f", Res(r.t().Read(*h, 4096)), "ok");
              if (h) (void)r.t().Close(*h);
            }
            r.Note("lower atime after", LowerAtime(real));
            r.Note("union atime after", AtimeRelation(r.t().Stat("/f")));
            r.Expect("upper /f", r.Placement("/f"), "absent");
          });
}

INSTANTIATE_TEST_SUITE_P(NonPosix, Atime, ::testing::ValuesIn(kAtimeAccesses),
                         [](const auto& info) { return std::string(info.param.id); });

// A program that blocks until killed: the system's sleep (coreutils, or busybox in the VM
// guest, which picks the applet from argv[0]).
std::string SleepBinaryContent() {
  for (const char* p : {"/usr/bin/sleep", "/bin/sleep"}) {
    char real[PATH_MAX];
    if (!::realpath(p, real)) continue;
    if (auto text = ReadFileText(real)) return *text;
  }
  return "";
}

// Starts `path` (sleep 1000) and returns once the exec happened (the close-on-exec pipe
// closes), so the write attempts below never race the exec.
pid_t StartExecutable(const std::string& path) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    char arg0[] = "sleep", arg1[] = "1000";
    char* argv[] = {arg0, arg1, nullptr};
    ::execv(path.c_str(), argv);
    int e = errno;
    (void)!::write(fds[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(fds[1]);
  int e = 0;
  ssize_t n = pid > 0 ? ::read(fds[0], &e, sizeof e) : -1;
  ::close(fds[0]);
  if (pid > 0 && n > 0) {
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

void Stop(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

struct WriteWhileRunning {
  const char* id;
  int flags;  // open flags; -1 = truncate(2)
};

const WriteWhileRunning kWrites[] = {
    {"open_WRONLY", O_WRONLY},
    {"open_RDWR", O_RDWR},
    {"open_WRONLY_TRUNC", O_WRONLY | O_TRUNC},
    {"truncate", -1},
};

class Etxtbsy : public ::testing::TestWithParam<WriteWhileRunning> {};

// The lower file runs from the layer itself, as it does when another container over the same
// image executes it: the union copies it up on write instead of failing with ETXTBSY.
TEST_P(Etxtbsy, WriteToRunningLowerFile) {
  WriteWhileRunning w = GetParam();
  std::string program = SleepBinaryContent();
  if (program.empty()) GTEST_SKIP() << "no sleep binary found in /usr/bin or /bin";
  Fixture fx = StandardFixture();
  fx.lowers.back().File("/sleeper", program, 0755);
  CaseDef def;
  def.family = "non-posix";
  def.checklist = "NP3 CU1";
  def.description = std::string("write to a lower executable while it runs: ") + w.id;
  def.fixture = std::move(fx);
  def.body = [w](CaseRun& r) {
    std::string real = LowerFile(r, "/sleeper");
    pid_t pid = StartExecutable(real);
    r.Note("exec lower /sleeper", pid > 0 ? "ok" : "failed");
    UniqueFd direct(::open(real.c_str(), O_WRONLY | O_CLOEXEC));
    r.Note("open lower file directly for write", direct.valid() ? "ok" : ErrnoName(errno));
    std::string got;
    if (w.flags < 0) {
      got = Res(r.t().Truncate("/sleeper", 0));
    } else {
      auto h = r.t().Open("/sleeper", w.flags);
      got = Res(h);
      if (h) (void)r.t().Close(*h);
    }
    r.Expect(std::string(w.id) + " /sleeper", got, "ok");
    r.Expect("upper /sleeper", r.Placement("/sleeper"), "file");
    r.Note("program still running", pid > 0 && ::kill(pid, 0) == 0 ? "yes" : "no");
    Stop(pid);
  };
  RunCase(def);
}

INSTANTIATE_TEST_SUITE_P(NonPosix, Etxtbsy, ::testing::ValuesIn(kWrites),
                         [](const auto& info) { return std::string(info.param.id); });

}  // namespace
}  // namespace ovlab::conformance
