// The card rules on their own: summaries that fit (multibyte text included), each card kind,
// "since the last visit", and visibility (nothing the user may not see becomes a card).
#include "plugin/cds/cards.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/domain/timestamps.h"

namespace collabcare::cds {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";
constexpr char kSister[] = "RelatedPerson/4";
constexpr char kEllipsis[] = "\u2026";

const absl::Time kNow = absl::FromUnixSeconds(1790000000);

// Code points, counted independently of the code under test: every byte that does not
// continue a sequence starts one.
size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// nlohmann's strict serializer throws on invalid UTF-8.
bool ValidUtf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) { domain::ToTimestamp(t, ts); }

v1::Episode Episode() {
  v1::Episode e;
  e.set_name("episodes/e1");
  auto add = [&](const char* who, v1::Participant::Role role, const char* display) {
    v1::Participant* p = e.add_participants();
    p->set_person(who);
    p->set_role(role);
    p->set_display(display);
  };
  add(kTherapist, v1::Participant::THERAPIST, "Dr Lee");
  add(kClient, v1::Participant::CLIENT, "Sam");
  add(kSister, v1::Participant::FAMILY_MEMBER, "Jo");
  e.set_status(v1::Episode::ACTIVE);
  return e;
}

// A goal owned by `owner`, created at `created` and last changed at `updated` by `by`.
v1::Goal Goal(const std::string& id, const std::string& owner, const std::string& words,
              absl::Time created, absl::Time updated, const std::string& by) {
  v1::Goal g;
  g.set_name("episodes/e1/goals/" + id);
  g.set_owner(owner);
  g.set_words(words);
  g.set_status(v1::Goal::ACTIVE);
  g.set_visibility(v1::Goal::EPISODE);
  SetTime(created, g.mutable_meta()->mutable_create_time());
  SetTime(updated, g.mutable_meta()->mutable_update_time());
  g.mutable_meta()->set_created_by(owner);
  g.mutable_meta()->set_updated_by(by);
  g.mutable_meta()->set_revision(created == updated ? 1 : 2);
  return g;
}

v1::Hypothesis Hypothesis(const std::string& id, std::vector<std::string> audience) {
  v1::Hypothesis h;
  h.set_name("episodes/e1/hypotheses/" + id);
  h.set_author(kTherapist);
  h.set_kind(v1::Hypothesis::PERSONAL);
  h.set_text("I wonder whether mornings are hardest when the house is quiet");
  h.set_tentativeness(v1::Hypothesis::WONDERING);
  h.set_status(v1::Hypothesis::OPEN);
  for (const std::string& a : audience) h.add_audience(a);
  return h;
}

void Respond(v1::Hypothesis& h, const std::string& who, v1::HypothesisResponse::Stance stance,
             const std::string& words = "") {
  v1::HypothesisResponse* r = h.add_responses();
  r->set_person(who);
  r->set_stance(stance);
  r->set_words(words);
}

// A review every participant signed at `signed_at`.
v1::Review SignedReview(absl::Time signed_at) {
  v1::Review r;
  r.set_name("episodes/e1/reviews/r1");
  r.set_status(v1::Review::SIGNED);
  for (const char* who : {kTherapist, kClient, kSister}) {
    v1::Signature* s = r.add_signatures();
    s->set_participant(who);
    SetTime(signed_at - absl::Minutes(5), s->mutable_sign_time());
  }
  SetTime(signed_at, r.mutable_signatures(2)->mutable_sign_time());  // the last to sign
  return r;
}

v1::ProgressFlag Flag(v1::ProgressFlag::Kind kind, const std::string& subject,
                      std::vector<std::string> raters, double value, double threshold) {
  v1::ProgressFlag f;
  f.set_kind(kind);
  f.set_subject(subject);
  for (const std::string& r : raters) f.add_raters(r);
  f.set_review("episodes/e1/reviews/r1");
  f.set_value(value);
  f.set_threshold(threshold);
  f.set_source("Duncan et al. 2003");
  return f;
}

std::vector<CardKind> Kinds(const std::vector<Card>& cards) {
  std::vector<CardKind> out;
  for (const Card& c : cards) out.push_back(c.kind);
  return out;
}

