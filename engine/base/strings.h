// String helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ovlab {

std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view Trim(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
std::optional<uint64_t> ParseUint(std::string_view s);
// Parses "512M", "4G", "65536", "4KiB": binary units.
std::optional<uint64_t> ParseSize(std::string_view s);
// JSON string literal with quotes and escapes.
std::string JsonQuote(std::string_view s);
// printf into a std::string (libstdc++ 12 has no std::format).
std::string StrPrintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace ovlab
