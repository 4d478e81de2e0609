// Tests of the hypothesis rules (hypotheses.h) and who sees a hypothesis (access.h): only
// therapists share and revise, the audience always holds a client or family member, and each
// audience member answers for themselves.
#include "plugin/domain/hypotheses.h"

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "collabcare/v1/resources.pb.h"
#include "gtest/gtest.h"
#include "plugin/domain/access.h"
#include "plugin/domain/timestamps.h"
#include "tests/domain/rules_test_util.h"

namespace collabcare::domain {
namespace {

using ::collabcare::v1::Episode;
using ::collabcare::v1::Hypothesis;
using ::collabcare::v1::HypothesisResponse;
using ::collabcare::v1::Participant;
using testing::FamilyEpisode;
using testing::HasCode;
using testing::IsFieldError;
using testing::kClient;
using testing::kFamily;
using testing::kOtherClient;
using testing::kOtherFamily;
using testing::kOtherTherapist;
using testing::kStranger;
using testing::kTherapist;
using testing::MakeEpisode;
using testing::T0;
using testing::T1;
using testing::T2;

constexpr char kGoal1[] = "episodes/e1/goals/g1";
constexpr char kGoal2[] = "episodes/e1/goals/g2";

const std::set<std::string>& EpisodeGoals() {
  static const std::set<std::string>* const kGoals = new std::set<std::string>{kGoal1, kGoal2};
  return *kGoals;
}

Hypothesis Input(Hypothesis::Kind kind = Hypothesis::PERSONAL) {
  Hypothesis input;
  input.set_kind(kind);
  input.set_text("I wonder whether the sleepless nights carry a worry about school");
  input.set_tentativeness(Hypothesis::WONDERING);
  return input;
}

Hypothesis WithAudience(Hypothesis h, const std::vector<std::string>& audience) {
  h.clear_audience();
  for (const std::string& person : audience) h.add_audience(person);
  return h;
}

// A stored OPEN hypothesis by kTherapist at revision 2 with the given audience.
Hypothesis Stored(const std::vector<std::string>& audience = {}) {
  Hypothesis h = WithAudience(Input(), audience);
  h.set_name("episodes/e1/hypotheses/h1");
  h.set_author(kTherapist);
  h.set_status(Hypothesis::OPEN);
  h.mutable_meta()->set_revision(2);
  return h;
}

HypothesisResponse Response(const std::string& person, HypothesisResponse::Stance stance,
                            int64_t revision) {
  HypothesisResponse r;
  r.set_person(person);
  r.set_stance(stance);
  r.set_answered_revision(revision);
  return r;
}

const HypothesisResponse* ResponseOf(const Hypothesis& h, const std::string& person) {
  for (const HypothesisResponse& r : h.responses()) {
    if (r.person() == person) return &r;
  }
  return nullptr;
}

// --- Sharing ----------------------------------------------------------------------------------

TEST(HypothesisRulesTest, TherapistSharesHypothesis) {
  Hypothesis input = WithAudience(Input(), {kClient, kTherapist});
  input.add_related_goals(kGoal1);
  input.set_author(kClient);  // output only: ignored
  *input.add_responses() = Response(kClient, HypothesisResponse::FITS, 1);
  absl::StatusOr<Hypothesis> h = NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->author(), kTherapist);
  EXPECT_EQ(h->kind(), Hypothesis::PERSONAL);
  EXPECT_EQ(h->text(), input.text());
  EXPECT_EQ(h->tentativeness(), Hypothesis::WONDERING);
  EXPECT_EQ(h->status(), Hypothesis::OPEN);  // the default
  ASSERT_EQ(h->audience_size(), 2);
  EXPECT_EQ(h->audience(0), kClient);
  ASSERT_EQ(h->related_goals_size(), 1);
  EXPECT_EQ(h->related_goals(0), kGoal1);
  EXPECT_EQ(h->responses_size(), 0);
  EXPECT_FALSE(h->has_code());
}

TEST(HypothesisRulesTest, ProfessionalHypothesisMayCarryACode) {
  Hypothesis input = Input(Hypothesis::PROFESSIONAL);
  input.mutable_code()->set_system("http://hl7.org/fhir/sid/icd-10-cm");
  input.mutable_code()->set_code("F51.01");
  input.mutable_code()->set_display("Primary insomnia");
  input.set_tentativeness(Hypothesis::CONSIDERING);
  absl::StatusOr<Hypothesis> h = NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->code().code(), "F51.01");
  EXPECT_EQ(h->code().system(), "http://hl7.org/fhir/sid/icd-10-cm");
}

