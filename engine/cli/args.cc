#include "cli/args.h"

#include <cerrno>

#include "base/strings.h"

namespace ovlab::cli {
namespace {

Status SetGlobal(Invocation& inv, const std::string& name, const std::string& value) {
  if (name == "root") {
    inv.options.root = value;
  } else if (name == "driver") {
    inv.driver = value;
  } else {
    auto depth = ParseUint(value);
    if (!depth || *depth == 0) {
      return Fail(EINVAL, "--max-depth wants a positive number of layers, got \"" + value + "\"");
    }
    inv.options.max_depth = *depth;
  }
  return {};
}

}  // namespace

Result<Invocation> ParseArgs(const std::vector<std::string>& args) {
  Invocation inv;
  inv.options.root = kDefaultRoot;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h") {
      inv.help = true;
      continue;
    }
    if (!StartsWith(a, "--") || a == "--") {
      inv.words.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (kSwitchFlags.contains(name)) {
      if (inline_value) return Fail(EINVAL, "--" + name + " takes no value");
      if (name == "help") {
        inv.help = true;
      } else if (name == "version") {
        inv.version = true;
      } else {
        inv.flags[name] = "";
      }
      continue;
    }
    if (!kValueFlags.contains(name)) {
      return Fail(EINVAL, "unknown option " + a + " (see ovlab --help)");
    }
    if (!inline_value && i + 1 < args.size()) value = args[++i];
    // An empty value is no value: `--parent ''` must not quietly mean "no parent".
    if (value.empty()) return Fail(EINVAL, "option --" + name + " needs a value");
    if (name == "root" || name == "driver" || name == "max-depth") {
      if (auto st = SetGlobal(inv, name, value); !st) return std::unexpected(st.error());
    } else {
      inv.flags[name] = value;
    }
  }
  return inv;
}

}  // namespace ovlab::cli
