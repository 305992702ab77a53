// The in-process union engine behind the Target operations.
#include "conformance/targets.h"

namespace ovlab::conformance {

Result<std::unique_ptr<Target>> MakeEngineTarget() {
  return Fail(ENOTSUP, "the union engine (engine/union) has no path-level API in this build yet");
}

}  // namespace ovlab::conformance
