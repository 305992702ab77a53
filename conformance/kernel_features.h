// Overlay behaviour that changed between kernel releases, with the release each change came in.
// On an older kernel the oracle's transcript shows the old behaviour: a documented expectation
// about a newer feature is then not a kernel failure (the case is skipped for the kernel with
// "needs X.Y: ..."), and the engine, which follows current semantics, is a known deviation.
#pragma once

#include <string>
#include <vector>

#include "base/kernel_version.h"

namespace ovlab::conformance {

struct KernelFeature {
  const char* id;         // short, for reasons: "xattr whiteouts (WO2)"
  int major, minor;       // first release with the current behaviour
  const char* old_way;    // what older kernels do instead
  const char* line_mark;  // substring of every transcript line the change can affect
};

// Every version-dependent behaviour the cases observe (see kernel_features.cc for sources).
const std::vector<KernelFeature>& KernelFeatures();

// The features `kernel` lacks, oldest first. An unknown version lacks none.
std::vector<const KernelFeature*> MissingFeatures(const KernelVersion& kernel);

// The missing feature that explains a transcript line, or nullptr.
const KernelFeature* ExplainingFeature(const std::vector<const KernelFeature*>& missing,
                                       const std::string& line);

// When every line of `lines` (a violation, or a differing "kernel | target" pair) is explained
// by a missing feature: those features, each once;
// empty when some line is not (or `lines` is empty).
std::vector<const KernelFeature*> ExplainAll(const std::vector<const KernelFeature*>& missing,
                                             const std::vector<std::string>& lines);

// "needs 6.7: xattr whiteouts (WO2); ..." for the features listed.
std::string NeedsText(const std::vector<const KernelFeature*>& features);

}  // namespace ovlab::conformance
