// Docker overlay2 short ids: the names under <home>/l/ that keep `lower` and mount data short.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ovlab::layout {

// (26 + len("l/") ) * 128 lowers fits a page minus 512 bytes, which is why Docker chose 26.
inline constexpr size_t kShortIdLength = 26;

// 26 characters of base32 (A-Z, 2-7) from 17 random bytes (getrandom), as Docker makes them.
Result<std::string> NewShortId();
// True for exactly 26 characters of the base32 alphabet.
bool IsShortId(std::string_view s);

}  // namespace ovlab::layout
