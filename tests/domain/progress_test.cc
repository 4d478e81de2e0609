// Tests of ComputeProgress: per-rater series and flags, with worked examples from the sources
// cited in the default threshold table.
#include "plugin/domain/progress.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "collabcare/v1/resources.pb.h"
#include "gtest/gtest.h"
#include "plugin/domain/thresholds.h"

namespace collabcare::domain {
namespace {

using ::collabcare::v1::Episode;
using ::collabcare::v1::Goal;
using ::collabcare::v1::GoalSeries;
using ::collabcare::v1::InstrumentSeries;
using ::collabcare::v1::Participant;
using ::collabcare::v1::Progress;
using ::collabcare::v1::ProgressFlag;
using ::collabcare::v1::Review;

constexpr char kClient[] = "Patient/1";
constexpr char kMother[] = "RelatedPerson/7";
constexpr char kTherapist[] = "Practitioner/9";
constexpr char kGoal1[] = "episodes/e1/goals/g1";
constexpr char kGoal2[] = "episodes/e1/goals/g2";

Episode MakeEpisode() {
  Episode episode;
  episode.set_name("episodes/e1");
  episode.set_format(Episode::CLIENT_LED);
  episode.set_modality(Episode::FAMILY);
  for (const auto& [person, role] : std::vector<std::pair<std::string, Participant::Role>>{
           {kClient, Participant::CLIENT},
           {kMother, Participant::FAMILY_MEMBER},
           {kTherapist, Participant::THERAPIST}}) {
    Participant* participant = episode.add_participants();
    participant->set_person(person);
    participant->set_role(role);
  }
  return episode;
}

// Review `id` of episode e1, started `day` days after the epoch.
Review MakeReview(const std::string& id, int64_t day, bool signed_review = true) {
  Review review;
  review.set_name("episodes/e1/reviews/" + id);
  review.set_status(signed_review ? Review::SIGNED : Review::OPEN);
  review.mutable_meta()->mutable_create_time()->set_seconds(day * 86400);
  return review;
}

void Rate(Review* review, const std::string& rater, const std::string& goal, double score) {
  auto* rating = review->add_ratings();
  rating->set_rater(rater);
  rating->set_goal(goal);
  rating->set_score(score);
}

void Score(Review* review, const std::string& rater, const std::string& instrument,
           const std::vector<double>& items) {
  auto* score = review->add_instrument_scores();
  score->set_rater(rater);
  score->set_instrument(instrument);
  for (double item : items) score->add_items(item);
}

Goal MakeGoal(const std::string& name, const std::string& owner) {
  Goal goal;
  goal.set_name(name);
  goal.set_owner(owner);
  goal.set_words("to sleep through the night");
  return goal;
}

std::vector<Goal> VisibleGoals() { return {MakeGoal(kGoal1, kClient)}; }

Progress Compute(const std::vector<Review>& reviews,
                 const std::vector<Goal>& visible_goals = VisibleGoals()) {
  return ComputeProgress(MakeEpisode(), reviews, visible_goals, DefaultThresholds());
}

std::vector<ProgressFlag> FlagsOf(const Progress& progress, ProgressFlag::Kind kind) {
  std::vector<ProgressFlag> flags;
  for (const ProgressFlag& flag : progress.flags()) {
    if (flag.kind() == kind) flags.push_back(flag);
  }
  return flags;
}

std::vector<std::string> Raters(const ProgressFlag& flag) {
  return {flag.raters().begin(), flag.raters().end()};
}

std::vector<double> Values(const InstrumentSeries& series) {
  std::vector<double> values;
  for (const auto& point : series.points()) values.push_back(point.value());
  return values;
}

std::vector<double> Values(const GoalSeries& series) {
  std::vector<double> values;
  for (const auto& point : series.points()) values.push_back(point.value());
  return values;
}

// ORS examples: items chosen so the totals are the worked example's 18.0, 24.5, 27.3 ….
std::vector<Review> OrsReviews(const std::vector<std::vector<double>>& administrations) {
  std::vector<Review> reviews;
  for (std::size_t i = 0; i < administrations.size(); ++i) {
    Review review = MakeReview("r" + std::to_string(i + 1), 7 * static_cast<int64_t>(i));
    Score(&review, kClient, "ORS", administrations[i]);
    reviews.push_back(review);
  }
  return reviews;
}

TEST(ProgressTest, OrsReliableImprovementFromIntake) {
  // 18.0 -> 24.5 -> 27.3: a change of 9.3 >= 5 (reliable) that ends above the adult cut-off 25
  // (OpenFIT KA-01031), i.e. clinically significant change: both flags.
  const Progress progress =
      Compute(OrsReviews({{4.5, 4.5, 4.5, 4.5}, {6.0, 6.5, 6.0, 6.0}, {6.8, 7.1, 6.9, 6.5}}));
  EXPECT_EQ(progress.episode(), "episodes/e1");
  ASSERT_EQ(progress.instruments_size(), 1);
  const InstrumentSeries& series = progress.instruments(0);
  EXPECT_EQ(series.instrument(), "ORS");
  EXPECT_EQ(series.rater(), kClient);
  EXPECT_EQ(Values(series), (std::vector<double>{18.0, 24.5, 27.3}));
  EXPECT_EQ(series.points(2).review(), "episodes/e1/reviews/r3");
  EXPECT_EQ(series.points(2).time().seconds(), 14 * 86400);
  EXPECT_TRUE(series.points(2).signed_());

  ASSERT_EQ(progress.flags_size(), 2);
  const ProgressFlag& improvement = progress.flags(0);
  EXPECT_EQ(improvement.kind(), ProgressFlag::RELIABLE_IMPROVEMENT);
  EXPECT_EQ(improvement.subject(), "ORS");
  EXPECT_EQ(Raters(improvement), std::vector<std::string>{kClient});
  EXPECT_EQ(improvement.review(), "episodes/e1/reviews/r3");
  EXPECT_EQ(improvement.value(), 9.3);
  EXPECT_EQ(improvement.threshold(), 5);
  EXPECT_EQ(improvement.source(), DefaultThresholds().Find("ORS")->source);
  const ProgressFlag& crossed = progress.flags(1);
  EXPECT_EQ(crossed.kind(), ProgressFlag::CROSSED_CLINICAL_CUTOFF);
  EXPECT_EQ(crossed.value(), 27.3);
  EXPECT_EQ(crossed.threshold(), 25);
  EXPECT_EQ(crossed.review(), "episodes/e1/reviews/r3");
}

TEST(ProgressTest, CarriesTheThresholdsInForceForChartsToDraw) {
  ThresholdTable table = DefaultThresholds();
  for (InstrumentDef& def : table.instruments) {
    if (def.id == "ORS") def.clinical_cutoff = 28;  // e.g. a clinic's --thresholds_file
  }
  table.goal_divergence = 4;
  const Progress progress =
      ComputeProgress(MakeEpisode(), OrsReviews({{5, 5, 5, 5}}), VisibleGoals(), table);
  ASSERT_EQ(progress.thresholds_size(), 1);
  const auto& ors = progress.thresholds(0);
  EXPECT_EQ(ors.instrument(), "ORS");
  EXPECT_EQ(ors.total_min(), 0);
  EXPECT_EQ(ors.total_max(), 40);
  ASSERT_TRUE(ors.has_clinical_cutoff());
  EXPECT_EQ(ors.clinical_cutoff(), 28);
  ASSERT_TRUE(ors.has_reliable_change());
  EXPECT_EQ(ors.reliable_change(), 5);
  EXPECT_FALSE(ors.has_alliance_cutoff());
  EXPECT_EQ(ors.source(), table.Find("ORS")->source);
  EXPECT_EQ(progress.goal_divergence(), 4);
  EXPECT_EQ(progress.goal_reliable_change(), table.goal_reliable_change);
  // The flag was raised against the same line the chart draws.
  ASSERT_EQ(progress.flags_size(), 1);
  EXPECT_EQ(progress.flags(0).kind(), ProgressFlag::BELOW_CLINICAL_CUTOFF);
  EXPECT_EQ(progress.flags(0).threshold(), 28);
}

TEST(ProgressTest, OrsFlatInClinicalRangeIsNotOnTrack) {
  // 22 -> 21 -> 23: three reviews below 25 with a change of 1 < 5.
  const Progress progress =
      Compute(OrsReviews({{5.5, 5.5, 5.5, 5.5}, {5, 5, 5.5, 5.5}, {6, 6, 5.5, 5.5}}));
  ASSERT_EQ(progress.instruments_size(), 1);
  EXPECT_EQ(Values(progress.instruments(0)), (std::vector<double>{22, 21, 23}));
  ASSERT_EQ(progress.flags_size(), 2);
  EXPECT_EQ(progress.flags(0).kind(), ProgressFlag::BELOW_CLINICAL_CUTOFF);
  EXPECT_EQ(progress.flags(0).value(), 23);
  EXPECT_EQ(progress.flags(0).threshold(), 25);
  EXPECT_EQ(progress.flags(1).kind(), ProgressFlag::NOT_ON_TRACK);
  EXPECT_EQ(progress.flags(1).subject(), "ORS");
  EXPECT_EQ(progress.flags(1).review(), "episodes/e1/reviews/r3");
  EXPECT_EQ(progress.flags(1).value(), 1);
  EXPECT_EQ(progress.flags(1).threshold(), 5);
  EXPECT_NE(progress.flags(1).source().find("collabcare default"), std::string::npos);
}

TEST(ProgressTest, NotOnTrackNeedsThreeReviews) {
  const Progress progress = Compute(OrsReviews({{5.5, 5.5, 5.5, 5.5}, {5, 5, 5.5, 5.5}}));
  EXPECT_TRUE(FlagsOf(progress, ProgressFlag::NOT_ON_TRACK).empty());
  ASSERT_EQ(FlagsOf(progress, ProgressFlag::BELOW_CLINICAL_CUTOFF).size(), 1u);
  EXPECT_EQ(FlagsOf(progress, ProgressFlag::BELOW_CLINICAL_CUTOFF)[0].value(), 21);
}

TEST(ProgressTest, OrsReliableDeterioration) {
  // 30 -> 24: a drop of 6 >= 5 into the clinical range. Crossing downward is not CROSSED.
  const Progress progress = Compute(OrsReviews({{7.5, 7.5, 7.5, 7.5}, {6, 6, 6, 6}}));
  ASSERT_EQ(progress.flags_size(), 2);
  EXPECT_EQ(progress.flags(0).kind(), ProgressFlag::RELIABLE_DETERIORATION);
  EXPECT_EQ(progress.flags(0).value(), -6);
  EXPECT_EQ(progress.flags(0).threshold(), 5);
  EXPECT_EQ(progress.flags(1).kind(), ProgressFlag::BELOW_CLINICAL_CUTOFF);
  EXPECT_EQ(progress.flags(1).value(), 24);
}

TEST(ProgressTest, SmallOrsChangeAboveCutoffRaisesNothing) {
  const Progress progress = Compute(OrsReviews({{7, 7, 7, 7}, {7.5, 7.5, 7.5, 7.5}}));
  EXPECT_EQ(progress.instruments_size(), 1);
  EXPECT_EQ(progress.flags_size(), 0);
}

TEST(ProgressTest, AdolescentCutoffIs28) {
  Review r1 = MakeReview("r1", 0);
  Score(&r1, kClient, "ORS-ADOLESCENT", {6.5, 6.5, 6.5, 7.5});  // 27: above 25, below 28
  const Progress progress = Compute({r1});
  const auto below = FlagsOf(progress, ProgressFlag::BELOW_CLINICAL_CUTOFF);
  ASSERT_EQ(below.size(), 1u);
  EXPECT_EQ(below[0].subject(), "ORS-ADOLESCENT");
  EXPECT_EQ(below[0].value(), 27);
  EXPECT_EQ(below[0].threshold(), 28);
}

TEST(ProgressTest, SrsBelow36RaisesAllianceAlert) {
  // SRS 38 then 35 (OpenFIT: red if SRS < 36, and red if it dropped >= 1 from the previous
  // session): one alert per condition, each with its threshold.
  Review r1 = MakeReview("r1", 0);
  Score(&r1, kClient, "SRS", {9.5, 9.5, 9.5, 9.5});
  Review r2 = MakeReview("r2", 7);
  Score(&r2, kClient, "SRS", {9, 9, 8.5, 8.5});
  const Progress progress = Compute({r1, r2});
  ASSERT_EQ(progress.instruments_size(), 1);
  EXPECT_EQ(Values(progress.instruments(0)), (std::vector<double>{38, 35}));
  const auto alerts = FlagsOf(progress, ProgressFlag::ALLIANCE_ALERT);
  ASSERT_EQ(progress.flags_size(), 2);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].threshold(), 1);  // the drop
  EXPECT_EQ(alerts[0].value(), 3);
  EXPECT_EQ(alerts[1].threshold(), 36);  // below the cut-off
  EXPECT_EQ(alerts[1].value(), 35);
  for (const ProgressFlag& alert : alerts) {
    EXPECT_EQ(alert.subject(), "SRS");
    EXPECT_EQ(alert.review(), "episodes/e1/reviews/r2");
    EXPECT_EQ(Raters(alert), std::vector<std::string>{kClient});
    EXPECT_EQ(alert.source(), DefaultThresholds().Find("SRS")->source);
  }
}