TEST(TruncateTextTest, ShortTextIsKept) {
  EXPECT_EQ(TruncateText("Get through a school week", 140), "Get through a school week");
}

TEST(TruncateTextTest, FoldsWhitespace) {
  EXPECT_EQ(TruncateText("  two\n\nlines\tand  spaces ", 140), "two lines and spaces");
}

TEST(TruncateTextTest, LongAsciiIsCutWithEllipsis) {
  const std::string out = TruncateText(std::string(500, 'a'), 140);
  EXPECT_EQ(CodePoints(out), 140u);
  EXPECT_EQ(out, std::string(139, 'a') + kEllipsis);
}

TEST(TruncateTextTest, MultibyteTextIsCutOnCharacterBoundaries) {
  // Two-, three- and four-byte sequences: each cut must leave valid UTF-8.
  for (const std::string unit :
       {"\u00e9", "\u3053\u3093", "\U0001F331", "a\u00df\u4e2d\U0001F600"}) {
    std::string text;
    while (text.size() < 2000) text += unit;
    for (size_t max : {1u, 2u, 7u, 139u, 140u}) {
      const std::string out = TruncateText(text, max);
      EXPECT_TRUE(ValidUtf8(out)) << max;
      EXPECT_LE(CodePoints(out), max);
      EXPECT_THAT(out, ::testing::EndsWith(kEllipsis));
    }
  }
}

TEST(TruncateTextTest, KeepsCombiningMarksWithTheirLetter) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "e\u0301";  // e + combining acute accent
  const std::string out = TruncateText(text, 140);
  EXPECT_LE(CodePoints(out), 140u);
  // Before the ellipsis comes a whole "é", never a bare "e" whose accent was cut off.
  const std::string body = out.substr(0, out.size() - std::string(kEllipsis).size());
  EXPECT_THAT(body, ::testing::EndsWith("e\u0301"));
}

TEST(TruncateTextTest, KeepsEmojiWithSkinToneAndJoiner) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "\U0001F44D\U0001F3FD";  // thumbs up, medium skin tone
  const std::string out = TruncateText(text, 140);
  const std::string body = out.substr(0, out.size() - std::string(kEllipsis).size());
  EXPECT_THAT(body, ::testing::EndsWith("\U0001F44D\U0001F3FD"));
  std::string family;
  for (int i = 0; i < 60; ++i) family += "\U0001F469\u200D\U0001F467";  // woman ZWJ girl
  const std::string cut = TruncateText(family, 140);
  EXPECT_THAT(cut, Not(HasSubstr("\u200D" + std::string(kEllipsis))));
}

TEST(TruncateTextTest, InvalidBytesBecomeReplacementCharacters) {
  const std::string out = TruncateText("ok \xff\xfe and \xe3\x81", 140);
  EXPECT_TRUE(ValidUtf8(out));
  EXPECT_THAT(out, HasSubstr("\uFFFD"));
}

TEST(TruncateMarkdownTest, KeepsLineBreaksAndNeverEndsInAnEscape) {
  EXPECT_EQ(TruncateMarkdown("**a**\n\nb", 100), "**a**\n\nb");
  const std::string out = TruncateMarkdown("abc\\[def", 5);  // cut would fall after "\"
  EXPECT_EQ(out, std::string("abc") + kEllipsis);
}

class MakeCardsTest : public ::testing::Test {
 protected:
  MakeCardsTest() { records_.episode = Episode(); }
  std::vector<Card> Cards(const std::string& user = kTherapist) {
    return MakeCards(user, records_, rules_, kNow);
  }
  EpisodeRecords records_;
  CardRules rules_;
};

TEST_F(MakeCardsTest, NothingToSayGivesNoCards) { EXPECT_THAT(Cards(), IsEmpty()); }

