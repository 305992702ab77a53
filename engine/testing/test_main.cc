// GoogleTest main for every ovlab test binary: the tests mount things, so they run in a private
// mount namespace. Whatever a crashed test leaves mounted disappears with the namespace; loop
// devices are attached with autoclear so they detach when their filesystem goes.
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0) {
    std::fprintf(stderr, "ovlab tests mount filesystems and must run as root (try: sudo ctest)\n");
    return 2;
  }
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::fprintf(stderr, "cannot make a private mount namespace: %s\n", std::strerror(errno));
    return 2;
  }
  return RUN_ALL_TESTS();
}
