// Runs the real `ovlab` binary: exit codes, one-line errors, help, and a full store session.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "drivers/store_test_util.h"
#include "mount/mount.h"
#include "scratch/scratch.h"

namespace ovlab::cli {
namespace {

struct Ran {
  int code = -1;
  std::string out, err;
};

// The store fixture gives a scratch tmpfs with root_ inside and checks nothing stays mounted.
class CliTest : public drivers::testing_util::StoreTest {
 protected:
  // ovlab --root <scratch>/root <args>, stdout and stderr kept apart.
  // Output goes to memory files: the scratch filesystem may be full (no inode for a file).
  Ran Ovlab(std::vector<std::string> args, bool with_root = true) {
    if (with_root) args.insert(args.begin(), {"--root", root_});
    UniqueFd out(::memfd_create("stdout", MFD_CLOEXEC)), err(::memfd_create("stderr", MFD_CLOEXEC));
    EXPECT_TRUE(out && err) << ErrnoText(errno);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(out.get(), 1);
      ::dup2(err.get(), 2);
      std::vector<char*> argv{const_cast<char*>(OVLAB_BINARY)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(OVLAB_BINARY, argv.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    Ran r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    ::lseek(out.get(), 0, SEEK_SET);
    ::lseek(err.get(), 0, SEEK_SET);
    r.out = ReadFdText(out.get(), "stdout").value_or("");
    r.err = ReadFdText(err.get(), "stderr").value_or("");
    return r;
  }

  // ovlab --root <root> --driver <driver> <args>.
  Ran OvlabWith(const std::string& driver, std::vector<std::string> args) {
    args.insert(args.begin(), {"--driver", driver});
    return Ovlab(args);
  }

  // A failure: the given exit code, nothing on stdout, exactly one line on stderr naming `what`.
  void ExpectFailure(const Ran& r, int code, const std::string& what) {
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(StartsWith(r.err, "ovlab: ")) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  }
};

TEST_F(CliTest, HelpOnEverySubcommand) {
  auto top = Ovlab({"--help"});
  EXPECT_EQ(top.code, 0);
  const std::vector<std::vector<std::string>> commands = {{"create"},  {"container", "create"},
                                                          {"rm"},      {"ls"},
                                                          {"mount"},   {"umount"},
                                                          {"inspect"}, {"info"},
                                                          {"du"},      {"diff"},
                                                          {"check"}};
  for (auto c : commands) {
    std::string name = Join(c, " ");
    EXPECT_NE(top.out.find("  " + name), std::string::npos) << name << " missing in --help";
    c.push_back("--help");
    auto r = Ovlab(c);
    EXPECT_EQ(r.code, 0) << name;
    EXPECT_TRUE(StartsWith(r.out, "Usage: ovlab [global options] " + name)) << r.out;
    EXPECT_EQ(r.err, "");
  }
  EXPECT_FALSE(PathExists(root_)) << "help must not touch the store";
}

TEST_F(CliTest, BadInputGivesOneLineAndLeavesNothing) {
  ExpectFailure(Ovlab({"--driver", "zfs", "ls"}), 1, "unknown driver \"zfs\"");
  ExpectFailure(Ovlab({"nonsense"}), 2, "unknown command");
  ExpectFailure(Ovlab({}), 2, "no command");
  ExpectFailure(Ovlab({"ls", "--bogus"}), 2, "unknown option --bogus");
  ExpectFailure(Ovlab({"create"}), 2, "usage: ovlab create ID");
  ExpectFailure(Ovlab({"rm", "--parent", "x", "y"}), 2, "does not apply to rm");
  ExpectFailure(Ovlab({"--max-depth", "zero", "ls"}), 2, "--max-depth");
  ExpectFailure(Ovlab({"--max-depth", "501", "ls"}), 1, "max depth 501");
  ExpectFailure(Ovlab({"--root", "relative", "ls"}, false), 1, "absolute");
  EXPECT_FALSE(PathExists(root_));

  ASSERT_EQ(Ovlab({"create", "base"}).code, 0);
  auto before = Ovlab({"ls"});
  ExpectFailure(Ovlab({"create", "a/b"}), 1, "invalid layer id \"a/b\"");
  ExpectFailure(Ovlab({"create", ".."}), 1, "invalid layer id");
  ExpectFailure(Ovlab({"create", "x", "--parent", "nosuch"}), 1,
                "parent layer nosuch does not exist");
  ExpectFailure(Ovlab({"container", "create", "c1"}), 1, "--image");
  ExpectFailure(Ovlab({"container", "create", "c1", "--image", "nosuch"}), 1, "nosuch");
  ExpectFailure(Ovlab({"mount", "nosuch"}), 1, "does not exist");
  ASSERT_EQ(Ovlab({"--max-depth", "1", "create", "l1", "--parent", "base"}).code, 0);
  ExpectFailure(Ovlab({"--max-depth", "1", "create", "l2", "--parent", "l1"}), 1,
                "max depth exceeded");
  auto after = Ovlab({"ls"});
  EXPECT_NE(after.out.find("l1"), std::string::npos);
  EXPECT_EQ(after.out.find("l2"), std::string::npos);
  EXPECT_EQ(after.out.find("c1"), std::string::npos);
}

TEST_F(CliTest, StoreSession) {
  ASSERT_EQ(Ovlab({"create", "base"}).out, "base\n");
  ASSERT_EQ(Ovlab({"create", "app", "--parent", "base"}).code, 0);
  auto ls = Ovlab({"ls"});
  EXPECT_EQ(ls.code, 0);
  EXPECT_NE(ls.out.find("app"), std::string::npos);

  // mount in one process, write, rm refused, umount from another process.
  auto m = Ovlab({"mount", "app"});
  ASSERT_EQ(m.code, 0) << m.err;
  std::string merged = std::string(Trim(m.out));
  EXPECT_EQ(merged, JoinPath(root_, "overlay2/app/merged"));
  auto entry = mount::FindMount(merged);
  ASSERT_TRUE(entry && entry->has_value());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(merged, "hello"), "hi"));
  ExpectFailure(Ovlab({"rm", "app"}), 1, "is mounted");
  EXPECT_EQ(Ovlab({"umount", "app"}).code, 0);
  EXPECT_FALSE(PathExists(merged));
  ExpectFailure(Ovlab({"umount", "app"}), 1, "not mounted");