TEST(HypothesisRulesTest, ClientMayNotShareHypothesis) {
  for (const std::string& caller : std::vector<std::string>{kClient, kFamily, kStranger}) {
    SCOPED_TRACE(caller);
    EXPECT_TRUE(HasCode(NewHypothesis(FamilyEpisode(), caller, Input(), EpisodeGoals()),
                        absl::StatusCode::kPermissionDenied));
  }
}

TEST(HypothesisRulesTest, TherapistOnlyAudienceRefused) {
  EXPECT_TRUE(IsFieldError(
      NewHypothesis(FamilyEpisode(), kTherapist,
                    WithAudience(Input(), {kTherapist, kOtherTherapist}), EpisodeGoals()),
      "hypothesis.audience"));
}

TEST(HypothesisRulesTest, AudienceMemberMustBeAParticipant) {
  EXPECT_TRUE(
      IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist,
                                 WithAudience(Input(), {kStranger, kClient}), EpisodeGoals()),
                   "hypothesis.audience[0]"));
  EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist,
                                         WithAudience(Input(), {kClient, "Foo/1"}), EpisodeGoals()),
                           "hypothesis.audience[1]"));
  EXPECT_TRUE(IsFieldError(
      NewHypothesis(FamilyEpisode(), kTherapist, WithAudience(Input(), {kClient, kFamily, kClient}),
                    EpisodeGoals()),
      "hypothesis.audience[2]"));
}

TEST(HypothesisRulesTest, AudienceOfMoreThanSixtyFourRefused) {
  std::vector<std::string> audience;
  for (int i = 0; i < 65; ++i) audience.push_back(kClient);
  EXPECT_TRUE(IsFieldError(
      NewHypothesis(FamilyEpisode(), kTherapist, WithAudience(Input(), audience), EpisodeGoals()),
      "hypothesis.audience"));
}

TEST(HypothesisRulesTest, CodeOnlyOnProfessionalHypotheses) {
  for (Hypothesis::Kind kind : {Hypothesis::PERSONAL, Hypothesis::THEORETICAL}) {
    Hypothesis input = Input(kind);
    input.mutable_code()->set_system("http://snomed.info/sct");
    input.mutable_code()->set_code("193462001");
    EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                             "hypothesis.code"))
        << Hypothesis::Kind_Name(kind);
  }
}

TEST(HypothesisRulesTest, CodeFieldsValidated) {
  Hypothesis input = Input(Hypothesis::PROFESSIONAL);
  input.mutable_code()->set_system("icd10");
  input.mutable_code()->set_code("F51.01");
  EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                           "hypothesis.code.system"));
  input.mutable_code()->set_system("http://snomed.info/sct");
  input.mutable_code()->set_code("");
  EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                           "hypothesis.code.code"));
  input.mutable_code()->set_code(std::string(65, '1'));
  EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                           "hypothesis.code.code"));
  input.mutable_code()->set_code(std::string(64, '1'));
  EXPECT_TRUE(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()).ok());
  input.mutable_code()->set_display(std::string(513, 'd'));
  EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                           "hypothesis.code.display"));
}

TEST(HypothesisRulesTest, FieldsValidated) {
  for (int kind : {0, 4, 99}) {
    Hypothesis input = Input();
    input.set_kind(static_cast<Hypothesis::Kind>(kind));
    EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                             "hypothesis.kind"))
        << kind;
  }
  for (int t : {0, 99}) {
    Hypothesis input = Input();
    input.set_tentativeness(static_cast<Hypothesis::Tentativeness>(t));
    EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                             "hypothesis.tentativeness"))
        << t;
  }
  Hypothesis status = Input();
  status.set_status(static_cast<Hypothesis::Status>(99));
  EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, status, EpisodeGoals()),
                           "hypothesis.status"));

  for (const std::string& bad :
       std::vector<std::string>{std::string(""), std::string(8193, 't'), std::string("\x80")}) {
    Hypothesis input = Input();
    input.set_text(bad);
    EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals()),
                             "hypothesis.text"));
  }

  Hypothesis related = Input();
  related.add_related_goals(kGoal1);
  related.add_related_goals("episodes/e2/goals/g1");
  EXPECT_TRUE(IsFieldError(NewHypothesis(FamilyEpisode(), kTherapist, related, EpisodeGoals()),
                           "hypothesis.related_goals[1]"));
}

