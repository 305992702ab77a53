// The matrix is JSON that tools can trust whatever the bytes the cases saw.
#include "conformance/matrix.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ovlab::conformance {
namespace {

TEST(MatrixTest, InvalidUtf8InANameStillMakesValidJson) {
  Matrix m;
  m.AddTarget({"kernel", "oracle", "Linux 6.18", "index=off", ""});
  CaseRecord c{"Names.Odd", "names", "WO1 LK1", "a name that is not UTF-8", {}};
  TargetResult r;
  r.target = "kernel";
  r.verdict = Verdict::kPass;
  r.observed = {"list / = [bad\xff\xfe name, \"quoted\\\"]"};
  c.results.push_back(r);
  m.AddCase(c);
  auto j = nlohmann::json::parse(m.ToJson());  // throws on invalid JSON
  const auto& result = j["cases"][0]["results"]["kernel"];
  EXPECT_EQ(result["verdict"], "pass");
  EXPECT_EQ(result["observed"][0], "list / = [bad\xEF\xBF\xBD\xEF\xBF\xBD name, \"quoted\\\"]");
  EXPECT_EQ(j["cases"][0]["checklist"], (nlohmann::json{"WO1", "LK1"}));
  EXPECT_EQ(j["summary"]["by_target"]["kernel"]["pass"], 1);
}

}  // namespace
}  // namespace ovlab::conformance