  auto diff = Ovlab({"diff", "app"});
  EXPECT_EQ(diff.code, 0);
  EXPECT_EQ(diff.out, "A /hello\n");

  ASSERT_EQ(Ovlab({"container", "create", "c1", "--image", "app"}).code, 0);
  auto inspect = Ovlab({"inspect", "c1"});
  ASSERT_EQ(inspect.code, 0) << inspect.err;
  std::string layer = JoinPath(root_, "overlay2");
  EXPECT_NE(inspect.out.find("\"LowerDir\": \"" + layer + "/c1-init/diff:" + layer +
                             "/app/diff:" + layer + "/base/diff\""),
            std::string::npos)
      << inspect.out;
  EXPECT_NE(inspect.out.find("\"Name\": \"overlay2\""), std::string::npos);
  std::string json = JoinPath(fs_->path(), "inspect.json");
  ASSERT_TRUE(WriteFileAtomic(json, inspect.out));
  auto parsed = RunCommand({"python3", "-c",
                            "import json,sys; d=json.load(open(sys.argv[1])); "
                            "print(sorted(d['Data']))",
                            json});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->output, "['LowerDir', 'MergedDir', 'UpperDir', 'WorkDir']\n");

  auto info = Ovlab({"info"});
  EXPECT_EQ(info.code, 0);
  EXPECT_TRUE(StartsWith(info.out, "Storage Driver: overlay2\n Backing Filesystem: tmpfs\n"))
      << info.out;
  EXPECT_NE(info.out.find(" Supports d_type: true"), std::string::npos);

  auto du = Ovlab({"du"});
  EXPECT_EQ(du.code, 0);
  EXPECT_NE(du.out.find("TOTAL"), std::string::npos);
  auto du_app = Ovlab({"du", "app"});
  auto rows = Split(std::string(Trim(du_app.out)), '\n');
  ASSERT_EQ(rows.size(), 2u) << du_app.out;
  auto cols = Split(rows[1], ' ');
  std::erase(cols, "");
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_EQ(cols[0], "app");
  EXPECT_EQ(cols[2], "2");  // diff/ and hello