TEST(ProgressTest, SrsDropOfOneRaisesAllianceAlertAbove36) {
  // 39.5 then 38.4: still >= 36, but dropped 1.1 >= 1.
  Review r1 = MakeReview("r1", 0);
  Score(&r1, kClient, "SRS", {10, 10, 10, 9.5});
  Review r2 = MakeReview("r2", 7);
  Score(&r2, kClient, "SRS", {9.6, 9.6, 9.6, 9.6});
  const Progress progress = Compute({r1, r2});
  EXPECT_EQ(Values(progress.instruments(0)), (std::vector<double>{39.5, 38.4}));
  ASSERT_EQ(progress.flags_size(), 1);
  EXPECT_EQ(progress.flags(0).kind(), ProgressFlag::ALLIANCE_ALERT);
  EXPECT_EQ(progress.flags(0).value(), 1.1);
  EXPECT_EQ(progress.flags(0).threshold(), 1);
}

TEST(ProgressTest, SrsSmallDropOrExactly36RaisesNoAlert) {
  // 39.5 then 39.0 (drop 0.5), then 36.0 (not below 36, but a drop of 3 from 39).
  Review r1 = MakeReview("r1", 0);
  Score(&r1, kClient, "SRS", {10, 10, 10, 9.5});
  Review r2 = MakeReview("r2", 7);
  Score(&r2, kClient, "SRS", {10, 10, 10, 9});
  EXPECT_EQ(Compute({r1, r2}).flags_size(), 0);
  Review r3 = MakeReview("r3", 14);
  Score(&r3, kClient, "SRS", {9, 9, 9, 9});
  const Progress progress = Compute({r1, r2, r3});
  ASSERT_EQ(progress.flags_size(), 1);
  EXPECT_EQ(progress.flags(0).threshold(), 1);
  EXPECT_EQ(progress.flags(0).value(), 3);
}

