// Tests of the review rules (reviews.h): each participant rates, reflects and signs for
// themselves; signatures bind to the SHA-256 of the canonical content; a change clears them;
// the review is SIGNED once every client and family member and a therapist signed.
#include "plugin/domain/reviews.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "collabcare/v1/resources.pb.h"
#include "gtest/gtest.h"
#include "plugin/domain/thresholds.h"
#include "plugin/domain/timestamps.h"
#include "tests/domain/rules_test_util.h"

namespace collabcare::domain {
namespace {

using ::collabcare::v1::Episode;
using ::collabcare::v1::Goal;
using ::collabcare::v1::InstrumentScore;
using ::collabcare::v1::NextStep;
using ::collabcare::v1::Participant;
using ::collabcare::v1::Rating;
using ::collabcare::v1::Reflection;
using ::collabcare::v1::Review;
using ::collabcare::v1::Signature;
using testing::FamilyEpisode;
using testing::HasCode;
using testing::IsFieldError;
using testing::kClient;
using testing::kFamily;
using testing::kOtherClient;
using testing::kOtherFamily;
using testing::kOtherTherapist;
using testing::kStranger;
using testing::kTherapist;
using testing::MakeEpisode;
using testing::T0;
using testing::T1;
using testing::T2;

constexpr char kGoal1[] = "episodes/e1/goals/g1";   // ACTIVE, EPISODE, kClient
constexpr char kHidden[] = "episodes/e1/goals/g2";  // ACTIVE, OWNER_AND_THERAPISTS
constexpr char kProposed[] = "episodes/e1/goals/g3";
constexpr char kPaused[] = "episodes/e1/goals/g4";
constexpr char kGoal5[] = "episodes/e1/goals/g5";  // ACTIVE, EPISODE, kFamily
constexpr char kReviewName[] = "episodes/e1/reviews/r1";

Goal MakeGoal(const std::string& name, const std::string& owner, Goal::Status status,
              Goal::Visibility visibility = Goal::EPISODE) {
  Goal goal;
  goal.set_name(name);
  goal.set_owner(owner);
  goal.set_words("words of " + owner);
  goal.set_status(status);
  goal.set_visibility(visibility);
  return goal;
}

std::vector<Goal> EpisodeGoals() {
  return {MakeGoal(kGoal1, kClient, Goal::ACTIVE),
          MakeGoal(kHidden, kClient, Goal::ACTIVE, Goal::OWNER_AND_THERAPISTS),
          MakeGoal(kProposed, kFamily, Goal::PROPOSED),
          MakeGoal(kPaused, kOtherClient, Goal::PAUSED), MakeGoal(kGoal5, kFamily, Goal::ACTIVE)};
}

// An OPEN review of kGoal1 and kGoal5, named as the service names it.
Review OpenReview() {
  Review review;
  review.set_name(kReviewName);
  review.add_goals(kGoal1);
  review.add_goals(kGoal5);
  review.set_status(Review::OPEN);
  review.set_content_sha256(ContentSha256(review));
  review.mutable_meta()->set_revision(1);
  return review;
}

Rating MakeRating(const std::string& goal, double score, const std::string& rater = "") {
  Rating rating;
  rating.set_rater(rater);
  rating.set_goal(goal);
  rating.set_score(score);
  return rating;
}

InstrumentScore MakeScore(const std::string& instrument, const std::vector<double>& items,
                          const std::string& rater = "") {
  InstrumentScore score;
  score.set_rater(rater);
  score.set_instrument(instrument);
  for (double item : items) score.add_items(item);
  return score;
}

absl::StatusOr<Review> Rate(const Review& review, const std::string& caller,
                            const std::vector<Rating>& ratings,
                            const std::vector<InstrumentScore>& scores = {},
                            const Episode& episode = FamilyEpisode()) {
  return SubmitRatings(episode, caller, review, ratings, scores, DefaultThresholds());
}

// Signs `review` in turn by each of `signers`; fails the test on an error.
Review SignedBy(const Episode& episode, Review review, const std::vector<std::string>& signers) {
  for (const std::string& signer : signers) {
    absl::StatusOr<Review> next = SignReview(episode, signer, review, "", T1());
    EXPECT_TRUE(next.ok()) << signer << ": " << next.status();
    if (next.ok()) review = *next;
  }
  return review;
}

// Every client and family member of FamilyEpisode() and one therapist.
Review FullySigned() {
  return SignedBy(FamilyEpisode(), OpenReview(),
                  {kClient, kFamily, kOtherClient, kOtherFamily, kTherapist});
}

// --- Starting a review ------------------------------------------------------------------------

TEST(ReviewRulesTest, StartDefaultsToActiveGoalsVisibleToEveryone) {
  absl::StatusOr<Review> review = NewReview(FamilyEpisode(), kTherapist, Review(), EpisodeGoals());
  ASSERT_TRUE(review.ok()) << review.status();
  EXPECT_EQ(std::vector<std::string>(review->goals().begin(), review->goals().end()),
            (std::vector<std::string>{kGoal1, kGoal5}));
  EXPECT_EQ(review->status(), Review::OPEN);
  EXPECT_EQ(review->signatures_size(), 0);
  EXPECT_EQ(review->content_sha256(), ContentSha256(*review));
}

TEST(ReviewRulesTest, StartWithChosenGoals) {
  Review input;
  input.add_goals(kPaused);
  input.add_goals(kGoal1);
  absl::StatusOr<Review> review = NewReview(FamilyEpisode(), kClient, input, EpisodeGoals());
  ASSERT_TRUE(review.ok()) << review.status();
  EXPECT_EQ(std::vector<std::string>(review->goals().begin(), review->goals().end()),
            (std::vector<std::string>{kPaused, kGoal1}));
}

TEST(ReviewRulesTest, ChosenGoalsValidated) {
  for (const std::string& bad :
       std::vector<std::string>{kHidden, kProposed, "episodes/e1/goals/nope"}) {
    SCOPED_TRACE(bad);
    Review input;
    input.add_goals(bad);
    EXPECT_TRUE(IsFieldError(NewReview(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                             "review.goals[0]"));
  }
  Review twice;
  twice.add_goals(kGoal1);
  twice.add_goals(kGoal5);
  twice.add_goals(kGoal1);
  EXPECT_TRUE(IsFieldError(NewReview(FamilyEpisode(), kTherapist, twice, EpisodeGoals()),
                           "review.goals[2]"));
  Review many;
  for (int i = 0; i < 65; ++i) many.add_goals(kGoal1);
  EXPECT_TRUE(
      IsFieldError(NewReview(FamilyEpisode(), kTherapist, many, EpisodeGoals()), "review.goals"));
}

TEST(ReviewRulesTest, TherapistLedEpisodeClientMayNotStartReview) {
  const Episode episode = FamilyEpisode(Episode::THERAPIST_LED);
  for (const std::string& caller : std::vector<std::string>{kClient, kFamily}) {
    SCOPED_TRACE(caller);
    EXPECT_TRUE(HasCode(NewReview(episode, caller, Review(), EpisodeGoals()),
                        absl::StatusCode::kPermissionDenied));
  }
  EXPECT_TRUE(NewReview(episode, kTherapist, Review(), EpisodeGoals()).ok());
}

TEST(ReviewRulesTest, ClientLedEpisodeClientMayStartReview) {
  for (const std::string& caller : std::vector<std::string>{kClient, kFamily, kTherapist}) {
    absl::StatusOr<Review> review = NewReview(FamilyEpisode(), caller, Review(), EpisodeGoals());
    EXPECT_TRUE(review.ok()) << caller << ": " << review.status();
  }
}

TEST(ReviewRulesTest, NonParticipantStartingReviewGetsNotFound) {
  for (Episode::Format format : {Episode::CLIENT_LED, Episode::THERAPIST_LED}) {
    EXPECT_TRUE(HasCode(NewReview(FamilyEpisode(format), kStranger, Review(), EpisodeGoals()),
                        absl::StatusCode::kNotFound))
        << Episode::Format_Name(format);
  }
}

// --- Ratings ----------------------------------------------------------------------------------

TEST(ReviewRulesTest, ParticipantRatesForThemselves) {
  absl::StatusOr<Review> next = Rate(OpenReview(), kClient, {MakeRating(kGoal1, 6)});
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->ratings_size(), 1);
  EXPECT_EQ(next->ratings(0).rater(), kClient);  // defaults to the caller
  EXPECT_EQ(next->ratings(0).goal(), kGoal1);
  EXPECT_EQ(next->ratings(0).score(), 6);
  EXPECT_EQ(next->content_sha256(), ContentSha256(*next));
  EXPECT_NE(next->content_sha256(), OpenReview().content_sha256());

  // Naming oneself as rater is the same, and a therapist co-rates.
  absl::StatusOr<Review> co = Rate(*next, kTherapist, {MakeRating(kGoal1, 4, kTherapist)});
  ASSERT_TRUE(co.ok()) << co.status();
  EXPECT_EQ(co->ratings_size(), 2);
}

TEST(ReviewRulesTest, RatingForSomeoneElseRefused) {
  EXPECT_TRUE(HasCode(Rate(OpenReview(), kClient, {MakeRating(kGoal1, 6, kFamily)}),
                      absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(HasCode(Rate(OpenReview(), kTherapist, {MakeRating(kGoal1, 6, kClient)}),
                      absl::StatusCode::kPermissionDenied));
  // One foreign rating among own ones refuses the whole call.
  EXPECT_TRUE(HasCode(
      Rate(OpenReview(), kClient, {MakeRating(kGoal1, 6), MakeRating(kGoal5, 6, kOtherClient)}),
      absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(HasCode(Rate(OpenReview(), kClient, {}, {MakeScore("ORS", {5, 5, 5, 5}, kFamily)}),
                      absl::StatusCode::kPermissionDenied));
}

TEST(ReviewRulesTest, NonParticipantRatingGetsNotFound) {
  EXPECT_TRUE(
      HasCode(Rate(OpenReview(), kStranger, {MakeRating(kGoal1, 6)}), absl::StatusCode::kNotFound));
}

TEST(ReviewRulesTest, NewRatingReplacesOwnEarlierOne) {
  absl::StatusOr<Review> first = Rate(OpenReview(), kClient, {MakeRating(kGoal1, 3)});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Review> theirs = Rate(*first, kFamily, {MakeRating(kGoal1, 8)});
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  absl::StatusOr<Review> second = Rate(*theirs, kClient, {MakeRating(kGoal1, 5)});
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->ratings_size(), 2);
  for (const Rating& r : second->ratings()) {
    if (r.rater() == kClient) {
      EXPECT_EQ(r.score(), 5);
    }
    if (r.rater() == kFamily) {
      EXPECT_EQ(r.score(), 8);  // never averaged, never overwritten
    }
  }
}

TEST(ReviewRulesTest, ScoresInRangeWithOneDecimalAccepted) {
  for (double score : {0.0, 10.0, 7.3, 0.1, 9.9}) {
    absl::StatusOr<Review> next = Rate(OpenReview(), kClient, {MakeRating(kGoal1, score)});
    ASSERT_TRUE(next.ok()) << score << ": " << next.status();
    EXPECT_DOUBLE_EQ(next->ratings(0).score(), score);
  }
}

TEST(ReviewRulesTest, ScoresOutOfRangeOrTooPreciseRefused) {
  for (double score :
       {-0.1, 10.1, 7.25, 0.05, std::nan(""), std::numeric_limits<double>::infinity(), -1.0}) {
    SCOPED_TRACE(score);
    EXPECT_TRUE(
        IsFieldError(Rate(OpenReview(), kClient, {MakeRating(kGoal1, score)}), "ratings[0].score"));
  }
  EXPECT_TRUE(
      IsFieldError(Rate(OpenReview(), kClient, {MakeRating(kGoal1, 5), MakeRating(kGoal5, 11)}),
                   "ratings[1].score"));
}

TEST(ReviewRulesTest, RatingsValidated) {
  EXPECT_TRUE(IsFieldError(Rate(OpenReview(), kClient, {}), "ratings"));
  EXPECT_TRUE(
      IsFieldError(Rate(OpenReview(), kClient, {MakeRating(kHidden, 5)}), "ratings[0].goal"));
  EXPECT_TRUE(
      IsFieldError(Rate(OpenReview(), kClient, {MakeRating(kGoal1, 5), MakeRating(kGoal1, 6)}),
                   "ratings[1].goal"));
  EXPECT_TRUE(IsFieldError(Rate(OpenReview(), kClient, {MakeRating(kGoal1, 5, "Patient/a b")}),
                           "ratings[0].rater"));
  std::vector<Rating> many(65, MakeRating(kGoal1, 5));
  EXPECT_TRUE(IsFieldError(Rate(OpenReview(), kClient, many), "ratings"));
}

TEST(ReviewRulesTest, InstrumentScoresScoredAndValidated) {
  absl::StatusOr<Review> next =
      Rate(OpenReview(), kClient, {}, {MakeScore("ORS", {5, 6.5, 7, 8.1})});
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->instrument_scores_size(), 1);
  EXPECT_EQ(next->instrument_scores(0).rater(), kClient);
  EXPECT_EQ(next->instrument_scores(0).instrument(), "ORS");
  EXPECT_DOUBLE_EQ(next->instrument_scores(0).total(), 26.6);

  EXPECT_TRUE(IsFieldError(Rate(OpenReview(), kClient, {}, {MakeScore("XYZ", {1})}),
                           "instrument_scores[0].instrument"));
  EXPECT_TRUE(IsFieldError(Rate(OpenReview(), kClient, {},
                                {MakeScore("ORS", {5, 5, 5, 5}), MakeScore("ORS", {5, 5, 5, 5})}),
                           "instrument_scores[1].instrument"));
  EXPECT_TRUE(IsFieldError(Rate(OpenReview(), kClient, {}, {MakeScore("ORS", {5, 5, 5})}),
                           "instrument_scores[0].items"));
  EXPECT_TRUE(IsFieldError(Rate(OpenReview(), kClient, {}, {MakeScore("ORS", {5, 5, 10.5, 5})}),
                           "instrument_scores[0].items[2]"));
  EXPECT_TRUE(
      IsFieldError(Rate(OpenReview(), kClient, {}, {MakeScore("ORS", {5, 5, 5, 5}, "Foo/1")}),
                   "instrument_scores[0].rater"));
}

TEST(ReviewRulesTest, NewInstrumentScoreReplacesOwnEarlierOne) {
  absl::StatusOr<Review> first = Rate(OpenReview(), kClient, {}, {MakeScore("SRS", {9, 9, 9, 9})});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Review> second = Rate(*first, kClient, {}, {MakeScore("SRS", {8, 8, 8, 8})});
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->instrument_scores_size(), 1);
  EXPECT_DOUBLE_EQ(second->instrument_scores(0).total(), 32);
}

// --- Reflections and next steps ---------------------------------------------------------------

TEST(ReviewRulesTest, ReflectionReplacesOwnEarlierOne) {
  absl::StatusOr<Review> first = AddReflection(FamilyEpisode(), kClient, OpenReview(), "Better");
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Review> theirs = AddReflection(FamilyEpisode(), kFamily, *first, "Calmer home");
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  absl::StatusOr<Review> second =
      AddReflection(FamilyEpisode(), kClient, *theirs, "Better, mostly at night");
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->reflections_size(), 2);
  for (const Reflection& r : second->reflections()) {
    if (r.participant() == kClient) {
      EXPECT_EQ(r.words(), "Better, mostly at night");
    }
    if (r.participant() == kFamily) {
      EXPECT_EQ(r.words(), "Calmer home");
    }
  }
  EXPECT_EQ(second->content_sha256(), ContentSha256(*second));
}

TEST(ReviewRulesTest, ReflectionValidated) {
  EXPECT_TRUE(IsFieldError(AddReflection(FamilyEpisode(), kClient, OpenReview(), ""), "words"));
  EXPECT_TRUE(IsFieldError(
      AddReflection(FamilyEpisode(), kClient, OpenReview(), std::string(8193, 'w')), "words"));
  EXPECT_TRUE(HasCode(AddReflection(FamilyEpisode(), kStranger, OpenReview(), "Hello"),
                      absl::StatusCode::kNotFound));
}

TEST(ReviewRulesTest, NextStepOwnerDefaultsToCaller) {
  NextStep step;
  step.set_text("Walk the dog together on Sunday");
  step.set_due_date("2026-02-01");
  step.set_added_by(kTherapist);  // output only
  absl::StatusOr<Review> next = AddNextStep(FamilyEpisode(), kFamily, OpenReview(), step);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->next_steps_size(), 1);
  EXPECT_EQ(next->next_steps(0).owner(), kFamily);
  EXPECT_EQ(next->next_steps(0).added_by(), kFamily);
  EXPECT_EQ(next->next_steps(0).due_date(), "2026-02-01");