  EXPECT_EQ(Ovlab({"check"}).out, "no problems found\n");
  ASSERT_EQ(::unlink(JoinPath(root_, "overlay2/base/link").c_str()), 0);
  auto check = Ovlab({"check"});
  EXPECT_EQ(check.code, 1);
  EXPECT_NE(check.out.find("base: link file is missing"), std::string::npos) << check.out;
  EXPECT_EQ(std::count(check.err.begin(), check.err.end(), '\n'), 1);
  auto repair = Ovlab({"check", "--repair"});
  EXPECT_EQ(repair.code, 0) << repair.err;
  EXPECT_NE(repair.out.find("(repaired)"), std::string::npos);
  EXPECT_EQ(Ovlab({"check"}).code, 0);

  for (const char* id : {"c1", "c1-init", "app", "base"}) {
    EXPECT_EQ(Ovlab({"rm", id}).code, 0) << id;
  }
  EXPECT_EQ(Ovlab({"ls"}).out, StrPrintf("%-40s %s\n", "ID", "PARENT"));
}

TEST_F(CliTest, EveryDriverRunsTheSameSession) {
  for (const char* driver : {"overlay", "vfs"}) {
    ASSERT_EQ(OvlabWith(driver, {"create", "base"}).code, 0) << driver;
    ASSERT_EQ(OvlabWith(driver, {"create", "app", "--parent", "base"}).code, 0) << driver;
    auto c = OvlabWith(driver, {"container", "create", "c1", "--image", "app"});
    ASSERT_EQ(c.code, 0) << driver << ": " << c.err;
    auto m = OvlabWith(driver, {"mount", "c1"});
    ASSERT_EQ(m.code, 0) << m.err;
    EXPECT_TRUE(PathExists(JoinPath(std::string(Trim(m.out)), ".dockerenv"))) << driver;
    EXPECT_EQ(OvlabWith(driver, {"umount", "c1"}).code, 0) << driver;
    auto inspect = OvlabWith(driver, {"inspect", "c1"});
    EXPECT_NE(inspect.out.find("\"Name\": \"" + std::string(driver) + "\""), std::string::npos);
    EXPECT_EQ(OvlabWith(driver, {"du"}).code, 0);
    EXPECT_EQ(OvlabWith(driver, {"check"}).code, 0) << driver;
    for (const char* id : {"c1", "c1-init", "app", "base"})
      EXPECT_EQ(OvlabWith(driver, {"rm", id}).code, 0);
  }
}

// --- Confinement: a damaged or hostile store never makes ovlab reach outside its root -----------

// A store (overlay2 unless a test says otherwise) and a canary directory beside the root, outside
// it, that every command must leave exactly as it was.
class CliConfinementTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    canary_ = JoinPath(fs_->path(), "canary");
    drivers::testing_util::MakeCanary(canary_);
    canary_before_ = drivers::testing_util::Fingerprint(canary_);
  }
  void TearDown() override {
    if (fs_) {
      EXPECT_EQ(drivers::testing_util::Fingerprint(canary_), canary_before_);
    }
    CliTest::TearDown();
  }

  std::string Home(const std::string& driver = "overlay2") const { return JoinPath(root_, driver); }
  std::string Layer(const std::string& id, const std::string& rest = "") const {
    std::string dir = JoinPath(Home(), id);
    return rest.empty() ? dir : JoinPath(dir, rest);
  }
  // base (holding /f) and child on it.
  void MakeBaseAndChild() {
    ASSERT_EQ(Ovlab({"create", "base"}).code, 0);
    WriteFile(Layer("base", "diff/f"), "base");
    ASSERT_EQ(Ovlab({"create", "child", "--parent", "base"}).code, 0);
  }
  // Replaces a store entry with a symlink to the canary.
  void PointAtCanary(const std::string& path) {
    ASSERT_TRUE(RemoveTree(path));
    ASSERT_EQ(::symlink(canary_.c_str(), path.c_str()), 0) << path;
  }
  static bool Mounted(const std::string& path) {
    auto m = mount::FindMount(path);
    return m && m->has_value();
  }
  // `check` reports problems: exit 1, each finding on stdout, one line on stderr.
  void ExpectFinding(const Ran& r, const std::string& finding) {
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find(finding), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(StartsWith(r.err, "ovlab: ")) << r.err;
  }
  // `what` (a store path " is a symlink") is refused by every command that would go through it:
  // mount, diff, du and create on `layer`, and reported by check.
  void ExpectSymlinkRefused(const std::string& driver, const std::string& layer,
                            const std::string& what) {
    ExpectMountRefused(layer, what, driver);
    ExpectFailure(OvlabWith(driver, {"diff", layer}), 1, what);
    ExpectFailure(OvlabWith(driver, {"du", layer}), 1, what);
    ExpectFailure(OvlabWith(driver, {"create", "x", "--parent", layer, "--rw"}), 1, what);
    ExpectFinding(OvlabWith(driver, {"check", "--repair"}), layer + ": " + what);
  }
  // A mount that went through anyway is undone, so that the next step starts clean.
  void ExpectMountRefused(const std::string& id, const std::string& what,
                          const std::string& driver = "overlay2") {
    auto r = OvlabWith(driver, {"mount", id});
    ExpectFailure(r, 1, what);
    if (r.code == 0) (void)OvlabWith(driver, {"umount", id});
  }

  // SIGKILL for the ovlab-fuse daemon serving `mountpoint`; returns once it is gone (its pidfd
  // polls readable at exit, after its /dev/fuse fd closed and the kernel aborted the connection).
  static void KillFuseDaemon(const std::string& mountpoint) {
    std::vector<pid_t> pids;
    for (const auto& name : ListDir("/proc").value_or(std::vector<std::string>{})) {
      auto pid = ParseUint(name);
      auto args = Split(ReadFileText("/proc/" + name + "/cmdline").value_or(""), '\0');
      if (pid && !args.empty() && BaseName(args[0]) == "ovlab-fuse" &&
          std::find(args.begin(), args.end(), mountpoint) != args.end()) {
        pids.push_back(static_cast<pid_t>(*pid));
      }
    }
    ASSERT_EQ(pids.size(), 1u) << "ovlab-fuse daemons serving " << mountpoint;
    // glibc 2.36's <sys/pidfd.h> lacks extern "C": the system call itself.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pids[0], 0)));
    ASSERT_TRUE(pidfd) << ErrnoText(errno);
    ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
    struct pollfd p = {pidfd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, -1), 1);
  }

  std::string canary_;
  std::vector<std::string> canary_before_;
};

