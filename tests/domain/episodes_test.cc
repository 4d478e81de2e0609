// Tests of the episode rules (NewEpisode, UpdateEpisode) and of who counts as a participant
// (access.h): only a therapist opens an episode, outsiders get NOT_FOUND, closed episodes are
// read only until reopened.
#include "plugin/domain/episodes.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "collabcare/v1/resources.pb.h"
#include "gtest/gtest.h"
#include "plugin/domain/access.h"
#include "plugin/domain/goals.h"
#include "plugin/domain/hypotheses.h"
#include "plugin/domain/reviews.h"
#include "plugin/domain/thresholds.h"
#include "tests/domain/rules_test_util.h"

namespace collabcare::domain {
namespace {

using ::collabcare::v1::Episode;
using ::collabcare::v1::Goal;
using ::collabcare::v1::Hypothesis;
using ::collabcare::v1::HypothesisResponse;
using ::collabcare::v1::NextStep;
using ::collabcare::v1::Participant;
using ::collabcare::v1::Rating;
using ::collabcare::v1::Review;
using ::collabcare::v1::Understanding;
using testing::ClosedEpisode;
using testing::FamilyEpisode;
using testing::HasCode;
using testing::IsFieldError;
using testing::kClient;
using testing::kFamily;
using testing::kOtherTherapist;
using testing::kStranger;
using testing::kTherapist;
using testing::MakeParticipant;
using testing::T0;

// What a therapist sends to open an individual episode.
Episode NewEpisodeInput() {
  Episode input;
  *input.add_participants() = MakeParticipant(kClient, Participant::CLIENT);
  *input.add_participants() = MakeParticipant(kTherapist, Participant::THERAPIST);
  input.set_format(Episode::CLIENT_LED);
  input.set_modality(Episode::INDIVIDUAL);
  return input;
}

TEST(EpisodeRulesTest, TherapistParticipantMayCreateEpisode) {
  Episode input = NewEpisodeInput();
  input.mutable_participants(0)->set_display("Sam");
  absl::StatusOr<Episode> episode = NewEpisode(kTherapist, input);
  ASSERT_TRUE(episode.ok()) << episode.status();
  ASSERT_EQ(episode->participants_size(), 2);
  EXPECT_EQ(episode->participants(0).person(), kClient);
  EXPECT_EQ(episode->participants(0).role(), Participant::CLIENT);
  EXPECT_EQ(episode->participants(0).display(), "Sam");
  EXPECT_EQ(episode->participants(1).person(), kTherapist);
  EXPECT_EQ(episode->format(), Episode::CLIENT_LED);
  EXPECT_EQ(episode->modality(), Episode::INDIVIDUAL);
  EXPECT_EQ(episode->status(), Episode::ACTIVE);  // the default
}

TEST(EpisodeRulesTest, CreateIgnoresOutputOnlyFields) {
  Episode input = NewEpisodeInput();
  input.set_name("episodes/chosen-by-caller");
  input.mutable_meta()->set_revision(7);
  input.mutable_meta()->set_created_by(kClient);
  absl::StatusOr<Episode> episode = NewEpisode(kTherapist, input);
  ASSERT_TRUE(episode.ok()) << episode.status();
  EXPECT_EQ(episode->name(), "");
  EXPECT_FALSE(episode->has_meta());
}

TEST(EpisodeRulesTest, CallerNotAmongParticipantsMayNotCreateEpisode) {
  EXPECT_TRUE(
      HasCode(NewEpisode(kOtherTherapist, NewEpisodeInput()), absl::StatusCode::kPermissionDenied));
}

TEST(EpisodeRulesTest, ClientMayNotCreateEpisode) {
  EXPECT_TRUE(HasCode(NewEpisode(kClient, NewEpisodeInput()), absl::StatusCode::kPermissionDenied));
}

TEST(EpisodeRulesTest, FamilyMemberMayNotCreateEpisode) {
  Episode input = NewEpisodeInput();
  *input.add_participants() = MakeParticipant(kFamily, Participant::FAMILY_MEMBER);
  EXPECT_TRUE(HasCode(NewEpisode(kFamily, input), absl::StatusCode::kPermissionDenied));
}

TEST(EpisodeRulesTest, CreateNeedsTwoParticipants) {
  Episode input = NewEpisodeInput();
  input.mutable_participants()->RemoveLast();
  EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, input), "episode.participants"));
}

TEST(EpisodeRulesTest, CreateNeedsATherapistAndAClientSide) {
  Episode no_client;
  *no_client.add_participants() = MakeParticipant(kTherapist, Participant::THERAPIST);
  *no_client.add_participants() = MakeParticipant(kOtherTherapist, Participant::THERAPIST);
  no_client.set_format(Episode::CLIENT_LED);
  no_client.set_modality(Episode::INDIVIDUAL);
  EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, no_client), "episode.participants"));

  Episode no_therapist = NewEpisodeInput();
  no_therapist.mutable_participants(1)->set_role(Participant::FAMILY_MEMBER);
  EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, no_therapist), "episode.participants"));
}