  step.set_owner(kClient);
  step.set_due_date("2024-02-29");
  absl::StatusOr<Review> more = AddNextStep(FamilyEpisode(), kTherapist, *next, step);
  ASSERT_TRUE(more.ok()) << more.status();
  ASSERT_EQ(more->next_steps_size(), 2);
  EXPECT_EQ(more->next_steps(1).owner(), kClient);
  EXPECT_EQ(more->next_steps(1).added_by(), kTherapist);
}

TEST(ReviewRulesTest, NextStepValidated) {
  NextStep step;
  step.set_text("Walk");
  step.set_due_date("2026-02-29");
  EXPECT_TRUE(IsFieldError(AddNextStep(FamilyEpisode(), kClient, OpenReview(), step),
                           "next_step.due_date"));
  step.set_due_date("01.02.2026");
  EXPECT_TRUE(IsFieldError(AddNextStep(FamilyEpisode(), kClient, OpenReview(), step),
                           "next_step.due_date"));
  step.set_due_date("");
  step.set_owner(kStranger);
  EXPECT_TRUE(
      IsFieldError(AddNextStep(FamilyEpisode(), kClient, OpenReview(), step), "next_step.owner"));
  step.set_owner("Patient/");
  EXPECT_TRUE(
      IsFieldError(AddNextStep(FamilyEpisode(), kClient, OpenReview(), step), "next_step.owner"));
  NextStep no_text;
  EXPECT_TRUE(
      IsFieldError(AddNextStep(FamilyEpisode(), kClient, OpenReview(), no_text), "next_step.text"));
}

// --- Signing ----------------------------------------------------------------------------------

TEST(ReviewRulesTest, SignatureBindsToContentHash) {
  absl::StatusOr<Review> rated = Rate(OpenReview(), kClient, {MakeRating(kGoal1, 7.3)});
  ASSERT_TRUE(rated.ok()) << rated.status();
  absl::StatusOr<Review> signed_once = SignReview(FamilyEpisode(), kClient, *rated, "", T1());
  ASSERT_TRUE(signed_once.ok()) << signed_once.status();
  ASSERT_EQ(signed_once->signatures_size(), 1);
  const Signature& sig = signed_once->signatures(0);
  EXPECT_EQ(sig.participant(), kClient);
  EXPECT_EQ(FromTimestamp(sig.sign_time()), T1());
  EXPECT_EQ(sig.content_sha256(), ContentSha256(*rated));
  EXPECT_EQ(sig.content_sha256(), ContentSha256(*signed_once));  // signing changes no content
  EXPECT_EQ(signed_once->content_sha256(), sig.content_sha256());
  EXPECT_EQ(sig.content_sha256().size(), 64u);
  EXPECT_EQ(sig.dissent(), "");
  EXPECT_EQ(signed_once->status(), Review::OPEN);
}

TEST(ReviewRulesTest, SignedWhenEveryClientSideAndOneTherapistSigned) {
  Review review = OpenReview();
  const std::vector<std::string> order = {kClient, kFamily, kOtherClient, kOtherFamily};
  for (const std::string& signer : order) {
    review = SignedBy(FamilyEpisode(), review, {signer});
    EXPECT_EQ(review.status(), Review::OPEN) << "after " << signer;
  }
  review = SignedBy(FamilyEpisode(), review, {kOtherTherapist});
  EXPECT_EQ(review.status(), Review::SIGNED);
  EXPECT_EQ(review.signatures_size(), 5);
}

TEST(ReviewRulesTest, TherapistsAloneDoNotSign) {
  const Review review = SignedBy(FamilyEpisode(), OpenReview(),
                                 {kTherapist, kOtherTherapist, kClient, kFamily, kOtherClient});
  EXPECT_EQ(review.status(), Review::OPEN);  // kOtherFamily has not signed
}

TEST(ReviewRulesTest, FamilyEpisodeNeedsEveryFamilyMember) {
  const Episode family = MakeEpisode({{kFamily, Participant::FAMILY_MEMBER},
                                      {kOtherFamily, Participant::FAMILY_MEMBER},
                                      {kTherapist, Participant::THERAPIST}});
  Review review = SignedBy(family, OpenReview(), {kTherapist, kFamily});
  EXPECT_EQ(review.signatures_size(), 2);
  EXPECT_EQ(review.status(), Review::OPEN);  // 2 of 3
  review = SignedBy(family, review, {kOtherFamily});
  EXPECT_EQ(review.status(), Review::SIGNED);
}

TEST(ReviewRulesTest, ChangeAfterSignatureClearsSignatures) {
  Review review = SignedBy(FamilyEpisode(), OpenReview(), {kClient, kTherapist});
  ASSERT_EQ(review.signatures_size(), 2);
  const std::string before = review.content_sha256();

  absl::StatusOr<Review> reflected =
      AddReflection(FamilyEpisode(), kFamily, review, "I see it differently");
  ASSERT_TRUE(reflected.ok()) << reflected.status();
  EXPECT_EQ(reflected->signatures_size(), 0);
  EXPECT_EQ(reflected->status(), Review::OPEN);
  EXPECT_NE(reflected->content_sha256(), before);
  EXPECT_EQ(reflected->content_sha256(), ContentSha256(*reflected));

  absl::StatusOr<Review> rated = Rate(review, kFamily, {MakeRating(kGoal5, 2)});
  ASSERT_TRUE(rated.ok()) << rated.status();
  EXPECT_EQ(rated->signatures_size(), 0);
  EXPECT_NE(rated->content_sha256(), before);

  NextStep step;
  step.set_text("Talk about it next time");
  absl::StatusOr<Review> stepped = AddNextStep(FamilyEpisode(), kFamily, review, step);
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  EXPECT_EQ(stepped->signatures_size(), 0);
  EXPECT_NE(stepped->content_sha256(), before);
}

TEST(ReviewRulesTest, SignedReviewIsImmutable) {
  const Review review = FullySigned();
  ASSERT_EQ(review.status(), Review::SIGNED);
  const absl::StatusCode kSigned = absl::StatusCode::kFailedPrecondition;
  EXPECT_TRUE(HasCode(Rate(review, kClient, {MakeRating(kGoal1, 5)}), kSigned));
  EXPECT_TRUE(HasCode(Rate(review, kClient, {}, {MakeScore("ORS", {5, 5, 5, 5})}), kSigned));
  EXPECT_TRUE(HasCode(AddReflection(FamilyEpisode(), kClient, review, "More"), kSigned));
  NextStep step;
  step.set_text("One more");
  EXPECT_TRUE(HasCode(AddNextStep(FamilyEpisode(), kClient, review, step), kSigned));
  EXPECT_TRUE(HasCode(SignReview(FamilyEpisode(), kClient, review, "", T2()), kSigned));
  EXPECT_TRUE(HasCode(SignReview(FamilyEpisode(), kOtherTherapist, review, "", T2()), kSigned));
}

TEST(ReviewRulesTest, DissentIsRecordedAndDoesNotBlock) {
  Review review =
      SignedBy(FamilyEpisode(), OpenReview(), {kClient, kOtherClient, kOtherFamily, kTherapist});
  absl::StatusOr<Review> signed_review =
      SignReview(FamilyEpisode(), kFamily, review, "I do not think we are there yet", T2());
  ASSERT_TRUE(signed_review.ok()) << signed_review.status();
  EXPECT_EQ(signed_review->status(), Review::SIGNED);
  bool found = false;
  for (const Signature& s : signed_review->signatures()) {
    if (s.participant() != kFamily) continue;
    found = true;
    EXPECT_EQ(s.dissent(), "I do not think we are there yet");
  }
  EXPECT_TRUE(found);
}

TEST(ReviewRulesTest, ResigningReplacesOwnSignature) {
  Review review = SignedBy(FamilyEpisode(), OpenReview(), {kClient, kTherapist});
  absl::StatusOr<Review> again =
      SignReview(FamilyEpisode(), kClient, review, "On reflection, no", T2());
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->signatures_size(), 2);
  int mine = 0;
  for (const Signature& s : again->signatures()) {
    if (s.participant() != kClient) continue;
    ++mine;
    EXPECT_EQ(s.dissent(), "On reflection, no");
    EXPECT_EQ(FromTimestamp(s.sign_time()), T2());
  }
  EXPECT_EQ(mine, 1);
}

