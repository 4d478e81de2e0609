// Rules for goals.
#include "plugin/domain/goals.h"

#include "absl/strings/str_cat.h"
#include "plugin/common/status_macros.h"
#include "plugin/domain/access.h"
#include "plugin/domain/timestamps.h"
#include "plugin/domain/validation.h"

namespace collabcare::domain {
namespace {

namespace v1 = ::collabcare::v1;

absl::Status ValidatePriority(int priority) {
  if (priority < 0 || priority > kMaxPriority) {
    return FieldError("goal.priority", "must be between 0 and 1000");
  }
  return absl::OkStatus();
}

absl::Status ValidateVisibility(int visibility, bool allow_unspecified) {
  if (!v1::Goal::Visibility_IsValid(visibility) ||
      (!allow_unspecified && visibility == v1::Goal::VISIBILITY_UNSPECIFIED)) {
    return FieldError("goal.visibility", "must be EPISODE or OWNER_AND_THERAPISTS");
  }
  return absl::OkStatus();
}

absl::Status RequireOwner(const v1::Goal& goal, const std::string& caller) {
  if (goal.owner() != caller) {
    return absl::PermissionDeniedError("only the goal's owner may change it");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Goal> NewGoal(const v1::Episode& episode, const std::string& caller,
                                 const v1::Goal& input) {
  RETURN_IF_ERROR(ValidateText(input.words(), "goal.words", /*required=*/true));
  RETURN_IF_ERROR(ValidateText(input.everyday_signs(), "goal.everyday_signs", false));
  RETURN_IF_ERROR(ValidatePriority(input.priority()));
  RETURN_IF_ERROR(ValidateVisibility(input.visibility(), /*allow_unspecified=*/true));
  if (!v1::Goal::Status_IsValid(input.status()) ||
      (input.status() != v1::Goal::STATUS_UNSPECIFIED && input.status() != v1::Goal::ACTIVE &&
       input.status() != v1::Goal::PROPOSED)) {
    return FieldError("goal.status", "a new goal is ACTIVE or PROPOSED");
  }
  if (!input.owner().empty()) RETURN_IF_ERROR(ValidatePersonReference(input.owner(), "goal.owner"));
  RETURN_IF_ERROR(RequireOpenEpisode(episode));

  v1::Goal goal;
  if (IsClientSide(episode, caller)) {
    if (!input.owner().empty() && input.owner() != caller) {
      return absl::PermissionDeniedError(
          "a client or family member writes goals only for themselves");
    }
    goal.set_owner(caller);
    goal.set_status(input.status() == v1::Goal::PROPOSED ? v1::Goal::PROPOSED : v1::Goal::ACTIVE);
  } else if (IsTherapist(episode, caller)) {
    if (input.owner().empty()) {
      return FieldError("goal.owner", "is required when a therapist writes a goal down");
    }
    if (!IsClientSide(episode, input.owner())) {
      return FieldError("goal.owner", "must be a CLIENT or FAMILY_MEMBER of the episode");
    }
    goal.set_owner(input.owner());
    goal.set_transcribed_by(caller);
    goal.set_status(v1::Goal::PROPOSED);  // until the owner accepts the words as theirs
  } else {
    return absl::PermissionDeniedError("not allowed to write goals in this episode");
  }
  goal.set_words(input.words());
  goal.set_everyday_signs(input.everyday_signs());
  goal.set_priority(input.priority());
  goal.set_visibility(input.visibility() == v1::Goal::VISIBILITY_UNSPECIFIED ? v1::Goal::EPISODE
                                                                             : input.visibility());
  return goal;
}

bool GoalTransitionAllowed(v1::Goal::Status from, v1::Goal::Status to) {
  if (from == to) return true;
  switch (to) {
    case v1::Goal::ACTIVE:
      // Accepting a proposed goal, resuming a paused one, or taking one up again.
      return from == v1::Goal::PROPOSED || from == v1::Goal::PAUSED || from == v1::Goal::ACHIEVED ||
             from == v1::Goal::LET_GO;
    case v1::Goal::PAUSED:
      return from == v1::Goal::ACTIVE;
    case v1::Goal::ACHIEVED:
      return from == v1::Goal::ACTIVE || from == v1::Goal::PAUSED;
    case v1::Goal::LET_GO:
      return from == v1::Goal::PROPOSED || from == v1::Goal::ACTIVE || from == v1::Goal::PAUSED;
    default:
      return false;  // nothing goes back to PROPOSED
  }
}

absl::StatusOr<v1::Goal> UpdateGoal(const v1::Episode& episode, const std::string& caller,
                                    const v1::Goal& current, const v1::Goal& patch,
                                    const std::vector<std::string>& mask) {
  if (mask.empty()) return FieldError("update_mask", "must name at least one field");
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  RETURN_IF_ERROR(RequireOwner(current, caller));
  v1::Goal next = current;
  for (const std::string& path : mask) {
    if (path == "words") {
      RETURN_IF_ERROR(ValidateText(patch.words(), "goal.words", /*required=*/true));
      if (patch.words() != current.words()) next.clear_understanding();
      next.set_words(patch.words());
    } else if (path == "everyday_signs") {
      RETURN_IF_ERROR(ValidateText(patch.everyday_signs(), "goal.everyday_signs", false));
      next.set_everyday_signs(patch.everyday_signs());
    } else if (path == "priority") {
      RETURN_IF_ERROR(ValidatePriority(patch.priority()));
      next.set_priority(patch.priority());
    } else if (path == "status") {
      if (!v1::Goal::Status_IsValid(patch.status()) ||
          patch.status() == v1::Goal::STATUS_UNSPECIFIED) {
        return FieldError("goal.status", "must be PROPOSED, ACTIVE, PAUSED, ACHIEVED or LET_GO");
      }
      if (!GoalTransitionAllowed(current.status(), patch.status())) {
        return absl::FailedPreconditionError(
            absl::StrCat("a goal cannot move from ", v1::Goal::Status_Name(current.status()),
                         " to ", v1::Goal::Status_Name(patch.status())));
      }
      next.set_status(patch.status());
    } else if (path == "visibility") {
      RETURN_IF_ERROR(ValidateVisibility(patch.visibility(), /*allow_unspecified=*/false));
      next.set_visibility(patch.visibility());
    } else {
      return FieldError("update_mask",
                        "may name only words, everyday_signs, priority, status and visibility");
    }
  }
  return next;
}

absl::StatusOr<v1::Goal> RestateGoal(const v1::Episode& episode, const std::string& caller,
                                     const v1::Goal& current, const std::string& restatement,
                                     absl::Time now) {
  RETURN_IF_ERROR(ValidateText(restatement, "restatement", /*required=*/true));
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  if (!IsTherapist(episode, caller)) {
    return absl::PermissionDeniedError("only a therapist may restate a goal");
  }
  v1::Goal next = current;
  v1::Understanding* u = next.mutable_understanding();
  u->Clear();
  u->set_restatement(restatement);
  u->set_restated_by(caller);
  ToTimestamp(now, u->mutable_restate_time());
  u->set_verdict(v1::Understanding::UNCONFIRMED);
  return next;
}

absl::StatusOr<v1::Goal> ConfirmUnderstanding(const v1::Episode& episode, const std::string& caller,
                                              const v1::Goal& current, int verdict,
                                              const std::string& correction, absl::Time now) {
  if (verdict != v1::Understanding::CONFIRMED && verdict != v1::Understanding::CORRECTED) {
    return FieldError("verdict", "must be CONFIRMED or CORRECTED");
  }
  RETURN_IF_ERROR(ValidateText(correction, "correction",
                               /*required=*/verdict == v1::Understanding::CORRECTED));
  if (verdict == v1::Understanding::CONFIRMED && !correction.empty()) {
    return FieldError("correction", "is only for a CORRECTED verdict");
  }
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  if (current.owner() != caller) {
    return absl::PermissionDeniedError("only the goal's owner may answer a restatement");
  }
  if (!current.has_understanding() || current.understanding().restatement().empty()) {
    return absl::FailedPreconditionError("the goal has no restatement to answer");
  }
  v1::Goal next = current;
  v1::Understanding* u = next.mutable_understanding();
  u->set_verdict(static_cast<v1::Understanding::Verdict>(verdict));
  u->set_correction(correction);
  ToTimestamp(now, u->mutable_verdict_time());
  return next;
}

absl::StatusOr<v1::Goal> HostGoalStatusChange(const v1::Episode& episode,
                                              const std::string& ehr_user, const v1::Goal& current,
                                              int64_t based_on, v1::Goal::Status status) {
  if (status == v1::Goal::STATUS_UNSPECIFIED || !v1::Goal::Status_IsValid(status)) {
    return FieldError("status", "must be a goal status");
  }
  if (!IsTherapist(episode, ehr_user)) {
    return absl::PermissionDeniedError(
        "a goal's status is changed from the EHR only by a therapist of the episode");
  }
  if (based_on != current.meta().revision()) {
    return absl::AbortedError(absl::StrCat("the EHR changed revision ", based_on,
                                           " of the goal, but collabcare has revision ",
                                           current.meta().revision()));
  }
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  if (!GoalTransitionAllowed(current.status(), status)) {
    return absl::FailedPreconditionError(absl::StrCat("a goal cannot move from ",
                                                      v1::Goal::Status_Name(current.status()),
                                                      " to ", v1::Goal::Status_Name(status)));
  }
  v1::Goal next = current;
  next.set_status(status);
  return next;
}

}  // namespace collabcare::domain