TEST(HypothesisRulesTest, SharedWithStatusSetAside) {
  Hypothesis input = Input();
  input.set_status(Hypothesis::SET_ASIDE);
  absl::StatusOr<Hypothesis> h = NewHypothesis(FamilyEpisode(), kTherapist, input, EpisodeGoals());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->status(), Hypothesis::SET_ASIDE);
}

// --- Seeing -----------------------------------------------------------------------------------

TEST(HypothesisRulesTest, AudienceAndTherapistsSeeHypothesis) {
  const Episode episode = FamilyEpisode();
  const Hypothesis h = Stored({kClient, kFamily});
  EXPECT_TRUE(CanSeeHypothesis(episode, h, kClient));
  EXPECT_TRUE(CanSeeHypothesis(episode, h, kFamily));
  EXPECT_TRUE(CanSeeHypothesis(episode, h, kTherapist));
  EXPECT_TRUE(CanSeeHypothesis(episode, h, kOtherTherapist));  // not the author, still sees it
  EXPECT_FALSE(CanSeeHypothesis(episode, h, kOtherFamily));
  EXPECT_FALSE(CanSeeHypothesis(episode, h, kOtherClient));
  EXPECT_FALSE(CanSeeHypothesis(episode, h, kStranger));
}

TEST(HypothesisRulesTest, EmptyAudienceMeansEveryClientAndFamilyMember) {
  const Episode episode = FamilyEpisode();
  const Hypothesis h = Stored();
  EXPECT_EQ(EffectiveAudience(episode, h),
            (std::vector<std::string>{kClient, kFamily, kOtherClient, kOtherFamily}));
  for (const std::string& person : std::vector<std::string>{
           kClient, kFamily, kOtherClient, kOtherFamily, kTherapist, kOtherTherapist}) {
    EXPECT_TRUE(CanSeeHypothesis(episode, h, person)) << person;
  }
  EXPECT_FALSE(CanSeeHypothesis(episode, h, kStranger));
  EXPECT_EQ(EffectiveAudience(episode, Stored({kFamily})), (std::vector<std::string>{kFamily}));
}

TEST(HypothesisRulesTest, FormerAudienceMemberOutsideEpisodeSeesNothing) {
  const Hypothesis h = Stored({kClient, kStranger});
  EXPECT_FALSE(CanSeeHypothesis(FamilyEpisode(), h, kStranger));
}

// --- Revising ---------------------------------------------------------------------------------

TEST(HypothesisRulesTest, TherapistRevisesHypothesis) {
  Hypothesis current = Stored({kClient, kFamily});
  *current.add_responses() = Response(kClient, HypothesisResponse::PARTLY_FITS, 2);
  Hypothesis patch;
  patch.set_text("Perhaps the worry is about a friend, not school");
  patch.set_tentativeness(Hypothesis::CONSIDERING);
  patch.add_related_goals(kGoal2);
  absl::StatusOr<Hypothesis> next =
      ReviseHypothesis(FamilyEpisode(), kOtherTherapist, current, patch,
                       {"text", "tentativeness", "related_goals"}, EpisodeGoals());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->text(), "Perhaps the worry is about a friend, not school");
  EXPECT_EQ(next->tentativeness(), Hypothesis::CONSIDERING);
  ASSERT_EQ(next->related_goals_size(), 1);
  EXPECT_EQ(next->related_goals(0), kGoal2);
  EXPECT_EQ(next->author(), kTherapist);  // the author stays
  EXPECT_EQ(next->kind(), Hypothesis::PERSONAL);
  // Answers stay, each with the revision it answered.
  ASSERT_EQ(next->responses_size(), 1);
  EXPECT_EQ(next->responses(0).answered_revision(), 2);
}

