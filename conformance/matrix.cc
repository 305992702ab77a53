#include "conformance/matrix.h"

#include <sys/utsname.h>

#include <ctime>

#include "base/fs.h"
#include "base/strings.h"

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

std::string JsonList(const std::vector<std::string>& items, const std::string& indent) {
  if (items.empty()) return "[]";
  std::string out = "[\n";
  for (size_t i = 0; i < items.size(); ++i)
    out += indent + "  " + JsonQuote(items[i]) + (i + 1 < items.size() ? ",\n" : "\n");
  return out + indent + "]";
}

std::string NowUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm;
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string Matrix::ToJson() const {
  struct utsname u {};
  ::uname(&u);
  std::string j = "{\n";
  j += "  \"schema\": \"ovlab.conformance.matrix/1\",\n";
  j += "  \"generated_utc\": " + JsonQuote(NowUtc()) + ",\n";
  j += "  \"ovlab_version\": " + JsonQuote(OVLAB_VERSION) + ",\n";
  j += StrPrintf("  \"kernel\": {\"release\": %s, \"version\": %s, \"machine\": %s},\n",
                 JsonQuote(u.release).c_str(), JsonQuote(u.version).c_str(),
                 JsonQuote(u.machine).c_str());
  j += "  \"backing\": " + JsonQuote(backing_) + ",\n";
  j += "  \"backing_reason\": " + JsonQuote(backing_note_) + ",\n";
  j += "  \"targets\": [\n";
  for (size_t i = 0; i < targets_.size(); ++i) {
    const auto& t = targets_[i];
    j += StrPrintf(
        "    {\"name\": %s, \"role\": %s, \"version\": %s, \"options\": %s, \"available\": %s, "
        "\"skip_reason\": %s}%s\n",
        JsonQuote(t.name).c_str(), JsonQuote(t.role).c_str(), JsonQuote(t.version).c_str(),
        JsonQuote(t.options).c_str(), t.skip_reason.empty() ? "true" : "false",
        JsonQuote(t.skip_reason).c_str(), i + 1 < targets_.size() ? "," : "");
  }
  j += "  ],\n";

  std::map<std::string, int> families;
  std::map<std::string, std::map<std::string, int>> by_target;
  for (const auto& c : cases_) {
    families[c.family]++;
    for (const auto& r : c.results) by_target[r.target][VerdictName(r.verdict)]++;
  }
  j += StrPrintf("  \"summary\": {\n    \"cases\": %zu,\n    \"families\": {", cases_.size());
  bool first = true;
  for (const auto& [f, n] : families) {
    j += StrPrintf("%s%s: %d", first ? "" : ", ", JsonQuote(f).c_str(), n);
    first = false;
  }
  j += "},\n    \"by_target\": {";
  first = true;
  for (const auto& t : targets_) {
    auto& counts = by_target[t.name];
    j += StrPrintf(
        "%s\n      %s: {\"pass\": %d, \"fail\": %d, \"skip\": %d, \"known-deviation\": %d}",
        first ? "" : ",", JsonQuote(t.name).c_str(), counts["pass"], counts["fail"], counts["skip"],
        counts["known-deviation"]);
    first = false;
  }
  j += "\n    }\n  },\n";

  j += "  \"cases\": [\n";
  for (size_t i = 0; i < cases_.size(); ++i) {
    const auto& c = cases_[i];
    j += "    {\n";
    j += "      \"id\": " + JsonQuote(c.id) + ",\n";
    j += "      \"family\": " + JsonQuote(c.family) + ",\n";
    std::vector<std::string> ids;
    for (const auto& id : Split(c.checklist, ' '))
      if (!id.empty()) ids.push_back(id);
    std::string idlist;
    for (size_t k = 0; k < ids.size(); ++k) idlist += (k ? ", " : "") + JsonQuote(ids[k]);
    j += "      \"checklist\": [" + idlist + "],\n";
    j += "      \"description\": " + JsonQuote(c.description) + ",\n";
    j += "      \"results\": {\n";
    for (size_t k = 0; k < c.results.size(); ++k) {
      const auto& r = c.results[k];
      j += "        " + JsonQuote(r.target) + ": {\n";
      j += "          \"verdict\": " + JsonQuote(VerdictName(r.verdict)) + ",\n";
      j += "          \"reason\": " + JsonQuote(r.reason) + ",\n";
      j += "          \"options\": " + JsonQuote(r.options) + ",\n";
      j += "          \"observed\": " + JsonList(r.observed, "          ") + ",\n";
      j += "          \"expected\": " + JsonList(r.expected, "          ") + "\n";
      j += std::string("        }") + (k + 1 < c.results.size() ? ",\n" : "\n");
    }
    j += "      }\n";
    j += std::string("    }") + (i + 1 < cases_.size() ? ",\n" : "\n");
  }
  j += "  ]\n}\n";
  return j;
}

Status Matrix::Write(const std::string& path) const {
  return WriteFileAtomic(path, ToJson());
}

}  // namespace ovlab::conformance
