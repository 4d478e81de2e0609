// The golden records: words from a plausible family session, every state and edge case.
#include "tests/fhir/golden_cases.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "adapters/fhir/mapping.h"
#include "plugin/common/status_macros.h"
#include "plugin/domain/reviews.h"

namespace collabcare::fhir::testing {
namespace {

// 2026-03-02T16:00:00Z, the first session; times are minutes after it.
constexpr int64_t kT0 = 1772467200;

google::protobuf::Timestamp At(int minutes, int micros = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(kT0 + int64_t{minutes} * 60);
  ts.set_nanos(micros * 1000);
  return ts;
}

void SetMeta(v1::RecordMeta* meta, int64_t revision, int created, int updated,
             const std::string& created_by, const std::string& updated_by) {
  meta->set_revision(revision);
  meta->set_etag(absl::StrCat("W/\"", revision, "\""));
  *meta->mutable_create_time() = At(created);
  *meta->mutable_update_time() = At(updated);
  meta->set_created_by(created_by);
  meta->set_updated_by(updated_by);
}

void AddParticipant(v1::Episode* e, const std::string& person, v1::Participant::Role role,
                    const std::string& display) {
  v1::Participant* p = e->add_participants();
  p->set_person(person);
  p->set_role(role);
  p->set_display(display);
}

v1::Goal MakeGoal(const std::string& id, const std::string& owner, const std::string& words,
                  v1::Goal::Status status, int priority) {
  v1::Goal g;
  g.set_name(absl::StrCat("episodes/e1/goals/", id));
  g.set_owner(owner);
  g.set_words(words);
  g.set_priority(priority);
  g.set_status(status);
  g.set_visibility(v1::Goal::EPISODE);
  SetMeta(g.mutable_meta(), 1, 10, 10, owner, owner);
  return g;
}

void Restate(v1::Goal* g, const std::string& restatement, v1::Understanding::Verdict verdict,
             const std::string& correction) {
  v1::Understanding* u = g->mutable_understanding();
  u->set_restatement(restatement);
  u->set_restated_by(kTherapist);
  *u->mutable_restate_time() = At(25);
  u->set_verdict(verdict);
  u->set_correction(correction);
  if (verdict != v1::Understanding::UNCONFIRMED) *u->mutable_verdict_time() = At(31, 250000);
}

v1::HypothesisResponse Response(const std::string& person, v1::HypothesisResponse::Stance stance,
                                const std::string& words, int64_t revision, int minute) {
  v1::HypothesisResponse r;
  r.set_person(person);
  r.set_stance(stance);
  r.set_words(words);
  r.set_answered_revision(revision);
  *r.mutable_respond_time() = At(minute);
  return r;
}

void Rate(v1::Review* r, const std::string& rater, const std::string& goal, double score) {
  v1::Rating* rating = r->add_ratings();
  rating->set_rater(rater);
  rating->set_goal(goal);
  rating->set_score(score);
}

void Score(v1::Review* r, const std::string& rater, const std::string& instrument,
           std::vector<double> items, double total) {
  v1::InstrumentScore* s = r->add_instrument_scores();
  s->set_rater(rater);
  s->set_instrument(instrument);
  for (double item : items) s->add_items(item);
  s->set_total(total);
}

void Sign(v1::Review* r, const std::string& who, int minute, const std::string& dissent) {
  v1::Signature* sig = r->add_signatures();
  sig->set_participant(who);
  *sig->mutable_sign_time() = At(minute);
  sig->set_content_sha256(r->content_sha256());
  sig->set_dissent(dissent);
}

v1::Episode IndividualEpisode() {
  v1::Episode e;
  e.set_name("episodes/e2");
  AddParticipant(&e, "Patient/21", v1::Participant::CLIENT, "Daniel");
  AddParticipant(&e, kTherapist, v1::Participant::THERAPIST, "Amara Lindqvist");
  e.set_format(v1::Episode::CLIENT_LED);
  e.set_modality(v1::Episode::INDIVIDUAL);
  e.set_status(v1::Episode::ACTIVE);
  SetMeta(e.mutable_meta(), 1, 0, 0, kTherapist, kTherapist);
  return e;
}

v1::Episode ClosedCoupleEpisode() {
  v1::Episode e;
  e.set_name("episodes/e3");
  AddParticipant(&e, "Patient/31", v1::Participant::CLIENT, "Noor");
  AddParticipant(&e, "Patient/32", v1::Participant::CLIENT, "Elif");
  AddParticipant(&e, kCoTherapist, v1::Participant::THERAPIST, "Sam Okoye");
  e.set_format(v1::Episode::CLIENT_LED);
  e.set_modality(v1::Episode::COUPLE);
  e.set_status(v1::Episode::CLOSED);
  SetMeta(e.mutable_meta(), 5, -60 * 24 * 90, 60 * 24, kCoTherapist, kCoTherapist);
  return e;
}

// A minimal episode: one client without a display, one therapist, nothing optional.
v1::Episode MinimalEpisode() {
  v1::Episode e;
  e.set_name("episodes/e4");
  AddParticipant(&e, "Patient/41", v1::Participant::CLIENT, "");
  AddParticipant(&e, kTherapist, v1::Participant::THERAPIST, "");
  e.set_format(v1::Episode::THERAPIST_LED);
  e.set_modality(v1::Episode::INDIVIDUAL);
  e.set_status(v1::Episode::ACTIVE);
  e.mutable_meta()->set_revision(1);
  *e.mutable_meta()->mutable_create_time() = At(0);
  *e.mutable_meta()->mutable_update_time() = At(0);
  return e;
}

v1::Hypothesis MakeHypothesis(const std::string& id, v1::Hypothesis::Kind kind,
                              const std::string& text, v1::Hypothesis::Tentativeness tentativeness,
                              v1::Hypothesis::Status status, int64_t revision) {
  v1::Hypothesis h;
  h.set_name(absl::StrCat("episodes/e1/hypotheses/", id));
  h.set_author(kTherapist);
  h.set_kind(kind);
  h.set_text(text);
  h.set_tentativeness(tentativeness);
  h.set_status(status);
  SetMeta(h.mutable_meta(), revision, 40, 40 + static_cast<int>(revision) * 7, kTherapist,
          kTherapist);
  return h;
}

store::AuditRecord Audit(int minute, const std::string& actor, const std::string& action,
                         const std::string& resource, const std::string& episode, int outcome,
                         const std::string& request_id) {
  store::AuditRecord a;
  a.time = absl::FromUnixSeconds(kT0 + int64_t{minute} * 60) + absl::Microseconds(123456);
  a.actor = actor;
  a.action = action;
  a.resource = resource;
  a.episode_id = episode;
  a.outcome = outcome;
  a.request_id = request_id;
  return a;
}

}  // namespace

v1::Episode FamilyEpisode() {
  v1::Episode e;
  e.set_name("episodes/e1");
  AddParticipant(&e, kMaya, v1::Participant::CLIENT, "Maya");
  AddParticipant(&e, kGrace, v1::Participant::FAMILY_MEMBER, "Grace (Maya's mum)");
  AddParticipant(&e, kJonah, v1::Participant::CLIENT, "Jonah");
  AddParticipant(&e, kLia, v1::Participant::CLIENT, "Lia");
  AddParticipant(&e, kTomas, v1::Participant::FAMILY_MEMBER, "Tomás");
  AddParticipant(&e, kTherapist, v1::Participant::THERAPIST, "Amara Lindqvist");
  AddParticipant(&e, kCoTherapist, v1::Participant::THERAPIST, "Sam Okoye");
  e.set_format(v1::Episode::THERAPIST_LED);
  e.set_modality(v1::Episode::FAMILY);
  e.set_status(v1::Episode::ACTIVE);
  SetMeta(e.mutable_meta(), 2, 0, 5, kTherapist, kTherapist);
  return e;
}

v1::Goal RestatedCorrectedGoal() {
  v1::Goal g =
      MakeGoal("g1", kMaya, "I want to go back to school without my stomach hurting every morning.",
               v1::Goal::ACTIVE, 1);
  g.set_everyday_signs(
      "I'd get on the bus on Monday and still be in class after lunch. Mum wouldn't have to "
      "call the school.");
  Restate(&g, "You'd like school to feel safe enough that your body can relax.",
          v1::Understanding::CORRECTED, "Not safe. Normal. I want it to feel normal, like before.");
  SetMeta(g.mutable_meta(), 4, 10, 31, kMaya, kMaya);
  return g;
}

v1::Goal TranscribedGoal() {
  v1::Goal g = MakeGoal("g3", kJonah, "I just want people to stop asking me how I'm feeling.",
                        v1::Goal::PROPOSED, 0);
  g.set_transcribed_by(kTherapist);
  SetMeta(g.mutable_meta(), 1, 18, 18, kTherapist, kTherapist);
  return g;
}

v1::Goal UnicodeGoal() {
  // Emoji (with ZWJ sequences and a skin tone), Arabic and Hebrew (right to left, with an RLM),
  // combining marks, CJK, a non-breaking space, repeated to about 6 KiB of UTF-8.
  const std::string piece =
      "Quiero dormir sin pesadillas 😴🌙 — أريد أن أنام بهدوء \u200F— אני רוצה לישון בשקט — "
      "我想睡得好一点 — Z\u0324\u0354\u0367\u0311a\u0308\u0356lg\u030C\u0317o\u0319\u0354 — "
      "👩‍👧‍👦 family ❤️‍🩹 👋🏽 — naïve café\u00A0crème. ";
  std::string words;
  while (words.size() + piece.size() < 6000) words += piece;
  v1::Goal g = MakeGoal("g8", kLia, words, v1::Goal::ACTIVE, 2);
  g.set_everyday_signs("ليالٍ هادئة 🌙 — שקט בלילה — 安静的夜晚");
  return g;
}

v1::Goal XhtmlSpecialGoal() {
  v1::Goal g =
      MakeGoal("g9", kJonah,
               "<script>alert(\"hi\")</script> & I'd say \"no\" to 'them' > all <b>bold</b> &amp; "
               "\\backslash\\\nsecond line\twith a tab",
               v1::Goal::ACTIVE, 4);
  g.set_everyday_signs("Less <drama> & more \"peace\" at 'home'.");
  Restate(&g, "You want things < loud & > calm?", v1::Understanding::UNCONFIRMED, "");
  return g;
}

std::vector<v1::Goal> FamilyGoals() {
  std::vector<v1::Goal> goals;
  goals.push_back(RestatedCorrectedGoal());
  {
    v1::Goal g = MakeGoal("g2", kGrace, "Fewer shouting matches at dinner.", v1::Goal::ACTIVE, 2);
    g.set_everyday_signs("We'd finish a meal together at least three nights a week.");
    Restate(&g, "You'd like dinner to be a time when the family can be together without a fight.",
            v1::Understanding::CONFIRMED, "");
    SetMeta(g.mutable_meta(), 3, 12, 31, kGrace, kGrace);
    goals.push_back(g);
  }
  goals.push_back(TranscribedGoal());
  {
    // Only the required words: no signs, no rank, no visibility, no understanding.
    v1::Goal g;
    g.set_name("episodes/e1/goals/g4");
    g.set_owner(kLia);
    g.set_words("Sleep.");
    g.set_status(v1::Goal::ACTIVE);
    g.mutable_meta()->set_revision(1);
    *g.mutable_meta()->mutable_create_time() = At(16);
    *g.mutable_meta()->mutable_update_time() = At(16);
    goals.push_back(g);
  }
  {
    v1::Goal g =
        MakeGoal("g5", kMaya, "Tell Mum when the panic starts instead of hiding in the bathroom.",
                 v1::Goal::ACHIEVED, 3);
    SetMeta(g.mutable_meta(), 6, 10, 60 * 24 * 21, kMaya, kMaya);
    goals.push_back(g);
  }
  {
    v1::Goal g =
        MakeGoal("g6", kLia, "Talk about Dad leaving, when I'm ready.", v1::Goal::PAUSED, 7);
    g.set_visibility(v1::Goal::OWNER_AND_THERAPISTS);
    goals.push_back(g);
  }
  goals.push_back(MakeGoal("g7", kJonah, "Get picked for the football team.", v1::Goal::LET_GO, 5));
  goals.push_back(UnicodeGoal());
  goals.push_back(XhtmlSpecialGoal());
  {
    v1::Goal g = MakeGoal("g10", kTomas, "Be someone the kids can come to.", v1::Goal::ACTIVE, 1);
    Restate(&g, "You'd like to be a safe adult for Maya, Jonah and Lia.",
            v1::Understanding::UNCONFIRMED, "");
    SetMeta(g.mutable_meta(), 2, 14, 25, kTomas, kTherapist);
    goals.push_back(g);
  }
  return goals;
}

v1::Hypothesis ProfessionalHypothesis() {
  v1::Hypothesis h = MakeHypothesis(
      "h1", v1::Hypothesis::PROFESSIONAL,
      "I wonder whether some of the stomach aches are the body's way of carrying worry, "
      "something doctors sometimes call an anxiety disorder. I'm holding this loosely, and I'd "
      "like to hear how it sits with each of you.",
      v1::Hypothesis::CONSIDERING, v1::Hypothesis::OPEN, 2);
  v1::Code* code = h.mutable_code();
  code->set_system("http://hl7.org/fhir/sid/icd-10-cm");
  code->set_code("F41.1");
  code->set_display("Generalized anxiety disorder");
  h.add_related_goals("episodes/e1/goals/g1");
  *h.add_responses() =
      Response(kMaya, v1::HypothesisResponse::FITS, "Yes. It's worse on Sunday nights.", 2, 60);
  *h.add_responses() =
      Response(kGrace, v1::HypothesisResponse::PARTLY_FITS,
               "Partly. She was like this before the move too, so it's not only school.", 2, 61);
  *h.add_responses() = Response(kJonah, v1::HypothesisResponse::DOES_NOT_FIT,
                                "I don't think it's a disorder. She's just stressed.", 1, 50);
  *h.add_responses() = Response(kLia, v1::HypothesisResponse::NOT_NOW, "", 2, 62);
  *h.add_responses() =
      Response(kTomas, v1::HypothesisResponse::WANT_TO_TALK,
               "Can we talk about what a diagnosis would mean for her school file?", 2, 63);
  return h;
}

v1::Review SignedReview() {
  v1::Review r;
  r.set_name("episodes/e1/reviews/r1");
  r.add_goals("episodes/e1/goals/g1");
  r.add_goals("episodes/e1/goals/g2");
  Rate(&r, kMaya, "episodes/e1/goals/g1", 6.5);
  Rate(&r, kGrace, "episodes/e1/goals/g1", 5);
  Rate(&r, kTherapist, "episodes/e1/goals/g1", 7);
  Rate(&r, kMaya, "episodes/e1/goals/g2", 4);
  Rate(&r, kGrace, "episodes/e1/goals/g2", 7.5);
  Rate(&r, kTherapist, "episodes/e1/goals/g2", 6);
  Score(&r, kMaya, "ORS", {6.2, 5, 7.1, 6.4}, 24.7);
  Score(&r, kGrace, "ORS", {7, 6.5, 8, 7.5}, 29);
  Score(&r, kMaya, "SRS", {9, 8.5, 9.2, 9}, 35.7);
  Score(&r, kGrace, "SRS", {10, 9.5, 9, 10}, 38.5);
  Score(&r, kMaya, "GBO", {6.5, 4}, 5.25);
  v1::Reflection* ref = r.add_reflections();
  ref->set_participant(kMaya);
  ref->set_words("Mornings are still hard but I went in four days out of five. That's new.");
  ref = r.add_reflections();
  ref->set_participant(kGrace);
  ref->set_words("I see her trying. I'm less sure dinner is better - we just argue more quietly.");
  ref = r.add_reflections();
  ref->set_participant(kTherapist);
  ref->set_words(
      "I notice how differently each of you sees the dinners; that seems worth keeping.");
  v1::NextStep* step = r.add_next_steps();
  step->set_text("Maya texts Mum a thumbs-up from the school gate.");
  step->set_owner(kMaya);
  step->set_due_date("2026-03-09");
  step->set_added_by(kMaya);
  step = r.add_next_steps();
  step->set_text("Phones stay in the basket during dinner, for everyone.");
  step->set_owner(kGrace);
  step->set_added_by(kTherapist);
  r.set_content_sha256(domain::ContentSha256(r));
  Sign(&r, kMaya, 95, "");
  Sign(&r, kGrace, 96, "I sign, but I don't agree that dinner is better yet.");
  Sign(&r, kJonah, 96, "");
  Sign(&r, kLia, 97, "");
  Sign(&r, kTomas, 97, "");
  Sign(&r, kTherapist, 98, "");
  r.set_status(v1::Review::SIGNED);
  SetMeta(r.mutable_meta(), 14, 70, 98, kTherapist, kTherapist);
  return r;
}

std::vector<GoldenCase> GoldenCases() {
  const v1::Episode family = FamilyEpisode();
  const std::vector<v1::Goal> goals = FamilyGoals();
  std::vector<GoldenCase> cases;
  const auto add = [&](std::string name, std::string what, Record record,
                       const v1::Episode& episode = v1::Episode()) {
    GoldenCase c;
    c.name = std::move(name);
    c.what = std::move(what);
    c.episode = episode.name().empty() ? family : episode;
    if (c.episode.name() == family.name()) c.goals = goals;
    c.record = std::move(record);
    cases.push_back(std::move(c));
  };

  add("episode-family", "family episode, three clients: three CarePlans and a CareTeam", family);
  add("episode-individual", "individual client-led episode", IndividualEpisode(),
      IndividualEpisode());
  add("episode-closed-couple", "closed couple episode: completed CarePlans, inactive CareTeam",
      ClosedCoupleEpisode(), ClosedCoupleEpisode());
  add("episode-minimal", "episode without displays or optional metadata", MinimalEpisode(),
      MinimalEpisode());

  const char* goal_cases[][2] = {
      {"goal-restated-corrected", "restated by the therapist, corrected by the owner"},
      {"goal-restated-confirmed", "a family member's goal, restatement confirmed"},
      {"goal-transcribed", "said aloud in session, transcribed, PROPOSED"},
      {"goal-minimal", "only the required words: empty optional fields"},
      {"goal-achieved", "ACHIEVED, rank 3"},
      {"goal-paused-private", "PAUSED, owner-and-therapists visibility, rank 7"},
      {"goal-let-go", "LET_GO"},
      {"goal-unicode", "long text with emoji, RTL scripts and combining marks"},
      {"goal-xhtml-special", "<script>&\"' and line breaks in the words"},
      {"goal-restated-unconfirmed", "family member's goal, restatement not answered yet"},
  };
  for (size_t i = 0; i < goals.size(); ++i) add(goal_cases[i][0], goal_cases[i][1], goals[i]);

  add("hypothesis-professional", "ICD-10-CM code (Condition provisional), revision 2, every stance",
      ProfessionalHypothesis());
  {
    v1::Hypothesis h = MakeHypothesis(
        "h2", v1::Hypothesis::PROFESSIONAL,
        "Just wondering aloud: could this be an anxiety disorder? Many other things fit too.",
        v1::Hypothesis::WONDERING, v1::Hypothesis::SET_ASIDE, 1);
    h.mutable_code()->set_system("http://snomed.info/sct");
    h.mutable_code()->set_code("197480006");
    h.mutable_code()->set_display("Anxiety disorder");
    h.add_audience(kMaya);
    h.add_audience(kGrace);
    add("hypothesis-wondering-set-aside",
        "SNOMED CT code while WONDERING (Condition differential), set aside", h);
  }
  {
    v1::Hypothesis h = MakeHypothesis(
        "h3", v1::Hypothesis::PERSONAL,
        "When Grace described the dinners, I noticed I felt protective of everyone at once. "
        "Maybe the table is carrying more than food.",
        v1::Hypothesis::WONDERING, v1::Hypothesis::OPEN, 1);
    h.add_audience(kGrace);
    h.add_audience(kMaya);
    *h.add_responses() = Response(kGrace, v1::HypothesisResponse::FITS,
                                  "It is. It's the only time we're all in one room.", 1, 48);
    add("hypothesis-personal", "personal hypothesis to part of the family, one response", h);
  }
  {
    v1::Hypothesis h = MakeHypothesis(
        "h4", v1::Hypothesis::THEORETICAL,
        "From a systemic view, Maya's stomach aches may also keep the family close in the "
        "mornings: a problem that does something for everyone.",
        v1::Hypothesis::FAIRLY_CONFIDENT, v1::Hypothesis::HELD_TOGETHER, 3);
    h.add_related_goals("episodes/e1/goals/g1");
    h.add_related_goals("episodes/e1/goals/g2");
    *h.add_responses() = Response(kJonah, v1::HypothesisResponse::PARTLY_FITS,
                                  "Mornings are the only time Mum "
                                  "drives us.",
                                  3, 120);
    add("hypothesis-theoretical", "theoretical, held together, revision 3, related goals", h);
  }
  {
    v1::Hypothesis h =
        MakeHypothesis("h5", v1::Hypothesis::PROFESSIONAL,
                       "Some of this looks like ordinary grief to me, not an illness.",
                       v1::Hypothesis::FAIRLY_CONFIDENT, v1::Hypothesis::OPEN, 1);
    add("hypothesis-professional-uncoded", "professional without a code: no Condition", h);
  }

  add("review-signed", "3 raters, ORS, SRS and GBO, reflections, next steps, dissent, SIGNED",
      SignedReview());
  {
    v1::Review r;
    r.set_name("episodes/e1/reviews/r2");
    r.add_goals("episodes/e1/goals/g1");
    r.add_goals("episodes/e1/goals/g8");
    Rate(&r, kLia, "episodes/e1/goals/g8", 3);
    Rate(&r, kCoTherapist, "episodes/e1/goals/g8", 4.5);
    Score(&r, kLia, "ORS", {4, 3.5, 5, 4}, 16.5);
    v1::Reflection* ref = r.add_reflections();
    ref->set_participant(kLia);
    ref->set_words("Still tired. But I said it out loud today 🙂");
    r.set_content_sha256(domain::ContentSha256(r));
    Sign(&r, kLia, 200, "");
    r.set_status(v1::Review::OPEN);
    SetMeta(r.mutable_meta(), 5, 180, 200, kCoTherapist, kLia);
    add("review-open", "OPEN, partly rated and signed: no Composition yet", r);
  }
  {
    v1::Review r;
    r.set_name("episodes/e1/reviews/r3");
    r.set_status(v1::Review::OPEN);
    SetMeta(r.mutable_meta(), 1, 300, 300, kTherapist, kTherapist);
    add("review-empty", "just started: nothing rated, only the note", r);
  }

  add("audit-read", "GetGoal by the owner, OK",
      Audit(32, kMaya, "collabcare.v1.GoalService/GetGoal", "episodes/e1/goals/g1", "e1", 0,
            "req-7f3a"));
  add("audit-create", "ShareHypothesis by the therapist, OK",
      Audit(40, kTherapist, "collabcare.v1.HypothesisService/ShareHypothesis",
            "episodes/e1/hypotheses/h1", "e1", 0, ""));
  add("audit-denied", "UpdateGoal by someone who is not the owner: PERMISSION_DENIED",
      Audit(33, kGrace, "collabcare.v1.GoalService/UpdateGoal", "episodes/e1/goals/g1", "e1", 7,
            "req-2"));
  add("audit-anonymous", "a call without a valid token: UNAUTHENTICATED, no resource",
      Audit(34, "anonymous", "collabcare.v1.EpisodeService/ListEpisodes", "", "", 16, ""));
  add("audit-internal", "SignReview failing inside the service: INTERNAL",
      Audit(98, kTherapist, "collabcare.v1.ReviewService/SignReview", "episodes/e1/reviews/r1",
            "e1", 13, "req-sign-1"));
  add("audit-episode-list", "ListGoals of an episode",
      Audit(35, kJonah, "collabcare.v1.GoalService/ListGoals", "episodes/e1", "e1", 0, ""));
  return cases;
}

absl::StatusOr<std::vector<FhirResource>> MapGoldenCase(const GoldenCase& golden,
                                                        const CanonicalUrls& urls) {
  MappingContext ctx;
  ctx.urls = urls;
  ctx.episode = &golden.episode;
  ctx.goals = &golden.goals;
  std::vector<FhirResource> out;
  const auto append = [&out](std::vector<FhirResource> more) {
    for (FhirResource& r : more) out.push_back(std::move(r));
  };
  if (const auto* e = std::get_if<v1::Episode>(&golden.record)) {
    ASSIGN_OR_RETURN(std::vector<FhirResource> rs, EpisodeToFhir(*e, ctx));
    append(std::move(rs));
    ASSIGN_OR_RETURN(FhirResource note, NoteToFhir(*e, ctx));
    out.push_back(std::move(note));
  } else if (const auto* g = std::get_if<v1::Goal>(&golden.record)) {
    ASSIGN_OR_RETURN(std::vector<FhirResource> rs, GoalToFhir(*g, ctx));
    append(std::move(rs));
    ASSIGN_OR_RETURN(FhirResource note, NoteToFhir(*g, ctx));
    out.push_back(std::move(note));
  } else if (const auto* h = std::get_if<v1::Hypothesis>(&golden.record)) {
    ASSIGN_OR_RETURN(std::vector<FhirResource> rs, HypothesisToFhir(*h, ctx));
    append(std::move(rs));
    ASSIGN_OR_RETURN(FhirResource note, NoteToFhir(*h, ctx));
    out.push_back(std::move(note));
  } else if (const auto* r = std::get_if<v1::Review>(&golden.record)) {
    ASSIGN_OR_RETURN(std::vector<FhirResource> rs, ReviewToFhir(*r, ctx));
    append(std::move(rs));
    ASSIGN_OR_RETURN(FhirResource note, NoteToFhir(*r, ctx));
    out.push_back(std::move(note));
  } else if (const auto* a = std::get_if<store::AuditRecord>(&golden.record)) {
    ASSIGN_OR_RETURN(FhirResource event, AuditToFhir(*a, ctx));
    out.push_back(std::move(event));
  }
  return out;
}

}  // namespace collabcare::fhir::testing
