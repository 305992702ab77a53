#include "runner/session.h"

#include <regex.h>

#include <cstdio>

#include "base/fs.h"
#include "base/strings.h"
#include "runner/targets.h"

namespace ovlab::bench {

Session::Session(RunPlan plan, std::string scratch_parent, uint64_t seed)
    : plan_(std::move(plan)),
      scratch_parent_(std::move(scratch_parent)),
      seed_(seed),
      repetitions_(plan_.repetitions) {}

Session::~Session() {
  Shutdown();
}

Status Session::PrepareBacking(scratch::Backing b) {
  if (auto st = MakeDirs(scratch_parent_); !st) return st;
  auto fs = scratch::ScratchFs::Create({b, plan_.scratch_bytes, scratch_parent_});
  if (!fs) return std::unexpected(fs.error());
  scratch_[b] = std::move(*fs);
  return {};
}

std::string Session::NewPath(scratch::Backing b, const std::string& prefix) {
  return JoinPath(Scratch(b).path(), StrPrintf("%s-%llu", prefix.c_str(),
                                               static_cast<unsigned long long>(next_path_++)));
}

Result<Stack*> Session::GetStack(const std::string& target, scratch::Backing b,
                                 const ImageProfile& profile, size_t max_depth,
                                 io::CopyStrategy copy_strategy) {
  std::string key = StrPrintf("%s/%s/%s/%zu/%s", target.c_str(), scratch::BackingName(b),
                              profile.name.c_str(), max_depth, io::CopyStrategyName(copy_strategy));
  if (stack_ && stack_key_ == key) return stack_.get();
  DropStack();
  if (!HasBacking(b))
    return Fail(ENODEV, std::string("no ") + scratch::BackingName(b) + " scratch");
  auto stack = Stack::Create(Spec(target), NewPath(b, "stack"), PlanImage(profile, seed_),
                             max_depth, copy_strategy);
  if (!stack) return std::unexpected(stack.error());
  stack_ = std::move(*stack);
  stack_key_ = key;
  return stack_.get();
}

void Session::DropStack() {
  if (!stack_) return;
  if (auto st = stack_->Destroy(); !st) {
    std::fprintf(stderr, "ovlab-bench: cleaning up %s: %s\n", stack_key_.c_str(),
                 st.error().message.c_str());
  }
  stack_.reset();
  stack_key_.clear();
}

void Session::Add(const std::string& name, int iterations, BenchFn fn, int repetitions) {
  names_.push_back(name + StrPrintf("/iterations:%d", iterations) +
                   (repetitions ? StrPrintf("/repeats:%d", repetitions) : "") + "/manual_time");
  auto* b = benchmark::RegisterBenchmark(name.c_str(),
                                         [this, name, fn = std::move(fn)](benchmark::State& state) {
                                           Progress(name);
                                           fn(state);
                                         });
  b->UseManualTime()->Iterations(iterations)->Unit(benchmark::kMicrosecond);
  if (repetitions) b->Repetitions(repetitions);
}

std::vector<std::string> Session::SelectedNames(const std::string& filter) const {
  std::string pattern = filter;
  bool negate = !pattern.empty() && pattern[0] == '-';
  if (negate) pattern.erase(0, 1);
  if (pattern.empty() || pattern == "all") pattern = ".";
  regex_t re;
  if (::regcomp(&re, pattern.c_str(), REG_EXTENDED | REG_NOSUB) != 0) return names_;
  std::vector<std::string> out;
  for (const auto& name : names_) {
    bool match = ::regexec(&re, name.c_str(), 0, nullptr, 0) == 0;
    if (match != negate) out.push_back(name);
  }
  ::regfree(&re);
  return out;
}

void Session::StartClock(size_t selected) {
  selected_ = selected;
  t0_ = std::chrono::steady_clock::now();
}

void Session::Progress(const std::string& name) {
  if (started_[name]) return;
  started_[name] = true;
  ++done_;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::fprintf(stderr, "ovlab-bench: [%zu/%zu] %s  (elapsed %.0f s, %zu left)\n", done_, selected_,
               name.c_str(), elapsed, selected_ > done_ ? selected_ - done_ : 0);
}

void Session::Shutdown() {
  DropStack();
  for (auto& [b, fs] : scratch_) {
    if (auto st = fs->Destroy(); !st) {
      std::fprintf(stderr, "ovlab-bench: removing %s scratch: %s\n", scratch::BackingName(b),
                   st.error().message.c_str());
    }
  }
  scratch_.clear();
}

void SkipWithError(benchmark::State& state, const std::string& message) {
  state.SkipWithError(message.c_str());
}

}  // namespace ovlab::bench