TEST_F(MakeCardsTest, GoalWrittenByTheClientSinceTheLastSignedReview) {
  records_.reviews.push_back(SignedReview(kNow - absl::Hours(24 * 7)));
  records_.goals.push_back(Goal("g1", kClient, "Get through a school week", kNow - absl::Hours(24),
                                kNow - absl::Hours(24), kClient));
  // Written before the review: already talked about.
  records_.goals.push_back(Goal("g2", kClient, "Sleep before midnight", kNow - absl::Hours(24 * 30),
                                kNow - absl::Hours(24 * 30), kClient));
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(1));
  EXPECT_EQ(cards[0].kind, CardKind::kNewGoal);
  EXPECT_EQ(cards[0].indicator, Indicator::kInfo);
  EXPECT_EQ(cards[0].summary, "New goal from Sam: \u201cGet through a school week\u201d");
  EXPECT_EQ(cards[0].episode, "episodes/e1");
  EXPECT_EQ(cards[0].record, "episodes/e1/goals/g1");
  EXPECT_THAT(cards[0].detail, HasSubstr("Get through a school week"));
}

TEST_F(MakeCardsTest, GoalChangedByTheClientSaysSo) {
  records_.reviews.push_back(SignedReview(kNow - absl::Hours(24 * 7)));
  v1::Goal goal = Goal("g1", kSister, "Talk at dinner", kNow - absl::Hours(24 * 30),
                       kNow - absl::Hours(2), kSister);
  goal.set_status(v1::Goal::ACHIEVED);
  records_.goals.push_back(goal);
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(1));
  EXPECT_EQ(cards[0].summary, "Jo marked a goal achieved: \u201cTalk at dinner\u201d");
}

TEST_F(MakeCardsTest, ChangesByATherapistAreNotTheClientsWords) {
  // A therapist's restatement or transcription updates the goal, but not in the client's words.
  records_.goals.push_back(Goal("g1", kClient, "Get through a school week", kNow - absl::Hours(24),
                                kNow - absl::Hours(1), kTherapist));
  EXPECT_THAT(Cards(), IsEmpty());
}

TEST_F(MakeCardsTest, WithoutASignedReviewRecentGoalsCount) {
  records_.goals.push_back(Goal("g1", kClient, "recent", kNow - absl::Hours(24 * 13),
                                kNow - absl::Hours(24 * 13), kClient));
  records_.goals.push_back(Goal("g2", kClient, "old", kNow - absl::Hours(24 * 15),
                                kNow - absl::Hours(24 * 15), kClient));
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(1));
  EXPECT_EQ(cards[0].record, "episodes/e1/goals/g1");
}

TEST_F(MakeCardsTest, CorrectionOfARestatementIsShownInTheClientsWords) {
  records_.reviews.push_back(SignedReview(kNow - absl::Hours(24 * 7)));
  v1::Goal goal = Goal("g1", kClient, "Get through a school week", kNow - absl::Hours(24 * 30),
                       kNow - absl::Hours(1), kClient);
  goal.mutable_understanding()->set_restatement("Feeling ready for school");
  goal.mutable_understanding()->set_verdict(v1::Understanding::CORRECTED);
  goal.mutable_understanding()->set_correction("Not ready, just getting through it");
  SetTime(kNow - absl::Hours(1), goal.mutable_understanding()->mutable_verdict_time());
  records_.goals.push_back(goal);
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(1));
  EXPECT_EQ(cards[0].summary,
            "Sam corrected a restatement: \u201cNot ready, just getting through it\u201d");
}

TEST_F(MakeCardsTest, LongMultibyteWordsFitTheSummary) {
  std::string words;
  for (int i = 0; i < 120; ++i) words += "\u5b66\u6821\U0001F392 ";  // 学校🎒
  records_.goals.push_back(
      Goal("g1", kClient, words, kNow - absl::Hours(1), kNow - absl::Hours(1), kClient));
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(1));
  EXPECT_LE(CodePoints(cards[0].summary), kMaxSummaryChars);
  EXPECT_GE(CodePoints(cards[0].summary), kMaxSummaryChars - 3);  // uses the room it has
  EXPECT_TRUE(ValidUtf8(cards[0].summary));
  EXPECT_THAT(cards[0].summary, ::testing::EndsWith(std::string(kEllipsis) + "\u201d"));
  EXPECT_LE(CodePoints(cards[0].detail), kMaxDetailChars);
  EXPECT_TRUE(ValidUtf8(cards[0].detail));
}

