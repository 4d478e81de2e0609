// Tests of the default instrument table and of item validation and scoring (ScoreInstrument).
#include "plugin/domain/thresholds.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace collabcare::domain {
namespace {

const InstrumentDef& Def(const std::string& id) {
  const InstrumentDef* def = DefaultThresholds().Find(id);
  EXPECT_NE(def, nullptr) << id;
  return *def;
}

// Scores `items` as the first instrument of a request and returns the error message, or "" if
// the items were accepted.
std::string ErrorOf(const std::string& id, const std::vector<double>& items) {
  absl::StatusOr<double> total = ScoreInstrument(Def(id), items, "instrument_scores[0].items");
  if (total.ok()) return "";
  EXPECT_EQ(total.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(total.status().message());
}

TEST(ThresholdsTest, OrsAdultCutoff25AndReliableChange5) {
  const InstrumentDef& ors = Def("ORS");
  EXPECT_EQ(ors.min_items, 4);
  EXPECT_EQ(ors.max_items, 4);
  EXPECT_EQ(ors.item_min, 0);
  EXPECT_EQ(ors.item_max, 10);
  EXPECT_EQ(ors.scoring, Scoring::kSum);
  EXPECT_EQ(ors.clinical_cutoff, 25);
  EXPECT_EQ(ors.reliable_change, 5);
  EXPECT_FALSE(ors.alliance_cutoff.has_value());
  EXPECT_TRUE(absl::StrContains(ors.source, "OpenFIT KA-01031 [V]")) << ors.source;
  // The reliable change of 5 is [M] in reference/instruments.md.
  EXPECT_TRUE(absl::StrContains(ors.source,
                                "Miller & Duncan 2004 manual [M]: unverified; "
                                "configurable"))
      << ors.source;
}

TEST(ThresholdsTest, AdolescentAndChildCutoffs) {
  const InstrumentDef& adolescent = Def("ORS-ADOLESCENT");
  EXPECT_EQ(adolescent.clinical_cutoff, 28);
  EXPECT_EQ(adolescent.reliable_change, 5);
  EXPECT_TRUE(absl::StrContains(adolescent.source,
                                "Duncan et al. 2006, J Brief Therapy 5(2) [M]: "
                                "unverified; configurable"))
      << adolescent.source;
  const InstrumentDef& cors = Def("CORS");
  EXPECT_EQ(cors.clinical_cutoff, 32);
  EXPECT_EQ(cors.min_items, 4);
  EXPECT_TRUE(absl::StrContains(cors.source, "OpenFIT KA-01031 [V]")) << cors.source;
}

TEST(ThresholdsTest, SrsAllianceCutoff36AndDropOfOne) {
  const InstrumentDef& srs = Def("SRS");
  EXPECT_EQ(srs.min_items, 4);
  EXPECT_EQ(srs.max_items, 4);
  EXPECT_EQ(srs.scoring, Scoring::kSum);
  EXPECT_EQ(srs.alliance_cutoff, 36);
  EXPECT_EQ(srs.alliance_drop, 1);
  EXPECT_FALSE(srs.clinical_cutoff.has_value());
  EXPECT_FALSE(srs.reliable_change.has_value());
  EXPECT_TRUE(absl::StrContains(srs.source, "OpenFIT KA-01028 [V]")) << srs.source;
  EXPECT_TRUE(absl::StrContains(srs.source, "OpenFIT alerts article [V]")) << srs.source;
}

TEST(ThresholdsTest, GboMeanOfUpToThreeGoals) {
  const InstrumentDef& gbo = Def("GBO");
  EXPECT_EQ(gbo.min_items, 1);
  EXPECT_EQ(gbo.max_items, 3);
  EXPECT_EQ(gbo.scoring, Scoring::kMean);
  EXPECT_EQ(gbo.reliable_change, 2.45);
  EXPECT_FALSE(gbo.clinical_cutoff.has_value());
  EXPECT_TRUE(absl::StrContains(gbo.source, "Edbrooke-Childs")) << gbo.source;
  EXPECT_TRUE(absl::StrContains(gbo.source, "unverified; configurable")) << gbo.source;
}

TEST(ThresholdsTest, TableWideDefaultsNameTheirSource) {
  const ThresholdTable& table = DefaultThresholds();
  EXPECT_EQ(table.goal_reliable_change, 2.45);
  EXPECT_TRUE(absl::StrContains(table.goal_reliable_change_source, "Edbrooke-Childs"));
  EXPECT_TRUE(absl::StrContains(table.goal_reliable_change_source, "unverified; configurable"));
  EXPECT_EQ(table.goal_divergence, 3.0);
  EXPECT_TRUE(absl::StrContains(table.goal_divergence_source, "collabcare default, configurable"));
  EXPECT_EQ(table.not_on_track_reviews, 3);
  EXPECT_TRUE(absl::StrContains(table.not_on_track_source, "collabcare default, configurable"));
}

TEST(ThresholdsTest, EveryInstrumentHasASourceAndAUniqueId) {
  const ThresholdTable& table = DefaultThresholds();
  for (const InstrumentDef& def : table.instruments) {
    EXPECT_FALSE(def.source.empty()) << def.id;
    EXPECT_EQ(table.Find(def.id), &def) << def.id;
    EXPECT_LE(def.min_items, def.max_items) << def.id;
  }
}

TEST(ThresholdsTest, FindUnknownInstrumentIsNull) {
  EXPECT_EQ(DefaultThresholds().Find("PHQ-9"), nullptr);
  EXPECT_EQ(DefaultThresholds().Find("ors"), nullptr);  // ids are exact
  EXPECT_EQ(DefaultThresholds().Find(""), nullptr);
}

TEST(ScoreInstrumentTest, OrsSumHasNoFloatDrift) {
  // 6.8 + 7.1 + 6.9 + 6.5 summed as doubles is 27.299999999999997; in tenths it is 273.
  absl::StatusOr<double> total = ScoreInstrument(Def("ORS"), {6.8, 7.1, 6.9, 6.5}, "items");
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 27.3);
  total = ScoreInstrument(Def("ORS"), {4.5, 4.5, 4.5, 4.5}, "items");
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 18.0);
  total = ScoreInstrument(Def("SRS"), {10, 10, 10, 10}, "items");
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 40.0);
  total = ScoreInstrument(Def("SRS"), {0, 0, 0, 0}, "items");
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 0.0);
}