// #18.2: with l/ a symlink to a host directory, repair took the host's files for dangling links
// (deleted them) and wrote new short links there.
TEST_F(CliConfinementTest, RepairNeverWorksThroughASymlinkedLinkDir) {
  MakeBaseAndChild();
  PointAtCanary(JoinPath(Home(), "l"));
  auto check = Ovlab({"check"});
  ExpectFinding(check, JoinPath(Home(), "l") + " is a symlink");
  auto repair = Ovlab({"check", "--repair"});
  ExpectFinding(repair, JoinPath(Home(), "l") + " is a symlink");
  EXPECT_EQ(repair.out.find("(repaired)"), std::string::npos) << repair.out;
  EXPECT_NE(repair.err.find("cannot be repaired"), std::string::npos) << repair.err;
  EXPECT_EQ(ReadLink(JoinPath(Home(), "l")).value_or(""), canary_);
  ExpectMountRefused("child", JoinPath(Home(), "l"));
}

// #18.2: with a layer directory a symlink, repair rewrote the `link` file at the symlink's target.
TEST_F(CliConfinementTest, RepairNeverWritesThroughASymlinkedLayerDir) {
  MakeBaseAndChild();
  ASSERT_EQ(Ovlab({"create", "victim"}).code, 0);
  // The canary dressed as a layer with a bad link file: what repair would rewrite.
  auto undo_canary = [&] {
    ::unlink(JoinPath(canary_, "link").c_str());
    ::rmdir(JoinPath(canary_, "diff").c_str());
  };
  ASSERT_TRUE(MakeDir(JoinPath(canary_, "diff"), 0755));
  WriteFile(JoinPath(canary_, "link"), "not a short id");
  canary_before_ = drivers::testing_util::Fingerprint(canary_);
  PointAtCanary(Layer("victim"));
  auto repair = Ovlab({"check", "--repair"});
  ExpectFinding(repair, "victim: " + Layer("victim") + " is a symlink");
  for (const auto& line : Split(repair.out, '\n')) {  // its short link may go: it is dangling
    if (StartsWith(line, "victim: ")) {
      EXPECT_FALSE(EndsWith(line, "(repaired)")) << line;
    }
  }
  ExpectFailure(Ovlab({"rm", "victim"}), 1, Layer("victim") + " is a symlink");
  ExpectFailure(Ovlab({"inspect", "victim"}), 1, Layer("victim") + " is a symlink");
  EXPECT_EQ(drivers::testing_util::Fingerprint(canary_), canary_before_);
  undo_canary();
  canary_before_ = drivers::testing_util::Fingerprint(canary_);
}