TEST(ProgressTest, GboIsTheMeanOfThreeGoals) {
  // Mean of (2, 3, 4) = 3.0, then mean of (5, 6, 7.3) = 6.1: a change of 3.1 >= 2.45.
  Review r1 = MakeReview("r1", 0);
  Score(&r1, kClient, "GBO", {2, 3, 4});
  Review r2 = MakeReview("r2", 28, /*signed_review=*/false);
  Score(&r2, kClient, "GBO", {5, 6, 7.3});
  const Progress progress = Compute({r1, r2});
  ASSERT_EQ(progress.instruments_size(), 1);
  EXPECT_EQ(Values(progress.instruments(0)), (std::vector<double>{3.0, 6.1}));
  EXPECT_TRUE(progress.instruments(0).points(0).signed_());
  EXPECT_FALSE(progress.instruments(0).points(1).signed_());
  ASSERT_EQ(progress.flags_size(), 1);
  EXPECT_EQ(progress.flags(0).kind(), ProgressFlag::RELIABLE_IMPROVEMENT);
  EXPECT_EQ(progress.flags(0).subject(), "GBO");
  EXPECT_EQ(progress.flags(0).value(), 3.1);
  EXPECT_EQ(progress.flags(0).threshold(), 2.45);
}

TEST(ProgressTest, GoalDivergenceBetweenClientAndTherapist) {
  // The client rates the goal 8, the therapist 4: 4 points apart >= 3.
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kClient, kGoal1, 8);
  Rate(&r1, kTherapist, kGoal1, 4);
  const Progress progress = Compute({r1});
  ASSERT_EQ(progress.goals_size(), 2);
  ASSERT_EQ(progress.flags_size(), 1);
  const ProgressFlag& flag = progress.flags(0);
  EXPECT_EQ(flag.kind(), ProgressFlag::RATER_DIVERGENCE);
  EXPECT_EQ(flag.subject(), kGoal1);
  EXPECT_EQ(Raters(flag), (std::vector<std::string>{kClient, kTherapist}));
  EXPECT_EQ(flag.review(), "episodes/e1/reviews/r1");
  EXPECT_EQ(flag.value(), 4);
  EXPECT_EQ(flag.threshold(), 3);
  EXPECT_EQ(flag.source(), DefaultThresholds().goal_divergence_source);
}

