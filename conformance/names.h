// The kinds of names cases are parametrized over, all from StandardFixture(): where the name
// lives (lower, upper, both, nowhere), what it is, and what writing through it must copy up.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ovlab::conformance {

enum class Shape {
  kFile,           // a regular file
  kDir,            // a directory (or a symlink resolving to one)
  kMissing,        // no such name; its parent exists
  kMissingParent,  // the parent does not exist
  kDangling,       // a symlink to a missing name in an existing directory
  kFileSlash,      // a regular file named with a trailing slash
  kMissingSlash,   // a missing name with a trailing slash
};

struct NameKind {
  const char* id;    // for test names: "lower_file"
  const char* path;  // "/f"
  Shape shape;
  bool symlink;        // the name itself is a symlink (followed unless O_NOFOLLOW)
  const char* object;  // the union path that holds the data: the symlink's target, or path
  bool in_upper;       // `object` already exists in the upper layer
};

void PrintTo(const NameKind& n, std::ostream* os);

// Every name kind of the standard fixture.
const std::vector<NameKind>& AllNameKinds();

}  // namespace ovlab::conformance