// #18.3: `mount` followed a `lower` out of the store (inspect and diff refused the same file).
TEST_F(CliConfinementTest, MountRefusesALowerThatLeavesTheStore) {
  MakeBaseAndChild();
  std::string good = ReadFileText(Layer("child", "lower")).value_or("");
  for (const std::string& lower : {std::string("l/../../../canary"), canary_, good + ":" + canary_,
                                   good + ":", "l/" + std::string(26, 'a'), good + "\n"}) {
    SCOPED_TRACE(lower);
    WriteFile(Layer("child", "lower"), lower);
    ExpectMountRefused("child", "lower");
    ExpectFailure(Ovlab({"inspect", "child"}), 1, "lower");
    ExpectFailure(Ovlab({"diff", "child"}), 1, "lower");
    ExpectFinding(Ovlab({"check", "--repair"}), "child: ");
  }
}

// #18.3: a short link retargeted out of the store is not ours: nothing follows it.
TEST_F(CliConfinementTest, MountRefusesAShortLinkPointingOutOfTheStore) {
  MakeBaseAndChild();
  std::string link = JoinPath(JoinPath(Home(), "l"), ReadFileText(Layer("base", "link")).value());
  ASSERT_EQ(::unlink(link.c_str()), 0);
  ASSERT_EQ(::symlink("../../../canary", link.c_str()), 0);
  ExpectMountRefused("child", link);
  ExpectFailure(Ovlab({"inspect", "child"}), 1, link);
  auto repair = Ovlab({"check", "--repair"});
  EXPECT_EQ(repair.code, 0) << repair.out << repair.err;  // Docker's repair: the link is remade
  EXPECT_EQ(ReadLink(link).value_or(""), "../base/diff");
}

// #18.4: a `merged` symlink got the overlay mounted on its target (and umount then failed).
TEST_F(CliConfinementTest, MountRefusesASymlinkedMergedDir) {
  MakeBaseAndChild();
  PointAtCanary(Layer("child", "merged"));
  ExpectMountRefused("child", Layer("child", "merged") + " is a symlink");
  EXPECT_FALSE(Mounted(canary_));
  ExpectFailure(Ovlab({"umount", "child"}), 1, Layer("child", "merged") + " is a symlink");
  ExpectFinding(Ovlab({"check", "--repair"}), Layer("child", "merged") + " is a symlink");
}

// #18.4: a `work` symlink had the kernel make its work directory outside the store.
TEST_F(CliConfinementTest, MountRefusesASymlinkedWorkDir) {
  MakeBaseAndChild();
  PointAtCanary(Layer("child", "work"));
  ExpectMountRefused("child", Layer("child", "work") + " is a symlink");
  ExpectFinding(Ovlab({"check"}), Layer("child", "work") + " is a symlink");
}

// #18.4: a `diff` symlink was listed by `diff` and passed `check`.
TEST_F(CliConfinementTest, EveryCommandRefusesASymlinkedDiffDir) {
  MakeBaseAndChild();
  PointAtCanary(Layer("child", "diff"));
  std::string what = Layer("child", "diff") + " is a symlink";
  ExpectFailure(Ovlab({"diff", "child"}), 1, what);
  ExpectFailure(Ovlab({"du", "child"}), 1, what);
  ExpectMountRefused("child", what);
  ExpectFinding(Ovlab({"check", "--repair"}), what);
  PointAtCanary(Layer("base", "diff"));  // a base layer's view is its diff
  what = Layer("base", "diff") + " is a symlink";
  ExpectMountRefused("base", what);
  ExpectFailure(Ovlab({"diff", "base"}), 1, what);
}

// #18.5: `rm l` removed the short-link directory (every mount failed afterwards) while `create l`
// was refused.
TEST_F(CliConfinementTest, ReservedNamesAreRefused) {
  MakeBaseAndChild();
  for (std::vector<std::string> cmd : {std::vector<std::string>{"rm", "l"},
                                       {"inspect", "l"},
                                       {"mount", "l"},
                                       {"du", "l"},
                                       {"diff", "l"}}) {
    SCOPED_TRACE(cmd[0]);
    ExpectFailure(Ovlab(cmd), 1, "invalid layer id \"l\"");
  }
  auto m = Ovlab({"mount", "child"});
  ASSERT_EQ(m.code, 0) << m.err;
  EXPECT_EQ(Ovlab({"umount", "child"}).code, 0);
  EXPECT_EQ(Ovlab({"check"}).out, "no problems found\n");
}