TEST(EpisodeRulesTest, DuplicateParticipantRefused) {
  Episode input = NewEpisodeInput();
  *input.add_participants() = MakeParticipant(kClient, Participant::FAMILY_MEMBER);
  EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, input), "episode.participants[2].person"));

  Episode first_two = NewEpisodeInput();
  first_two.mutable_participants(1)->set_person(kClient);
  *first_two.add_participants() = MakeParticipant(kTherapist, Participant::THERAPIST);
  EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, first_two), "episode.participants[1].person"));
}

// 63 clients and the therapist: exactly at the documented limit of 64.
Episode EpisodeWithParticipants(int count) {
  Episode input;
  *input.add_participants() = MakeParticipant(kTherapist, Participant::THERAPIST);
  for (int i = 1; i < count; ++i) {
    *input.add_participants() = MakeParticipant(absl::StrCat("Patient/", i), Participant::CLIENT);
  }
  input.set_format(Episode::THERAPIST_LED);
  input.set_modality(Episode::GROUP);
  return input;
}

TEST(EpisodeRulesTest, SixtyFourParticipantsAccepted) {
  absl::StatusOr<Episode> episode = NewEpisode(kTherapist, EpisodeWithParticipants(64));
  ASSERT_TRUE(episode.ok()) << episode.status();
  EXPECT_EQ(episode->participants_size(), 64);
}

TEST(EpisodeRulesTest, MoreThanSixtyFourParticipantsRefused) {
  EXPECT_TRUE(
      IsFieldError(NewEpisode(kTherapist, EpisodeWithParticipants(65)), "episode.participants"));
}

TEST(EpisodeRulesTest, BadParticipantReferenceRefused) {
  for (const std::string& bad :
       std::vector<std::string>{"Patient", "Foo/1", "Patient/", "Patient/a b", "", "/1",
                                "Patient/1/_history/2", "Organization/1"}) {
    SCOPED_TRACE(bad);
    Episode input = NewEpisodeInput();
    input.mutable_participants(1)->set_person(bad);
    EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, input), "episode.participants[1].person"));
  }
}

TEST(EpisodeRulesTest, UnknownOrUnspecifiedRoleRefused) {
  for (int role : {0, 4, 99, -1}) {
    SCOPED_TRACE(role);
    Episode input = NewEpisodeInput();
    input.mutable_participants(0)->set_role(static_cast<Participant::Role>(role));
    EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, input), "episode.participants[0].role"));
  }
}

TEST(EpisodeRulesTest, LongOrInvalidDisplayRefused) {
  Episode input = NewEpisodeInput();
  input.mutable_participants(1)->set_display(std::string(200, 'x'));
  EXPECT_TRUE(NewEpisode(kTherapist, input).ok());
  input.mutable_participants(1)->set_display(std::string(201, 'x'));
  EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, input), "episode.participants[1].display"));
  input.mutable_participants(1)->set_display("Dr \xC0\x80");
  EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, input), "episode.participants[1].display"));
}

TEST(EpisodeRulesTest, UnknownEnumValuesRefused) {
  for (int value : {0, 99}) {
    SCOPED_TRACE(value);
    Episode format = NewEpisodeInput();
    format.set_format(static_cast<Episode::Format>(value));
    EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, format), "episode.format"));

    Episode modality = NewEpisodeInput();
    modality.set_modality(static_cast<Episode::Modality>(value));
    EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, modality), "episode.modality"));
  }
  Episode status = NewEpisodeInput();
  status.set_status(static_cast<Episode::Status>(99));
  EXPECT_TRUE(IsFieldError(NewEpisode(kTherapist, status), "episode.status"));
}

TEST(AccessRulesTest, RoleComesFromTheParticipantList) {
  const Episode episode = FamilyEpisode();
  EXPECT_EQ(RoleOf(episode, kClient), Participant::CLIENT);
  EXPECT_EQ(RoleOf(episode, kFamily), Participant::FAMILY_MEMBER);
  EXPECT_EQ(RoleOf(episode, kTherapist), Participant::THERAPIST);
  EXPECT_FALSE(RoleOf(episode, kStranger).has_value());
  EXPECT_TRUE(IsTherapist(episode, kTherapist));
  EXPECT_FALSE(IsTherapist(episode, kClient));
  EXPECT_FALSE(IsTherapist(episode, kStranger));
  EXPECT_TRUE(IsClientSide(episode, kClient));
  EXPECT_TRUE(IsClientSide(episode, kFamily));
  EXPECT_FALSE(IsClientSide(episode, kTherapist));
  EXPECT_FALSE(IsClientSide(episode, kStranger));
  EXPECT_FALSE(IsClientSide(Participant::ROLE_UNSPECIFIED));
}

