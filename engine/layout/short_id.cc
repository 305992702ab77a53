#include "layout/short_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>

namespace ovlab::layout {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr size_t kRandomBytes = (kShortIdLength * 5 + 7) / 8;  // 17

}  // namespace

Result<std::string> NewShortId() {
  uint8_t bytes[kRandomBytes];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(errno, "getrandom for a layer short id");
    got += static_cast<size_t>(n);
  }
  // Standard base32: 5 bits at a time, most significant first; keep the first 26 characters.
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5 && out.size() < kShortIdLength) {
      out += kBase32Alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

bool IsShortId(std::string_view s) {
  if (s.size() != kShortIdLength) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

}  // namespace ovlab::layout
