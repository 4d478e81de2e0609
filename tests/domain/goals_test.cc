// Tests of the goal rules (goals.h) and goal visibility (access.h): only the owner changes a
// goal's words, signs, priority, status and visibility; therapists transcribe (PROPOSED) and
// restate; the owner confirms or corrects.
#include "plugin/domain/goals.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "collabcare/v1/resources.pb.h"
#include "gtest/gtest.h"
#include "plugin/domain/access.h"
#include "plugin/domain/timestamps.h"
#include "tests/domain/rules_test_util.h"

namespace collabcare::domain {
namespace {

using ::collabcare::v1::Episode;
using ::collabcare::v1::Goal;
using ::collabcare::v1::Understanding;
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
using testing::T0;
using testing::T1;

constexpr char kWords[] = "I want to sleep through the night";

Goal GoalInput(const std::string& words = kWords) {
  Goal input;
  input.set_words(words);
  return input;
}

// A stored ACTIVE goal of kClient.
Goal StoredGoal(Goal::Status status = Goal::ACTIVE, const std::string& owner = kClient) {
  Goal goal;
  goal.set_name("episodes/e1/goals/g1");
  goal.set_owner(owner);
  goal.set_words(kWords);
  goal.set_everyday_signs("I get up without an alarm");
  goal.set_priority(1);
  goal.set_status(status);
  goal.set_visibility(Goal::EPISODE);
  goal.mutable_meta()->set_revision(3);
  return goal;
}

// kClient's goal restated by kTherapist, not yet answered.
Goal RestatedGoal() {
  Goal goal = StoredGoal();
  Understanding* u = goal.mutable_understanding();
  u->set_restatement("You want your nights back");
  u->set_restated_by(kTherapist);
  ToTimestamp(T0(), u->mutable_restate_time());
  u->set_verdict(Understanding::UNCONFIRMED);
  return goal;
}

// --- Writing a goal ---------------------------------------------------------------------------

TEST(GoalRulesTest, ClientWritesOwnGoalActive) {
  absl::StatusOr<Goal> goal = NewGoal(FamilyEpisode(), kClient, GoalInput());
  ASSERT_TRUE(goal.ok()) << goal.status();
  EXPECT_EQ(goal->owner(), kClient);
  EXPECT_EQ(goal->words(), kWords);
  EXPECT_EQ(goal->status(), Goal::ACTIVE);
  EXPECT_EQ(goal->visibility(), Goal::EPISODE);
  EXPECT_EQ(goal->transcribed_by(), "");
  EXPECT_FALSE(goal->has_understanding());
}

TEST(GoalRulesTest, FamilyMemberWritesOwnGoalWithAllFields) {
  Goal input = GoalInput("We eat together again");
  input.set_owner(kFamily);
  input.set_everyday_signs("Dinner at seven");
  input.set_priority(2);
  input.set_visibility(Goal::OWNER_AND_THERAPISTS);
  absl::StatusOr<Goal> goal = NewGoal(FamilyEpisode(), kFamily, input);
  ASSERT_TRUE(goal.ok()) << goal.status();
  EXPECT_EQ(goal->owner(), kFamily);
  EXPECT_EQ(goal->everyday_signs(), "Dinner at seven");
  EXPECT_EQ(goal->priority(), 2);
  EXPECT_EQ(goal->visibility(), Goal::OWNER_AND_THERAPISTS);
  EXPECT_EQ(goal->status(), Goal::ACTIVE);
}

TEST(GoalRulesTest, NewGoalIgnoresOutputOnlyFields) {
  Goal input = GoalInput();
  input.set_transcribed_by(kTherapist);
  input.mutable_understanding()->set_restatement("planted");
  input.set_name("episodes/e1/goals/chosen");
  absl::StatusOr<Goal> goal = NewGoal(FamilyEpisode(), kClient, input);
  ASSERT_TRUE(goal.ok()) << goal.status();
  EXPECT_EQ(goal->transcribed_by(), "");
  EXPECT_FALSE(goal->has_understanding());
  EXPECT_EQ(goal->name(), "");
}

TEST(GoalRulesTest, ClientMayKeepOwnGoalProposed) {
  Goal input = GoalInput();
  input.set_status(Goal::PROPOSED);
  absl::StatusOr<Goal> goal = NewGoal(FamilyEpisode(), kClient, input);
  ASSERT_TRUE(goal.ok()) << goal.status();
  EXPECT_EQ(goal->status(), Goal::PROPOSED);
}

TEST(GoalRulesTest, ClientMayNotWriteGoalForSomeoneElse) {
  for (const std::string& owner : std::vector<std::string>{kOtherClient, kFamily, kTherapist}) {
    SCOPED_TRACE(owner);
    Goal input = GoalInput();
    input.set_owner(owner);
    EXPECT_TRUE(
        HasCode(NewGoal(FamilyEpisode(), kClient, input), absl::StatusCode::kPermissionDenied));
  }
}

TEST(GoalRulesTest, TherapistTranscribesProposedGoal) {
  Goal input = GoalInput();
  input.set_owner(kClient);
  input.set_status(Goal::ACTIVE);  // asked for, but a transcribed goal waits for its owner
  absl::StatusOr<Goal> goal = NewGoal(FamilyEpisode(), kTherapist, input);
  ASSERT_TRUE(goal.ok()) << goal.status();
  EXPECT_EQ(goal->owner(), kClient);
  EXPECT_EQ(goal->status(), Goal::PROPOSED);
  EXPECT_EQ(goal->transcribed_by(), kTherapist);
  EXPECT_EQ(goal->words(), kWords);

  input.set_owner(kFamily);
  goal = NewGoal(FamilyEpisode(), kOtherTherapist, input);
  ASSERT_TRUE(goal.ok()) << goal.status();
  EXPECT_EQ(goal->owner(), kFamily);
  EXPECT_EQ(goal->transcribed_by(), kOtherTherapist);
}

TEST(GoalRulesTest, TranscribedGoalNeedsAClientSideOwner) {
  EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kTherapist, GoalInput()), "goal.owner"));
  for (const std::string& owner :
       std::vector<std::string>{kOtherTherapist, kTherapist, kStranger}) {
    SCOPED_TRACE(owner);
    Goal input = GoalInput();
    input.set_owner(owner);
    EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kTherapist, input), "goal.owner"));
  }
}

