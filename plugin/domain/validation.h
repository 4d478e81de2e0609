// Field validation shared by every rule: text limits, FHIR references, resource names,
// request ids. Errors are INVALID_ARGUMENT and name the field path, never its content.
#ifndef COLLABCARE_PLUGIN_DOMAIN_VALIDATION_H_
#define COLLABCARE_PLUGIN_DOMAIN_VALIDATION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace collabcare::domain {

// Documented limits of API v1.
inline constexpr size_t kMaxTextBytes = 8 * 1024;    // free text: words, restatements …
inline constexpr size_t kMaxDisplayBytes = 200;      // participant display names
inline constexpr size_t kMaxCodeBytes = 64;          // Code.code
inline constexpr size_t kMaxCodeDisplayBytes = 512;  // Code.display
inline constexpr size_t kMaxUriBytes = 512;          // Code.system
inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr int kMaxParticipants = 64;
inline constexpr int kMaxListItems = 64;  // related goals, audience, review goals
inline constexpr int kMaxPriority = 1000;

// INVALID_ARGUMENT "<field>: <problem>".
absl::Status FieldError(absl::string_view field, absl::string_view problem);

// Valid UTF-8 (no overlong forms, no surrogates, no NUL), at most `max_bytes`; `required`
// also refuses an empty or all-whitespace value.
absl::Status ValidateText(absl::string_view value, absl::string_view field, bool required,
                          size_t max_bytes = kMaxTextBytes);

// A FHIR reference `Type/id` with Type in Patient, RelatedPerson, Practitioner,
// PractitionerRole, Person and id per FHIR's id syntax.
absl::Status ValidatePersonReference(absl::string_view value, absl::string_view field);

// Empty, or at most 128 characters of [A-Za-z0-9._:-].
absl::Status ValidateRequestId(absl::string_view value, absl::string_view field);

// A date `YYYY-MM-DD` that exists in the calendar.
absl::Status ValidateDate(absl::string_view value, absl::string_view field);

// A score 0–10 with at most one decimal place.
absl::Status ValidateScore(double value, absl::string_view field);

// Resource names. Ids are 1–63 characters of [a-z0-9-].
struct ChildName {
  std::string episode_id;
  std::string id;
};
// `episodes/{id}` → id.
absl::StatusOr<std::string> ParseEpisodeName(absl::string_view name, absl::string_view field);
// `episodes/{e}/{collection}/{id}` → {e, id}.
absl::StatusOr<ChildName> ParseChildName(absl::string_view name, absl::string_view collection,
                                         absl::string_view field);
std::string EpisodeName(absl::string_view episode_id);
std::string ChildResourceName(absl::string_view episode_id, absl::string_view collection,
                              absl::string_view id);

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_VALIDATION_H_