TEST(ProgressTest, NoDivergenceTwoPointsApart) {
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kClient, kGoal1, 6);
  Rate(&r1, kTherapist, kGoal1, 4);
  EXPECT_EQ(Compute({r1}).flags_size(), 0);
}

TEST(ProgressTest, DivergenceAtExactlyThreeDespiteFloatDrift) {
  // 8.2 - 5.2 is 2.999999999999999 in doubles; one-decimal scores are compared exactly.
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kClient, kGoal1, 8.2);
  Rate(&r1, kTherapist, kGoal1, 5.2);
  const auto flags = FlagsOf(Compute({r1}), ProgressFlag::RATER_DIVERGENCE);
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].value(), 3);
}

TEST(ProgressTest, DivergenceUsesLatestReviewWhereBothRated) {
  // r1: 8 vs 4 (diverged); r2: 6 vs 5 (close); r3: only the client rated. The latest review in
  // which both rated is r2, so there is no divergence now.
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kClient, kGoal1, 8);
  Rate(&r1, kTherapist, kGoal1, 4);
  Review r2 = MakeReview("r2", 7);
  Rate(&r2, kClient, kGoal1, 6);
  Rate(&r2, kTherapist, kGoal1, 5);
  Review r3 = MakeReview("r3", 14);
  Rate(&r3, kClient, kGoal1, 9);
  EXPECT_TRUE(FlagsOf(Compute({r1, r2, r3}), ProgressFlag::RATER_DIVERGENCE).empty());

  // And the other way round: close in r1, apart in r2, only one rater in r3: flagged in r2.
  Review s1 = MakeReview("s1", 0);
  Rate(&s1, kClient, kGoal1, 5);
  Rate(&s1, kTherapist, kGoal1, 5);
  Review s2 = MakeReview("s2", 7);
  Rate(&s2, kClient, kGoal1, 2);
  Rate(&s2, kTherapist, kGoal1, 6);
  Review s3 = MakeReview("s3", 14);
  Rate(&s3, kTherapist, kGoal1, 6);
  const auto flags = FlagsOf(Compute({s1, s2, s3}), ProgressFlag::RATER_DIVERGENCE);
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].review(), "episodes/e1/reviews/s2");
  EXPECT_EQ(flags[0].value(), 4);
}