TEST(GoalRulesTest, NonParticipantMayNotWriteGoal) {
  Goal input = GoalInput();
  EXPECT_TRUE(
      HasCode(NewGoal(FamilyEpisode(), kStranger, input), absl::StatusCode::kPermissionDenied));
  input.set_owner(kClient);
  EXPECT_TRUE(
      HasCode(NewGoal(FamilyEpisode(), kStranger, input), absl::StatusCode::kPermissionDenied));
}

TEST(GoalRulesTest, NewGoalValidatesFields) {
  EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, GoalInput("")), "goal.words"));
  EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, GoalInput(" \t\n")), "goal.words"));
  EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, GoalInput(std::string(8193, 'a'))),
                           "goal.words"));
  EXPECT_TRUE(
      IsFieldError(NewGoal(FamilyEpisode(), kClient, GoalInput("bad \xED\xA0\x80")), "goal.words"));
  EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, GoalInput(std::string("a\0b", 3))),
                           "goal.words"));

  Goal signs = GoalInput();
  signs.set_everyday_signs(std::string(8193, 's'));
  EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, signs), "goal.everyday_signs"));

  for (int priority : {-1, 1001}) {
    Goal input = GoalInput();
    input.set_priority(priority);
    EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, input), "goal.priority"))
        << priority;
  }
  Goal top = GoalInput();
  top.set_priority(1000);
  EXPECT_TRUE(NewGoal(FamilyEpisode(), kClient, top).ok());

  for (int status : std::vector<int>{Goal::PAUSED, Goal::ACHIEVED, Goal::LET_GO, 99}) {
    Goal input = GoalInput();
    input.set_status(static_cast<Goal::Status>(status));
    EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, input), "goal.status")) << status;
  }
  Goal visibility = GoalInput();
  visibility.set_visibility(static_cast<Goal::Visibility>(99));
  EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, visibility), "goal.visibility"));

  Goal owner = GoalInput();
  owner.set_owner("Patient/a b");
  EXPECT_TRUE(IsFieldError(NewGoal(FamilyEpisode(), kClient, owner), "goal.owner"));
}

