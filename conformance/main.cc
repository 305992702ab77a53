// ovlab-conformance: GoogleTest main with the suite's own flags.
//   --target=NAME[,NAME...]  targets besides the kernel oracle (kernel, engine, fuse,
//                            fuse-overlayfs, unionfs-fuse), or `all`; default: kernel,engine
//   --matrix-out=FILE.json   write the conformance matrix (schema: conformance/README.md)
//   --backing=tmpfs|ext4|xfs where the fixtures live; default tmpfs when it keeps user.* and
//                            trusted.* xattrs (Linux >= 6.6), else ext4
// Runs as root in a private mount namespace, like every ovlab test binary. On SIGINT/SIGTERM the
// scratch cleanup (engine/scratch) removes the fixtures' tmpfs; FUSE daemons die with us by their
// parent-death signal; the namespace takes every other mount with it.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include <gtest/gtest.h>

#include "base/namespace.h"
#include "base/strings.h"
#include "base/version.h"
#include "conformance/harness.h"
#include "conformance/targets.h"

namespace {

using ovlab::conformance::Suite;

// A target that cannot run here shows up in GoogleTest's output as a skipped test with its reason.
class TargetAvailability : public ::testing::Test {
 public:
  explicit TargetAvailability(std::string name) : name_(std::move(name)) {}
  void TestBody() override {
    std::string why = Suite::Get().UnavailableReason(name_);
    if (!why.empty()) GTEST_SKIP() << name_ << ": " << why;
  }

 private:
  std::string name_;
};

int Usage(const char* why) {
  std::fprintf(stderr,
               "ovlab-conformance: %s\nusage: ovlab-conformance [--target=NAME[,NAME...]|all] "
               "[--matrix-out=FILE.json] [--backing=tmpfs|ext4|xfs] [--version] [gtest flags]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--version") {
      std::printf("%s\n", ovlab::VersionLine("ovlab-conformance").c_str());
      return 0;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  ovlab::conformance::SuiteOptions options;
  options.targets = {"kernel", "engine"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
      if (a.size() > flag.size() && a.compare(0, flag.size() + 1, flag + "=") == 0)
        return a.substr(flag.size() + 1);
      if (a == flag && i + 1 < argc) return argv[++i];
      return "";
    };
    if (ovlab::StartsWith(a, "--target")) {
      std::string list = value("--target");
      options.targets =
          list == "all" ? ovlab::conformance::KnownTargetNames() : ovlab::Split(list, ',');
      if (options.targets.empty() || options.targets[0].empty())
        return Usage("--target needs a list of names, e.g. --target=kernel,engine");
    } else if (ovlab::StartsWith(a, "--backing")) {
      options.backing = value("--backing");
      if (options.backing.empty()) return Usage("--backing needs tmpfs, ext4 or xfs");
    } else if (ovlab::StartsWith(a, "--matrix-out")) {
      options.matrix_out = value("--matrix-out");
      if (options.matrix_out.empty()) return Usage("--matrix-out needs a file name");
    } else {
      return Usage(("unknown argument '" + a + "'").c_str());
    }
  }
  if (auto st = ovlab::EnterPrivateMountNamespace("ovlab-conformance"); !st) {
    std::fprintf(stderr, "ovlab-conformance: %s\n", st.error().message.c_str());
    return 2;
  }
  Suite& suite = Suite::Get();
  if (auto s = suite.Init(options); !s) {
    std::fprintf(stderr, "ovlab-conformance: %s\n", s.error().message.c_str());
    (void)suite.Finish();
    return 2;
  }
  for (const auto& name : suite.targets()) {
    ::testing::RegisterTest("Targets", name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                            [name]() -> ::testing::Test* { return new TargetAvailability(name); });
  }
  int rc = RUN_ALL_TESTS();
  if (auto s = suite.Finish(); !s) {
    std::fprintf(stderr, "ovlab-conformance: %s\n", s.error().message.c_str());
    if (rc == 0) rc = 1;
  }
  return rc;
}
