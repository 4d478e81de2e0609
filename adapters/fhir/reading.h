// FHIR R4 → domain: pure readers from FHIR JSON back to collabcare's records, the inverse of
// mapping.h (DESIGN.md "FHIR R4 mapping"). No I/O; never throws.
//
// Every reader returns INVALID_ARGUMENT naming the element path (e.g. "Goal.description.text",
// "Goal.target[0].detailQuantity.value") for malformed JSON, the wrong resourceType, a missing
// or ill-typed required element, a code outside its code system, a reference to a person who is
// not a participant of the episode or to a record collabcare does not know, and an unknown
// modifierExtension. Messages carry paths only, never the content.
//
// Fidelity: decimals keep their exact text, unknown resource-level extensions are kept as JSON
// and other unmapped elements are listed, all in Preserved (by resource key); pass that back
// through MappingContext::preserved and the resource is written as it was read.
#ifndef COLLABCARE_ADAPTERS_FHIR_READING_H_
#define COLLABCARE_ADAPTERS_FHIR_READING_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/mapping.h"
#include "collabcare/v1/resources.pb.h"
#include "plugin/domain/thresholds.h"

namespace collabcare::fhir {

// What a reader checks references against.
struct ReadContext {
  CanonicalUrls urls;
  // The episode the resources belong to: people are checked against its participants. Required
  // by every reader but EpisodeFromFhir.
  const v1::Episode* episode = nullptr;
  // Names of the records collabcare knows (goals, hypotheses, reviews, e.g.
  // "episodes/e1/goals/g1"). A reference to any other record is INVALID_ARGUMENT; null means
  // none is known.
  const absl::flat_hash_set<std::string>* known_names = nullptr;
  // The instrument table for questionnaire responses; null means domain::DefaultThresholds().
  const domain::ThresholdTable* thresholds = nullptr;
};

// A record read from FHIR, with what could not be mapped onto it.
template <typename T>
struct FromFhir {
  T record;
  // The record this one belongs to: the hypothesis of a response, the review of a score.
  std::string parent;
  // Per resource key (FhirResource::key): decimals, unknown extensions, unmapped elements.
  absl::flat_hash_map<std::string, Preserved> preserved;
};

// CareTeam + the CarePlans of its clients → Episode (participants from the CareTeam; format,
// modality, status and revision from the CarePlans, which must agree). Needs no episode in ctx.
absl::StatusOr<FromFhir<v1::Episode>> EpisodeFromFhir(
    absl::string_view care_team, const std::vector<absl::string_view>& care_plans,
    const ReadContext& ctx);

// Goal → Goal. The owner is expressedBy; the words description.text; priority the goal-rank
// extension (else from Goal.priority: high 1, medium 2, low 3); status from lifecycleStatus
// (planned/accepted read as ACTIVE, rejected as LET_GO).
absl::StatusOr<FromFhir<v1::Goal>> GoalFromFhir(absl::string_view goal, const ReadContext& ctx);

// ClinicalImpression (+ its Condition, or "" when there is none) → Hypothesis without responses
// (read those with ResponseFromFhir). Revision from the identifier "{name}/revisions/{n}";
// `previous` must be revision n-1.
absl::StatusOr<FromFhir<v1::Hypothesis>> HypothesisFromFhir(absl::string_view impression,
                                                            absl::string_view condition,
                                                            const ReadContext& ctx);

// Response Observation → HypothesisResponse; `parent` is the hypothesis, which must be known.
absl::StatusOr<FromFhir<v1::HypothesisResponse>> ResponseFromFhir(absl::string_view observation,
                                                                  const ReadContext& ctx);

// Goal-rating Observation → Rating; `parent` is the review (known), the goal must be known.
absl::StatusOr<FromFhir<v1::Rating>> RatingFromFhir(absl::string_view observation,
                                                    const ReadContext& ctx);

// QuestionnaireResponse → InstrumentScore, the total computed by the instrument's rule;
// `parent` is the review (known).
absl::StatusOr<FromFhir<v1::InstrumentScore>> InstrumentScoreFromFhir(
    absl::string_view questionnaire_response, const ReadContext& ctx);

// A review's score resources (QuestionnaireResponses, total and goal-rating Observations, in any
// order) → a Review with `name`, `ratings` and `instrument_scores` set. Totals are derived from
// the QuestionnaireResponses and must agree with them.
absl::StatusOr<FromFhir<v1::Review>> ReviewScoresFromFhir(
    const std::vector<absl::string_view>& resources, const ReadContext& ctx);

}  // namespace collabcare::fhir

#endif  // COLLABCARE_ADAPTERS_FHIR_READING_H_
