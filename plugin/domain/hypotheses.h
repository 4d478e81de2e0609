// Rules for hypotheses: a therapist's thoughts made public to an audience that holds at least
// one client or family member; revised, never hidden or deleted; answered by the audience.
#ifndef COLLABCARE_PLUGIN_DOMAIN_HYPOTHESES_H_
#define COLLABCARE_PLUGIN_DOMAIN_HYPOTHESES_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collabcare/v1/resources.pb.h"

namespace collabcare::domain {

// A new hypothesis from the request's `hypothesis`. Therapists only. `episode_goals` holds
// the names of the episode's goals, for checking `related_goals`.
absl::StatusOr<::collabcare::v1::Hypothesis> NewHypothesis(
    const ::collabcare::v1::Episode& episode, const std::string& caller,
    const ::collabcare::v1::Hypothesis& input, const std::set<std::string>& episode_goals);

// The hypothesis after a therapist's revision of the `mask` paths. Responses stay; each keeps
// the revision it answered.
absl::StatusOr<::collabcare::v1::Hypothesis> ReviseHypothesis(
    const ::collabcare::v1::Episode& episode, const std::string& caller,
    const ::collabcare::v1::Hypothesis& current, const ::collabcare::v1::Hypothesis& patch,
    const std::vector<std::string>& mask, const std::set<std::string>& episode_goals);

// The caller's answer, replacing their earlier one (which stays in the revisions). Only members
// of the audience, for themselves; the answer records the revision it answered.
absl::StatusOr<::collabcare::v1::Hypothesis> RespondToHypothesis(
    const ::collabcare::v1::Episode& episode, const std::string& caller,
    const ::collabcare::v1::Hypothesis& current, int stance, const std::string& words,
    absl::Time now);

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_HYPOTHESES_H_
