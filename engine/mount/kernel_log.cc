#include "mount/kernel_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/strings.h"

namespace ovlab::mount {

KernelLogTail::KernelLogTail() : fd_(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
  if (fd_ && ::lseek(fd_.get(), 0, SEEK_END) < 0) fd_.reset();
}

std::string KernelLogTail::NewMessages(std::string_view prefix) {
  std::string out;
  if (!fd_) return out;
  char record[8192];
  for (;;) {
    // One record per read: "prio,seq,usec,flags;text\n" plus continuation lines.
    ssize_t n = ::read(fd_.get(), record, sizeof record);
    if (n < 0 && errno == EPIPE) continue;  // records were overwritten: go on with the next
    if (n <= 0) break;
    std::string_view r(record, static_cast<size_t>(n));
    auto semi = r.find(';');
    if (semi == std::string_view::npos) continue;
    std::string_view text = r.substr(semi + 1);
    text = text.substr(0, text.find('\n'));
    if (!StartsWith(text, prefix)) continue;
    if (!out.empty()) out += "; ";
    out += Trim(text);
  }
  return out;
}

}  // namespace ovlab::mount