TEST(ReviewRulesTest, SignValidated) {
  EXPECT_TRUE(HasCode(SignReview(FamilyEpisode(), kStranger, OpenReview(), "", T1()),
                      absl::StatusCode::kNotFound));
  EXPECT_TRUE(IsFieldError(SignReview(FamilyEpisode(), kClient, OpenReview(), "\xED\xA0\x80", T1()),
                           "dissent"));
  EXPECT_TRUE(IsFieldError(
      SignReview(FamilyEpisode(), kClient, OpenReview(), std::string(8193, 'd'), T1()), "dissent"));
}

// --- Canonical content ------------------------------------------------------------------------

TEST(CanonicalContentTest, KnownEncoding) {
  Review review;
  review.set_name(kReviewName);
  review.add_goals(kGoal1);
  *review.add_ratings() = MakeRating(kGoal1, 7.3, kClient);
  *review.add_instrument_scores() = MakeScore("ORS", {5, 6.5}, kClient);
  Reflection* reflection = review.add_reflections();
  reflection->set_participant(kFamily);
  reflection->set_words("a\nb");
  NextStep* step = review.add_next_steps();
  step->set_text("Walk");
  step->set_owner(kClient);
  step->set_added_by(kTherapist);
  EXPECT_EQ(CanonicalContent(review),
            "review 22:episodes/e1/reviews/r1\n"
            "goal 20:episodes/e1/goals/g1\n"
            "rating.rater 9:Patient/1\n"
            "rating.goal 20:episodes/e1/goals/g1\n"
            "rating.score 2:73\n"
            "instrument.rater 9:Patient/1\n"
            "instrument.id 3:ORS\n"
            "instrument.item 2:50\n"
            "instrument.item 2:65\n"
            "reflection.participant 15:RelatedPerson/2\n"
            "reflection.words 3:a\nb\n"
            "next_step.text 4:Walk\n"
            "next_step.owner 9:Patient/1\n"
            "next_step.due_date 0:\n"
            "next_step.added_by 14:Practitioner/9\n");
}