// --- Editing a goal ---------------------------------------------------------------------------

TEST(GoalRulesTest, OwnerMayEditWords) {
  Goal patch;
  patch.set_words("I want to sleep six hours");
  absl::StatusOr<Goal> next = UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch, {"words"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->words(), "I want to sleep six hours");
  EXPECT_EQ(next->everyday_signs(), "I get up without an alarm");
  EXPECT_EQ(next->owner(), kClient);
  EXPECT_EQ(next->name(), "episodes/e1/goals/g1");
}

TEST(GoalRulesTest, OwnerMayEditSignsPriorityStatusAndVisibility) {
  Goal patch;
  patch.set_everyday_signs("Breakfast with my sister");
  patch.set_priority(3);
  patch.set_status(Goal::PAUSED);
  patch.set_visibility(Goal::OWNER_AND_THERAPISTS);
  absl::StatusOr<Goal> next = UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch,
                                         {"everyday_signs", "priority", "status", "visibility"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->everyday_signs(), "Breakfast with my sister");
  EXPECT_EQ(next->priority(), 3);
  EXPECT_EQ(next->status(), Goal::PAUSED);
  EXPECT_EQ(next->visibility(), Goal::OWNER_AND_THERAPISTS);
  EXPECT_EQ(next->words(), kWords);
}

TEST(GoalRulesTest, FamilyMemberOwnerMayEditOwnGoal) {
  Goal patch;
  patch.set_priority(5);
  absl::StatusOr<Goal> next =
      UpdateGoal(FamilyEpisode(), kFamily, StoredGoal(Goal::ACTIVE, kFamily), patch, {"priority"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->priority(), 5);
}

TEST(GoalRulesTest, OnlyTheOwnerMayEdit) {
  Goal patch;
  patch.set_words("Something else");
  patch.set_everyday_signs("Other signs");
  patch.set_priority(9);
  patch.set_status(Goal::PAUSED);
  patch.set_visibility(Goal::OWNER_AND_THERAPISTS);
  for (const std::string& caller :
       std::vector<std::string>{kOtherClient, kFamily, kOtherFamily, kTherapist, kStranger}) {
    for (const std::string& path :
         std::vector<std::string>{"words", "everyday_signs", "priority", "status", "visibility"}) {
      SCOPED_TRACE(caller + " " + path);
      EXPECT_TRUE(HasCode(UpdateGoal(FamilyEpisode(), caller, StoredGoal(), patch, {path}),
                          absl::StatusCode::kPermissionDenied));
    }
  }
}

TEST(GoalRulesTest, UpdateChangesOnlyMaskedFields) {
  Goal patch;
  patch.set_words("Not applied");
  patch.set_priority(7);
  absl::StatusOr<Goal> next =
      UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch, {"priority"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->priority(), 7);
  EXPECT_EQ(next->words(), kWords);
  EXPECT_EQ(next->everyday_signs(), "I get up without an alarm");
}

TEST(GoalRulesTest, UpdateMaskMustNameEditableFields) {
  Goal patch;
  patch.set_owner(kOtherClient);
  patch.set_transcribed_by(kTherapist);
  EXPECT_TRUE(
      IsFieldError(UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch, {}), "update_mask"));
  for (const std::string& path :
       std::vector<std::string>{"owner", "transcribed_by", "understanding", "name", "Words"}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(IsFieldError(UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch, {path}),
                             "update_mask"));
  }
}

