#include "union/options.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "base/fs.h"
#include "base/strings.h"

namespace ovlab::unionfs {

Result<std::vector<std::string>> ParseLowerDirList(std::string_view value) {
  std::vector<std::string> layers;
  std::string current;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size()) {
      current += value[++i];
    } else if (c == ':') {
      if (current.empty()) {
        return Fail(EINVAL, StrPrintf("lowerdir \"%.*s\" has an empty layer at position %zu: "
                                      "remove the doubled or trailing ':'",
                                      static_cast<int>(value.size()), value.data(), i));
      }
      layers.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (current.empty()) {
    return Fail(EINVAL, StrPrintf("lowerdir \"%.*s\" ends with an empty layer: give at least one "
                                  "directory and no trailing ':'",
                                  static_cast<int>(value.size()), value.data()));
  }
  layers.push_back(std::move(current));
  return layers;
}

namespace {

Result<struct stat> StatDir(const std::string& role, const std::string& path) {
  struct stat st {};
  if (path.empty() || path[0] != '/') {
    return Fail(EINVAL, StrPrintf("%s \"%s\" is not an absolute path: give /path/to/dir",
                                  role.c_str(), path.c_str()));
  }
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    return Fail(err, StrPrintf("%s \"%s\": %s: create it or fix the path", role.c_str(),
                               path.c_str(), ErrnoText(err).c_str()));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Fail(ENOTDIR, StrPrintf("%s \"%s\" is not a directory", role.c_str(), path.c_str()));
  }
  return st;
}

// Canonical path with a trailing slash, so "is inside" is a prefix test.
std::string Canonical(const std::string& path) {
  char buf[PATH_MAX];
  std::string out = ::realpath(path.c_str(), buf) ? std::string(buf) : path;
  if (out.empty() || out.back() != '/') out += '/';
  return out;
}

bool Inside(const std::string& a, const std::string& b) {
  return StartsWith(a, b);
}

}  // namespace

Status ValidateOptions(const UnionOptions& o) {
  if (o.lowers.empty()) {
    return Fail(EINVAL, "no lower layer given: a union needs at least one lower directory");
  }
  if (o.lowers.size() > o.max_lowers) {
    return Fail(EINVAL, StrPrintf("%zu lower layers exceed the limit of %zu (LM1): merge layers",
                                  o.lowers.size(), o.max_lowers));
  }
  if (o.upper.empty() != o.work.empty()) {
    return Fail(EINVAL,
                "upper and work must be given together (or both left empty for a "
                "read-only union)");
  }
  std::vector<std::string> lower_canon;
  for (size_t i = 0; i < o.lowers.size(); ++i) {
    auto st = StatDir(StrPrintf("lower layer %zu", i), o.lowers[i]);
    if (!st) return std::unexpected(st.error());
    lower_canon.push_back(Canonical(o.lowers[i]));
  }
  if (o.upper.empty()) return {};
  auto up = StatDir("upper", o.upper);
  if (!up) return std::unexpected(up.error());
  auto wk = StatDir("work", o.work);
  if (!wk) return std::unexpected(wk.error());
  if (up->st_dev != wk->st_dev) {
    return Fail(EXDEV, StrPrintf("work \"%s\" is not on the same filesystem as upper \"%s\": "
                                 "put both on one filesystem",
                                 o.work.c_str(), o.upper.c_str()));
  }
  std::string upper_c = Canonical(o.upper), work_c = Canonical(o.work);
  if (Inside(upper_c, work_c) || Inside(work_c, upper_c)) {
    return Fail(EINVAL, StrPrintf("upper \"%s\" and work \"%s\" overlap: use two sibling "
                                  "directories",
                                  o.upper.c_str(), o.work.c_str()));
  }
  for (size_t i = 0; i < lower_canon.size(); ++i) {
    const std::string& l = lower_canon[i];
    if (Inside(upper_c, l) || Inside(l, upper_c) || Inside(work_c, l) || Inside(l, work_c)) {
      return Fail(EINVAL, StrPrintf("lower layer %zu \"%s\" overlaps upper or work: layers "
                                    "must be separate directory trees",
                                    i, o.lowers[i].c_str()));
    }
  }
  return {};
}

}  // namespace ovlab::unionfs
