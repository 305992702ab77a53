#include "conformance/harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "conformance/deviations.h"
#include "conformance/kernel_features.h"
#include "conformance/targets.h"
#include "scratch/scratch.h"
#include "scratch/signal_cleanup.h"

namespace ovlab::conformance {

namespace {

// Whether files on `dir` keep user.* and trusted.* xattrs: "" if so, else what failed.
// tmpfs takes user.* only from Linux 6.6; the fixtures need both namespaces.
std::string XattrSupportProblem(const std::string& dir) {
  std::string probe = JoinPath(dir, ".xattr-probe");
  UniqueFd fd(::open(probe.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd.valid()) return StrPrintf("cannot create %s: %s", probe.c_str(), std::strerror(errno));
  std::string problem;
  for (const char* name : {"user.ovlab_probe", "trusted.ovlab_probe"}) {
    if (::fsetxattr(fd.get(), name, "y", 1, 0) != 0) {
      problem = StrPrintf("setxattr %s: %s", name, std::strerror(errno));
      break;
    }
  }
  ::unlink(probe.c_str());
  return problem;
}

Result<std::unique_ptr<scratch::ScratchFs>> CreateScratch(scratch::Backing backing) {
  scratch::ScratchOptions so;
  so.backing = backing;
  // An image's written blocks stay in the guest's RAM under the VM runner: keep it at 1 GiB.
  so.size_bytes = backing == scratch::Backing::kTmpfs ? 2ull << 30 : 1ull << 30;
  auto fs = scratch::ScratchFs::Create(so);
  if (!fs)
    return std::unexpected(WithContext(
        fs.error(), StrPrintf("scratch %s for the fixtures", scratch::BackingName(backing))));
  return fs;
}

}  // namespace

// Every layer on one filesystem gives the kernel's samefs inode rules; the fixtures need
// trusted.* (whiteouts, opaque dirs) and user.* xattrs, so a backing without them is refused
// (explicit choice) or replaced by ext4 (automatic choice).
Result<std::unique_ptr<scratch::ScratchFs>> Suite::MakeFixtureFs(const std::string& name) {
  scratch::Backing backing = scratch::Backing::kTmpfs;
  if (!name.empty()) {
    auto parsed = scratch::ParseBacking(name);
    if (!parsed || (*parsed != scratch::Backing::kTmpfs && *parsed != scratch::Backing::kExt4 &&
                    *parsed != scratch::Backing::kXfs))
      return Fail(EINVAL, "unknown backing '" + name + "' (use tmpfs, ext4 or xfs)");
    backing = *parsed;
  }
  auto fs = CreateScratch(backing);
  if (!fs) return fs;
  std::string problem = XattrSupportProblem((*fs)->path());
  if (problem.empty()) {
    backing_note_ = name.empty() ? "automatic: tmpfs keeps user.* and trusted.* xattrs"
                                 : "chosen with --backing";
    return fs;
  }
  if (!name.empty())
    return Fail(EOPNOTSUPP, StrPrintf("--backing=%s cannot hold the fixtures (%s); choose "
                                      "another backing, e.g. --backing=ext4",
                                      name.c_str(), problem.c_str()));
  if (auto s = (*fs)->Destroy(); !s) return std::unexpected(s.error());
  backing_note_ = "automatic: tmpfs here refuses " + problem + ", so ext4";
  fs = CreateScratch(scratch::Backing::kExt4);
  if (!fs) return fs;
  if (problem = XattrSupportProblem((*fs)->path()); !problem.empty())
    return Fail(EOPNOTSUPP, "neither tmpfs nor ext4 keep the fixtures' xattrs here: " + problem);
  return fs;
}

std::string Suite::backing() const {
  return scratch_ ? scratch::BackingName(scratch_->backing()) : "";
}

Suite& Suite::Get() {
  static Suite suite;
  return suite;
}

Status Suite::Init(const SuiteOptions& options) {
  // The kernel is the oracle of every comparison, so it always runs, and runs first.
  targets_ = {"kernel"};
  for (const auto& t : options.targets) {
    if (!FindTarget(t)) {
      return Fail(EINVAL,
                  "unknown target '" + t + "' (known: " + Join(KnownTargetNames(), ",") + ")");
    }
    if (std::find(targets_.begin(), targets_.end(), t) == targets_.end()) targets_.push_back(t);
  }
  matrix_out_ = options.matrix_out;
  for (const auto& t : targets_) {
    std::string why = TargetUnavailableReason(t);
    if (!why.empty()) unavailable_.emplace_back(t, why);
    matrix_.AddTarget({t, targets::RoleName(FindTarget(t)->role), "", "", why});
  }
  scratch::InstallSignalCleanup();
  auto fs = MakeFixtureFs(options.backing);
  if (!fs) return std::unexpected(fs.error());
  scratch_ = std::move(*fs);
  matrix_.SetBacking(scratch::BackingName(scratch_->backing()), backing_note_);
  // Cases act as uid 1000 too: the private directory the scratch fs was made in must be
  // traversable (not listable) by others.
  std::string stop = "/var/tmp/ovlab";
  if (const char* env = std::getenv("OVLAB_SCRATCH_DIR"); env && *env) stop = env;
  for (std::string dir = scratch_->path(); dir.size() > stop.size() && StartsWith(dir, stop);
       dir = DirName(dir)) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0111) != 0111)
      ::chmod(dir.c_str(), (st.st_mode & 07777) | 0111);
  }
  return {};
}