TEST(GoalRulesTest, UpdateValidatesFields) {
  Goal empty_words;
  EXPECT_TRUE(IsFieldError(
      UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), empty_words, {"words"}), "goal.words"));
  Goal long_signs;
  long_signs.set_everyday_signs(std::string(8193, 'x'));
  EXPECT_TRUE(IsFieldError(
      UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), long_signs, {"everyday_signs"}),
      "goal.everyday_signs"));
  Goal priority;
  priority.set_priority(1001);
  EXPECT_TRUE(IsFieldError(
      UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), priority, {"priority"}), "goal.priority"));
  for (int status : {0, 6, 99}) {
    Goal patch;
    patch.set_status(static_cast<Goal::Status>(status));
    EXPECT_TRUE(IsFieldError(UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch, {"status"}),
                             "goal.status"))
        << status;
  }
  for (int visibility : {0, 99}) {
    Goal patch;
    patch.set_visibility(static_cast<Goal::Visibility>(visibility));
    EXPECT_TRUE(
        IsFieldError(UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch, {"visibility"}),
                     "goal.visibility"))
        << visibility;
  }
}

TEST(GoalRulesTest, BadFieldLeavesNothingHalfApplied) {
  Goal patch;
  patch.set_priority(4);
  patch.set_words("");
  EXPECT_TRUE(
      IsFieldError(UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch, {"priority", "words"}),
                   "goal.words"));
}

// --- Status transitions -----------------------------------------------------------------------

struct Transition {
  Goal::Status from;
  Goal::Status to;
  bool allowed;
};

// The whole matrix over the five statuses. PROPOSED is only ever a starting point: the owner
// accepts (ACTIVE) or lets it go; ACHIEVED and LET_GO goals can be taken up again.
std::vector<Transition> TransitionMatrix() {
  const Goal::Status P = Goal::PROPOSED, A = Goal::ACTIVE, Z = Goal::PAUSED, D = Goal::ACHIEVED,
                     L = Goal::LET_GO;
  return {
      {P, P, true},  {P, A, true}, {P, Z, false}, {P, D, false}, {P, L, true},
      {A, P, false}, {A, A, true}, {A, Z, true},  {A, D, true},  {A, L, true},
      {Z, P, false}, {Z, A, true}, {Z, Z, true},  {Z, D, true},  {Z, L, true},
      {D, P, false}, {D, A, true}, {D, Z, false}, {D, D, true},  {D, L, false},
      {L, P, false}, {L, A, true}, {L, Z, false}, {L, D, false}, {L, L, true},
  };
}

TEST(GoalRulesTest, TransitionMatrix) {
  for (const Transition& t : TransitionMatrix()) {
    EXPECT_EQ(GoalTransitionAllowed(t.from, t.to), t.allowed)
        << Goal::Status_Name(t.from) << " -> " << Goal::Status_Name(t.to);
  }
}

TEST(GoalRulesTest, UpdateGoalFollowsTheTransitionMatrix) {
  for (const Transition& t : TransitionMatrix()) {
    SCOPED_TRACE(Goal::Status_Name(t.from) + " -> " + Goal::Status_Name(t.to));
    Goal patch;
    patch.set_status(t.to);
    absl::StatusOr<Goal> next =
        UpdateGoal(FamilyEpisode(), kClient, StoredGoal(t.from), patch, {"status"});
    if (t.allowed) {
      ASSERT_TRUE(next.ok()) << next.status();
      EXPECT_EQ(next->status(), t.to);
    } else {
      EXPECT_TRUE(HasCode(next, absl::StatusCode::kFailedPrecondition));
    }
  }
}

TEST(GoalRulesTest, NothingGoesBackToProposed) {
  for (Goal::Status from : {Goal::ACTIVE, Goal::PAUSED, Goal::ACHIEVED, Goal::LET_GO}) {
    EXPECT_FALSE(GoalTransitionAllowed(from, Goal::PROPOSED)) << Goal::Status_Name(from);
  }
  Goal patch;
  patch.set_status(Goal::PROPOSED);
  EXPECT_TRUE(HasCode(UpdateGoal(FamilyEpisode(), kClient, StoredGoal(), patch, {"status"}),
                      absl::StatusCode::kFailedPrecondition));
}