TEST(ProgressTest, GoalReliableChangePerRater) {
  // The client's rating goes 3 -> 6 (3 >= 2.45); the therapist's 5 -> 6 (1, not reliable).
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kClient, kGoal1, 3);
  Rate(&r1, kTherapist, kGoal1, 5);
  Review r2 = MakeReview("r2", 7);
  Rate(&r2, kClient, kGoal1, 6);
  Rate(&r2, kTherapist, kGoal1, 6);
  const Progress progress = Compute({r1, r2});
  ASSERT_EQ(progress.flags_size(), 1);
  EXPECT_EQ(progress.flags(0).kind(), ProgressFlag::RELIABLE_IMPROVEMENT);
  EXPECT_EQ(progress.flags(0).subject(), kGoal1);
  EXPECT_EQ(Raters(progress.flags(0)), std::vector<std::string>{kClient});
  EXPECT_EQ(progress.flags(0).value(), 3);
  EXPECT_EQ(progress.flags(0).threshold(), 2.45);
  EXPECT_EQ(progress.flags(0).source(), DefaultThresholds().goal_reliable_change_source);
}

TEST(ProgressTest, FamilyMembersKeepSeparateSeriesNeverAveraged) {
  // The client: 2 -> 8; the mother: 6 -> 3. Each keeps their own series and flags; an average
  // (4, 5.5) appears nowhere.
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kMother, kGoal1, 6);
  Rate(&r1, kClient, kGoal1, 2);
  Score(&r1, kMother, "ORS", {7, 7, 7, 7});
  Score(&r1, kClient, "ORS", {4, 4, 4, 4});
  Review r2 = MakeReview("r2", 7);
  Rate(&r2, kClient, kGoal1, 8);
  Rate(&r2, kMother, kGoal1, 3);
  Score(&r2, kClient, "ORS", {5, 5, 5, 5});
  Score(&r2, kMother, "ORS", {6.5, 6.5, 6.5, 6.5});
  const Progress progress = Compute({r1, r2});

  ASSERT_EQ(progress.goals_size(), 2);
  EXPECT_EQ(progress.goals(0).goal(), kGoal1);
  EXPECT_EQ(progress.goals(0).rater(), kClient);
  EXPECT_EQ(Values(progress.goals(0)), (std::vector<double>{2, 8}));
  EXPECT_EQ(progress.goals(1).goal(), kGoal1);
  EXPECT_EQ(progress.goals(1).rater(), kMother);
  EXPECT_EQ(Values(progress.goals(1)), (std::vector<double>{6, 3}));

  ASSERT_EQ(progress.instruments_size(), 2);
  EXPECT_EQ(progress.instruments(0).rater(), kClient);
  EXPECT_EQ(Values(progress.instruments(0)), (std::vector<double>{16, 20}));
  EXPECT_EQ(progress.instruments(1).rater(), kMother);
  EXPECT_EQ(Values(progress.instruments(1)), (std::vector<double>{28, 26}));

  const auto improvement = FlagsOf(progress, ProgressFlag::RELIABLE_IMPROVEMENT);
  ASSERT_EQ(improvement.size(), 1u);
  EXPECT_EQ(Raters(improvement[0]), std::vector<std::string>{kClient});
  EXPECT_EQ(improvement[0].value(), 6);
  const auto deterioration = FlagsOf(progress, ProgressFlag::RELIABLE_DETERIORATION);
  ASSERT_EQ(deterioration.size(), 1u);
  EXPECT_EQ(Raters(deterioration[0]), std::vector<std::string>{kMother});
  EXPECT_EQ(deterioration[0].value(), -3);
  const auto divergence = FlagsOf(progress, ProgressFlag::RATER_DIVERGENCE);
  ASSERT_EQ(divergence.size(), 1u);
  EXPECT_EQ(Raters(divergence[0]), (std::vector<std::string>{kClient, kMother}));
  EXPECT_EQ(divergence[0].value(), 5);
  // Only the client's ORS is below 25; the mother's 26 is not.
  const auto below = FlagsOf(progress, ProgressFlag::BELOW_CLINICAL_CUTOFF);
  ASSERT_EQ(below.size(), 1u);
  EXPECT_EQ(Raters(below[0]), std::vector<std::string>{kClient});
  EXPECT_EQ(below[0].value(), 20);
}

