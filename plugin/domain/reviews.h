// Rules for shared progress reviews: each participant rates, reflects and signs for
// themselves; a signature binds to the SHA-256 of the canonical content; a change after a
// signature clears the signatures; a SIGNED review is immutable.
#ifndef COLLABCARE_PLUGIN_DOMAIN_REVIEWS_H_
#define COLLABCARE_PLUGIN_DOMAIN_REVIEWS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collabcare/v1/resources.pb.h"
#include "plugin/domain/thresholds.h"

namespace collabcare::domain {

// A new review of `input.goals()` (default: every ACTIVE goal with EPISODE visibility).
// In a THERAPIST_LED episode only therapists start reviews; in a CLIENT_LED one, anyone.
absl::StatusOr<::collabcare::v1::Review> NewReview(
    const ::collabcare::v1::Episode& episode, const std::string& caller,
    const ::collabcare::v1::Review& input,
    const std::vector<::collabcare::v1::Goal>& episode_goals);

// The caller's ratings and instrument scores, each replacing their earlier one for the same
// goal or instrument. A rating for someone else is PERMISSION_DENIED.
absl::StatusOr<::collabcare::v1::Review> SubmitRatings(
    const ::collabcare::v1::Episode& episode, const std::string& caller,
    const ::collabcare::v1::Review& current, const std::vector<::collabcare::v1::Rating>& ratings,
    const std::vector<::collabcare::v1::InstrumentScore>& instrument_scores,
    const ThresholdTable& thresholds);

// The caller's reflection, replacing their earlier one.
absl::StatusOr<::collabcare::v1::Review> AddReflection(const ::collabcare::v1::Episode& episode,
                                                       const std::string& caller,
                                                       const ::collabcare::v1::Review& current,
                                                       const std::string& words);

// A next step; its owner (default the caller) must be a participant.
absl::StatusOr<::collabcare::v1::Review> AddNextStep(const ::collabcare::v1::Episode& episode,
                                                     const std::string& caller,
                                                     const ::collabcare::v1::Review& current,
                                                     const ::collabcare::v1::NextStep& step);

// The caller signs the current content (replacing their own earlier signature, e.g. to add
// dissent). The caller of this function has already checked that the signer saw the current
// revision (etag). The review becomes SIGNED when every client and family member of the
// episode and at least one therapist have signed.
absl::StatusOr<::collabcare::v1::Review> SignReview(const ::collabcare::v1::Episode& episode,
                                                    const std::string& caller,
                                                    const ::collabcare::v1::Review& current,
                                                    const std::string& dissent, absl::Time now);

// The canonical content a signature binds to: the review's name, goals in order, ratings
// sorted by (rater, goal), instrument scores sorted by (rater, instrument) with items in
// tenths, reflections sorted by participant and next steps in order, each field written as
// `<tag> <byte length>:<bytes>\n` so no two contents share an encoding.
std::string CanonicalContent(const ::collabcare::v1::Review& review);

// Lowercase hex SHA-256 of CanonicalContent (OpenSSL).
std::string ContentSha256(const ::collabcare::v1::Review& review);

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_REVIEWS_H_
