// The running kernel's major.minor version, for behaviour that changed between kernel releases.
#pragma once

#include <sys/utsname.h>

#include <optional>
#include <string>
#include <string_view>

#include "base/strings.h"

namespace ovlab {

struct KernelVersion {
  int major = 0;
  int minor = 0;

  // "6.18.44-fc" -> {6, 18}; {0, 0} when the release does not start with "N.N".
  static KernelVersion Parse(std::string_view release) {
    auto leading_number = [](std::string_view s) -> std::optional<int> {
      size_t n = 0;
      while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
      auto v = ParseUint(s.substr(0, n));
      if (!v || *v > 100000) return std::nullopt;
      return static_cast<int>(*v);
    };
    size_t dot = release.find('.');
    if (dot == std::string_view::npos) return {};
    auto major = leading_number(release.substr(0, dot));
    auto minor = leading_number(release.substr(dot + 1));
    if (!major || !minor) return {};
    return {*major, *minor};
  }
  static KernelVersion Running() {
    struct utsname u;
    if (::uname(&u) != 0) return {};
    return Parse(u.release);
  }

  bool known() const { return major > 0; }
  // An unknown version counts as new: the current kernel's behaviour is expected.
  bool AtLeast(int want_major, int want_minor) const {
    if (!known()) return true;
    return major != want_major ? major > want_major : minor >= want_minor;
  }
  std::string ToString() const { return StrPrintf("%d.%d", major, minor); }
};

}  // namespace ovlab
