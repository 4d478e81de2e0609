// Who may see what (DESIGN.md, "Who may do what"). Roles come only from the episode's
// participant list and the verified caller, never from a request.
#ifndef COLLABCARE_PLUGIN_DOMAIN_ACCESS_H_
#define COLLABCARE_PLUGIN_DOMAIN_ACCESS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "collabcare/v1/resources.pb.h"

namespace collabcare::domain {

using Role = ::collabcare::v1::Participant::Role;

// The caller's role in the episode, or nullopt for a non-participant.
std::optional<Role> RoleOf(const ::collabcare::v1::Episode& episode, const std::string& person);

// CLIENT or FAMILY_MEMBER: the people whose voices the episode is for.
bool IsClientSide(Role role);
bool IsTherapist(const ::collabcare::v1::Episode& episode, const std::string& person);
bool IsClientSide(const ::collabcare::v1::Episode& episode, const std::string& person);

// NOT_FOUND ("episode not found") unless `person` takes part: an episode does not exist for
// anyone outside it.
absl::Status RequireParticipant(const ::collabcare::v1::Episode& episode,
                                const std::string& person);

// FAILED_PRECONDITION if the episode is CLOSED (closed episodes are read only).
absl::Status RequireOpenEpisode(const ::collabcare::v1::Episode& episode);

// The owner and the therapists see OWNER_AND_THERAPISTS goals; every participant sees the rest.
bool CanSeeGoal(const ::collabcare::v1::Episode& episode, const ::collabcare::v1::Goal& goal,
                const std::string& person);

// Who a hypothesis is addressed to: its audience, or every client and family member when the
// audience is empty.
std::vector<std::string> EffectiveAudience(const ::collabcare::v1::Episode& episode,
                                           const ::collabcare::v1::Hypothesis& hypothesis);

// The audience and the therapists see a hypothesis.
bool CanSeeHypothesis(const ::collabcare::v1::Episode& episode,
                      const ::collabcare::v1::Hypothesis& hypothesis, const std::string& person);

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_ACCESS_H_
