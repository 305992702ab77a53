// ovlab's version as every program prints it for --version and records it in its output.
#pragma once

#include <string>

namespace ovlab {

// "0.1.0", or "0.1.0 (git 1c89ffd52a1b)" when built from a git checkout ("-dirty" when it had
// uncommitted changes).
std::string Version();
// "<program> <Version()>": the first line of every program's --version.
std::string VersionLine(const std::string& program);
// `git describe` of the tree this was built from ("" outside git), the build type
// (CMAKE_BUILD_TYPE, plus "+asan/ubsan" for the sanitizer build) and the compiler.
std::string GitDescribe();
std::string BuildType();
std::string Compiler();

}  // namespace ovlab