TEST(GoalRulesTest, OwnerAcceptsTranscribedGoal) {
  Goal input = GoalInput();
  input.set_owner(kClient);
  absl::StatusOr<Goal> proposed = NewGoal(FamilyEpisode(), kTherapist, input);
  ASSERT_TRUE(proposed.ok()) << proposed.status();
  ASSERT_EQ(proposed->status(), Goal::PROPOSED);

  Goal patch;
  patch.set_status(Goal::ACTIVE);
  EXPECT_TRUE(HasCode(UpdateGoal(FamilyEpisode(), kTherapist, *proposed, patch, {"status"}),
                      absl::StatusCode::kPermissionDenied));
  absl::StatusOr<Goal> accepted =
      UpdateGoal(FamilyEpisode(), kClient, *proposed, patch, {"status"});
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->status(), Goal::ACTIVE);
  EXPECT_EQ(accepted->transcribed_by(), kTherapist);  // who wrote it down stays on record
}

// --- Understanding ----------------------------------------------------------------------------

TEST(GoalRulesTest, TherapistMayRestate) {
  absl::StatusOr<Goal> next =
      RestateGoal(FamilyEpisode(), kTherapist, StoredGoal(), "You want your nights back", T1());
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(next->has_understanding());
  EXPECT_EQ(next->understanding().restatement(), "You want your nights back");
  EXPECT_EQ(next->understanding().restated_by(), kTherapist);
  EXPECT_EQ(FromTimestamp(next->understanding().restate_time()), T1());
  EXPECT_EQ(next->understanding().verdict(), Understanding::UNCONFIRMED);
  EXPECT_EQ(next->words(), kWords);  // the owner's words are untouched
  EXPECT_EQ(next->owner(), kClient);
}

TEST(GoalRulesTest, ClientMayNotRestate) {
  for (const std::string& caller :
       std::vector<std::string>{kClient, kOtherClient, kFamily, kStranger}) {
    SCOPED_TRACE(caller);
    EXPECT_TRUE(HasCode(RestateGoal(FamilyEpisode(), caller, StoredGoal(), "My take", T1()),
                        absl::StatusCode::kPermissionDenied));
  }
}

TEST(GoalRulesTest, RestatementIsValidated) {
  EXPECT_TRUE(IsFieldError(RestateGoal(FamilyEpisode(), kTherapist, StoredGoal(), "", T1()),
                           "restatement"));
  EXPECT_TRUE(IsFieldError(
      RestateGoal(FamilyEpisode(), kTherapist, StoredGoal(), std::string(8193, 'r'), T1()),
      "restatement"));
}

TEST(GoalRulesTest, OwnerConfirmsRestatement) {
  absl::StatusOr<Goal> next = ConfirmUnderstanding(FamilyEpisode(), kClient, RestatedGoal(),
                                                   Understanding::CONFIRMED, "", T1());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->understanding().verdict(), Understanding::CONFIRMED);
  EXPECT_EQ(next->understanding().correction(), "");
  EXPECT_EQ(next->understanding().restatement(), "You want your nights back");
  EXPECT_EQ(next->understanding().restated_by(), kTherapist);
  EXPECT_EQ(FromTimestamp(next->understanding().verdict_time()), T1());
  EXPECT_EQ(next->words(), kWords);
}

TEST(GoalRulesTest, OwnerCorrectsRestatement) {
  absl::StatusOr<Goal> next =
      ConfirmUnderstanding(FamilyEpisode(), kClient, RestatedGoal(), Understanding::CORRECTED,
                           "Not the nights, the mornings", T1());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->understanding().verdict(), Understanding::CORRECTED);
  EXPECT_EQ(next->understanding().correction(), "Not the nights, the mornings");
  EXPECT_EQ(next->words(), kWords);  // a correction does not rewrite the goal
}

TEST(GoalRulesTest, OnlyTheOwnerConfirms) {
  for (const std::string& caller :
       std::vector<std::string>{kTherapist, kOtherTherapist, kOtherClient, kFamily}) {
    SCOPED_TRACE(caller);
    EXPECT_TRUE(HasCode(ConfirmUnderstanding(FamilyEpisode(), caller, RestatedGoal(),
                                             Understanding::CONFIRMED, "", T1()),
                        absl::StatusCode::kPermissionDenied));
    EXPECT_TRUE(HasCode(ConfirmUnderstanding(FamilyEpisode(), caller, RestatedGoal(),
                                             Understanding::CORRECTED, "Mine", T1()),
                        absl::StatusCode::kPermissionDenied));
  }
}