TEST(CanonicalContentTest, Sha256OfKnownContent) {
  // printf 'review 0:\n' | sha256sum
  EXPECT_EQ(ContentSha256(Review()),
            "45bef5682ca429bb72094f5a351bb171f70e224e52d77026b1812e86d405fae4");
}

TEST(CanonicalContentTest, IndependentOfRatingAndReflectionOrder) {
  Review a = OpenReview();
  *a.add_ratings() = MakeRating(kGoal1, 3, kClient);
  *a.add_ratings() = MakeRating(kGoal5, 4, kClient);
  *a.add_ratings() = MakeRating(kGoal1, 8, kFamily);
  *a.add_instrument_scores() = MakeScore("ORS", {1, 2, 3, 4}, kFamily);
  *a.add_instrument_scores() = MakeScore("SRS", {9, 9, 9, 9}, kClient);
  *a.add_instrument_scores() = MakeScore("ORS", {5, 5, 5, 5}, kClient);
  Reflection* r1 = a.add_reflections();
  r1->set_participant(kFamily);
  r1->set_words("Calmer");
  Reflection* r2 = a.add_reflections();
  r2->set_participant(kClient);
  r2->set_words("Better");

  Review b = OpenReview();
  *b.add_ratings() = a.ratings(2);
  *b.add_ratings() = a.ratings(0);
  *b.add_ratings() = a.ratings(1);
  *b.add_instrument_scores() = a.instrument_scores(2);
  *b.add_instrument_scores() = a.instrument_scores(0);
  *b.add_instrument_scores() = a.instrument_scores(1);
  *b.add_reflections() = a.reflections(1);
  *b.add_reflections() = a.reflections(0);

  EXPECT_EQ(CanonicalContent(a), CanonicalContent(b));
  EXPECT_EQ(ContentSha256(a), ContentSha256(b));
}

