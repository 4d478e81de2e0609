// The operator's threshold file: round trip of the built-in table and errors that name paths.
#include "plugin/server/thresholds_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace collabcare::server {
namespace {

using ::testing::HasSubstr;

TEST(ThresholdsConfigTest, BuiltInTableRoundTrips) {
  const domain::ThresholdTable& builtin = domain::DefaultThresholds();
  absl::StatusOr<domain::ThresholdTable> parsed =
      ParseThresholdTable(ThresholdTableToJson(builtin));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->instruments.size(), builtin.instruments.size());
  const domain::InstrumentDef* ors = parsed->Find("ORS");
  ASSERT_NE(ors, nullptr);
  EXPECT_EQ(ors->clinical_cutoff, builtin.Find("ORS")->clinical_cutoff);
  EXPECT_EQ(ors->source, builtin.Find("ORS")->source);
  EXPECT_EQ(parsed->goal_divergence, builtin.goal_divergence);
}

TEST(ThresholdsConfigTest, ReplacesInstrumentsAndKeepsOtherDefaults) {
  absl::StatusOr<domain::ThresholdTable> parsed = ParseThresholdTable(R"({
    "goal_divergence": 4,
    "instruments": [{"id": "ORS", "min_items": 4, "max_items": 4, "item_min": 0,
                     "item_max": 10, "scoring": "sum", "clinical_cutoff": 28,
                     "reliable_change": 6, "source": "clinic policy 2026"}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->goal_divergence, 4);
  EXPECT_EQ(parsed->goal_reliable_change, domain::DefaultThresholds().goal_reliable_change);
  ASSERT_EQ(parsed->instruments.size(), 1u);
  EXPECT_EQ(*parsed->instruments[0].clinical_cutoff, 28);
  EXPECT_EQ(parsed->Find("SRS"), nullptr);
}

TEST(ThresholdsConfigTest, ErrorsNameTheJsonPath) {
  EXPECT_THAT(ParseThresholdTable("[1]").status().message(), HasSubstr("$"));
  EXPECT_THAT(ParseThresholdTable(R"({"goal_divergence": "three"})").status().message(),
              HasSubstr("$.goal_divergence"));
  EXPECT_THAT(
      ParseThresholdTable(R"({"instruments": [{"id": "X", "scoring": "sum"}]})").status().message(),
      HasSubstr("$.instruments[0].source"));
  EXPECT_THAT(
      ParseThresholdTable(R"({"instruments": [{"id": "X", "source": "s", "scoring": "median"}]})")
          .status()
          .message(),
      HasSubstr("$.instruments[0].scoring"));
  EXPECT_EQ(ParseThresholdTable("{not json").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace collabcare::server
