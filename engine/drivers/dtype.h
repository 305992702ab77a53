// Whether a filesystem fills in d_type (overlay needs it), told without writing where possible.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"

namespace ovlab::drivers {

// Told from the entries `dir` already holds: Docker's way, a probe file, fails on a full
// filesystem and changes the directory. Only an empty `dir` needs mount::SupportsDType's probe,
// and only when `may_write`; otherwise the answer is unknown (nullopt).
Result<std::optional<bool>> DirHasDType(const std::string& dir, bool may_write);

// "true", "false" or "unknown", as `info` prints it.
std::string DTypeText(const Result<std::optional<bool>>& dtype);

}  // namespace ovlab::drivers
