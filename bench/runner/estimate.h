// A rough run-time estimate printed before every run, from per-family costs measured on a
// 2-core VM (good to a factor of two; it exists so nobody starts a 3-hour run by accident).
#pragma once

#include <string>
#include <vector>

namespace ovlab::bench {

double EstimateSeconds(const std::vector<std::string>& instance_names, int repetitions);

}  // namespace ovlab::bench
