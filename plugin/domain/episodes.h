// Rules for episodes: who is in them, in which role, format and modality.
#ifndef COLLABCARE_PLUGIN_DOMAIN_EPISODES_H_
#define COLLABCARE_PLUGIN_DOMAIN_EPISODES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collabcare/v1/resources.pb.h"

namespace collabcare::domain {

// A new episode from the request's `episode` (fields are checked as `episode.…`). The caller
// must be one of its THERAPIST participants (else PERMISSION_DENIED). Status defaults to
// ACTIVE. Name and meta are left for the caller to fill.
absl::StatusOr<::collabcare::v1::Episode> NewEpisode(const std::string& caller,
                                                     const ::collabcare::v1::Episode& input);

// The episode after applying the `mask` paths of `patch`. THERAPIST participants only. The
// result must still hold the caller as a therapist, so no one locks everyone out.
absl::StatusOr<::collabcare::v1::Episode> UpdateEpisode(const std::string& caller,
                                                        const ::collabcare::v1::Episode& current,
                                                        const ::collabcare::v1::Episode& patch,
                                                        const std::vector<std::string>& mask);

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_EPISODES_H_