TEST(ScoreInstrumentTest, GboIsTheMeanOfGoalsToTwoDecimals) {
  absl::StatusOr<double> mean = ScoreInstrument(Def("GBO"), {7, 5, 3}, "items");
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_EQ(*mean, 5.0);
  mean = ScoreInstrument(Def("GBO"), {7.3, 5.1, 2}, "items");  // 14.4 / 3
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_EQ(*mean, 4.8);
  mean = ScoreInstrument(Def("GBO"), {1, 1, 2}, "items");  // 4 / 3 = 1.333…
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_EQ(*mean, 1.33);
  mean = ScoreInstrument(Def("GBO"), {2, 3}, "items");  // 2.5
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_EQ(*mean, 2.5);
  mean = ScoreInstrument(Def("GBO"), {6.4}, "items");
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_EQ(*mean, 6.4);
}

TEST(ScoreInstrumentTest, OneDecimalAccepted) {
  EXPECT_EQ(ErrorOf("ORS", {7.3, 0.1, 9.9, 10}), "");
  absl::StatusOr<double> total = ScoreInstrument(Def("ORS"), {7.3, 0.1, 9.9, 10}, "items");
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 27.3);
}

TEST(ScoreInstrumentTest, TwoDecimalsRefused) {
  EXPECT_EQ(ErrorOf("ORS", {5, 5, 7.25, 5}),
            "instrument_scores[0].items[2]: must have at most one decimal place");
  EXPECT_EQ(ErrorOf("GBO", {0.01}),
            "instrument_scores[0].items[0]: must have at most one decimal place");
}

TEST(ScoreInstrumentTest, OutOfRangeRefused) {
  EXPECT_EQ(ErrorOf("ORS", {5, 5, 10.1, 5}),
            "instrument_scores[0].items[2]: must be between 0 "
            "and 10");
  EXPECT_EQ(ErrorOf("SRS", {-0.1, 5, 5, 5}),
            "instrument_scores[0].items[0]: must be between 0 "
            "and 10");
  EXPECT_EQ(ErrorOf("GBO", {3, 11}), "instrument_scores[0].items[1]: must be between 0 and 10");
}

TEST(ScoreInstrumentTest, NonFiniteRefused) {
  EXPECT_EQ(ErrorOf("ORS", {5, std::nan(""), 5, 5}),
            "instrument_scores[0].items[1]: must be a finite number");
  EXPECT_EQ(ErrorOf("ORS", {5, 5, 5, std::numeric_limits<double>::infinity()}),
            "instrument_scores[0].items[3]: must be a finite number");
}

TEST(ScoreInstrumentTest, ItemCountRefused) {
  EXPECT_EQ(ErrorOf("ORS", {5, 5, 5}), "instrument_scores[0].items: ORS takes 4 items");
  EXPECT_EQ(ErrorOf("SRS", {5, 5, 5, 5, 5}), "instrument_scores[0].items: SRS takes 4 items");
  EXPECT_EQ(ErrorOf("GBO", {}), "instrument_scores[0].items: GBO takes 1 to 3 items");
  EXPECT_EQ(ErrorOf("GBO", {1, 2, 3, 4}), "instrument_scores[0].items: GBO takes 1 to 3 items");
}

TEST(ScoreInstrumentTest, CountIsCheckedBeforeItems) {
  // A wrong count is reported for the list, not for a bad item inside it.
  EXPECT_EQ(ErrorOf("ORS", {11, 5, 5}), "instrument_scores[0].items: ORS takes 4 items");
}

}  // namespace
}  // namespace collabcare::domain