TEST(GoalRulesTest, CorrectedNeedsACorrection) {
  EXPECT_TRUE(IsFieldError(ConfirmUnderstanding(FamilyEpisode(), kClient, RestatedGoal(),
                                                Understanding::CORRECTED, "", T1()),
                           "correction"));
  EXPECT_TRUE(IsFieldError(ConfirmUnderstanding(FamilyEpisode(), kClient, RestatedGoal(),
                                                Understanding::CORRECTED, "  ", T1()),
                           "correction"));
  EXPECT_TRUE(IsFieldError(ConfirmUnderstanding(FamilyEpisode(), kClient, RestatedGoal(),
                                                Understanding::CONFIRMED, "but also", T1()),
                           "correction"));
}

TEST(GoalRulesTest, VerdictMustBeConfirmedOrCorrected) {
  for (int verdict :
       std::vector<int>{Understanding::VERDICT_UNSPECIFIED, Understanding::UNCONFIRMED, 99, -1}) {
    EXPECT_TRUE(IsFieldError(
        ConfirmUnderstanding(FamilyEpisode(), kClient, RestatedGoal(), verdict, "", T1()),
        "verdict"))
        << verdict;
  }
}

TEST(GoalRulesTest, ConfirmWithoutRestatementFails) {
  EXPECT_TRUE(HasCode(ConfirmUnderstanding(FamilyEpisode(), kClient, StoredGoal(),
                                           Understanding::CONFIRMED, "", T1()),
                      absl::StatusCode::kFailedPrecondition));
}

TEST(GoalRulesTest, NewRestatementResetsVerdict) {
  absl::StatusOr<Goal> corrected = ConfirmUnderstanding(
      FamilyEpisode(), kClient, RestatedGoal(), Understanding::CORRECTED, "The mornings", T1());
  ASSERT_TRUE(corrected.ok()) << corrected.status();
  absl::StatusOr<Goal> restated =
      RestateGoal(FamilyEpisode(), kOtherTherapist, *corrected, "You want calmer mornings", T1());
  ASSERT_TRUE(restated.ok()) << restated.status();
  EXPECT_EQ(restated->understanding().verdict(), Understanding::UNCONFIRMED);
  EXPECT_EQ(restated->understanding().correction(), "");
  EXPECT_FALSE(restated->understanding().has_verdict_time());
  EXPECT_EQ(restated->understanding().restated_by(), kOtherTherapist);
  EXPECT_EQ(restated->understanding().restatement(), "You want calmer mornings");

  // And the owner answers the new restatement.
  absl::StatusOr<Goal> confirmed =
      ConfirmUnderstanding(FamilyEpisode(), kClient, *restated, Understanding::CONFIRMED, "", T1());
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(confirmed->understanding().verdict(), Understanding::CONFIRMED);
}

TEST(GoalRulesTest, ChangingWordsClearsUnderstanding) {
  absl::StatusOr<Goal> confirmed = ConfirmUnderstanding(FamilyEpisode(), kClient, RestatedGoal(),
                                                        Understanding::CONFIRMED, "", T1());
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();

  Goal same_words;
  same_words.set_words(kWords);
  same_words.set_priority(4);
  absl::StatusOr<Goal> kept =
      UpdateGoal(FamilyEpisode(), kClient, *confirmed, same_words, {"words", "priority"});
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_TRUE(kept->has_understanding());
  EXPECT_EQ(kept->understanding().verdict(), Understanding::CONFIRMED);

  Goal new_words;
  new_words.set_words("I want to wake up rested");
  absl::StatusOr<Goal> cleared =
      UpdateGoal(FamilyEpisode(), kClient, *confirmed, new_words, {"words"});
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_FALSE(cleared->has_understanding());
  EXPECT_EQ(cleared->words(), "I want to wake up rested");
}

