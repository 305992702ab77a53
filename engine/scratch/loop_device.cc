#include "scratch/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "base/fs.h"
#include "base/strings.h"

namespace ovlab::scratch {
namespace {

constexpr int kLoopMajor = 7;

// Containers without udev may lack the node for a freshly allocated loop device.
Result<UniqueFd> OpenLoopNode(int n, const std::string& device) {
  int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (::mknod(device.c_str(), S_IFBLK | 0660, makedev(kLoopMajor, n)) != 0 && errno != EEXIST)
      return FailErrno(errno, "mknod " + device);
    fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) return FailErrno(errno, "open " + device);
  return UniqueFd(fd);
}

loop_info64 AutoclearInfo(const std::string& image) {
  loop_info64 info;
  std::memset(&info, 0, sizeof info);
  info.lo_flags = LO_FLAGS_AUTOCLEAR;
  std::strncpy(reinterpret_cast<char*>(info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
  return info;
}

// 0 on success, else errno (EBUSY: another process took the device first).
int Configure(int loop_fd, int file_fd, const std::string& image) {
  loop_config config;
  std::memset(&config, 0, sizeof config);
  config.fd = static_cast<__u32>(file_fd);
  config.info = AutoclearInfo(image);
  if (::ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0) return 0;
  if (errno != EINVAL && errno != ENOTTY) return errno;
  // Kernels before 5.8: the two-step setup.
  if (::ioctl(loop_fd, LOOP_SET_FD, file_fd) != 0) return errno;
  loop_info64 info = AutoclearInfo(image);
  if (::ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0) {
    int e = errno;
    ::ioctl(loop_fd, LOOP_CLR_FD, 0);
    return e;
  }
  return 0;
}

void SleepMs(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

}  // namespace

Result<AttachedLoop> AttachLoop(const std::string& image) {
  auto file = OpenPath(image, O_RDWR);
  if (!file) return std::unexpected(file.error());
  auto ctl = OpenPath("/dev/loop-control", O_RDWR);
  if (!ctl)
    return Fail(ctl.error().code,
                ctl.error().message + " (is the loop module loaded? modprobe loop)");
  for (int attempt = 0; attempt < 32; ++attempt) {
    int n = ::ioctl(ctl->get(), LOOP_CTL_GET_FREE);
    if (n < 0) return FailErrno(errno, "LOOP_CTL_GET_FREE");
    std::string device = StrPrintf("/dev/loop%d", n);
    auto loop = OpenLoopNode(n, device);
    if (!loop) return std::unexpected(loop.error());
    int e = Configure(loop->get(), file->get(), image);
    if (e == 0) return AttachedLoop{device, std::move(*loop)};
    if (e != EBUSY) return FailErrno(e, "attach " + image + " to " + device);
  }
  return Fail(EBUSY, "attach " + image + ": every free loop device was taken by others; retry");
}

std::string LoopDeviceFor(const std::string& image) {
  auto names = ListDir("/sys/block");
  if (!names) return "";
  for (const auto& name : *names) {
    if (!StartsWith(name, "loop")) continue;
    auto backing = ReadFileText("/sys/block/" + name + "/loop/backing_file");
    if (!backing) continue;
    std::string_view b = Trim(*backing);
    // The kernel appends " (deleted)" once the image is unlinked.
    if (b == image || b == image + " (deleted)") return "/dev/" + name;
  }
  return "";
}

Status WaitLoopDetached(const std::string& device, int timeout_ms) {
  std::string bound = "/sys/block/" + BaseName(device) + "/loop/backing_file";
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (!PathExists(bound)) return {};
    SleepMs(10);
  }
  // Autoclear did not fire (someone still holds it open?): clear it ourselves.
  auto fd = OpenPath(device, O_RDWR);
  if (fd && ::ioctl(fd->get(), LOOP_CLR_FD, 0) == 0) return {};
  if (!PathExists(bound)) return {};
  return Fail(EBUSY, device + " is still attached after unmount; something holds it open");
}

}  // namespace ovlab::scratch