Status Suite::Finish() {
  Status result;
  if (scratch_) {
    result = scratch_->Destroy();
    scratch_.reset();
  }
  if (!matrix_out_.empty()) {
    if (auto s = matrix_.Write(matrix_out_); !s && result) result = s;
    matrix_out_.clear();
  }
  return result;
}

std::string Suite::UnavailableReason(const std::string& target) const {
  for (const auto& [t, why] : unavailable_)
    if (t == target) return why;
  return "";
}

std::string Suite::NewCaseDir() {
  return JoinPath(scratch_->path(), StrPrintf("case%d", next_case_++));
}

namespace {

// A case that hangs (a FUSE daemon that never answers, a blocking open) must not hang the suite:
// after this long the process reports the case, tears down its mounts and aborts.
constexpr unsigned kCaseTimeoutSeconds = 120;
const char* g_running_case = "";

void OnCaseTimeout(int) {
  static const char kMsg[] = "ovlab-conformance: case timed out, aborting: ";
  (void)!::write(2, kMsg, sizeof kMsg - 1);
  (void)!::write(2, g_running_case, std::strlen(g_running_case));
  (void)!::write(2, "\n", 1);
  scratch::TearDownAllForSignal();
  ::signal(SIGABRT, SIG_DFL);
  ::abort();
}

struct Observed {
  bool ran = false;
  std::string setup_error;
  std::vector<std::string> transcript, expectations, violations;
  std::string version, options;
};

Observed RunOn(const std::string& name, const CaseDef& def, const std::string& dir) {
  Observed obs;
  auto layers = Materialize(def.fixture, dir);
  if (!layers) {
    obs.setup_error = layers.error().message;
    return obs;
  }
  Target t(*FindTarget(name));
  if (auto s = t.Setup(*layers, def.config); !s) {
    obs.setup_error = "setup: " + s.error().message;
    return obs;
  }
  obs.version = t.Version();
  obs.options = t.Options();
  CaseRun run(t, *layers, dir);
  def.body(run);
  obs.ran = true;
  obs.transcript = run.transcript();
  obs.expectations = run.expectations();
  obs.violations = run.violations();
  if (auto s = t.Teardown(); !s) obs.violations.push_back("teardown: " + s.error().message);
  return obs;
}

// The first line where a target's transcript departs from the kernel's, for the reason field.
std::string FirstDifference(const std::vector<std::string>& kernel,
                            const std::vector<std::string>& other) {
  size_t n = std::min(kernel.size(), other.size());
  for (size_t i = 0; i < n; ++i) {
    if (kernel[i] != other[i]) return "kernel: " + kernel[i] + " | target: " + other[i];
  }
  if (kernel.size() > n) return "missing: " + kernel[n];
  return "extra: " + other[n];
}

// On a kernel older than a behaviour change the cases expect: the change its first broken
// expectation shows (the kernel is then skipped, not failed; what follows comes from it), or
// nothing.
std::vector<const KernelFeature*> KernelLacks(const std::vector<std::string>& violations) {
  if (violations.empty()) return {};
  const KernelFeature* f = ExplainingFeature(Suite::Get().missing_features(), violations.front());
  if (!f) return {};
  return {f};
}

std::string CurrentTestId() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (!info) return "unknown";
  return std::string(info->test_suite_name()) + "." + info->name();
}

}  // namespace