TEST(HypothesisRulesTest, ClientMayNotRevise) {
  Hypothesis patch;
  patch.set_status(Hypothesis::SET_ASIDE);
  for (const std::string& caller : std::vector<std::string>{kClient, kFamily, kStranger}) {
    SCOPED_TRACE(caller);
    EXPECT_TRUE(HasCode(
        ReviseHypothesis(FamilyEpisode(), caller, Stored(), patch, {"status"}, EpisodeGoals()),
        absl::StatusCode::kPermissionDenied));
  }
}

TEST(HypothesisRulesTest, ReviseMaskMustNameRevisableFields) {
  Hypothesis patch;
  patch.set_author(kOtherTherapist);
  EXPECT_TRUE(IsFieldError(
      ReviseHypothesis(FamilyEpisode(), kTherapist, Stored(), patch, {}, EpisodeGoals()),
      "update_mask"));
  for (const std::string& path : std::vector<std::string>{"author", "responses", "name", "meta"}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(IsFieldError(
        ReviseHypothesis(FamilyEpisode(), kTherapist, Stored(), patch, {path}, EpisodeGoals()),
        "update_mask"));
  }
}

TEST(HypothesisRulesTest, StatusMovesFreelyBetweenOpenSetAsideAndHeldTogether) {
  Hypothesis current = Stored();
  const std::vector<Hypothesis::Status> path = {Hypothesis::SET_ASIDE, Hypothesis::HELD_TOGETHER,
                                                Hypothesis::OPEN,      Hypothesis::HELD_TOGETHER,
                                                Hypothesis::SET_ASIDE, Hypothesis::OPEN};
  for (Hypothesis::Status status : path) {
    SCOPED_TRACE(Hypothesis::Status_Name(current.status()) + " -> " +
                 Hypothesis::Status_Name(status));
    Hypothesis patch;
    patch.set_status(status);
    absl::StatusOr<Hypothesis> next =
        ReviseHypothesis(FamilyEpisode(), kTherapist, current, patch, {"status"}, EpisodeGoals());
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(next->status(), status);
    current = *next;
  }
}

TEST(HypothesisRulesTest, ReviseValidatesFields) {
  for (int status : {0, 99}) {
    Hypothesis patch;
    patch.set_status(static_cast<Hypothesis::Status>(status));
    EXPECT_TRUE(IsFieldError(
        ReviseHypothesis(FamilyEpisode(), kTherapist, Stored(), patch, {"status"}, EpisodeGoals()),
        "hypothesis.status"))
        << status;
  }
  Hypothesis kind;
  kind.set_kind(static_cast<Hypothesis::Kind>(99));
  EXPECT_TRUE(IsFieldError(
      ReviseHypothesis(FamilyEpisode(), kTherapist, Stored(), kind, {"kind"}, EpisodeGoals()),
      "hypothesis.kind"));
  Hypothesis text;
  EXPECT_TRUE(IsFieldError(
      ReviseHypothesis(FamilyEpisode(), kTherapist, Stored(), text, {"text"}, EpisodeGoals()),
      "hypothesis.text"));
  Hypothesis related;
  related.add_related_goals("episodes/e1/goals/nope");
  EXPECT_TRUE(IsFieldError(ReviseHypothesis(FamilyEpisode(), kTherapist, Stored(), related,
                                            {"related_goals"}, EpisodeGoals()),
                           "hypothesis.related_goals[0]"));
}

TEST(HypothesisRulesTest, RevisedAudienceStillNeedsAClientSideParticipant) {
  EXPECT_TRUE(IsFieldError(
      ReviseHypothesis(FamilyEpisode(), kTherapist, Stored({kClient}),
                       WithAudience(Hypothesis(), {kOtherTherapist}), {"audience"}, EpisodeGoals()),
      "hypothesis.audience"));
  EXPECT_TRUE(IsFieldError(
      ReviseHypothesis(FamilyEpisode(), kTherapist, Stored({kClient}),
                       WithAudience(Hypothesis(), {kStranger}), {"audience"}, EpisodeGoals()),
      "hypothesis.audience[0]"));
}