TEST(AccessRulesTest, ParticipantPassesRequireParticipant) {
  const Episode episode = FamilyEpisode();
  for (const std::string& person : std::vector<std::string>{kClient, kFamily, kTherapist}) {
    EXPECT_TRUE(RequireParticipant(episode, person).ok()) << person;
  }
}

TEST(AccessRulesTest, NonParticipantGetsNotFound) {
  const Episode episode = FamilyEpisode();
  EXPECT_TRUE(HasCode(RequireParticipant(episode, kStranger), absl::StatusCode::kNotFound));
  // Similar references are different people.
  EXPECT_TRUE(HasCode(RequireParticipant(episode, "Patient/11"), absl::StatusCode::kNotFound));
  EXPECT_TRUE(HasCode(RequireParticipant(episode, ""), absl::StatusCode::kNotFound));
}

TEST(AccessRulesTest, RequireOpenEpisode) {
  EXPECT_TRUE(RequireOpenEpisode(FamilyEpisode()).ok());
  EXPECT_TRUE(HasCode(RequireOpenEpisode(ClosedEpisode()), absl::StatusCode::kFailedPrecondition));
}

Episode StatusPatch(Episode::Status status) {
  Episode patch;
  patch.set_status(status);
  return patch;
}

TEST(EpisodeRulesTest, TherapistMayCloseEpisode) {
  absl::StatusOr<Episode> closed =
      UpdateEpisode(kTherapist, FamilyEpisode(), StatusPatch(Episode::CLOSED), {"status"});
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->status(), Episode::CLOSED);
  EXPECT_EQ(closed->participants_size(), 6);  // untouched
}

TEST(EpisodeRulesTest, ClientMayNotUpdateEpisode) {
  for (const std::string& caller : std::vector<std::string>{kClient, kFamily}) {
    SCOPED_TRACE(caller);
    EXPECT_TRUE(
        HasCode(UpdateEpisode(caller, FamilyEpisode(), StatusPatch(Episode::CLOSED), {"status"}),
                absl::StatusCode::kPermissionDenied));
  }
}

