// Value-or-error types. Two kinds, on purpose:
//  - Error/Result/Status carry a message for a person (CLI, drivers, layer store);
//  - SysResult carries a bare errno for POSIX-like hot paths (union engine, FUSE), like the kernel.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace ovlab {

// What went wrong: the errno it stems from (or 0) and one line that says what is wrong and what to
// do.
struct Error {
  int code = 0;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

inline std::unexpected<Error> Fail(int code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

// "what: strerror(code)" as an Error, the usual way to wrap a failed system call.
std::unexpected<Error> FailErrno(int code, std::string_view what);

template <class T>
using SysResult = std::expected<T, int>;

inline std::unexpected<int> SysFail(int code) {
  return std::unexpected<int>(code);
}

// strerror_r that always returns text.
std::string ErrnoText(int code);

// Prefixes context to an error message: "context: message".
Error WithContext(Error e, std::string_view context);

}  // namespace ovlab
