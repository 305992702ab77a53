// GoogleTest main for every ovlab test binary: the tests mount things, so they run as root in a
// private mount namespace (base/namespace.h). Loop devices are attached with autoclear so they
// detach when their filesystem goes.
#include <cstdio>

#include <gtest/gtest.h>

#include "base/namespace.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (auto st = ovlab::EnterPrivateMountNamespace("ovlab's tests"); !st) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 2;
  }
  return RUN_ALL_TESTS();
}