void RunCase(const CaseDef& def) {
  Suite& suite = Suite::Get();
  CaseRecord record{CurrentTestId(), def.family, def.checklist, def.description, {}};
  std::string case_dir = suite.NewCaseDir();
  g_running_case = record.id.c_str();
  ::signal(SIGALRM, OnCaseTimeout);
  Observed kernel;
  for (const auto& name : suite.targets()) {
    TargetResult r;
    r.target = name;
    if (std::string why = suite.UnavailableReason(name); !why.empty()) {
      r.verdict = Verdict::kSkip;
      r.reason = why;
      record.results.push_back(std::move(r));
      continue;
    }
    std::string dir = JoinPath(case_dir, name);
    ::alarm(kCaseTimeoutSeconds);
    Observed obs = RunOn(name, def, dir);
    ::alarm(0);
    if (auto s = RemoveTree(dir); !s)
      ADD_FAILURE() << "cleanup of " << dir << ": " << s.error().message;
    r.options = obs.options;
    suite.matrix().NoteTargetRun(name, obs.version, obs.options);
    const Role role = FindTarget(name)->role;
    r.observed = obs.transcript;
    if (role == Role::kOracle) {
      r.expected = obs.expectations;
      kernel = obs;
      if (!obs.ran && !def.kernel_option_needed.empty()) {
        r.verdict = Verdict::kSkip;
        r.reason = "this kernel refuses " + def.kernel_option_needed + ": " + obs.setup_error;
      } else if (!obs.ran) {
        r.verdict = Verdict::kFail;
        r.reason = obs.setup_error;
        ADD_FAILURE() << "kernel: " << obs.setup_error;
      } else if (auto lacks = KernelLacks(obs.violations); !lacks.empty()) {
        r.verdict = Verdict::kSkip;
        r.reason = NeedsText(lacks) + "; this kernel: " + obs.violations.front();
      } else if (!obs.violations.empty()) {
        r.verdict = Verdict::kFail;
        r.reason = obs.violations.front();
        ADD_FAILURE() << "kernel breaks the documented rule:\n  " << Join(obs.violations, "\n  ");
      } else {
        r.verdict = Verdict::kPass;
      }
    } else {
      r.expected = kernel.transcript;
      if (!obs.ran) {
        // A peer that cannot even set up this case is skipped with the reason; ours must work.
        r.verdict = role == Role::kPeer ? Verdict::kSkip : Verdict::kFail;
        r.reason = obs.setup_error;
        if (role != Role::kPeer) ADD_FAILURE() << name << ": " << obs.setup_error;
      } else if (!kernel.ran) {
        r.verdict = Verdict::kSkip;
        r.reason = "no kernel result to compare with: " + kernel.setup_error;
      } else if (obs.transcript == kernel.transcript) {
        r.verdict = Verdict::kPass;
      } else if (role == Role::kPeer) {
        r.verdict = Verdict::kKnownDeviation;
        r.reason = ExplainDeviation(name, FirstDifference(kernel.transcript, obs.transcript));
      } else if (const KernelFeature* f =
                     ExplainingFeature(suite.missing_features(),
                                       FirstDifference(kernel.transcript, obs.transcript))) {
        // Ours follow the current kernel: on an older one a difference that starts where a
        // missing feature shows is known, and shown (what follows it in the case follows from
        // it; on a current kernel the same case checks every line).
        r.verdict = Verdict::kKnownDeviation;
        r.reason =
            StrPrintf("%s follows current (>= %d.%d) semantics, this kernel is %s: ", name.c_str(),
                      f->major, f->minor, suite.kernel_version().ToString().c_str()) +
            NeedsText({f}) + " (" + FirstDifference(kernel.transcript, obs.transcript) + ")";
      } else {
        r.verdict = Verdict::kFail;
        r.reason = FirstDifference(kernel.transcript, obs.transcript);
        ADD_FAILURE() << name << " deviates from the kernel: " << r.reason
                      << "\n  kernel: " << Join(kernel.transcript, "\n          ") << "\n  " << name
                      << ": " << Join(obs.transcript, "\n          ");
      }
    }
    record.results.push_back(std::move(r));
  }
  RemoveTree(case_dir);
  suite.matrix().AddCase(std::move(record));
}

void RunCase(std::string family, std::string checklist, std::string description,
             std::function<void(CaseRun&)> body, TargetConfig config, Fixture fixture) {
  CaseDef def;
  def.family = std::move(family);
  def.checklist = std::move(checklist);
  def.description = std::move(description);
  def.fixture = std::move(fixture);
  def.config = config;
  def.body = std::move(body);
  RunCase(def);
}

}  // namespace ovlab::conformance