TEST(ProgressTest, EveryPairOfRatersIsCompared) {
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kTherapist, kGoal1, 5);
  Rate(&r1, kMother, kGoal1, 9);
  Rate(&r1, kClient, kGoal1, 1);
  const auto flags = FlagsOf(Compute({r1}), ProgressFlag::RATER_DIVERGENCE);
  ASSERT_EQ(flags.size(), 3u);
  EXPECT_EQ(Raters(flags[0]), (std::vector<std::string>{kClient, kTherapist}));
  EXPECT_EQ(flags[0].value(), 4);
  EXPECT_EQ(Raters(flags[1]), (std::vector<std::string>{kClient, kMother}));
  EXPECT_EQ(flags[1].value(), 8);
  EXPECT_EQ(Raters(flags[2]), (std::vector<std::string>{kTherapist, kMother}));
  EXPECT_EQ(flags[2].value(), 4);
}

TEST(ProgressTest, RatingsOnHiddenGoalsAreNotReported) {
  // g2 is not among the caller's visible goals: no series and no flag may mention it.
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kClient, kGoal2, 9);
  Rate(&r1, kTherapist, kGoal2, 1);
  Rate(&r1, kClient, kGoal1, 5);
  Review r2 = MakeReview("r2", 7);
  Rate(&r2, kClient, kGoal2, 1);
  Rate(&r2, kClient, kGoal1, 5.5);
  const Progress progress = Compute({r1, r2});
  ASSERT_EQ(progress.goals_size(), 1);
  EXPECT_EQ(progress.goals(0).goal(), kGoal1);
  EXPECT_EQ(progress.flags_size(), 0);
  for (const ProgressFlag& flag : progress.flags()) EXPECT_NE(flag.subject(), kGoal2);

  // With both goals visible, g2 has its series and flags.
  const Progress all = Compute({r1, r2}, {MakeGoal(kGoal1, kClient), MakeGoal(kGoal2, kClient)});
  EXPECT_EQ(all.goals_size(), 3);
  EXPECT_EQ(FlagsOf(all, ProgressFlag::RATER_DIVERGENCE).size(), 1u);
  EXPECT_EQ(FlagsOf(all, ProgressFlag::RELIABLE_DETERIORATION).size(), 1u);
}

