// Attaching an image file to a free loop device with autoclear, so the device detaches by
// itself once its filesystem is unmounted and the last descriptor is closed.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ovlab::scratch {

struct AttachedLoop {
  std::string device;  // "/dev/loopN"
  UniqueFd fd;         // keeps the device bound until the filesystem on it is mounted
};

// LOOP_CTL_GET_FREE + LOOP_CONFIGURE (or LOOP_SET_FD + LOOP_SET_STATUS64 on older kernels).
Result<AttachedLoop> AttachLoop(const std::string& image);

// The loop device whose backing file is `image`, or "" (read from /sys/block/loop*/loop).
std::string LoopDeviceFor(const std::string& image);

// Waits (up to timeout_ms) until `device` has no backing file; clears it explicitly after that.
Status WaitLoopDetached(const std::string& device, int timeout_ms = 5000);

}  // namespace ovlab::scratch