TEST(EpisodeRulesTest, UpdateAppliesOnlyMaskedFields) {
  Episode patch;
  patch.set_format(Episode::THERAPIST_LED);
  patch.set_modality(Episode::COUPLE);
  patch.set_status(Episode::CLOSED);
  absl::StatusOr<Episode> next = UpdateEpisode(kTherapist, FamilyEpisode(), patch, {"format"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->format(), Episode::THERAPIST_LED);
  EXPECT_EQ(next->modality(), Episode::FAMILY);
  EXPECT_EQ(next->status(), Episode::ACTIVE);
  EXPECT_EQ(next->participants_size(), 6);
}

TEST(EpisodeRulesTest, UpdateMaskMustNameKnownFields) {
  Episode patch;
  EXPECT_TRUE(IsFieldError(UpdateEpisode(kTherapist, FamilyEpisode(), patch, {}), "update_mask"));
  EXPECT_TRUE(
      IsFieldError(UpdateEpisode(kTherapist, FamilyEpisode(), patch, {"name"}), "update_mask"));
  EXPECT_TRUE(
      IsFieldError(UpdateEpisode(kTherapist, FamilyEpisode(), patch, {"meta"}), "update_mask"));
}

TEST(EpisodeRulesTest, UpdateValidatesPatchedFields) {
  EXPECT_TRUE(IsFieldError(UpdateEpisode(kTherapist, FamilyEpisode(),
                                         StatusPatch(Episode::STATUS_UNSPECIFIED), {"status"}),
                           "episode.status"));
  Episode format;
  format.set_format(static_cast<Episode::Format>(99));
  EXPECT_TRUE(IsFieldError(UpdateEpisode(kTherapist, FamilyEpisode(), format, {"format"}),
                           "episode.format"));
  Episode participants;
  *participants.add_participants() = MakeParticipant(kTherapist, Participant::THERAPIST);
  *participants.add_participants() = MakeParticipant(kClient, Participant::CLIENT);
  *participants.add_participants() = MakeParticipant(kClient, Participant::FAMILY_MEMBER);
  EXPECT_TRUE(
      IsFieldError(UpdateEpisode(kTherapist, FamilyEpisode(), participants, {"participants"}),
                   "episode.participants[2].person"));
}

TEST(EpisodeRulesTest, TherapistMayNotRemoveThemselves) {
  Episode patch;
  *patch.add_participants() = MakeParticipant(kClient, Participant::CLIENT);
  *patch.add_participants() = MakeParticipant(kOtherTherapist, Participant::THERAPIST);
  EXPECT_TRUE(IsFieldError(UpdateEpisode(kTherapist, FamilyEpisode(), patch, {"participants"}),
                           "episode.participants"));
  // Another therapist may.
  absl::StatusOr<Episode> next =
      UpdateEpisode(kOtherTherapist, FamilyEpisode(), patch, {"participants"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(RoleOf(*next, kTherapist).has_value());
}

TEST(EpisodeRulesTest, ClosedEpisodeRefusesUpdatesOtherThanReopening) {
  Episode patch;
  patch.set_format(Episode::THERAPIST_LED);
  EXPECT_TRUE(HasCode(UpdateEpisode(kTherapist, ClosedEpisode(), patch, {"format"}),
                      absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(
      HasCode(UpdateEpisode(kTherapist, ClosedEpisode(), StatusPatch(Episode::CLOSED), {"status"}),
              absl::StatusCode::kFailedPrecondition));
}

TEST(EpisodeRulesTest, UpdateEpisodeReopensClosedEpisode) {
  absl::StatusOr<Episode> reopened =
      UpdateEpisode(kTherapist, ClosedEpisode(), StatusPatch(Episode::ACTIVE), {"status"});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->status(), Episode::ACTIVE);
  EXPECT_TRUE(RequireOpenEpisode(*reopened).ok());

  // Changes go through again once it is reopened.
  Goal input;
  input.set_words("Sleep through the night");
  EXPECT_TRUE(
      HasCode(NewGoal(ClosedEpisode(), kClient, input), absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(NewGoal(*reopened, kClient, input).ok());
}

// Every write rule refuses to change anything in a CLOSED episode.
TEST(EpisodeRulesTest, ClosedEpisodeRefusesChanges) {
  const Episode closed = ClosedEpisode();
  const absl::StatusCode kClosed = absl::StatusCode::kFailedPrecondition;

  Goal goal_input;
  goal_input.set_words("Sleep through the night");
  EXPECT_TRUE(HasCode(NewGoal(closed, kClient, goal_input), kClosed));

  Goal goal;
  goal.set_name("episodes/e1/goals/g1");
  goal.set_owner(kClient);
  goal.set_words("Sleep through the night");
  goal.set_status(Goal::ACTIVE);
  goal.mutable_understanding()->set_restatement("Rest");
  goal.mutable_understanding()->set_verdict(Understanding::UNCONFIRMED);
  Goal patch;
  patch.set_priority(1);
  EXPECT_TRUE(HasCode(UpdateGoal(closed, kClient, goal, patch, {"priority"}), kClosed));
  EXPECT_TRUE(HasCode(RestateGoal(closed, kTherapist, goal, "You want rest", T0()), kClosed));
  EXPECT_TRUE(HasCode(
      ConfirmUnderstanding(closed, kClient, goal, Understanding::CONFIRMED, "", T0()), kClosed));

  Hypothesis hypothesis_input;
  hypothesis_input.set_kind(Hypothesis::PERSONAL);
  hypothesis_input.set_text("I wonder whether the nights are about worry");
  hypothesis_input.set_tentativeness(Hypothesis::WONDERING);
  EXPECT_TRUE(HasCode(NewHypothesis(closed, kTherapist, hypothesis_input, {}), kClosed));
  Hypothesis hypothesis = hypothesis_input;
  hypothesis.set_author(kTherapist);
  hypothesis.set_status(Hypothesis::OPEN);
  Hypothesis hypothesis_patch;
  hypothesis_patch.set_status(Hypothesis::SET_ASIDE);
  EXPECT_TRUE(HasCode(
      ReviseHypothesis(closed, kTherapist, hypothesis, hypothesis_patch, {"status"}, {}), kClosed));
  EXPECT_TRUE(
      HasCode(RespondToHypothesis(closed, kClient, hypothesis, HypothesisResponse::FITS, "", T0()),
              kClosed));

  Review review;
  review.set_name("episodes/e1/reviews/r1");
  review.add_goals(goal.name());
  review.set_status(Review::OPEN);
  EXPECT_TRUE(HasCode(NewReview(closed, kTherapist, Review(), {goal}), kClosed));
  Rating rating;
  rating.set_goal(goal.name());
  rating.set_score(5);
  EXPECT_TRUE(
      HasCode(SubmitRatings(closed, kClient, review, {rating}, {}, DefaultThresholds()), kClosed));
  EXPECT_TRUE(HasCode(AddReflection(closed, kClient, review, "Better"), kClosed));
  NextStep step;
  step.set_text("Walk together");
  EXPECT_TRUE(HasCode(AddNextStep(closed, kClient, review, step), kClosed));
  EXPECT_TRUE(HasCode(SignReview(closed, kClient, review, "", T0()), kClosed));
}

}  // namespace
}  // namespace collabcare::domain
