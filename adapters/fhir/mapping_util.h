// Internal helpers shared by the domain → FHIR mappers: a resource writer with the common
// elements (meta, identifier, references, codings, narrative) and participant look-ups.
// Not part of the adapter's API.
#ifndef COLLABCARE_ADAPTERS_FHIR_MAPPING_UTIL_H_
#define COLLABCARE_ADAPTERS_FHIR_MAPPING_UTIL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/codes.h"
#include "adapters/fhir/json_writer.h"
#include "adapters/fhir/mapping.h"
#include "collabcare/v1/resources.pb.h"
#include "google/protobuf/message.h"

namespace collabcare::fhir::internal {

// The participant with this reference, or nullptr.
const v1::Participant* FindParticipant(const v1::Episode& episode, absl::string_view person);

// The CLIENT who is the FHIR subject for `person` (see mapping.h), or nullptr.
const v1::Participant* SubjectFor(const v1::Episode& episode, absl::string_view person);

// A person's name for narratives: their display, else their reference.
absl::string_view DisplayName(const v1::Episode* episode, absl::string_view person);

// The part of a child name after "episodes/{e}/", e.g. "goals/g1"; the whole name otherwise.
absl::string_view RelativeName(absl::string_view name);

// The path of the first string field of `message` (recursively) that is not valid UTF-8, e.g.
// "goal.understanding.restatement", or "" when every string is valid.
std::string FindInvalidUtf8(const google::protobuf::Message& message, absl::string_view root);

// An array opened only when its first item comes, so no empty array is ever written.
class LazyArray {
 public:
  LazyArray(JsonWriter* w, absl::string_view key) : w_(w), key_(key) {}
  // Call before writing each item.
  void Item() {
    if (!open_) {
      w_->Key(key_);
      w_->BeginArray();
      open_ = true;
    }
  }
  void Close() {
    if (open_) w_->EndArray();
    open_ = false;
  }

 private:
  JsonWriter* w_;
  absl::string_view key_;
  bool open_ = false;
};

// Writes one resource.
class ResourceWriter {
 public:
  // `episode` overrides ctx.episode (for mapping an episode itself).
  ResourceWriter(const MappingContext& ctx, absl::string_view type, std::string key,
                 bool key_is_tag = false, const v1::Episode* episode = nullptr);

  JsonWriter& w() { return w_; }
  const MappingContext& ctx() const { return ctx_; }
  const v1::Episode* episode() const { return episode_; }
  const std::string& key() const { return key_; }

  // "meta": profile (if not empty), security labels, and the tag when the key is one.
  void Meta(absl::string_view profile);
  // "identifier": [{system, value: key}], or a single object when `single` (Composition,
  // QuestionnaireResponse).
  void Identifier(bool single = false);
  // Narrative: "text": {"status": "generated", "div": "<div …>" then Markup/Text, then
  // EndNarrative.
  void BeginNarrative();
  void EndNarrative();

  // Object members of a Reference to a person: reference and display.
  void PersonRefBody(absl::string_view person);
  // "key": {reference, display}.
  void PersonRef(absl::string_view key, absl::string_view person);
  // Object members of a logical reference to another collabcare resource.
  void RecordRefBody(absl::string_view type, absl::string_view identifier_value);
  void RecordRef(absl::string_view key, absl::string_view type, absl::string_view identifier_value);
  // A Coding object.
  void Coding(absl::string_view system, Concept value_concept);
  // A CodeableConcept object with one coding and, if not empty, a text.
  void CodeableConcept(absl::string_view system, Concept value_concept,
                       absl::string_view text = "");
  // "key": CodeableConcept.
  void CodeableConceptField(absl::string_view key, absl::string_view system, Concept value_concept,
                            absl::string_view text = "");
  // A Quantity of the "{score}" unit; `path` names it for preserved decimal text.
  void ScoreQuantity(double value, absl::string_view path, absl::string_view where);
  // A decimal, as the preserved text at `path` when that still denotes `value`.
  void DecimalAt(double value, absl::string_view path, absl::string_view where);
  // "key": string, left out when blank.
  void OptionalString(absl::string_view key, absl::string_view value);

  // Extension items (call `ext.Item()` first for each): {url, value…}.
  void ExtensionCoding(LazyArray& ext, absl::string_view url, absl::string_view system,
                       Concept value_concept);
  void ExtensionString(LazyArray& ext, absl::string_view url, absl::string_view value);
  void ExtensionPerson(LazyArray& ext, absl::string_view url, absl::string_view person);
  void ExtensionPositiveInt(LazyArray& ext, absl::string_view url, int64_t value);
  // The preserved unknown extensions of this resource, at the end of its extension array.
  void PreservedExtensions(LazyArray& ext);
  // The record-revision extension (when revision > 0).
  void RevisionExtension(LazyArray& ext, int64_t revision);

  // Closes the resource. INVALID_ARGUMENT naming the field when the writer failed or met
  // invalid UTF-8 (located in `record`, and in the episode's participants).
  absl::StatusOr<FhirResource> Finish(const google::protobuf::Message& record,
                                      absl::string_view root);
  // The same for a record that is not a message; `utf8_path` names the field to blame.
  absl::StatusOr<FhirResource> Finish(absl::string_view utf8_path);

 private:
  const MappingContext& ctx_;
  const v1::Episode* episode_;
  const Preserved* preserved_ = nullptr;
  std::string type_;
  std::string key_;
  bool key_is_tag_;
  std::string json_;
  JsonWriter w_;
};

// A participant's reference in narratives: "Maya (Patient/1)".
void NarratePerson(ResourceWriter& r, absl::string_view person);

}  // namespace collabcare::fhir::internal

#endif  // COLLABCARE_ADAPTERS_FHIR_MAPPING_UTIL_H_
