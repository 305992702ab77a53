#include "base/result.h"

#include <cstring>

namespace ovlab {

std::string ErrnoText(int code) {
  char buf[256];
  // GNU strerror_r may return a static string instead of filling buf.
  return std::string(strerror_r(code, buf, sizeof buf));
}

std::unexpected<Error> FailErrno(int code, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += ErrnoText(code);
  return Fail(code, std::move(msg));
}

Error WithContext(Error e, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += e.message;
  e.message = std::move(msg);
  return e;
}

}  // namespace ovlab
