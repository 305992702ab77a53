#include "layout/layer_id.h"

#include <cctype>
#include <cerrno>
#include <string>

namespace ovlab::layout {

Status ValidateLayerId(std::string_view id) {
  constexpr size_t kMaxIdBytes = 128;
  auto bad = [&](const char* why) {
    return Fail(EINVAL, "invalid layer id \"" + std::string(id) + "\": " + why +
                            " (use letters, digits, '_', '.', '-')");
  };
  if (id.empty()) return bad("it is empty");
  if (id.size() > kMaxIdBytes) return bad("it is longer than 128 bytes");
  if (id.find('/') != std::string_view::npos) return bad("it contains '/'");
  if (id.find("..") != std::string_view::npos) return bad("it contains \"..\"");
  if (!std::isalnum(static_cast<unsigned char>(id.front())))
    return bad("it must start with a letter or digit");
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return bad("it contains a character outside the allowed set");
    }
  }
  return {};
}

}  // namespace ovlab::layout
