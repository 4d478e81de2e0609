// Realistic records for the FHIR mapping tests, the golden files (fhir_golden) and the mapping
// benchmark: a family episode with three clients, an individual and a closed couple episode,
// goals, hypotheses and reviews in every state and edge case, and audit records.
#ifndef COLLABCARE_TESTS_FHIR_GOLDEN_CASES_H_
#define COLLABCARE_TESTS_FHIR_GOLDEN_CASES_H_

#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/fhir/mapping.h"
#include "collabcare/v1/resources.pb.h"
#include "plugin/store/store.h"

namespace collabcare::fhir::testing {

// The people of the family episode `episodes/e1`.
inline constexpr char kMaya[] = "Patient/1";
inline constexpr char kGrace[] = "RelatedPerson/2";  // Maya's mother
inline constexpr char kJonah[] = "Patient/3";
inline constexpr char kLia[] = "Patient/4";
inline constexpr char kTomas[] = "RelatedPerson/5";  // stepfather
inline constexpr char kTherapist[] = "Practitioner/9";
inline constexpr char kCoTherapist[] = "Practitioner/12";

using Record = std::variant<v1::Episode, v1::Goal, v1::Hypothesis, v1::Review, store::AuditRecord>;

struct GoldenCase {
  std::string name;  // file name prefix, e.g. "goal-restated-corrected"
  std::string what;  // one line on what it covers
  v1::Episode episode;
  std::vector<v1::Goal> goals;  // the episode's goals (context for narratives)
  Record record;
};

// The family episode (FAMILY, THERAPIST_LED, ACTIVE; clients Maya, Jonah, Lia; family members
// Grace and Tomas; therapists Practitioner/9 and /12) and its goals.
v1::Episode FamilyEpisode();
std::vector<v1::Goal> FamilyGoals();
// Individual records the tests use directly.
v1::Goal RestatedCorrectedGoal();         // episodes/e1/goals/g1, Maya's, revision 4
v1::Goal TranscribedGoal();               // Jonah's, PROPOSED, transcribed by Practitioner/9
v1::Goal UnicodeGoal();                   // long text with emoji, RTL scripts and combining marks
v1::Goal XhtmlSpecialGoal();              // <script>&"' in the words
v1::Hypothesis ProfessionalHypothesis();  // ICD-10-CM, revision 2, one response per stance
v1::Review SignedReview();                // 3 raters, ORS/SRS/GBO, dissent, SIGNED

// Every case, in a fixed order with unique names.
std::vector<GoldenCase> GoldenCases();

// Every resource the mappers produce for the case: the record's resources and, for a domain
// record, its DocumentReference note.
absl::StatusOr<std::vector<FhirResource>> MapGoldenCase(const GoldenCase& golden,
                                                        const CanonicalUrls& urls);

}  // namespace collabcare::fhir::testing

#endif  // COLLABCARE_TESTS_FHIR_GOLDEN_CASES_H_
