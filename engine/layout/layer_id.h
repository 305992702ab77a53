// Layer ids: the names of layer directories in a store.
#pragma once

#include <string_view>

#include "base/result.h"

namespace ovlab::layout {

// [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 bytes, no "..": always one path component, never "."
// nor ".." nor a dot name (the store's own bookkeeping: temporaries, .parents).
Status ValidateLayerId(std::string_view id);

}  // namespace ovlab::layout
