// Every ovlab program that mounts (tests, ovlab-bench, ovlab-conformance) runs as root in a
// private mount namespace: whatever a crash leaves mounted disappears with the namespace instead
// of staying in the host's mount table.
#pragma once

#include <string>

#include "base/result.h"

namespace ovlab {

// Fails unless running as root, saying that `program` mounts filesystems; then unshares the mount
// namespace and makes every mount in it private.
Status EnterPrivateMountNamespace(const std::string& program);

}  // namespace ovlab
