#include "launch/union_argv.h"

#include <cerrno>

#include "base/strings.h"

namespace ovlab::launch {
namespace {

Result<std::string> Escaped(const std::string& path, Syntax syntax) {
  if (path.empty()) return Fail(EINVAL, "an empty layer path was given");
  std::string_view refused = syntax == Syntax::kUnionfs          ? ":="
                             : syntax == Syntax::kOverlayNoColon ? ":"
                                                                 : "";
  if (auto bad = path.find_first_of(refused); bad != std::string::npos) {
    return Fail(EINVAL, StrPrintf("layer path '%s' holds '%c', which this daemon's option syntax "
                                  "cannot carry; move the layer to a path without it",
                                  path.c_str(), path[bad]));
  }
  if (syntax == Syntax::kUnionfs) return path;
  std::string out;
  for (char c : path) {
    if (c == '\\' || c == ',' || c == ':') out += '\\';
    out += c;
  }
  return out;
}

Result<std::string> OverlayOptions(const DaemonCommand& c) {
  std::vector<std::string> lowers;
  for (const auto& l : c.dirs.lowers) {
    auto e = Escaped(l, c.syntax);
    if (!e) return std::unexpected(e.error());
    lowers.push_back(std::move(*e));
  }
  std::string opts = "lowerdir=" + Join(lowers, ":");
  if (!c.dirs.upper.empty()) {
    auto u = Escaped(c.dirs.upper, c.syntax);
    if (!u) return std::unexpected(u.error());
    auto w = Escaped(c.dirs.work, c.syntax);
    if (!w) return std::unexpected(w.error());
    opts += ",upperdir=" + *u + ",workdir=" + *w;
  }
  return opts;
}

Result<std::string> UnionfsBranches(const DaemonCommand& c) {
  std::vector<std::string> branches;
  if (!c.dirs.upper.empty()) {
    auto u = Escaped(c.dirs.upper, c.syntax);
    if (!u) return std::unexpected(u.error());
    branches.push_back(*u + "=RW");
  }
  for (const auto& l : c.dirs.lowers) {
    auto e = Escaped(l, c.syntax);
    if (!e) return std::unexpected(e.error());
    branches.push_back(*e + "=RO");
  }
  return Join(branches, ":");
}

Status CheckOptions(const std::vector<std::string>& options) {
  for (const auto& o : options) {
    if (o.empty() || o.find(',') != std::string::npos) {
      return Fail(EINVAL, "daemon option '" + o + "' must be one non-empty option without commas");
    }
  }
  return {};
}

}  // namespace

std::vector<std::string> SyntaxOptions(Syntax syntax) {
  if (syntax == Syntax::kUnionfs) return {"cow"};
  return {};
}

Result<std::vector<std::string>> DaemonArgv(const DaemonCommand& c) {
  if (c.dirs.lowers.empty()) return Fail(EINVAL, "a union needs at least one lower layer");
  if (c.dirs.upper.empty() != c.dirs.work.empty()) {
    return Fail(EINVAL, "upper and work directories come together; give both or neither");
  }
  if (auto st = CheckOptions(c.options); !st) return std::unexpected(st.error());
  std::vector<std::string> argv = {c.program};
  if (c.foreground) argv.push_back("-f");
  if (c.syntax == Syntax::kUnionfs) {
    auto branches = UnionfsBranches(c);
    if (!branches) return std::unexpected(branches.error());
    std::vector<std::string> opts = SyntaxOptions(c.syntax);
    opts.insert(opts.end(), c.options.begin(), c.options.end());
    argv.insert(argv.end(), {"-o", Join(opts, ","), *branches, c.mountpoint});
    return argv;
  }
  auto opts = OverlayOptions(c);
  if (!opts) return std::unexpected(opts.error());
  for (const auto& o : c.options) *opts += "," + o;
  argv.insert(argv.end(), {"-o", *opts, c.mountpoint});
  return argv;
}

}  // namespace ovlab::launch