TEST(ProgressTest, UnknownInstrumentsAndInvalidItemsAreSkipped) {
  Review r1 = MakeReview("r1", 0);
  Score(&r1, kClient, "PHQ-9", {1, 2, 3});
  Score(&r1, kClient, "ORS", {5, 5, 5});           // 3 items
  Score(&r1, kTherapist, "ORS", {5, 5, 5, 5.55});  // two decimals
  r1.mutable_instrument_scores(1)->set_total(15);  // a stored total is not trusted
  Score(&r1, kMother, "ORS", {6, 6, 6, 6});
  const Progress progress = Compute({r1});
  ASSERT_EQ(progress.instruments_size(), 1);
  EXPECT_EQ(progress.instruments(0).rater(), kMother);
  EXPECT_EQ(Values(progress.instruments(0)), (std::vector<double>{24}));
}

TEST(ProgressTest, OutputIsSortedWhateverTheInputOrder) {
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kTherapist, kGoal2, 2);
  Rate(&r1, kClient, kGoal2, 9);
  Rate(&r1, kTherapist, kGoal1, 1);
  Rate(&r1, kClient, kGoal1, 8);
  Score(&r1, kMother, "SRS", {8, 8, 8, 8});
  Score(&r1, kClient, "ORS", {5, 5, 5, 5});
  const Progress progress = Compute({r1}, {MakeGoal(kGoal2, kClient), MakeGoal(kGoal1, kClient)});
  ASSERT_EQ(progress.goals_size(), 4);
  EXPECT_EQ(progress.goals(0).goal(), kGoal1);
  EXPECT_EQ(progress.goals(0).rater(), kClient);
  EXPECT_EQ(progress.goals(1).goal(), kGoal1);
  EXPECT_EQ(progress.goals(1).rater(), kTherapist);
  EXPECT_EQ(progress.goals(2).goal(), kGoal2);
  EXPECT_EQ(progress.goals(3).goal(), kGoal2);
  ASSERT_EQ(progress.instruments_size(), 2);
  EXPECT_EQ(progress.instruments(0).instrument(), "ORS");
  EXPECT_EQ(progress.instruments(1).instrument(), "SRS");

  ASSERT_EQ(progress.flags_size(), 4);
  EXPECT_EQ(progress.flags(0).subject(), "ORS");
  EXPECT_EQ(progress.flags(0).kind(), ProgressFlag::BELOW_CLINICAL_CUTOFF);
  EXPECT_EQ(progress.flags(1).subject(), "SRS");
  EXPECT_EQ(progress.flags(1).kind(), ProgressFlag::ALLIANCE_ALERT);
  EXPECT_EQ(progress.flags(2).subject(), kGoal1);
  EXPECT_EQ(progress.flags(2).kind(), ProgressFlag::RATER_DIVERGENCE);
  EXPECT_EQ(progress.flags(3).subject(), kGoal2);
  EXPECT_EQ(progress.flags(3).value(), 7);
}