// #18.5: `create X --parent ''` made a base layer while `create ''` was refused.
TEST_F(CliTest, EmptyOptionValuesAreRefused) {
  ASSERT_EQ(Ovlab({"create", "base"}).code, 0);
  ExpectFailure(Ovlab({"create", "x", "--parent", ""}), 2, "option --parent needs a value");
  ExpectFailure(Ovlab({"create", "x", "--parent="}), 2, "option --parent needs a value");
  ExpectFailure(Ovlab({"container", "create", "c", "--image", ""}), 2,
                "option --image needs a value");
  ExpectFailure(Ovlab({"--driver", "", "ls"}), 2, "option --driver needs a value");
  ExpectFailure(Ovlab({"--root", "", "ls"}, false), 2, "option --root needs a value");
  EXPECT_EQ(Ovlab({"ls"}).out, StrPrintf("%-40s %s\n%-40s %s\n", "ID", "PARENT", "base", ""));
}

// #18.8: an empty `lower` turned a container layer into a base layer (check: no problems; mount
// returned diff/; diff reported everything added).
TEST_F(CliConfinementTest, AnEmptyLowerIsDamageNotABaseLayer) {
  MakeBaseAndChild();
  WriteFile(Layer("child", "f"), "");
  WriteFile(Layer("child", "lower"), "");
  ExpectMountRefused("child", "lower");
  ExpectFailure(Ovlab({"diff", "child"}), 1, "lower");
  ExpectFinding(Ovlab({"check", "--repair"}), "child: " + Layer("child", "lower") + " is empty");
}

// #18.8: garbage in `committed` was not flagged (Docker writes it empty).
TEST_F(CliConfinementTest, GarbageInCommittedIsFlagged) {
  MakeBaseAndChild();
  ASSERT_EQ(Ovlab({"create", "grandchild", "--parent", "child"}).code, 0);
  WriteFile(Layer("child", "committed"), "garbage");
  ExpectFinding(Ovlab({"check", "--repair"}), "child: " + Layer("child", "committed"));
  ExpectMountRefused("child", Layer("child", "committed"));
}

// #18.11: read-only commands made the store (`ovlab --root /nonexistent/x ls` created it).
TEST_F(CliConfinementTest, CommandsOnAMissingStoreCreateNothing) {
  std::string missing = JoinPath(fs_->path(), "nonexistent/x");
  for (const char* driver : {"overlay2", "overlay", "vfs"}) {
    for (std::vector<std::string> cmd : {std::vector<std::string>{"ls"},
                                         {"info"},
                                         {"du"},
                                         {"check"},
                                         {"check", "--repair"},
                                         {"inspect", "a"},
                                         {"diff", "a"},
                                         {"du", "a"},
                                         {"rm", "a"},
                                         {"mount", "a"},
                                         {"umount", "a"}}) {
      SCOPED_TRACE(std::string(driver) + " " + Join(cmd, " "));
      cmd.insert(cmd.begin(), {"--root", missing, "--driver", driver});
      ExpectFailure(Ovlab(cmd, false), 1, "no " + std::string(driver) + " store at " + missing);
      EXPECT_FALSE(PathExists(JoinPath(fs_->path(), "nonexistent")));
    }
  }
}

// #18.11: nothing but create and mount writes: ls, inspect, info, du, diff and check leave every
// entry of the store as it was (the d_type probe and diff's mount of the parent changed it).
TEST_F(CliConfinementTest, ReadOnlyCommandsChangeNothingInTheStore) {
  for (const char* driver : {"overlay2", "overlay", "vfs"}) {
    SCOPED_TRACE(driver);
    ASSERT_EQ(OvlabWith(driver, {"create", "base"}).code, 0);
    ASSERT_EQ(OvlabWith(driver, {"create", "app", "--parent", "base"}).code, 0);
    ASSERT_EQ(OvlabWith(driver, {"container", "create", "c1", "--image", "app"}).code, 0);
    auto before = drivers::testing_util::Fingerprint(root_);
    for (std::vector<std::string> cmd : {std::vector<std::string>{"ls"},
                                         {"info"},
                                         {"du"},
                                         {"du", "app"},
                                         {"inspect", "c1"},
                                         {"diff", "c1"},
                                         {"diff", "c1-init"},
                                         {"diff", "app"},
                                         {"diff", "base"},
                                         {"check"}}) {
      SCOPED_TRACE(Join(cmd, " "));
      auto r = OvlabWith(driver, cmd);
      EXPECT_EQ(r.code, 0) << r.err;
      EXPECT_EQ(drivers::testing_util::Fingerprint(root_), before);
    }
    ASSERT_TRUE(RemoveTree(root_));
  }
}

