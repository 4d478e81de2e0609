// Every code the FHIR mappers write: collabcare's local codes (one table per code system in
// canonical.h, kept in step with adapters/conformance/) and the external codes with their sources.
#ifndef COLLABCARE_ADAPTERS_FHIR_CODES_H_
#define COLLABCARE_ADAPTERS_FHIR_CODES_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "collabcare/v1/resources.pb.h"

namespace collabcare::fhir {

// A code and its display.
struct Concept {
  absl::string_view code;
  absl::string_view display;
};

// ---- External code systems (reference/fhir-facts.md names where each comes from). ----

// Sensitivity labels, fhir-facts.md 4.1: confidentiality R (restricted) and the
// _ActInformationSensitivityPolicy code MH (mental health information sensitivity).
inline constexpr char kV3Confidentiality[] =
    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
inline constexpr char kV3ActCode[] = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
inline constexpr char kLoinc[] = "http://loinc.org";
inline constexpr char kUcum[] = "http://unitsofmeasure.org";
inline constexpr char kXhtmlNs[] = "http://www.w3.org/1999/xhtml";
// LOINC 34904-3 "Mental health Progress note" (fhir-facts.md 2.2 and 3.3): the type of the
// DocumentReference notes and of the signed review's Composition.
inline constexpr char kLoincMentalHealthNote[] = "34904-3";
inline constexpr char kLoincMentalHealthNoteDisplay[] = "Mental health Progress note";
inline constexpr char kGoalAchievement[] = "http://terminology.hl7.org/CodeSystem/goal-achievement";
inline constexpr char kGoalPriority[] = "http://terminology.hl7.org/CodeSystem/goal-priority";
inline constexpr char kGoalCategory[] = "http://terminology.hl7.org/CodeSystem/goal-category";
inline constexpr char kConditionClinical[] =
    "http://terminology.hl7.org/CodeSystem/condition-clinical";
inline constexpr char kConditionVerification[] =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";
inline constexpr char kConditionCategory[] =
    "http://terminology.hl7.org/CodeSystem/condition-category";
inline constexpr char kObservationCategory[] =
    "http://terminology.hl7.org/CodeSystem/observation-category";
inline constexpr char kProvenanceParticipantType[] =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
inline constexpr char kV3DataOperation[] = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
// ASTM E1762 signature types (fhir-facts.md 3.2); every signer co-authored the review's content
// (their own ratings and reflections), so each signature is a Coauthor's Signature.
inline constexpr char kSignatureType[] = "urn:iso-astm:E1762-95:2013";
inline constexpr char kCoauthorSignature[] = "1.2.840.10065.1.12.1.2";
inline constexpr char kCoauthorSignatureDisplay[] = "Coauthor's Signature";
inline constexpr char kListEmptyReason[] =
    "http://terminology.hl7.org/CodeSystem/list-empty-reason";
inline constexpr char kDocumentCategory[] =
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category";
// AuditEvent in the style of IHE BALP (fhir-facts.md 5.7).
inline constexpr char kAuditEventType[] = "http://terminology.hl7.org/CodeSystem/audit-event-type";
inline constexpr char kRestfulInteraction[] = "http://hl7.org/fhir/restful-interaction";
inline constexpr char kDicom[] = "http://dicom.nema.org/resources/ontology/DCM";
inline constexpr char kAuditSourceType[] =
    "http://terminology.hl7.org/CodeSystem/security-source-type";
inline constexpr char kAuditEntityType[] =
    "http://terminology.hl7.org/CodeSystem/audit-entity-type";
inline constexpr char kBalpEntityType[] =
    "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
inline constexpr char kPertainsToGoal[] =
    "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal";

// ---- collabcare's local code systems (URLs in CanonicalUrls). ----

// cs_record_kind: the kinds of record (AuditEvent entities, CarePlan category) and the codes of
// the Observations that have no standard code.
inline constexpr Concept kKindEpisode{"episode", "Collaborative care episode"};
inline constexpr Concept kKindGoal{"goal", "Goal"};
inline constexpr Concept kKindHypothesis{"hypothesis", "Shared hypothesis"};
inline constexpr Concept kKindReview{"review", "Shared progress review"};
inline constexpr Concept kKindResponse{"hypothesis-response", "Response to a shared hypothesis"};
// The component of a response Observation that holds the stance (its value is the words).
inline constexpr Concept kKindResponseStance{"response-stance",
                                             "Stance toward the shared hypothesis"};

// cs_instrument: the instrument ids of the threshold table ("ORS", "SRS", "GBO", …) and
// "goal-rating". No LOINC codes exist for ORS, SRS or GBO (fhir-facts.md 3.1, 1.5). PCO's GAS
// codes (107333-7 practitioner, 107334-5 patient, 107331-1 caregiver; fhir-facts.md 1.5) score
// GAS levels -2..+2 (LL6900-6), not a 0-10 goal rating, so a goal rating is the local
// "goal-rating"; like PCO, every rater's score is its own Observation with `focus` the Goal.
inline constexpr Concept kGoalRating{"goal-rating", "Goal progress rating (0-10)"};
// Display of an instrument's total: "<display> total score". Unknown ids display as themselves.
absl::string_view InstrumentDisplay(absl::string_view instrument_id);
// QuestionnaireResponse item labels (linkIds are "1", "2", … in item order).
absl::string_view InstrumentItemLabel(absl::string_view instrument_id, int index);

// A goal's status in words, for narratives and notes.
absl::string_view GoalStatusWords(v1::Goal::Status status);

Concept FormatConcept(v1::Episode::Format format);
Concept ModalityConcept(v1::Episode::Modality modality);
Concept RoleConcept(v1::Participant::Role role);
Concept VisibilityConcept(v1::Goal::Visibility visibility);
Concept VerdictConcept(v1::Understanding::Verdict verdict);
Concept KindConcept(v1::Hypothesis::Kind kind);
Concept TentativenessConcept(v1::Hypothesis::Tentativeness tentativeness);
Concept HypothesisStatusConcept(v1::Hypothesis::Status status);
Concept StanceConcept(v1::HypothesisResponse::Stance stance);

// Reverse look-ups; nullopt for an unknown code (and for the empty code of *_UNSPECIFIED).
std::optional<v1::Episode::Format> FormatFromCode(absl::string_view code);
std::optional<v1::Episode::Modality> ModalityFromCode(absl::string_view code);
std::optional<v1::Participant::Role> RoleFromCode(absl::string_view code);
std::optional<v1::Goal::Visibility> VisibilityFromCode(absl::string_view code);
std::optional<v1::Understanding::Verdict> VerdictFromCode(absl::string_view code);
std::optional<v1::Hypothesis::Kind> KindFromCode(absl::string_view code);
std::optional<v1::Hypothesis::Tentativeness> TentativenessFromCode(absl::string_view code);
std::optional<v1::Hypothesis::Status> HypothesisStatusFromCode(absl::string_view code);
std::optional<v1::HypothesisResponse::Stance> StanceFromCode(absl::string_view code);

}  // namespace collabcare::fhir

#endif  // COLLABCARE_ADAPTERS_FHIR_CODES_H_
