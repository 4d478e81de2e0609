// Fixtures and status assertions shared by the domain rule tests (rules_test): a family
// episode with known people, fixed times, and checks on status codes and field paths.
#ifndef COLLABCARE_TESTS_DOMAIN_RULES_TEST_UTIL_H_
#define COLLABCARE_TESTS_DOMAIN_RULES_TEST_UTIL_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collabcare/v1/resources.pb.h"
#include "gtest/gtest.h"

namespace collabcare::domain::testing {

// The people of the standard episode.
inline constexpr char kClient[] = "Patient/1";
inline constexpr char kFamily[] = "RelatedPerson/2";
inline constexpr char kOtherClient[] = "Patient/3";
inline constexpr char kOtherFamily[] = "RelatedPerson/4";
inline constexpr char kTherapist[] = "Practitioner/9";
inline constexpr char kOtherTherapist[] = "Practitioner/8";
// Not a participant of any fixture episode.
inline constexpr char kStranger[] = "Patient/77";

inline constexpr char kEpisodeName[] = "episodes/e1";

// 2026-01-01T00:00:00Z and a few hours later; tests never read the wall clock.
inline absl::Time T0() { return absl::FromUnixSeconds(1767225600); }
inline absl::Time T1() { return absl::FromUnixSeconds(1767225600 + 3600); }
inline absl::Time T2() { return absl::FromUnixSeconds(1767225600 + 7200); }

inline ::collabcare::v1::Participant MakeParticipant(const std::string& person,
                                                     ::collabcare::v1::Participant::Role role) {
  ::collabcare::v1::Participant p;
  p.set_person(person);
  p.set_role(role);
  return p;
}

// An ACTIVE episode `episodes/e1` with exactly these participants.
inline ::collabcare::v1::Episode MakeEpisode(
    const std::vector<std::pair<std::string, ::collabcare::v1::Participant::Role>>& people,
    ::collabcare::v1::Episode::Format format = ::collabcare::v1::Episode::CLIENT_LED,
    ::collabcare::v1::Episode::Modality modality = ::collabcare::v1::Episode::FAMILY) {
  ::collabcare::v1::Episode episode;
  episode.set_name(kEpisodeName);
  for (const auto& [person, role] : people)
    *episode.add_participants() = MakeParticipant(person, role);
  episode.set_format(format);
  episode.set_modality(modality);
  episode.set_status(::collabcare::v1::Episode::ACTIVE);
  episode.mutable_meta()->set_revision(1);
  return episode;
}

// The standard episode: two clients, two family members, two therapists.
inline ::collabcare::v1::Episode FamilyEpisode(
    ::collabcare::v1::Episode::Format format = ::collabcare::v1::Episode::CLIENT_LED) {
  using ::collabcare::v1::Participant;
  return MakeEpisode({{kClient, Participant::CLIENT},
                      {kFamily, Participant::FAMILY_MEMBER},
                      {kOtherClient, Participant::CLIENT},
                      {kOtherFamily, Participant::FAMILY_MEMBER},
                      {kTherapist, Participant::THERAPIST},
                      {kOtherTherapist, Participant::THERAPIST}},
                     format);
}

inline ::collabcare::v1::Episode ClosedEpisode() {
  ::collabcare::v1::Episode episode = FamilyEpisode();
  episode.set_status(::collabcare::v1::Episode::CLOSED);
  return episode;
}

inline std::string StatusText(const absl::Status& status) { return status.ToString(); }

// The status has `code`.
inline ::testing::AssertionResult HasCode(const absl::Status& status, absl::StatusCode code) {
  if (status.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected " << absl::StatusCodeToString(code) << ", got " << StatusText(status);
}
template <typename T>
::testing::AssertionResult HasCode(const absl::StatusOr<T>& result, absl::StatusCode code) {
  return HasCode(result.status(), code);
}

// INVALID_ARGUMENT naming exactly `field` ("<field>: <problem>").
inline ::testing::AssertionResult IsFieldError(const absl::Status& status,
                                               const std::string& field) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure()
           << "expected INVALID_ARGUMENT on " << field << ", got " << StatusText(status);
  }
  if (!absl::StartsWith(status.message(), absl::StrCat(field, ": "))) {
    return ::testing::AssertionFailure()
           << "expected the field path " << field << ", got " << StatusText(status);
  }
  return ::testing::AssertionSuccess();
}
template <typename T>
::testing::AssertionResult IsFieldError(const absl::StatusOr<T>& result, const std::string& field) {
  return IsFieldError(result.status(), field);
}

}  // namespace collabcare::domain::testing

#endif  // COLLABCARE_TESTS_DOMAIN_RULES_TEST_UTIL_H_
