#include "conformance/matrix.h"

#include <sys/utsname.h>

#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/strings.h"
#include "base/version.h"

namespace ovlab::conformance {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kSkip:
      return "skip";
    case Verdict::kKnownDeviation:
      return "known-deviation";
  }
  return "?";
}

void Matrix::NoteTargetRun(const std::string& name, const std::string& version,
                           const std::string& options) {
  for (auto& t : targets_) {
    if (t.name == name && t.version.empty()) {
      t.version = version;
      t.options = options;
    }
  }
}

namespace {

std::string NowUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm;
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json CaseJson(const CaseRecord& c) {
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : Split(c.checklist, ' '))
    if (!id.empty()) ids.push_back(id);
  nlohmann::json results = nlohmann::json::object();
  for (const auto& r : c.results) {
    results[r.target] = {{"verdict", VerdictName(r.verdict)},
                         {"reason", r.reason},
                         {"options", r.options},
                         {"observed", r.observed},
                         {"expected", r.expected}};
  }
  return {{"id", c.id},
          {"family", c.family},
          {"checklist", ids},
          {"description", c.description},
          {"results", results}};
}

}  // namespace

std::string Matrix::ToJson() const {
  struct utsname u {};
  ::uname(&u);
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : targets_) {
    targets.push_back({{"name", t.name},
                       {"role", t.role},
                       {"version", t.version},
                       {"options", t.options},
                       {"available", t.skip_reason.empty()},
                       {"skip_reason", t.skip_reason}});
  }
  std::map<std::string, int> families;
  std::map<std::string, std::map<std::string, int>> by_target;
  for (const auto& c : cases_) {
    families[c.family]++;
    for (const auto& r : c.results) by_target[r.target][VerdictName(r.verdict)]++;
  }
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& t : targets_) {
    auto& n = by_target[t.name];
    counts[t.name] = {{"pass", n["pass"]},
                      {"fail", n["fail"]},
                      {"skip", n["skip"]},
                      {"known-deviation", n["known-deviation"]}};
  }
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& c : cases_) cases.push_back(CaseJson(c));
  nlohmann::json j = {
      {"schema", "ovlab.conformance.matrix/1"},
      {"generated_utc", NowUtc()},
      {"ovlab_version", Version()},
      {"kernel", {{"release", u.release}, {"version", u.version}, {"machine", u.machine}}},
      {"backing", backing_},
      {"backing_reason", backing_note_},
      {"targets", targets},
      {"summary", {{"cases", cases_.size()}, {"families", families}, {"by_target", counts}}},
      {"cases", cases},
  };
  // File names and xattr values may be any bytes: invalid UTF-8 becomes U+FFFD, as Go's
  // encoding/json (and so `docker inspect`) writes it, so the matrix is always valid JSON.
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Status Matrix::Write(const std::string& path) const {
  return WriteFileAtomic(path, ToJson());
}

}  // namespace ovlab::conformance
