// Domain → FHIR R4: pure functions from collabcare's records to FHIR JSON resources. No I/O;
// each returns every resource the record maps to (DESIGN.md "FHIR R4 mapping").
//
// Conventions shared by every mapper:
//  - Every resource has a business identifier {urls.record_identifier}|{value}: the record's
//    name, plus a suffix for resources derived from it (see each function). Provenance and
//    AuditEvent have no `identifier` element in R4: their key's deterministic urn:uuid
//    (UuidForKey in bundle.h) is a meta.tag in system urn:ietf:rfc:3986, and conditional
//    creates use `_tag=` for them.
//  - meta.security carries v3-Confidentiality R and v3-ActCode MH (fhir-facts.md 4.1);
//    meta.profile names collabcare's profile where one exists.
//  - text.div is generated XHTML showing the participants' own words, escaped.
//  - References to people are the FHIR references the domain holds (Patient/1, …) with their
//    display. References to other collabcare resources are logical (type + identifier); the
//    transaction Bundle (bundle.h) turns them into urn:uuid or conditional references.
//  - The FHIR subject of a record is a CLIENT of the episode whose reference is a Patient: the
//    person themself when they are one (a client's goal, rating, response), else the episode's
//    first such client. An episode without one gives FAILED_PRECONDITION.
//  - Strings that are empty or only whitespace are left out (FHIR JSON allows neither).
//  - Invalid UTF-8 in a record gives INVALID_ARGUMENT naming the field (e.g. "goal.words").
#ifndef COLLABCARE_ADAPTERS_FHIR_MAPPING_H_
#define COLLABCARE_ADAPTERS_FHIR_MAPPING_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "adapters/fhir/canonical.h"
#include "collabcare/v1/resources.pb.h"
#include "plugin/store/store.h"

namespace collabcare::fhir {

// One FHIR resource as compact JSON.
struct FhirResource {
  std::string type;  // "Goal", "Observation", …
  // The business identifier value (for Provenance and AuditEvent, the name of the key whose
  // urn:uuid is their meta.tag).
  std::string key;
  // True when the resource carries `key` as a meta.tag rather than an identifier.
  bool key_is_tag = false;
  std::string json;
};

// What a FHIR → domain reader found that the domain record has no field for, so that writing
// the record again keeps it (see reading.h).
struct Preserved {
  // Unknown resource-level extensions, each as compact JSON, in their order. Written back at
  // the end of the resource's `extension` array.
  std::vector<std::string> extensions;
  // Element paths of what was present but not mapped and cannot be written back (unknown
  // nested extensions, elements collabcare does not use). Reported, never silently dropped.
  std::vector<std::string> reported;
  // Exact decimal text by element path (e.g. "Observation.valueQuantity.value" → "7.50").
  // Written back when it still denotes the record's value.
  absl::flat_hash_map<std::string, std::string> decimals;
};

// Everything a mapper needs besides the record itself.
struct MappingContext {
  CanonicalUrls urls;
  // The record's episode: required for goals, hypotheses, reviews and notes (participants'
  // roles and displays, the client who is the FHIR subject).
  const v1::Episode* episode = nullptr;
  // The episode's goals, optional: a review's narrative shows their words, a CarePlan lists
  // its client's goals.
  const std::vector<v1::Goal>* goals = nullptr;
  // Read-back fidelity by resource key (FhirResource::key), optional.
  const absl::flat_hash_map<std::string, Preserved>* preserved = nullptr;
};

// Episode → one CarePlan per CLIENT who is a Patient (CarePlan.subject is 0..1; key
// "{episode}/careplans/{Patient/n}") + one CareTeam (key "{episode}/careteam").
absl::StatusOr<std::vector<FhirResource>> EpisodeToFhir(const v1::Episode& episode,
                                                        const MappingContext& ctx);

// Goal → Goal (key: the goal's name) + Provenance of this revision (tag
// "{goal}/provenance/{revision}", agent author = the owner, enterer = who transcribed or wrote
// the revision when not the owner).
absl::StatusOr<std::vector<FhirResource>> GoalToFhir(const v1::Goal& goal,
                                                     const MappingContext& ctx);

// Hypothesis → ClinicalImpression for this revision (key "{name}/revisions/{n}", `previous`
// = revision n-1) + for a PROFESSIONAL hypothesis with a code a Condition (key
// "{name}/condition"; verificationStatus differential while the therapist is WONDERING,
// provisional otherwise; clinicalStatus inactive once SET_ASIDE) + one Observation per
// response (key "{name}/responses/{person}"; valueString = the words as DESIGN.md has it, the
// stance a component coded from cs_stance, focus = the ClinicalImpression of the revision
// answered).
absl::StatusOr<std::vector<FhirResource>> HypothesisToFhir(const v1::Hypothesis& hypothesis,
                                                           const MappingContext& ctx);

// Review → per rater and instrument a QuestionnaireResponse (key
// "{review}/instruments/{rater}/{instrument}") and an Observation of the total (key
// "{review}/totals/{rater}/{instrument}", derivedFrom the QuestionnaireResponse); per rater and
// goal an Observation of the rating (key "{review}/ratings/{rater}/goals/{goal id}", focus =
// the Goal); when SIGNED a Composition (key "{review}/composition") and a Provenance with one
// signature per signer (tag "{review}/signatures").
absl::StatusOr<std::vector<FhirResource>> ReviewToFhir(const v1::Review& review,
                                                       const MappingContext& ctx);

// Audit record → AuditEvent in the style of IHE BALP (tag: a digest of the record's fields).
// Needs no episode.
absl::StatusOr<FhirResource> AuditToFhir(const store::AuditRecord& record,
                                         const MappingContext& ctx);

// Any record → a DocumentReference note (LOINC 34904-3) whose attachment is a plain-text
// rendering of the record (key "{name}/note").
absl::StatusOr<FhirResource> NoteToFhir(const v1::Episode& episode, const MappingContext& ctx);
absl::StatusOr<FhirResource> NoteToFhir(const v1::Goal& goal, const MappingContext& ctx);
absl::StatusOr<FhirResource> NoteToFhir(const v1::Hypothesis& hypothesis,
                                        const MappingContext& ctx);
absl::StatusOr<FhirResource> NoteToFhir(const v1::Review& review, const MappingContext& ctx);

// The plain-text renderings the notes carry.
std::string RenderText(const v1::Episode& episode, const MappingContext& ctx);
std::string RenderText(const v1::Goal& goal, const MappingContext& ctx);
std::string RenderText(const v1::Hypothesis& hypothesis, const MappingContext& ctx);
std::string RenderText(const v1::Review& review, const MappingContext& ctx);

}  // namespace collabcare::fhir

#endif  // COLLABCARE_ADAPTERS_FHIR_MAPPING_H_