TEST(ProgressTest, ASecondEntryInOneReviewReplacesTheFirst) {
  Review r1 = MakeReview("r1", 0);
  Rate(&r1, kClient, kGoal1, 2);
  Rate(&r1, kClient, kGoal1, 4);
  const Progress progress = Compute({r1});
  ASSERT_EQ(progress.goals_size(), 1);
  EXPECT_EQ(Values(progress.goals(0)), (std::vector<double>{4}));
}

TEST(ProgressTest, NoReviewsNoProgress) {
  const Progress progress = Compute({});
  EXPECT_EQ(progress.episode(), "episodes/e1");
  EXPECT_EQ(progress.goals_size(), 0);
  EXPECT_EQ(progress.instruments_size(), 0);
  EXPECT_EQ(progress.flags_size(), 0);
}

TEST(ProgressTest, ThresholdsComeFromTheTableGiven) {
  // An operator's table with a reliable change of 6 (used by some PCOMS material): 18 -> 23.5
  // is then not reliable, and no threshold is hard-wired in ComputeProgress.
  ThresholdTable table = DefaultThresholds();
  for (InstrumentDef& def : table.instruments) {
    if (def.id == "ORS") def.reliable_change = 6;
  }
  const std::vector<Review> reviews = OrsReviews({{4.5, 4.5, 4.5, 4.5}, {6, 6, 6, 5.5}});
  const Progress with_default = Compute(reviews);
  EXPECT_EQ(FlagsOf(with_default, ProgressFlag::RELIABLE_IMPROVEMENT).size(), 1u);
  const Progress with_six = ComputeProgress(MakeEpisode(), reviews, VisibleGoals(), table);
  EXPECT_TRUE(FlagsOf(with_six, ProgressFlag::RELIABLE_IMPROVEMENT).empty());
}

}  // namespace
}  // namespace collabcare::domain
