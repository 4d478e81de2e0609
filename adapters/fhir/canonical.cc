// Derives every canonical URL and identifier system from one base (see canonical.h).
#include "adapters/fhir/canonical.h"

#include <string>
#include <utility>

namespace collabcare::fhir {

CanonicalUrls::CanonicalUrls(std::string base_url) : base(std::move(base_url)) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string cs = base + "/CodeSystem/";
  const std::string sd = base + "/StructureDefinition/";
  const std::string q = base + "/Questionnaire/";

  record_identifier = base + "/sid/record";

  cs_hypothesis_kind = cs + "hypothesis-kind";
  cs_tentativeness = cs + "tentativeness";
  cs_hypothesis_status = cs + "hypothesis-status";
  cs_stance = cs + "hypothesis-stance";
  cs_understanding = cs + "understanding-verdict";
  cs_episode_format = cs + "episode-format";
  cs_episode_modality = cs + "episode-modality";
  cs_participant_role = cs + "participant-role";
  cs_instrument = cs + "instrument";
  cs_record_kind = cs + "record-kind";
  cs_goal_visibility = cs + "goal-visibility";

  ext_everyday_signs = sd + "goal-everyday-signs";
  ext_goal_visibility = sd + "goal-visibility";
  ext_understanding = sd + "goal-understanding";
  ext_transcribed_by = sd + "goal-transcribed-by";
  ext_hypothesis_kind = sd + "hypothesis-kind";
  ext_tentativeness = sd + "hypothesis-tentativeness";
  ext_hypothesis_status = sd + "hypothesis-status";
  ext_audience = sd + "hypothesis-audience";
  ext_episode_format = sd + "episode-format";
  ext_episode_modality = sd + "episode-modality";
  ext_dissent = sd + "signature-dissent";
  ext_record_revision = sd + "record-revision";
  ext_goal_rank = sd + "goal-rank";

  profile_goal = sd + "collabcare-goal";
  profile_careplan = sd + "collabcare-careplan";
  profile_impression = sd + "collabcare-clinicalimpression";
  profile_response = sd + "collabcare-hypothesis-response";
  profile_rating = sd + "collabcare-goal-rating";
  profile_review = sd + "collabcare-review-composition";

  questionnaire_ors = q + "ors";
  questionnaire_srs = q + "srs";
  questionnaire_gbo = q + "gbo";

  capability_statement = base + "/CapabilityStatement/collabcare";
}

}  // namespace collabcare::fhir