TEST(HypothesisRulesTest, RevisingAudienceDropsAnswersOfThoseLeft) {
  Hypothesis current = Stored({kClient, kFamily});
  *current.add_responses() = Response(kClient, HypothesisResponse::FITS, 2);
  *current.add_responses() = Response(kFamily, HypothesisResponse::DOES_NOT_FIT, 2);

  absl::StatusOr<Hypothesis> narrowed =
      ReviseHypothesis(FamilyEpisode(), kTherapist, current, WithAudience(Hypothesis(), {kClient}),
                       {"audience"}, EpisodeGoals());
  ASSERT_TRUE(narrowed.ok()) << narrowed.status();
  ASSERT_EQ(narrowed->responses_size(), 1);
  EXPECT_EQ(narrowed->responses(0).person(), kClient);
  EXPECT_EQ(narrowed->responses(0).stance(), HypothesisResponse::FITS);
  EXPECT_FALSE(CanSeeHypothesis(FamilyEpisode(), *narrowed, kFamily));

  // Widening to everyone keeps every answer.
  absl::StatusOr<Hypothesis> everyone = ReviseHypothesis(
      FamilyEpisode(), kTherapist, current, Hypothesis(), {"audience"}, EpisodeGoals());
  ASSERT_TRUE(everyone.ok()) << everyone.status();
  EXPECT_EQ(everyone->audience_size(), 0);
  EXPECT_EQ(everyone->responses_size(), 2);
}

TEST(HypothesisRulesTest, CodeOnNonProfessionalRefusedOnRevision) {
  Hypothesis patch;
  patch.mutable_code()->set_system("http://snomed.info/sct");
  patch.mutable_code()->set_code("193462001");
  EXPECT_TRUE(IsFieldError(
      ReviseHypothesis(FamilyEpisode(), kTherapist, Stored(), patch, {"code"}, EpisodeGoals()),
      "hypothesis.code"));

  // Turning a coded PROFESSIONAL hypothesis into a PERSONAL one must drop the code as well.
  Hypothesis coded = Stored();
  coded.set_kind(Hypothesis::PROFESSIONAL);
  *coded.mutable_code() = patch.code();
  Hypothesis personal;
  personal.set_kind(Hypothesis::PERSONAL);
  EXPECT_TRUE(IsFieldError(
      ReviseHypothesis(FamilyEpisode(), kTherapist, coded, personal, {"kind"}, EpisodeGoals()),
      "hypothesis.code"));
  absl::StatusOr<Hypothesis> next = ReviseHypothesis(FamilyEpisode(), kTherapist, coded, personal,
                                                     {"kind", "code"}, EpisodeGoals());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->kind(), Hypothesis::PERSONAL);
  EXPECT_FALSE(next->has_code());

  // Adding a code to a PROFESSIONAL one is fine, and it is validated.
  Hypothesis professional = Stored();
  professional.set_kind(Hypothesis::PROFESSIONAL);
  absl::StatusOr<Hypothesis> coded_now =
      ReviseHypothesis(FamilyEpisode(), kTherapist, professional, patch, {"code"}, EpisodeGoals());
  ASSERT_TRUE(coded_now.ok()) << coded_now.status();
  EXPECT_EQ(coded_now->code().code(), "193462001");
  Hypothesis bad_code = patch;
  bad_code.mutable_code()->set_system("sct");
  EXPECT_TRUE(IsFieldError(ReviseHypothesis(FamilyEpisode(), kTherapist, professional, bad_code,
                                            {"code"}, EpisodeGoals()),
                           "hypothesis.code.system"));
}

// --- Responding -------------------------------------------------------------------------------

TEST(HypothesisRulesTest, AudienceMemberResponds) {
  absl::StatusOr<Hypothesis> next =
      RespondToHypothesis(FamilyEpisode(), kFamily, Stored({kClient, kFamily}),
                          HypothesisResponse::PARTLY_FITS, "Some of it, not the school part", T1());
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->responses_size(), 1);
  const HypothesisResponse& r = next->responses(0);
  EXPECT_EQ(r.person(), kFamily);
  EXPECT_EQ(r.stance(), HypothesisResponse::PARTLY_FITS);
  EXPECT_EQ(r.words(), "Some of it, not the school part");
  EXPECT_EQ(r.answered_revision(), 2);
  EXPECT_EQ(FromTimestamp(r.respond_time()), T1());
}

