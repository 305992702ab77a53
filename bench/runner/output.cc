#include "runner/output.h"

#include <cerrno>

#include "base/fs.h"

namespace ovlab::bench {

void ErrorCountingReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const auto& r : runs) {
    if (!r.error_occurred) continue;
    if (first_error_.empty()) first_error_ = r.benchmark_name() + ": " + r.error_message;
    errored_.insert(r.run_name.str());
  }
  ConsoleReporter::ReportRuns(runs);
}

// Google Benchmark writes NaN for some aggregates (the CV of a constant counter), which is no
// JSON that a strict parser takes; so its text is kept as it is and the keys go in right after
// the context's opening brace, which it always writes first.
Status AddToJsonContext(const std::string& path, const nlohmann::json& extra) {
  auto text = ReadFileText(path);
  if (!text) return std::unexpected(WithContext(text.error(), "read " + path));
  constexpr std::string_view kContext = "\"context\": {";
  size_t at = text->find(kContext);
  if (at == std::string::npos || text->find_first_not_of(" \n{", 0) != text->find('"')) {
    return Fail(EINVAL, path + ": not the JSON Google Benchmark writes; left as it is");
  }
  std::string keys;
  for (const auto& [key, value] : extra.items()) {
    keys += "\n    " + nlohmann::json(key).dump() + ": " +
            value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ",";
  }
  text->insert(at + kContext.size(), keys);
  return WriteFileAtomic(path, *text);
}

}  // namespace ovlab::bench
