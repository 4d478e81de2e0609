// Every canonical URL and identifier system collabcare's FHIR resources use, under one base.
// The JSON conformance definitions in adapters/conformance/ carry the same URLs for the default
// base; a test keeps the two in step.
#ifndef COLLABCARE_ADAPTERS_FHIR_CANONICAL_H_
#define COLLABCARE_ADAPTERS_FHIR_CANONICAL_H_

#include <string>

namespace collabcare::fhir {

// The default base; deployments may choose their own (the conformance files are then
// regenerated with adapters/conformance/rebase.sh).
inline constexpr char kDefaultCanonicalBase[] = "https://collabcare.dev/fhir";

// All URLs derive from `base` (no trailing slash).
struct CanonicalUrls {
  explicit CanonicalUrls(std::string base = kDefaultCanonicalBase);

  std::string base;

  // Identifier systems. A resource's business identifier is {system}|{value} with the value
  // the collabcare resource name, so conditional create/update by identifier is idempotent.
  std::string record_identifier;  // {base}/sid/record  (value: "episodes/e1/goals/g1", …)

  // Code systems (and a value set of the same name holding all their codes).
  std::string cs_hypothesis_kind;    // {base}/CodeSystem/hypothesis-kind
  std::string cs_tentativeness;      // {base}/CodeSystem/tentativeness
  std::string cs_hypothesis_status;  // {base}/CodeSystem/hypothesis-status
  std::string cs_stance;             // {base}/CodeSystem/hypothesis-stance
  std::string cs_understanding;      // {base}/CodeSystem/understanding-verdict
  std::string cs_episode_format;     // {base}/CodeSystem/episode-format
  std::string cs_episode_modality;   // {base}/CodeSystem/episode-modality
  std::string cs_participant_role;   // {base}/CodeSystem/participant-role
  std::string cs_instrument;       // {base}/CodeSystem/instrument  (ORS, SRS, GBO, goal-rating …)
  std::string cs_record_kind;      // {base}/CodeSystem/record-kind (for AuditEvent entities)
  std::string cs_goal_visibility;  // {base}/CodeSystem/goal-visibility (added with the mappers)

  // Extensions.
  std::string ext_everyday_signs;     // {base}/StructureDefinition/goal-everyday-signs
  std::string ext_goal_visibility;    // {base}/StructureDefinition/goal-visibility
  std::string ext_understanding;      // {base}/StructureDefinition/goal-understanding (complex)
  std::string ext_transcribed_by;     // {base}/StructureDefinition/goal-transcribed-by
  std::string ext_hypothesis_kind;    // {base}/StructureDefinition/hypothesis-kind
  std::string ext_tentativeness;      // {base}/StructureDefinition/hypothesis-tentativeness
  std::string ext_hypothesis_status;  // {base}/StructureDefinition/hypothesis-status
  std::string ext_audience;           // {base}/StructureDefinition/hypothesis-audience
  std::string ext_episode_format;     // {base}/StructureDefinition/episode-format
  std::string ext_episode_modality;   // {base}/StructureDefinition/episode-modality
  std::string ext_dissent;            // {base}/StructureDefinition/signature-dissent
  std::string ext_record_revision;    // {base}/StructureDefinition/record-revision
  std::string ext_goal_rank;  // {base}/StructureDefinition/goal-rank (added with the mappers)

  // Profiles (StructureDefinitions constraining base resources).
  std::string profile_goal;        // {base}/StructureDefinition/collabcare-goal
  std::string profile_careplan;    // {base}/StructureDefinition/collabcare-careplan
  std::string profile_impression;  // {base}/StructureDefinition/collabcare-clinicalimpression
  std::string profile_response;    // {base}/StructureDefinition/collabcare-hypothesis-response
  std::string profile_rating;      // {base}/StructureDefinition/collabcare-goal-rating
  std::string profile_review;      // {base}/StructureDefinition/collabcare-review-composition

  // Questionnaires for the instruments (structure and scoring, not copyrighted wording).
  std::string questionnaire_ors;  // {base}/Questionnaire/ors
  std::string questionnaire_srs;  // {base}/Questionnaire/srs
  std::string questionnaire_gbo;  // {base}/Questionnaire/gbo

  std::string capability_statement;  // {base}/CapabilityStatement/collabcare
};

}  // namespace collabcare::fhir

#endif  // COLLABCARE_ADAPTERS_FHIR_CANONICAL_H_