TEST(CanonicalContentTest, IndependentOfOrderEvenForDuplicateKeys) {
  Review a = OpenReview();
  *a.add_ratings() = MakeRating(kGoal1, 3, kClient);
  *a.add_ratings() = MakeRating(kGoal1, 9, kClient);
  Review b = OpenReview();
  *b.add_ratings() = a.ratings(1);
  *b.add_ratings() = a.ratings(0);
  EXPECT_EQ(CanonicalContent(a), CanonicalContent(b));
}

TEST(CanonicalContentTest, EveryFieldCounts) {
  const Review base = OpenReview();
  std::vector<Review> variants;
  Review renamed = base;
  renamed.set_name("episodes/e1/reviews/r2");
  variants.push_back(renamed);
  Review goals_reordered = base;
  goals_reordered.mutable_goals()->SwapElements(0, 1);
  variants.push_back(goals_reordered);
  Review rated = base;
  *rated.add_ratings() = MakeRating(kGoal1, 5, kClient);
  variants.push_back(rated);
  Review rated_higher = base;
  *rated_higher.add_ratings() = MakeRating(kGoal1, 5.1, kClient);
  variants.push_back(rated_higher);
  Review scored = base;
  *scored.add_instrument_scores() = MakeScore("ORS", {5, 5, 5, 5}, kClient);
  variants.push_back(scored);
  Review reflected = base;
  reflected.add_reflections()->set_words("x");
  variants.push_back(reflected);
  Review stepped = base;
  stepped.add_next_steps()->set_due_date("2026-01-02");
  variants.push_back(stepped);

  std::vector<std::string> seen = {ContentSha256(base)};
  for (const Review& v : variants) {
    const std::string digest = ContentSha256(v);
    for (const std::string& other : seen) EXPECT_NE(digest, other) << v.ShortDebugString();
    seen.push_back(digest);
  }
}

