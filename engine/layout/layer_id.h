// Layer ids: the names of layer directories in a store.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "layout/confined_dir.h"

namespace ovlab::layout {

// [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 bytes, no "..": always one path component, never "."
// nor ".." nor a dot name (the store's own bookkeeping: temporaries, .parents).
Status ValidateLayerId(std::string_view id);

// Fails unless dir/<id> is a directory: ENOENT naming the layer, or naming what is there instead
// (a symlink and its target).
Status RequireLayerDir(const ConfinedDir& dir, const std::string& id);
// The directories of `dir` named like layers (a symlink or file there is none), sorted.
Result<std::vector<std::string>> ListLayerDirs(const ConfinedDir& dir);

}  // namespace ovlab::layout
