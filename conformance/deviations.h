// Short explanations of known peer deviations, so the matrix says why a peer differs and not
// only where. The first differing transcript line is always kept in the reason as well.
#pragma once

#include <string>

namespace ovlab::conformance {

std::string ExplainDeviation(const std::string& target, const std::string& first_difference);

}  // namespace ovlab::conformance
