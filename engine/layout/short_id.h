// Docker overlay2 short ids: the names under <home>/l/ that keep `lower` and mount data short.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ovlab::layout {

// Docker chose 26 so that (26 + len("l") + 1) * 128 lowers <= page size - 512: the relative mount
// data of a 128-deep layer always fits one page.
inline constexpr size_t kShortIdLength = 26;

// 26 characters of base32 (A-Z, 2-7) from 17 random bytes (getrandom), as Docker makes them.
Result<std::string> NewShortId();
// True for exactly 26 characters of the base32 alphabet.
bool IsShortId(std::string_view s);

}  // namespace ovlab::layout