TEST(CanonicalContentTest, LengthPrefixesPreventCollisions) {
  // One goal "a\nb" against two goals "a" and "b".
  Review one;
  one.add_goals("a\nb");
  Review two;
  two.add_goals("a");
  two.add_goals("b");
  EXPECT_NE(CanonicalContent(one), CanonicalContent(two));
  EXPECT_NE(ContentSha256(one), ContentSha256(two));

  // A reflection whose words spell out a second reflection, against two reflections.
  Review forged;
  Reflection* r = forged.add_reflections();
  r->set_participant(kClient);
  r->set_words("ok\nreflection.participant 15:RelatedPerson/2\nreflection.words 2:ok");
  Review honest;
  Reflection* h1 = honest.add_reflections();
  h1->set_participant(kClient);
  h1->set_words("ok");
  Reflection* h2 = honest.add_reflections();
  h2->set_participant(kFamily);
  h2->set_words("ok");
  EXPECT_NE(CanonicalContent(forged), CanonicalContent(honest));
  EXPECT_NE(ContentSha256(forged), ContentSha256(honest));

  // Moving bytes between adjacent fields changes the content.
  Review left;
  NextStep* l = left.add_next_steps();
  l->set_text("ab");
  l->set_owner("c");
  Review right;
  NextStep* rr = right.add_next_steps();
  rr->set_text("a");
  rr->set_owner("bc");
  EXPECT_NE(CanonicalContent(left), CanonicalContent(right));
}

TEST(CanonicalContentTest, NextStepOrderCounts) {
  Review a;
  a.add_next_steps()->set_text("first");
  a.add_next_steps()->set_text("second");
  Review b;
  b.add_next_steps()->set_text("second");
  b.add_next_steps()->set_text("first");
  EXPECT_NE(CanonicalContent(a), CanonicalContent(b));
}

}  // namespace
}  // namespace collabcare::domain
