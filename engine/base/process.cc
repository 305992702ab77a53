#include "base/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/fs.h"
#include "base/strings.h"

extern char** environ;

namespace ovlab {

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return FailErrno(errno, "pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return FailErrno(rc, "run " + argv[0]);
  }
  CommandOutput out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.output.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

Result<std::string> RunChecked(const std::vector<std::string>& argv) {
  auto r = RunCommand(argv);
  if (!r) return std::unexpected(r.error());
  if (r->exit_code != 0) {
    std::string_view text = Trim(r->output);
    auto nl = text.rfind('\n');
    std::string last(nl == std::string_view::npos ? text : text.substr(nl + 1));
    return Fail(EIO, Join(argv, " ") + " exited with " + std::to_string(r->exit_code) +
                         (last.empty() ? "" : ": " + last));
  }
  return std::move(r->output);
}

bool HaveProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& dir : Split(p, ':')) {
    if (!dir.empty() && ::access(JoinPath(dir, name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace ovlab
