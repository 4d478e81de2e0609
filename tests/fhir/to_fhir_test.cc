// Domain → FHIR: what each mapper writes for each record type, state and edge case.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/mapping.h"
#include "gtest/gtest.h"
#include "plugin/store/store.h"
#include "tests/fhir/fhir_test_util.h"
#include "tests/fhir/golden_cases.h"

namespace collabcare::fhir::testing {
namespace {

class ToFhirTest : public ::testing::Test {
 protected:
  ToFhirTest() : episode_(FamilyEpisode()), goals_(FamilyGoals()) {
    ctx_.episode = &episode_;
    ctx_.goals = &goals_;
  }

  std::vector<FhirResource> Map(const v1::Goal& g) {
    absl::StatusOr<std::vector<FhirResource>> r = GoalToFhir(g, ctx_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<FhirResource>{};
  }
  std::vector<FhirResource> Map(const v1::Hypothesis& h) {
    absl::StatusOr<std::vector<FhirResource>> r = HypothesisToFhir(h, ctx_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<FhirResource>{};
  }
  std::vector<FhirResource> Map(const v1::Review& rv) {
    absl::StatusOr<std::vector<FhirResource>> r = ReviewToFhir(rv, ctx_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<FhirResource>{};
  }
  // The extension with this URL (first match) in a resource.
  const JsonValue* Extension(const JsonValue& resource, const std::string& url) {
    const JsonValue* ext = resource.Find("extension");
    if (ext == nullptr) return nullptr;
    for (const JsonValue& e : ext->items()) {
      if (Text(e, "url") == url) return &e;
    }
    return nullptr;
  }

  CanonicalUrls urls_;
  v1::Episode episode_;
  std::vector<v1::Goal> goals_;
  MappingContext ctx_;
};

TEST_F(ToFhirTest, FamilyEpisodeGivesOneCarePlanPerClientAndOneCareTeam) {
  absl::StatusOr<std::vector<FhirResource>> r = EpisodeToFhir(episode_, ctx_);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto plans = OfType(*r, "CarePlan");
  ASSERT_EQ(plans.size(), 3u);
  const char* clients[] = {kMaya, kJonah, kLia};
  for (int i = 0; i < 3; ++i) {
    const JsonValue plan = Parse(plans[i]->json);
    EXPECT_EQ(Text(plan, "subject.reference"), clients[i]);
    EXPECT_EQ(Text(plan, "intent"), "plan");
    EXPECT_EQ(Text(plan, "status"), "active");
    EXPECT_EQ(Text(plan, "identifier[0].value"),
              std::string("episodes/e1/careplans/") + clients[i]);
    EXPECT_EQ(Text(plan, "careTeam[0].identifier.value"), "episodes/e1/careteam");
    EXPECT_EQ(Text(plan, "meta.profile[0]"), urls_.profile_careplan);
    EXPECT_EQ(Text(*Extension(plan, urls_.ext_episode_modality), "valueCoding.code"), "family");
    EXPECT_EQ(Text(*Extension(plan, urls_.ext_episode_format), "valueCoding.code"),
              "therapist-led");
    EXPECT_EQ(At(plan, "contributor")->items().size(), 7u);
  }
  // Maya's plan lists the goals about her: her own (g1, g5) and the family members' (g2, g10).
  const JsonValue maya = Parse(plans[0]->json);
  ASSERT_NE(At(maya, "goal"), nullptr);
  EXPECT_EQ(At(maya, "goal")->items().size(), 4u);
  EXPECT_EQ(At(Parse(plans[2]->json), "goal")->items().size(), 3u);  // Lia: g4, g6, g8
  const auto teams = OfType(*r, "CareTeam");
  ASSERT_EQ(teams.size(), 1u);
  const JsonValue team = Parse(teams[0]->json);
  ASSERT_EQ(At(team, "participant")->items().size(), 7u);
  EXPECT_EQ(Text(team, "participant[1].member.reference"), kGrace);
  EXPECT_EQ(Text(team, "participant[1].role[0].coding[0].code"), "family-member");
  EXPECT_EQ(Text(team, "participant[5].role[0].coding[0].code"), "therapist");
  EXPECT_EQ(Text(team, "participant[4].member.display"), "Tomás");
}

TEST_F(ToFhirTest, ClosedEpisodeCompletesPlansAndEndsThePeriod) {
  v1::Episode e = episode_;
  e.set_status(v1::Episode::CLOSED);
  absl::StatusOr<std::vector<FhirResource>> r = EpisodeToFhir(e, ctx_);
  ASSERT_TRUE(r.ok()) << r.status();
  const JsonValue plan = Parse(r->front().json);
  EXPECT_EQ(Text(plan, "status"), "completed");
  EXPECT_EQ(Text(plan, "period.end"), "2026-03-02T16:05:00Z");
  EXPECT_EQ(Text(Parse(r->back().json), "status"), "inactive");
}

TEST_F(ToFhirTest, EpisodeWithoutAPatientClientIsFailedPrecondition) {
  v1::Episode e;
  e.set_name("episodes/e9");
  v1::Participant* p = e.add_participants();
  p->set_person("RelatedPerson/7");
  p->set_role(v1::Participant::FAMILY_MEMBER);
  p = e.add_participants();
  p->set_person(kTherapist);
  p->set_role(v1::Participant::THERAPIST);
  EXPECT_EQ(EpisodeToFhir(e, ctx_).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ToFhirTest, GoalKeepsTheOwnersWordsAndNamesThemAsItsSource) {
  const v1::Goal g = RestatedCorrectedGoal();
  const std::vector<FhirResource> r = Map(g);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].type, "Goal");
  const JsonValue goal = Parse(r[0].json);
  EXPECT_EQ(Text(goal, "description.text"), g.words());
  EXPECT_EQ(Text(goal, "expressedBy.reference"), kMaya);
  EXPECT_EQ(Text(goal, "subject.reference"), kMaya);
  EXPECT_EQ(Text(goal, "identifier[0].system"), urls_.record_identifier);
  EXPECT_EQ(Text(goal, "identifier[0].value"), "episodes/e1/goals/g1");
  EXPECT_EQ(Text(goal, "lifecycleStatus"), "active");
  EXPECT_EQ(Text(goal, "priority.coding[0].code"), "high-priority");
  EXPECT_EQ(Text(goal, "target[0].measure.coding[0].code"), "goal-rating");
  EXPECT_EQ(Text(goal, "target[0].detailQuantity.value"), "10");
  EXPECT_EQ(Text(*Extension(goal, urls_.ext_everyday_signs), "valueString"), g.everyday_signs());
  EXPECT_EQ(Text(*Extension(goal, urls_.ext_record_revision), "valuePositiveInt"), "4");
}

TEST_F(ToFhirTest, RestatementIsTheTherapistsNoteAndTheVerdictTheOwners) {
  const std::vector<FhirResource> r = Map(RestatedCorrectedGoal());
  const JsonValue goal = Parse(r[0].json);
  ASSERT_EQ(At(goal, "note")->items().size(), 2u);
  EXPECT_EQ(Text(goal, "note[0].authorReference.reference"), kTherapist);
  EXPECT_TRUE(absl::StartsWith(Text(goal, "note[0].text"), "Restatement: You'd like school"));
  EXPECT_EQ(Text(goal, "note[1].authorReference.reference"), kMaya);
  EXPECT_EQ(Text(goal, "note[1].text"),
            "Corrected: Not safe. Normal. I want it to feel normal, like before.");
  const JsonValue* u = Extension(goal, urls_.ext_understanding);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(Text(*u, "extension[3].url"), "verdict");
  EXPECT_EQ(Text(*u, "extension[3].valueCoding.code"), "corrected");
  EXPECT_EQ(Text(*u, "extension[4].valueString"),
            "Not safe. Normal. I want it to feel normal, like before.");
}

TEST_F(ToFhirTest, ConfirmedAndUnansweredRestatements) {
  const JsonValue confirmed = Parse(Map(goals_[1])[0].json);  // g2, Grace's, confirmed
  EXPECT_EQ(Text(confirmed, "note[1].text"), "Confirmed: the restatement fits.");
  EXPECT_EQ(Text(confirmed, "note[1].authorReference.reference"), kGrace);
  const JsonValue open = Parse(Map(goals_[9])[0].json);  // g10, unanswered
  EXPECT_EQ(At(open, "note")->items().size(), 1u);
}

TEST_F(ToFhirTest, LifecycleStatusFollowsTheGoalsStatus) {
  const struct {
    v1::Goal::Status status;
    const char* lifecycle;
    const char* achievement;
  } cases[] = {{v1::Goal::PROPOSED, "proposed", "<absent>"},
               {v1::Goal::ACTIVE, "active", "<absent>"},
               {v1::Goal::PAUSED, "on-hold", "<absent>"},
               {v1::Goal::ACHIEVED, "completed", "achieved"},
               {v1::Goal::LET_GO, "cancelled", "<absent>"}};
  for (const auto& c : cases) {
    v1::Goal g = RestatedCorrectedGoal();
    g.set_status(c.status);
    const JsonValue goal = Parse(Map(g)[0].json);
    EXPECT_EQ(Text(goal, "lifecycleStatus"), c.lifecycle);
    EXPECT_EQ(Text(goal, "achievementStatus.coding[0].code"), c.achievement);
  }
  v1::Goal g = RestatedCorrectedGoal();
  g.set_status(v1::Goal::STATUS_UNSPECIFIED);
  EXPECT_EQ(GoalToFhir(g, ctx_).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ToFhirTest, PriorityFromTheOwnersRankAndTheExactRankKept) {
  const struct {
    int rank;
    const char* code;
  } cases[] = {{0, "<absent>"},
               {1, "high-priority"},
               {2, "medium-priority"},
               {3, "low-priority"},
               {7, "low-priority"}};
  for (const auto& c : cases) {
    v1::Goal g = RestatedCorrectedGoal();
    g.set_priority(c.rank);
    const JsonValue goal = Parse(Map(g)[0].json);
    EXPECT_EQ(Text(goal, "priority.coding[0].code"), c.code) << c.rank;
    const JsonValue* rank = Extension(goal, urls_.ext_goal_rank);
    if (c.rank == 0) {
      EXPECT_EQ(rank, nullptr);
    } else {
      ASSERT_NE(rank, nullptr);
      EXPECT_EQ(Text(*rank, "valuePositiveInt"), std::to_string(c.rank));
    }
  }
}

TEST_F(ToFhirTest, TranscribedGoalHasTheTherapistAsEnterer) {
  const std::vector<FhirResource> r = Map(TranscribedGoal());
  const JsonValue goal = Parse(r[0].json);
  EXPECT_EQ(Text(goal, "lifecycleStatus"), "proposed");
  EXPECT_EQ(Text(*Extension(goal, urls_.ext_transcribed_by), "valueReference.reference"),
            kTherapist);
  ASSERT_EQ(r[1].type, "Provenance");
  const JsonValue prov = Parse(r[1].json);
  EXPECT_EQ(Text(prov, "target[0].identifier.value"), "episodes/e1/goals/g3");
  EXPECT_EQ(Text(prov, "agent[0].type.coding[0].code"), "author");
  EXPECT_EQ(Text(prov, "agent[0].who.reference"), kJonah);
  EXPECT_EQ(Text(prov, "agent[1].type.coding[0].code"), "enterer");
  EXPECT_EQ(Text(prov, "agent[1].who.reference"), kTherapist);
  EXPECT_EQ(At(prov, "agent")->items().size(), 2u);
  EXPECT_EQ(Text(prov, "recorded"), "2026-03-02T16:18:00Z");
  EXPECT_EQ(Text(prov, "meta.tag[0].system"), "urn:ietf:rfc:3986");
  EXPECT_TRUE(r[1].key_is_tag);
  EXPECT_EQ(r[1].key, "episodes/e1/goals/g3/provenance/1");
}

TEST_F(ToFhirTest, FamilyMembersGoalIsAboutTheFirstClient) {
  const JsonValue goal = Parse(Map(goals_[1])[0].json);  // Grace's
  EXPECT_EQ(Text(goal, "expressedBy.reference"), kGrace);
  EXPECT_EQ(Text(goal, "subject.reference"), kMaya);
}

TEST_F(ToFhirTest, MinimalGoalLeavesOutEmptyOptionalElements) {
  const JsonValue goal = Parse(Map(goals_[3])[0].json);  // g4: "Sleep."
  EXPECT_EQ(At(goal, "priority"), nullptr);
  EXPECT_EQ(At(goal, "note"), nullptr);
  EXPECT_EQ(Extension(goal, urls_.ext_everyday_signs), nullptr);
  EXPECT_EQ(Extension(goal, urls_.ext_goal_rank), nullptr);
  EXPECT_EQ(Extension(goal, urls_.ext_understanding), nullptr);
  EXPECT_EQ(Text(*Extension(goal, urls_.ext_goal_visibility), "valueCoding.code"), "episode");
  EXPECT_TRUE(JsonRuleViolations(goal).empty());
}

TEST_F(ToFhirTest, BlankOptionalTextIsLeftOut) {
  v1::Goal g = RestatedCorrectedGoal();
  g.set_everyday_signs(" \n\xC2\xA0");
  const JsonValue goal = Parse(Map(g)[0].json);
  EXPECT_EQ(Extension(goal, urls_.ext_everyday_signs), nullptr);
  EXPECT_TRUE(JsonRuleViolations(goal).empty());
}

TEST_F(ToFhirTest, XhtmlSpecialCharactersAreEscapedInTheNarrativeOnly) {
  const v1::Goal g = XhtmlSpecialGoal();
  const JsonValue goal = Parse(Map(g)[0].json);
  EXPECT_EQ(Text(goal, "description.text"), g.words());
  const std::string div = Text(goal, "text.div");
  EXPECT_FALSE(absl::StrContains(div, "<script"));
  EXPECT_TRUE(
      absl::StrContains(div, "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt; &amp; I&#39;d"));
  EXPECT_TRUE(absl::StrContains(div, "\\backslash\\<br/>second line\twith a tab"));
  std::string why;
  EXPECT_TRUE(IsWellFormedNarrative(div, &why)) << why;
}

TEST_F(ToFhirTest, LongUnicodeWordsSurviveExactly) {
  const v1::Goal g = UnicodeGoal();
  ASSERT_GT(g.words().size(), 5000u);
  const std::vector<FhirResource> r = Map(g);
  const JsonValue goal = Parse(r[0].json);
  EXPECT_EQ(Text(goal, "description.text"), g.words());
  std::string why;
  EXPECT_TRUE(IsWellFormedNarrative(Text(goal, "text.div"), &why)) << why;
  EXPECT_TRUE(absl::StrContains(Text(goal, "text.div"), "👩‍👧‍👦"));
}

TEST_F(ToFhirTest, InvalidUtf8IsRefusedNamingTheFieldNotTheText) {
  v1::Goal g = RestatedCorrectedGoal();
  g.mutable_understanding()->set_correction("secret words \xC3(");
  absl::Status s = GoalToFhir(g, ctx_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "goal.understanding.correction: not valid UTF-8");
  v1::Episode e = episode_;
  e.mutable_participants(0)->set_display("M\xFF");
  MappingContext ctx = ctx_;
  ctx.episode = &e;
  s = GoalToFhir(RestatedCorrectedGoal(), ctx).status();
  EXPECT_EQ(s.message(), "episode.participants[0].display: not valid UTF-8");
}

TEST_F(ToFhirTest, MissingRequiredGoalFieldsAreInvalidArgument) {
  v1::Goal g = RestatedCorrectedGoal();
  g.set_words("  ");
  EXPECT_EQ(GoalToFhir(g, ctx_).status().message(), "goal.words: required");
  MappingContext no_episode = ctx_;
  no_episode.episode = nullptr;
  EXPECT_EQ(GoalToFhir(RestatedCorrectedGoal(), no_episode).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ToFhirTest, ProfessionalHypothesisWithACodeIsAlsoAProvisionalCondition) {
  const std::vector<FhirResource> r = Map(ProfessionalHypothesis());
  ASSERT_EQ(OfType(r, "ClinicalImpression").size(), 1u);
  ASSERT_EQ(OfType(r, "Condition").size(), 1u);
  EXPECT_EQ(OfType(r, "Observation").size(), 5u);
  const JsonValue ci = Parse(OfType(r, "ClinicalImpression")[0]->json);
  EXPECT_EQ(Text(ci, "identifier[0].value"), "episodes/e1/hypotheses/h1/revisions/2");
  EXPECT_EQ(Text(ci, "previous.identifier.value"), "episodes/e1/hypotheses/h1/revisions/1");
  EXPECT_EQ(Text(ci, "previous.type"), "ClinicalImpression");
  EXPECT_EQ(Text(ci, "status"), "in-progress");
  EXPECT_EQ(Text(ci, "assessor.reference"), kTherapist);
  EXPECT_EQ(Text(ci, "description"), "Professional hypothesis");
  EXPECT_EQ(Text(ci, "summary"), ProfessionalHypothesis().text());
  EXPECT_EQ(Text(ci, "problem[0].identifier.value"), "episodes/e1/hypotheses/h1/condition");
  EXPECT_EQ(Text(ci, "finding[0].itemCodeableConcept.coding[0].code"), "F41.1");
  EXPECT_EQ(Text(*Extension(ci, urls_.ext_tentativeness), "valueCoding.code"), "considering");
  EXPECT_EQ(Text(*Extension(ci, "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"),
                 "valueReference.identifier.value"),
            "episodes/e1/goals/g1");
  const JsonValue cond = Parse(OfType(r, "Condition")[0]->json);
  EXPECT_EQ(Text(cond, "verificationStatus.coding[0].code"), "provisional");
  EXPECT_EQ(Text(cond, "clinicalStatus.coding[0].code"), "active");
  EXPECT_EQ(Text(cond, "code.coding[0].system"), "http://hl7.org/fhir/sid/icd-10-cm");
  EXPECT_EQ(Text(cond, "code.coding[0].code"), "F41.1");
  EXPECT_EQ(Text(cond, "subject.reference"), kMaya);
  EXPECT_EQ(Text(cond, "recorder.reference"), kTherapist);
}

TEST_F(ToFhirTest, WonderingIsDifferentialAndSetAsideIsInactive) {
  v1::Hypothesis h = ProfessionalHypothesis();
  h.set_tentativeness(v1::Hypothesis::WONDERING);
  h.set_status(v1::Hypothesis::SET_ASIDE);
  const std::vector<FhirResource> r = Map(h);
  const JsonValue cond = Parse(OfType(r, "Condition")[0]->json);
  EXPECT_EQ(Text(cond, "verificationStatus.coding[0].code"), "differential");
  EXPECT_EQ(Text(cond, "clinicalStatus.coding[0].code"), "inactive");
  EXPECT_EQ(Text(Parse(r[0].json), "status"), "completed");
}

TEST_F(ToFhirTest, OnlyCodedProfessionalHypothesesBecomeConditions) {
  v1::Hypothesis h = ProfessionalHypothesis();
  h.set_kind(v1::Hypothesis::PERSONAL);
  EXPECT_TRUE(OfType(Map(h), "Condition").empty());
  h = ProfessionalHypothesis();
  h.clear_code();
  const std::vector<FhirResource> r = Map(h);
  EXPECT_TRUE(OfType(r, "Condition").empty());
  EXPECT_EQ(At(Parse(r[0].json), "problem"), nullptr);
}

TEST_F(ToFhirTest, FirstRevisionHasNoPrevious) {
  v1::Hypothesis h = ProfessionalHypothesis();
  h.mutable_meta()->set_revision(1);
  EXPECT_EQ(At(Parse(Map(h)[0].json), "previous"), nullptr);
}

TEST_F(ToFhirTest, EveryStanceIsAnObservationByTheRespondent) {
  const v1::Hypothesis h = ProfessionalHypothesis();
  const std::vector<FhirResource> mapped = Map(h);
  const auto obs = OfType(mapped, "Observation");
  ASSERT_EQ(obs.size(), 5u);
  const char* stances[] = {"fits", "partly-fits", "does-not-fit", "not-now", "want-to-talk"};
  const char* subjects[] = {kMaya, kMaya, kJonah, kLia, kMaya};
  for (int i = 0; i < 5; ++i) {
    const JsonValue o = Parse(obs[i]->json);
    const v1::HypothesisResponse& resp = h.responses(i);
    EXPECT_EQ(Text(o, "status"), "final");
    EXPECT_EQ(Text(o, "performer[0].reference"), resp.person());
    EXPECT_EQ(Text(o, "subject.reference"), subjects[i]);
    EXPECT_EQ(Text(o, "component[0].valueCodeableConcept.coding[0].code"), stances[i]);
    EXPECT_EQ(Text(o, "component[0].valueCodeableConcept.coding[0].system"), urls_.cs_stance);
    EXPECT_EQ(Text(o, "focus[0].type"), "ClinicalImpression");
    EXPECT_EQ(Text(o, "focus[0].identifier.value"),
              "episodes/e1/hypotheses/h1/revisions/" + std::to_string(resp.answered_revision()));
    EXPECT_EQ(Text(o, "meta.profile[0]"), urls_.profile_response);
    if (resp.words().empty()) {
      EXPECT_EQ(At(o, "valueString"), nullptr);
    } else {
      EXPECT_EQ(Text(o, "valueString"), resp.words());
    }
  }
}

TEST_F(ToFhirTest, SignedReviewMapsEveryScoreSeparately) {
  const v1::Review rv = SignedReview();
  const std::vector<FhirResource> r = Map(rv);
  EXPECT_EQ(OfType(r, "QuestionnaireResponse").size(), 5u);
  EXPECT_EQ(OfType(r, "Observation").size(), 5u + 6u);
  EXPECT_EQ(OfType(r, "Composition").size(), 1u);
  EXPECT_EQ(OfType(r, "Provenance").size(), 1u);

  const JsonValue qr = Parse(OfType(r, "QuestionnaireResponse")[0]->json);
  EXPECT_EQ(Text(qr, "questionnaire"), urls_.questionnaire_ors);
  EXPECT_EQ(Text(qr, "status"), "completed");
  EXPECT_EQ(Text(qr, "author.reference"), kMaya);
  EXPECT_EQ(Text(qr, "subject.reference"), kMaya);
  EXPECT_EQ(Text(qr, "identifier.value"), "episodes/e1/reviews/r1/instruments/Patient/1/ORS");
  EXPECT_EQ(Text(qr, "item[0].linkId"), "1");
  EXPECT_EQ(Text(qr, "item[0].answer[0].valueDecimal"), "6.2");
  EXPECT_EQ(Text(qr, "item[3].answer[0].valueDecimal"), "6.4");
  EXPECT_EQ(Text(Parse(OfType(r, "QuestionnaireResponse")[2]->json), "questionnaire"),
            urls_.questionnaire_srs);
  EXPECT_EQ(Text(Parse(OfType(r, "QuestionnaireResponse")[4]->json), "questionnaire"),
            urls_.questionnaire_gbo);
  // Grace is a family member: her scores are about the first client.
  EXPECT_EQ(Text(Parse(OfType(r, "QuestionnaireResponse")[1]->json), "subject.reference"), kMaya);

  const JsonValue total = Parse(OfType(r, "Observation")[0]->json);
  EXPECT_EQ(Text(total, "code.coding[0].code"), "ORS");
  EXPECT_EQ(Text(total, "valueQuantity.value"), "24.7");
  EXPECT_EQ(Text(total, "derivedFrom[0].identifier.value"),
            "episodes/e1/reviews/r1/instruments/Patient/1/ORS");
  EXPECT_EQ(Text(total, "performer[0].reference"), kMaya);
}

TEST_F(ToFhirTest, ClientAndTherapistRatingsAreSeparateObservationsOnOneGoal) {
  const std::vector<FhirResource> mapped = Map(SignedReview());
  const auto obs = OfType(mapped, "Observation");
  std::vector<std::string> performers;
  for (const FhirResource* o : obs) {
    const JsonValue v = Parse(o->json);
    if (Text(v, "code.coding[0].code") != "goal-rating") continue;
    if (Text(v, "focus[0].identifier.value") != "episodes/e1/goals/g1") continue;
    performers.push_back(Text(v, "performer[0].reference"));
    EXPECT_EQ(Text(v, "focus[0].type"), "Goal");
    EXPECT_EQ(Text(v, "subject.reference"), kMaya);
    EXPECT_EQ(Text(v, "meta.profile[0]"), urls_.profile_rating);
    EXPECT_EQ(Text(v, "valueQuantity.code"), "{score}");
  }
  EXPECT_EQ(performers, (std::vector<std::string>{kMaya, kGrace, kTherapist}));
  const JsonValue first = Parse(obs[5]->json);
  EXPECT_EQ(Text(first, "valueQuantity.value"), "6.5");
  EXPECT_EQ(Text(first, "identifier[0].value"),
            "episodes/e1/reviews/r1/ratings/Patient/1/goals/g1");
}

TEST_F(ToFhirTest, SignedReviewIsACompositionAttestedByEverySigner) {
  const v1::Review rv = SignedReview();
  const std::vector<FhirResource> r = Map(rv);
  const JsonValue c = Parse(OfType(r, "Composition")[0]->json);
  EXPECT_EQ(Text(c, "status"), "final");
  EXPECT_EQ(Text(c, "type.coding[0].system"), "http://loinc.org");
  EXPECT_EQ(Text(c, "type.coding[0].code"), "34904-3");
  EXPECT_EQ(Text(c, "confidentiality"), "R");
  ASSERT_EQ(At(c, "attester")->items().size(), 6u);
  EXPECT_EQ(Text(c, "attester[0].mode"), "personal");
  EXPECT_EQ(Text(c, "attester[0].party.reference"), kMaya);
  EXPECT_EQ(Text(c, "attester[1].mode"), "personal");
  EXPECT_EQ(Text(c, "attester[1].extension[0].url"), urls_.ext_dissent);
  EXPECT_EQ(Text(c, "attester[1].extension[0].valueString"), rv.signatures(1).dissent());
  EXPECT_EQ(Text(c, "attester[5].mode"), "professional");
  EXPECT_EQ(Text(c, "attester[5].time"), "2026-03-02T17:38:00Z");
  ASSERT_EQ(At(c, "section")->items().size(), 4u);
  EXPECT_EQ(Text(c, "section[0].title"), "Goals");
  EXPECT_EQ(Text(c, "section[0].entry[1].identifier.value"), "episodes/e1/goals/g2");
  EXPECT_EQ(Text(c, "section[1].title"), "Ratings");
  EXPECT_EQ(At(c, "section[1].entry")->items().size(), 6u + 10u);
  EXPECT_EQ(Text(c, "section[2].title"), "Reflections");
  EXPECT_TRUE(absl::StrContains(Text(c, "section[2].text.div"), "four days out of five"));
  EXPECT_EQ(Text(c, "section[3].title"), "Next steps");
  EXPECT_TRUE(absl::StrContains(Text(c, "section[3].text.div"), "thumbs-up"));
}

TEST_F(ToFhirTest, SignaturesAreOneProvenanceWithOneSignaturePerSigner) {
  const v1::Review rv = SignedReview();
  const std::vector<FhirResource> r = Map(rv);
  const JsonValue p = Parse(OfType(r, "Provenance")[0]->json);
  EXPECT_EQ(Text(p, "target[0].identifier.value"), "episodes/e1/reviews/r1/composition");
  ASSERT_EQ(At(p, "signature")->items().size(), 6u);
  for (int i = 0; i < 6; ++i) {
    const std::string at = "signature[" + std::to_string(i) + "]";
    EXPECT_EQ(Text(p, at + ".who.reference"), rv.signatures(i).participant());
    EXPECT_EQ(Text(p, at + ".type[0].system"), "urn:iso-astm:E1762-95:2013");
    EXPECT_EQ(Text(p, at + ".type[0].code"), "1.2.840.10065.1.12.1.2");
    std::string digest;
    ASSERT_TRUE(absl::Base64Unescape(Text(p, at + ".data"), &digest));
    EXPECT_EQ(absl::BytesToHexString(digest), rv.content_sha256());
  }
  EXPECT_EQ(Text(p, "signature[1].extension[0].valueString"), rv.signatures(1).dissent());
  EXPECT_EQ(At(p, "signature[0].extension"), nullptr);
}

TEST_F(ToFhirTest, OpenReviewHasNoCompositionYet) {
  v1::Review rv = SignedReview();
  rv.set_status(v1::Review::OPEN);
  const std::vector<FhirResource> r = Map(rv);
  EXPECT_TRUE(OfType(r, "Composition").empty());
  EXPECT_TRUE(OfType(r, "Provenance").empty());
  rv.set_status(v1::Review::SIGNED);
  rv.clear_signatures();
  EXPECT_EQ(ReviewToFhir(rv, ctx_).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ToFhirTest, BadSignatureDigestIsNamed) {
  v1::Review rv = SignedReview();
  rv.mutable_signatures(2)->set_content_sha256("not-hex");
  EXPECT_EQ(ReviewToFhir(rv, ctx_).status().message(),
            "review.signatures[2].content_sha256: missing or not representable in FHIR");
}

TEST_F(ToFhirTest, AuditEventsFollowBasicAuditLogPatterns) {
  store::AuditRecord a;
  a.time = absl::FromUnixSeconds(1772467200);
  a.actor = kMaya;
  a.action = "collabcare.v1.GoalService/GetGoal";
  a.resource = "episodes/e1/goals/g1";
  a.episode_id = "e1";
  a.request_id = "req-1";
  absl::StatusOr<FhirResource> r = AuditToFhir(a, ctx_);
  ASSERT_TRUE(r.ok()) << r.status();
  JsonValue e = Parse(r->json);
  EXPECT_EQ(Text(e, "type.code"), "rest");
  EXPECT_EQ(Text(e, "subtype[0].code"), "read");
  EXPECT_EQ(Text(e, "action"), "R");
  EXPECT_EQ(Text(e, "outcome"), "0");
  EXPECT_EQ(At(e, "outcomeDesc"), nullptr);
  EXPECT_EQ(Text(e, "recorded"), "2026-03-02T16:00:00Z");
  EXPECT_EQ(Text(e, "agent[0].who.reference"), kMaya);
  EXPECT_EQ(Text(e, "agent[0].requestor"), "<absent>");  // a bool
  EXPECT_TRUE(At(e, "agent[0].requestor")->bool_value());
  EXPECT_FALSE(At(e, "agent[1].requestor")->bool_value());
  EXPECT_EQ(Text(e, "source.observer.display"), "collabcare");
  EXPECT_EQ(Text(e, "entity[0].what.identifier.value"), "episodes/e1/goals/g1");
  EXPECT_EQ(Text(e, "entity[0].type.code"), "goal");
  EXPECT_EQ(Text(e, "entity[1].what.identifier.value"), "episodes/e1");
  EXPECT_EQ(Text(e, "entity[2].type.code"), "XrequestId");
  const std::string key = r->key;
  EXPECT_EQ(AuditToFhir(a, ctx_)->key, key);  // stable

  a.action = "collabcare.v1.GoalService/UpdateGoal";
  a.outcome = 7;
  e = Parse(AuditToFhir(a, ctx_)->json);
  EXPECT_EQ(Text(e, "action"), "U");
  EXPECT_EQ(Text(e, "outcome"), "4");
  EXPECT_EQ(Text(e, "outcomeDesc"), "PERMISSION_DENIED");
  EXPECT_NE(AuditToFhir(a, ctx_)->key, key);

  a.action = "collabcare.v1.HypothesisService/ShareHypothesis";
  a.outcome = 14;
  e = Parse(AuditToFhir(a, ctx_)->json);
  EXPECT_EQ(Text(e, "action"), "C");
  EXPECT_EQ(Text(e, "outcome"), "8");

  a.actor = "anonymous";
  a.action = "collabcare.v1.EpisodeService/ListEpisodes";
  a.resource.clear();
  a.episode_id.clear();
  a.request_id.clear();
  e = Parse(AuditToFhir(a, ctx_)->json);
  EXPECT_EQ(Text(e, "agent[0].who.display"), "anonymous");
  EXPECT_EQ(Text(e, "subtype[0].code"), "search-type");
  EXPECT_EQ(At(e, "entity"), nullptr);
}

TEST_F(ToFhirTest, NotesAreMentalHealthProgressNotesWithTheRendering) {
  const v1::Review rv = SignedReview();
  absl::StatusOr<FhirResource> note = NoteToFhir(rv, ctx_);
  ASSERT_TRUE(note.ok()) << note.status();
  const JsonValue d = Parse(note->json);
  EXPECT_EQ(Text(d, "status"), "current");
  EXPECT_EQ(Text(d, "docStatus"), "final");
  EXPECT_EQ(Text(d, "type.coding[0].code"), "34904-3");
  EXPECT_EQ(Text(d, "type.coding[0].display"), "Mental health Progress note");
  EXPECT_EQ(Text(d, "subject.reference"), kMaya);
  EXPECT_EQ(Text(d, "content[0].attachment.contentType"), "text/plain;charset=utf-8");
  std::string text;
  ASSERT_TRUE(absl::Base64Unescape(Text(d, "content[0].attachment.data"), &text));
  EXPECT_EQ(text, RenderText(rv, ctx_));
  EXPECT_TRUE(absl::StrContains(text, "I sign, but I don't agree that dinner is better yet."));
  EXPECT_TRUE(absl::StrContains(text, "Mornings are still hard"));
  EXPECT_EQ(Text(d, "content[0].attachment.size"), std::to_string(text.size()));
  EXPECT_EQ(Text(d, "context.related[0].identifier.value"), "episodes/e1/reviews/r1/composition");

  const JsonValue g = Parse(NoteToFhir(goals_[1], ctx_)->json);
  EXPECT_EQ(Text(g, "docStatus"), "preliminary");
  EXPECT_EQ(Text(g, "subject.reference"), kMaya);  // Grace's goal, about Maya
  ASSERT_TRUE(absl::Base64Unescape(Text(g, "content[0].attachment.data"), &text));
  EXPECT_TRUE(absl::StrContains(text, "Fewer shouting matches at dinner."));
}

TEST_F(ToFhirTest, MappingIsDeterministic) {
  for (const GoldenCase& c : GoldenCases()) {
    absl::StatusOr<std::vector<FhirResource>> a = MapGoldenCase(c, urls_);
    absl::StatusOr<std::vector<FhirResource>> b = MapGoldenCase(c, urls_);
    ASSERT_TRUE(a.ok() && b.ok()) << c.name;
    ASSERT_EQ(a->size(), b->size());
    for (size_t i = 0; i < a->size(); ++i) EXPECT_EQ((*a)[i].json, (*b)[i].json) << c.name;
  }
}

TEST_F(ToFhirTest, AnotherBaseChangesEveryCanonicalUrl) {
  MappingContext ctx = ctx_;
  ctx.urls = CanonicalUrls("https://fhir.example.org/cc/");
  EXPECT_EQ(ctx.urls.record_identifier, "https://fhir.example.org/cc/sid/record");
  const std::string json = GoalToFhir(RestatedCorrectedGoal(), ctx)->front().json;
  EXPECT_FALSE(absl::StrContains(json, "collabcare.dev"));
  EXPECT_TRUE(
      absl::StrContains(json, "https://fhir.example.org/cc/StructureDefinition/collabcare-goal"));
}

}  // namespace
}  // namespace collabcare::fhir::testing