// #18.7: out of inodes every command failed (create d_type probe: No space left on device), so
// ovlab could not be used to free space: reading and `rm` must work on a full filesystem.
TEST_F(CliConfinementTest, ReadingAndRemovingWorkWithoutAFreeInode) {
  TearDown();
  MakeScratch(16ull << 20, scratch::Backing::kExt4);
  canary_ = JoinPath(fs_->path(), "canary");
  drivers::testing_util::MakeCanary(canary_);
  canary_before_ = drivers::testing_util::Fingerprint(canary_);
  MakeBaseAndChild();
  WriteFile(Layer("child", "diff/g"), "child");
  // Every inode taken, then one file more must fail.
  std::string fill = JoinPath(fs_->path(), "fill");
  ASSERT_TRUE(MakeDir(fill, 0755));
  for (int i = 0;; ++i) {
    int fd = ::open(JoinPath(fill, std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
      ASSERT_EQ(errno, ENOSPC) << ErrnoText(errno);
      break;
    }
    ::close(fd);
  }
  for (std::vector<std::string> cmd : {std::vector<std::string>{"ls"},
                                       {"info"},
                                       {"du"},
                                       {"inspect", "child"},
                                       {"diff", "child"},
                                       {"check"}}) {
    SCOPED_TRACE(Join(cmd, " "));
    auto r = Ovlab(cmd);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
  }
  EXPECT_EQ(Ovlab({"diff", "child"}).out, "A /g\n");
  auto rm = Ovlab({"rm", "child"});
  EXPECT_EQ(rm.code, 0) << rm.err;
  EXPECT_FALSE(PathExists(Layer("child")));
  EXPECT_EQ(Ovlab({"check"}).out, "no problems found\n");
}

// #18.6: `rm` of a layer whose FUSE daemon died deleted its l/ link, then failed on `stat merged:
// Transport endpoint is not connected`, leaving half a layer. The dead mount is detached first.
TEST_F(CliConfinementTest, RemovingALayerWhoseFuseDaemonDiedRemovesAllOfIt) {
  ::setenv("OVLAB_FUSE", OVLAB_FUSE_BINARY, 1);
  ASSERT_EQ(OvlabWith("fuse", {"create", "base"}).code, 0);
  ASSERT_EQ(OvlabWith("fuse", {"create", "child", "--parent", "base"}).code, 0);
  auto m = OvlabWith("fuse", {"mount", "child"});
  ASSERT_EQ(m.code, 0) << m.err;
  std::string merged = std::string(Trim(m.out));
  ExpectFailure(OvlabWith("fuse", {"rm", "child"}), 1, "is mounted");  // a live daemon still counts
  EXPECT_EQ(OvlabWith("fuse", {"check"}).out, "no problems found\n")
      << "a live daemon's mount is no stale one";
  KillFuseDaemon(merged);
  std::string fuse_home = JoinPath(root_, "fuse/overlay2");
  ExpectFinding(OvlabWith("fuse", {"check"}),
                "child: the ovlab-fuse daemon of " + merged + " is gone");
  auto rm = OvlabWith("fuse", {"rm", "child"});
  EXPECT_EQ(rm.code, 0) << rm.err;
  EXPECT_EQ(rm.err, "");
  EXPECT_FALSE(PathExists(JoinPath(fuse_home, "child")));
  EXPECT_FALSE(Mounted(merged));
  EXPECT_EQ(ListDir(JoinPath(fuse_home, "l")).value_or(std::vector<std::string>{}).size(), 1u);
  EXPECT_EQ(OvlabWith("fuse", {"check"}).out, "no problems found\n");
}

// #18, overlay (v1): `lower-id` was used as a path (Root(lower-id)) without a check: one leading
// out of the store mounted a host directory as the lower layer.
TEST_F(CliConfinementTest, OverlayV1RefusesALowerIdThatIsNoImageLayer) {
  ASSERT_EQ(OvlabWith("overlay", {"create", "base"}).code, 0);
  ASSERT_EQ(OvlabWith("overlay", {"container", "create", "c1", "--image", "base"}).code, 0);
  // The canary dressed as an image layer: what a lower-id of "../../canary" would mount.
  ASSERT_TRUE(MakeDir(JoinPath(canary_, "root"), 0755));
  canary_before_ = drivers::testing_util::Fingerprint(canary_);
  std::string lower_id = JoinPath(Home("overlay"), "c1/lower-id");
  for (const std::string& bad : {std::string("../../canary"), canary_, std::string("base\n"),
                                 std::string(""), std::string("c1-init")}) {
    SCOPED_TRACE(bad);
    WriteFile(lower_id, bad);
    ExpectMountRefused("c1", lower_id, "overlay");
    ExpectFailure(OvlabWith("overlay", {"diff", "c1"}), 1, lower_id);
    ExpectFailure(OvlabWith("overlay", {"inspect", "c1"}), 1, lower_id);
    ExpectFinding(OvlabWith("overlay", {"check", "--repair"}), "c1: " + lower_id);
  }
  ASSERT_EQ(::rmdir(JoinPath(canary_, "root").c_str()), 0);
  canary_before_ = drivers::testing_util::Fingerprint(canary_);
}

// #18, overlay (v1): root/ and upper/ were used through symlinks (mounted, walked, returned).
TEST_F(CliConfinementTest, OverlayV1RefusesSymlinkedRootAndUpperDirs) {
  ASSERT_EQ(OvlabWith("overlay", {"create", "base"}).code, 0);
  ASSERT_EQ(OvlabWith("overlay", {"create", "app", "--parent", "base"}).code, 0);
  ASSERT_EQ(OvlabWith("overlay", {"container", "create", "c1", "--image", "app"}).code, 0);
  std::string upper = JoinPath(Home("overlay"), "c1/upper");
  PointAtCanary(upper);
  ExpectSymlinkRefused("overlay", "c1", upper + " is a symlink");
  std::string root = JoinPath(Home("overlay"), "base/root");
  PointAtCanary(root);
  ExpectSymlinkRefused("overlay", "base", root + " is a symlink");
  ExpectFailure(OvlabWith("overlay", {"diff", "app"}), 1, root + " is a symlink");
  ExpectFailure(OvlabWith("overlay", {"du", "app"}), 1, root + " is a symlink");
}

// #18, vfs: a layer directory that is a symlink was returned by mount, walked by diff and du and
// copied from by create.
TEST_F(CliConfinementTest, VfsRefusesASymlinkedLayerDir) {
  ASSERT_EQ(OvlabWith("vfs", {"create", "base"}).code, 0);
  ASSERT_EQ(OvlabWith("vfs", {"create", "app", "--parent", "base"}).code, 0);
  std::string base = JoinPath(Home("vfs"), "dir/base");
  PointAtCanary(base);
  ExpectSymlinkRefused("vfs", "base", base + " is a symlink");
  ExpectFailure(OvlabWith("vfs", {"diff", "app"}), 1, base + " is a symlink");
}

// #18, vfs (and overlay v1, btrfs): a parent record was used as a path: one leading out of the
// store made diff compare with a host directory.
TEST_F(CliConfinementTest, ParentRecordsNamingNoLayerAreRefused) {
  for (const char* driver : {"vfs", "overlay"}) {
    SCOPED_TRACE(driver);
    ASSERT_EQ(OvlabWith(driver, {"create", "base"}).code, 0);
    ASSERT_EQ(OvlabWith(driver, {"create", "app", "--parent", "base"}).code, 0);
    std::string record = JoinPath(Home(driver), ".parents/app");
    for (const char* bad : {"../../../canary", "../dir/base", "base\n", "nosuch"}) {
      SCOPED_TRACE(bad);
      WriteFile(record, bad);
      ExpectFailure(OvlabWith(driver, {"diff", "app"}), 1, record);
      ExpectFinding(OvlabWith(driver, {"check", "--repair"}), "app: " + record);
    }
    ASSERT_TRUE(RemoveTree(root_));
  }
}

}  // namespace
}  // namespace ovlab::cli