TEST(GoalRulesTest, ChangingSignsKeepsUnderstanding) {
  Goal patch;
  patch.set_everyday_signs("I laugh at breakfast");
  absl::StatusOr<Goal> next =
      UpdateGoal(FamilyEpisode(), kClient, RestatedGoal(), patch, {"everyday_signs"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->has_understanding());
  EXPECT_EQ(next->understanding().restatement(), "You want your nights back");
}

// --- Visibility -------------------------------------------------------------------------------

TEST(GoalRulesTest, OwnerAndTherapistsVisibility) {
  Goal goal = StoredGoal();
  goal.set_visibility(Goal::OWNER_AND_THERAPISTS);
  const Episode episode = FamilyEpisode();
  EXPECT_TRUE(CanSeeGoal(episode, goal, kClient));
  EXPECT_TRUE(CanSeeGoal(episode, goal, kTherapist));
  EXPECT_TRUE(CanSeeGoal(episode, goal, kOtherTherapist));
  EXPECT_FALSE(CanSeeGoal(episode, goal, kFamily));
  EXPECT_FALSE(CanSeeGoal(episode, goal, kOtherFamily));
  EXPECT_FALSE(CanSeeGoal(episode, goal, kOtherClient));
  EXPECT_FALSE(CanSeeGoal(episode, goal, kStranger));
}

TEST(GoalRulesTest, EpisodeVisibility) {
  const Episode episode = FamilyEpisode();
  for (Goal::Visibility visibility : {Goal::EPISODE, Goal::VISIBILITY_UNSPECIFIED}) {
    Goal goal = StoredGoal();
    goal.set_visibility(visibility);
    for (const std::string& person : std::vector<std::string>{
             kClient, kFamily, kOtherClient, kOtherFamily, kTherapist, kOtherTherapist}) {
      EXPECT_TRUE(CanSeeGoal(episode, goal, person)) << person;
    }
    EXPECT_FALSE(CanSeeGoal(episode, goal, kStranger));
  }
}

TEST(GoalRulesTest, OwnerNoLongerInEpisodeCannotSeeHiddenGoal) {
  Goal goal = StoredGoal(Goal::ACTIVE, "Patient/5");
  goal.set_visibility(Goal::OWNER_AND_THERAPISTS);
  EXPECT_FALSE(CanSeeGoal(FamilyEpisode(), goal, "Patient/5"));
}

// --- A status changed in the host EHR -------------------------------------------------------

TEST(GoalRulesTest, TherapistInTheEhrMayChangeTheStatusOfTheCurrentRevision) {
  const Goal current = StoredGoal();
  absl::StatusOr<Goal> next =
      HostGoalStatusChange(FamilyEpisode(), kTherapist, current, 3, Goal::ACHIEVED);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->status(), Goal::ACHIEVED);
  EXPECT_EQ(next->words(), current.words());  // nothing but the status
  EXPECT_EQ(next->owner(), current.owner());
}

TEST(GoalRulesTest, OnlyATherapistOfTheEpisodeChangesAStatusFromTheEhr) {
  for (const char* who : {kClient, kFamily, kStranger}) {
    EXPECT_TRUE(HasCode(HostGoalStatusChange(FamilyEpisode(), who, StoredGoal(), 3, Goal::ACHIEVED),
                        absl::StatusCode::kPermissionDenied))
        << who;
  }
}

TEST(GoalRulesTest, AnEhrChangeOfAnOlderRevisionIsAConflict) {
  EXPECT_TRUE(
      HasCode(HostGoalStatusChange(FamilyEpisode(), kTherapist, StoredGoal(), 2, Goal::ACHIEVED),
              absl::StatusCode::kAborted));
}

TEST(GoalRulesTest, AnEhrStatusChangeFollowsTheTransitionRules) {
  EXPECT_TRUE(HasCode(HostGoalStatusChange(FamilyEpisode(), kTherapist, StoredGoal(Goal::ACHIEVED),
                                           3, Goal::PAUSED),
                      absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(
      HasCode(HostGoalStatusChange(FamilyEpisode(), kTherapist, StoredGoal(), 3, Goal::PROPOSED),
              absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(HasCode(
      HostGoalStatusChange(testing::ClosedEpisode(), kTherapist, StoredGoal(), 3, Goal::ACHIEVED),
      absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(IsFieldError(
      HostGoalStatusChange(FamilyEpisode(), kTherapist, StoredGoal(), 3, Goal::STATUS_UNSPECIFIED)
          .status(),
      "status"));
}

}  // namespace
}  // namespace collabcare::domain
