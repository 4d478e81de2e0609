// Who may see what.
#include "plugin/domain/access.h"

#include <algorithm>

namespace collabcare::domain {

namespace v1 = ::collabcare::v1;

std::optional<Role> RoleOf(const v1::Episode& episode, const std::string& person) {
  for (const v1::Participant& p : episode.participants()) {
    if (p.person() == person) return p.role();
  }
  return std::nullopt;
}

bool IsClientSide(Role role) {
  return role == v1::Participant::CLIENT || role == v1::Participant::FAMILY_MEMBER;
}

bool IsTherapist(const v1::Episode& episode, const std::string& person) {
  std::optional<Role> role = RoleOf(episode, person);
  return role && *role == v1::Participant::THERAPIST;
}

bool IsClientSide(const v1::Episode& episode, const std::string& person) {
  std::optional<Role> role = RoleOf(episode, person);
  return role && IsClientSide(*role);
}

absl::Status RequireParticipant(const v1::Episode& episode, const std::string& person) {
  if (!RoleOf(episode, person)) return absl::NotFoundError("episode not found");
  return absl::OkStatus();
}

absl::Status RequireOpenEpisode(const v1::Episode& episode) {
  if (episode.status() == v1::Episode::CLOSED) {
    return absl::FailedPreconditionError("the episode is closed; reopen it to make changes");
  }
  return absl::OkStatus();
}

bool CanSeeGoal(const v1::Episode& episode, const v1::Goal& goal, const std::string& person) {
  if (!RoleOf(episode, person)) return false;
  if (goal.visibility() != v1::Goal::OWNER_AND_THERAPISTS) return true;
  return goal.owner() == person || IsTherapist(episode, person);
}

std::vector<std::string> EffectiveAudience(const v1::Episode& episode,
                                           const v1::Hypothesis& hypothesis) {
  if (hypothesis.audience_size() > 0) {
    return {hypothesis.audience().begin(), hypothesis.audience().end()};
  }
  std::vector<std::string> audience;
  for (const v1::Participant& p : episode.participants()) {
    if (IsClientSide(p.role())) audience.push_back(p.person());
  }
  return audience;
}

bool CanSeeHypothesis(const v1::Episode& episode, const v1::Hypothesis& hypothesis,
                      const std::string& person) {
  if (!RoleOf(episode, person)) return false;
  if (IsTherapist(episode, person)) return true;
  const std::vector<std::string> audience = EffectiveAudience(episode, hypothesis);
  return std::find(audience.begin(), audience.end(), person) != audience.end();
}

}  // namespace collabcare::domain
