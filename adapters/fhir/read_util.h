// Internal helpers of the FHIR → domain readers: element access that checks JSON types and
// names element paths in errors, reference and code look-ups, extension and fidelity
// bookkeeping. Not part of the adapter's API.
#ifndef COLLABCARE_ADAPTERS_FHIR_READ_UTIL_H_
#define COLLABCARE_ADAPTERS_FHIR_READ_UTIL_H_

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/mapping.h"
#include "adapters/fhir/reading.h"
#include "collabcare/v1/resources.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace collabcare::fhir::internal {

// An element of a parsed resource and its path ("Goal.target[0]"); absent when `value()` is
// null.
class Elem {
 public:
  Elem(const JsonValue* v, std::string path) : v_(v), path_(std::move(path)) {}

  bool present() const { return v_ != nullptr; }
  const JsonValue* value() const { return v_; }
  const std::string& path() const { return path_; }

  Elem Get(absl::string_view key) const;
  Elem Index(size_t i) const;

  // INVALID_ARGUMENT "<path>: <problem>".
  absl::Status Error(absl::string_view problem) const;

  // A string that is present and not blank.
  absl::StatusOr<std::string> RequiredString() const;
  // "" when absent; an error when present but not a non-blank string.
  absl::StatusOr<std::string> OptionalString() const;
  // The items of an array (none when absent and !required). An error for a non-array or an
  // empty array.
  absl::StatusOr<std::vector<Elem>> Items(bool required) const;
  // An error unless present (when required) and an object.
  absl::Status Object(bool required) const;
  // A JSON number; its exact text goes to `decimal_text` when not null.
  absl::StatusOr<double> Number(std::string* decimal_text = nullptr) const;
  // An integer >= 1.
  absl::StatusOr<int64_t> PositiveInt() const;
  // A FHIR dateTime or instant with a time and a time zone.
  absl::StatusOr<google::protobuf::Timestamp> Instant() const;

 private:
  const JsonValue* v_;
  std::string path_;
};

// Parses one resource and checks its resourceType; the root Elem has path `type`.
absl::StatusOr<JsonValue> ParseResource(absl::string_view json, absl::string_view type);

// The code of the first coding of CodeableConcept `cc` whose system is `system`.
absl::StatusOr<std::string> CodeFrom(const Elem& cc, absl::string_view system);

// A person reference ("Patient/1", also "https://ehr/fhir/Patient/1/_history/2") that names a
// participant of `episode` whose role is in `roles` (all roles when empty).
absl::StatusOr<std::string> PersonFrom(const Elem& reference, const v1::Episode& episode,
                                       std::initializer_list<v1::Participant::Role> roles = {});

// The key a logical reference names: Reference.identifier in collabcare's system, or a
// conditional reference "{type}?identifier={system}|{key}". `type` is checked when given.
absl::StatusOr<std::string> RecordKeyFrom(const Elem& reference, absl::string_view type,
                                          const CanonicalUrls& urls);

// The resource's collabcare identifier value (identifier[] or, when `single`, identifier).
absl::StatusOr<std::string> IdentifierFrom(const Elem& resource, const CanonicalUrls& urls,
                                           bool single);

// Walks resource.extension: `handle(url, ext)` returns true for extensions it mapped; every
// other one is kept as JSON in `preserved`. Errors from `handle` stop the walk.
absl::Status Extensions(
    const Elem& resource, Preserved* preserved,
    const std::function<absl::StatusOr<bool>(const std::string& url, const Elem& ext)>& handle);

// Refuses any modifierExtension, and lists in `preserved->reported` each top-level element of
// the resource that is not in `known` (resourceType, id, meta, text, extension and identifier
// are always known).
absl::Status CheckElements(const Elem& resource, std::initializer_list<absl::string_view> known,
                           Preserved* preserved);

// Splits "{prefix}/{collection}/{rest}" keys such as "episodes/e1/hypotheses/h1/revisions/2".
// Returns the record name (the first four segments) and puts the rest after
// "/{marker}/" into *rest; an error at `where` when the shape does not match.
absl::StatusOr<std::string> SplitKey(absl::string_view key, absl::string_view collection,
                                     absl::string_view marker, std::string* rest,
                                     const Elem& where);

// Whether the record `name` belongs to `episode` (its name starts with the episode's name).
bool InEpisode(absl::string_view name, const v1::Episode& episode);

// Whether ctx knows the record.
bool Known(const ReadContext& ctx, absl::string_view name);

}  // namespace collabcare::fhir::internal

#endif  // COLLABCARE_ADAPTERS_FHIR_READ_UTIL_H_