TEST_F(MakeCardsTest, ClientWordsCannotBecomeMarkdownLinks) {
  records_.goals.push_back(Goal("g1", kClient, "see [this](https://evil.example) <b>now</b>",
                                kNow - absl::Hours(1), kNow - absl::Hours(1), kClient));
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(1));
  EXPECT_THAT(cards[0].detail, HasSubstr("\\[this\\](https"));
  EXPECT_THAT(cards[0].detail, Not(HasSubstr("[this](")));
  EXPECT_THAT(cards[0].detail, Not(HasSubstr("<b>")));
}

TEST_F(MakeCardsTest, HypothesisAwaitingAnAnswer) {
  v1::Hypothesis h = Hypothesis("h1", {});  // everyone on the client side
  Respond(h, kClient, v1::HypothesisResponse::PARTLY_FITS, "sometimes");
  records_.hypotheses.push_back(h);
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(1));
  EXPECT_EQ(cards[0].kind, CardKind::kHypothesisAwaiting);
  EXPECT_EQ(cards[0].indicator, Indicator::kInfo);
  EXPECT_THAT(cards[0].summary,
              ::testing::StartsWith("Awaiting an answer from Jo: \u201cI wonder"));
  EXPECT_LE(CodePoints(cards[0].summary), kMaxSummaryChars);
  EXPECT_THAT(cards[0].detail, HasSubstr("partly fits"));
}

TEST_F(MakeCardsTest, HypothesisAnsweredDoesNotFitIsAWarning) {
  v1::Hypothesis h = Hypothesis("h1", {kClient});
  Respond(h, kClient, v1::HypothesisResponse::DOES_NOT_FIT, "mornings are fine");
  records_.hypotheses.push_back(h);
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(1));
  EXPECT_EQ(cards[0].kind, CardKind::kHypothesisNotFit);
  EXPECT_EQ(cards[0].indicator, Indicator::kWarning);
  EXPECT_THAT(cards[0].summary, ::testing::StartsWith("Does not fit for Sam: "));
  EXPECT_THAT(cards[0].detail, HasSubstr("mornings are fine"));
}

TEST_F(MakeCardsTest, AnsweredOrSetAsideHypothesesNeedNoCard) {
  v1::Hypothesis answered = Hypothesis("h1", {kClient});
  Respond(answered, kClient, v1::HypothesisResponse::FITS);
  v1::Hypothesis set_aside = Hypothesis("h2", {kClient});
  set_aside.set_status(v1::Hypothesis::SET_ASIDE);
  records_.hypotheses = {answered, set_aside};
  EXPECT_THAT(Cards(), IsEmpty());
}

TEST_F(MakeCardsTest, OutsidersGetNoCards) {
  records_.goals.push_back(
      Goal("g1", kClient, "words", kNow - absl::Hours(1), kNow - absl::Hours(1), kClient));
  records_.hypotheses.push_back(Hypothesis("h1", {kClient}));
  records_.progress.add_flags()->CopyFrom(
      Flag(v1::ProgressFlag::ALLIANCE_ALERT, "SRS", {kClient}, 30, 36));
  EXPECT_THAT(Cards("Practitioner/77"), IsEmpty());
  EXPECT_THAT(Cards(kTherapist), SizeIs(3));
}

TEST_F(MakeCardsTest, HypothesisNotAddressedToTheUserGivesNothing) {
  records_.hypotheses.push_back(Hypothesis("h1", {kClient}));
  EXPECT_THAT(Cards(kSister), IsEmpty());
  EXPECT_THAT(Cards(kClient), SizeIs(1));
}

TEST_F(MakeCardsTest, PrivateGoalIsSeenOnlyByOwnerAndTherapists) {
  v1::Goal goal =
      Goal("g1", kClient, "private words", kNow - absl::Hours(1), kNow - absl::Hours(1), kClient);
  goal.set_visibility(v1::Goal::OWNER_AND_THERAPISTS);
  records_.goals.push_back(goal);
  // A flag on the private goal must not leak it either.
  records_.progress.add_flags()->CopyFrom(
      Flag(v1::ProgressFlag::RATER_DIVERGENCE, goal.name(), {kClient, kTherapist}, 5, 3));
  EXPECT_THAT(Cards(kSister), IsEmpty());
  EXPECT_THAT(Kinds(Cards(kTherapist)),
              ElementsAre(CardKind::kRaterDivergence, CardKind::kNewGoal));
}