TEST(HypothesisRulesTest, AnswerReplacesOwnEarlierAnswer) {
  Hypothesis current = Stored({kClient, kFamily});
  *current.add_responses() = Response(kFamily, HypothesisResponse::FITS, 1);
  absl::StatusOr<Hypothesis> first =
      RespondToHypothesis(FamilyEpisode(), kClient, current, HypothesisResponse::NOT_NOW, "", T1());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->responses_size(), 2);

  first->mutable_meta()->set_revision(5);  // revised in between
  absl::StatusOr<Hypothesis> second = RespondToHypothesis(
      FamilyEpisode(), kClient, *first, HypothesisResponse::WANT_TO_TALK, "Let's talk", T2());
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->responses_size(), 2);
  const HypothesisResponse* mine = ResponseOf(*second, kClient);
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->stance(), HypothesisResponse::WANT_TO_TALK);
  EXPECT_EQ(mine->words(), "Let's talk");
  EXPECT_EQ(mine->answered_revision(), 5);
  EXPECT_EQ(FromTimestamp(mine->respond_time()), T2());
  // The other person's answer is untouched.
  const HypothesisResponse* theirs = ResponseOf(*second, kFamily);
  ASSERT_NE(theirs, nullptr);
  EXPECT_EQ(theirs->stance(), HypothesisResponse::FITS);
  EXPECT_EQ(theirs->answered_revision(), 1);
}

TEST(HypothesisRulesTest, NonAudienceParticipantMayNotRespond) {
  const Hypothesis h = Stored({kClient});
  for (const std::string& caller :
       std::vector<std::string>{kFamily, kOtherClient, kTherapist, kStranger}) {
    SCOPED_TRACE(caller);
    EXPECT_TRUE(
        HasCode(RespondToHypothesis(FamilyEpisode(), caller, h, HypothesisResponse::FITS, "", T1()),
                absl::StatusCode::kPermissionDenied));
  }
}

TEST(HypothesisRulesTest, TherapistOutsideDefaultAudienceMayNotRespond) {
  EXPECT_TRUE(HasCode(RespondToHypothesis(FamilyEpisode(), kTherapist, Stored(),
                                          HypothesisResponse::FITS, "", T1()),
                      absl::StatusCode::kPermissionDenied));
  // With an empty audience every client and family member may answer.
  EXPECT_TRUE(RespondToHypothesis(FamilyEpisode(), kOtherFamily, Stored(),
                                  HypothesisResponse::DOES_NOT_FIT, "", T1())
                  .ok());
}

TEST(HypothesisRulesTest, ResponseIsValidated) {
  const Hypothesis h = Stored({kClient});
  for (int stance : {0, 6, 99}) {
    EXPECT_TRUE(
        IsFieldError(RespondToHypothesis(FamilyEpisode(), kClient, h, stance, "", T1()), "stance"))
        << stance;
  }
  EXPECT_TRUE(IsFieldError(
      RespondToHypothesis(FamilyEpisode(), kClient, h, HypothesisResponse::FITS, "\xC0\x80", T1()),
      "words"));
  EXPECT_TRUE(
      IsFieldError(RespondToHypothesis(FamilyEpisode(), kClient, h, HypothesisResponse::FITS,
                                       std::string(8193, 'w'), T1()),
                   "words"));
}

TEST(HypothesisRulesTest, OnlyClientSideEpisodeStillHasADefaultAudience) {
  const Episode couple = MakeEpisode({{kClient, Participant::CLIENT},
                                      {kOtherClient, Participant::CLIENT},
                                      {kTherapist, Participant::THERAPIST}},
                                     Episode::CLIENT_LED, Episode::COUPLE);
  absl::StatusOr<Hypothesis> h = NewHypothesis(couple, kTherapist, Input(), {});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(EffectiveAudience(couple, *h), (std::vector<std::string>{kClient, kOtherClient}));
}

}  // namespace
}  // namespace collabcare::domain
