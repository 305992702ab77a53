// What the kernel logged during one operation: mount(2) returns only an errno, overlayfs writes
// the reason ("workdir and upperdir must be separate subtrees") to the kernel log.
#pragma once

#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace ovlab::mount {

class KernelLogTail {
 public:
  // Starts at the current end of /dev/kmsg; without access to it, NewMessages() is always "".
  KernelLogTail();
  // Messages logged since construction that start with `prefix`, joined with "; ".
  std::string NewMessages(std::string_view prefix);

 private:
  UniqueFd fd_;
};

}  // namespace ovlab::mount
