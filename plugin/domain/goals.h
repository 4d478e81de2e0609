// Rules for goals: the owner's verbatim words, which only the owner changes; therapists may
// transcribe (PROPOSED until the owner accepts) and restate; the owner confirms or corrects.
#ifndef COLLABCARE_PLUGIN_DOMAIN_GOALS_H_
#define COLLABCARE_PLUGIN_DOMAIN_GOALS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collabcare/v1/resources.pb.h"

namespace collabcare::domain {

// A new goal from the request's `goal`. A client or family member writes their own goal
// (owner defaults to them; ACTIVE unless they ask for PROPOSED); a therapist transcribes a goal
// for a named client or family member and it is PROPOSED. Anyone else: PERMISSION_DENIED.
absl::StatusOr<::collabcare::v1::Goal> NewGoal(const ::collabcare::v1::Episode& episode,
                                               const std::string& caller,
                                               const ::collabcare::v1::Goal& input);

// Whether a goal may move from one status to another. PROPOSED is only ever a starting point.
bool GoalTransitionAllowed(::collabcare::v1::Goal::Status from, ::collabcare::v1::Goal::Status to);

// The goal after the owner's changes to the `mask` paths (words, everyday_signs, priority,
// status, visibility). Only the owner; a changed wording clears an earlier restatement, which
// was of words that no longer stand (it stays in the revisions).
absl::StatusOr<::collabcare::v1::Goal> UpdateGoal(const ::collabcare::v1::Episode& episode,
                                                  const std::string& caller,
                                                  const ::collabcare::v1::Goal& current,
                                                  const ::collabcare::v1::Goal& patch,
                                                  const std::vector<std::string>& mask);

// A therapist's restatement; the verdict becomes UNCONFIRMED. The words are untouched.
absl::StatusOr<::collabcare::v1::Goal> RestateGoal(const ::collabcare::v1::Episode& episode,
                                                   const std::string& caller,
                                                   const ::collabcare::v1::Goal& current,
                                                   const std::string& restatement, absl::Time now);

// The owner's verdict on the current restatement: CONFIRMED, or CORRECTED with a correction.
absl::StatusOr<::collabcare::v1::Goal> ConfirmUnderstanding(
    const ::collabcare::v1::Episode& episode, const std::string& caller,
    const ::collabcare::v1::Goal& current, int verdict, const std::string& correction,
    absl::Time now);

// A change of the goal's status made in the host EHR by `ehr_user` (the FHIR reference the EHR
// names as the author), on top of revision `based_on` of the goal. Only the status is ever
// taken from the EHR: a client's words are not rewritten by anyone else. Refused, so that the
// caller keeps it visible as a conflict, when `ehr_user` is not a THERAPIST of the episode
// (PERMISSION_DENIED), when `based_on` is not the goal's current revision (ABORTED: a newer
// change was made in collabcare), when the episode is closed or the transition is not allowed
// by GoalTransitionAllowed (FAILED_PRECONDITION). INVALID_ARGUMENT `status` for a value that
// is not a goal status.
absl::StatusOr<::collabcare::v1::Goal> HostGoalStatusChange(
    const ::collabcare::v1::Episode& episode, const std::string& ehr_user,
    const ::collabcare::v1::Goal& current, int64_t based_on, ::collabcare::v1::Goal::Status status);

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_GOALS_H_