TEST_F(MakeCardsTest, ProgressFlagsBecomeAlertsMostUrgentFirst) {
  records_.goals.push_back(Goal("g1", kClient, "Get through a school week",
                                kNow - absl::Hours(24 * 60), kNow - absl::Hours(24 * 60), kClient));
  auto* flags = records_.progress.mutable_flags();
  flags->Add()->CopyFrom(Flag(v1::ProgressFlag::ALLIANCE_ALERT, "SRS", {kClient}, 31.5, 36));
  // The same conversation once more (a drop in the same review): one card.
  flags->Add()->CopyFrom(Flag(v1::ProgressFlag::ALLIANCE_ALERT, "SRS", {kClient}, 6, 5));
  flags->Add()->CopyFrom(Flag(v1::ProgressFlag::RATER_DIVERGENCE, "episodes/e1/goals/g1",
                              {kClient, kTherapist}, 4, 3));
  flags->Add()->CopyFrom(Flag(v1::ProgressFlag::NOT_ON_TRACK, "ORS", {kClient}, 1, 5));
  flags->Add()->CopyFrom(Flag(v1::ProgressFlag::RELIABLE_DETERIORATION, "ORS", {kSister}, -6, 5));
  // Flags that ask for no action make no card.
  flags->Add()->CopyFrom(Flag(v1::ProgressFlag::BELOW_CLINICAL_CUTOFF, "ORS", {kClient}, 20, 25));
  flags->Add()->CopyFrom(Flag(v1::ProgressFlag::RELIABLE_IMPROVEMENT, "GBO", {kClient}, 3, 2.45));
  const std::vector<Card> cards = Cards();
  EXPECT_THAT(Kinds(cards), ElementsAre(CardKind::kDeterioration, CardKind::kAllianceAlert,
                                        CardKind::kRaterDivergence, CardKind::kNotOnTrack));
  EXPECT_EQ(cards[0].indicator, Indicator::kCritical);
  EXPECT_EQ(cards[0].summary, "Reliable deterioration (ORS, Jo): down 6 points (reliable: 5)");
  EXPECT_EQ(cards[1].indicator, Indicator::kWarning);
  EXPECT_EQ(cards[1].summary, "Alliance alert (SRS, Sam): total 31.5, below 36");
  EXPECT_EQ(
      cards[2].summary,
      "Sam and Dr Lee: views differ by 4 points on goal \u201cGet through a school week\u201d");
  EXPECT_EQ(cards[3].indicator, Indicator::kWarning);
  for (const Card& card : cards) {
    EXPECT_LE(CodePoints(card.summary), kMaxSummaryChars);
    EXPECT_THAT(card.detail, HasSubstr("Duncan et al. 2003"));
  }
}

TEST_F(MakeCardsTest, CardsPerEpisodeAreCapped) {
  for (int i = 0; i < 20; ++i) {
    records_.goals.push_back(Goal("g" + std::to_string(i), kClient, "words", kNow - absl::Hours(1),
                                  kNow - absl::Hours(1), kClient));
  }
  records_.progress.add_flags()->CopyFrom(
      Flag(v1::ProgressFlag::ALLIANCE_ALERT, "SRS", {kClient}, 30, 36));
  rules_.max_cards_per_episode = 5;
  const std::vector<Card> cards = Cards();
  ASSERT_THAT(cards, SizeIs(5));
  EXPECT_EQ(cards[0].kind, CardKind::kAllianceAlert);  // the warning survives the cap
}

TEST(CardNamesTest, IndicatorsAndTopicsAreSpecValues) {
  EXPECT_STREQ(IndicatorName(Indicator::kInfo), "info");
  EXPECT_STREQ(IndicatorName(Indicator::kWarning), "warning");
  EXPECT_STREQ(IndicatorName(Indicator::kCritical), "critical");
  EXPECT_STREQ(CardKindCode(CardKind::kHypothesisNotFit), "hypothesis-does-not-fit");
}

}  // namespace
}  // namespace collabcare::cds
