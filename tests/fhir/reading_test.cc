// FHIR → domain: round trips keep meaning, decimals keep their text, unknown extensions are
// kept or reported, and bad input is refused with element paths (never content).
#include "adapters/fhir/reading.h"

#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/mapping.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/fhir/fhir_test_util.h"
#include "tests/fhir/golden_cases.h"

namespace collabcare::fhir::testing {
namespace {

using google::protobuf::util::MessageDifferencer;

// Copies the bookkeeping FHIR does not carry back (times, writers, etag) from `from`.
template <typename T>
void RestoreMeta(const T& from, T* to) {
  const int64_t revision = to->meta().revision();
  *to->mutable_meta() = from.meta();
  to->mutable_meta()->set_revision(revision);
}

class ReadingTest : public ::testing::Test {
 protected:
  ReadingTest() : episode_(FamilyEpisode()), goals_(FamilyGoals()) {
    for (const v1::Goal& g : goals_) known_.insert(g.name());
    for (const char* h : {"h1", "h2", "h3", "h4", "h5"}) {
      known_.insert(absl::StrCat("episodes/e1/hypotheses/", h));
    }
    for (const char* r : {"r1", "r2", "r3"}) known_.insert(absl::StrCat("episodes/e1/reviews/", r));
    map_.episode = &episode_;
    map_.goals = &goals_;
    read_.episode = &episode_;
    read_.known_names = &known_;
  }

  const FhirResource& One(const std::vector<FhirResource>& rs, absl::string_view type) {
    const auto found = OfType(rs, type);
    EXPECT_FALSE(found.empty()) << type;
    return *found.front();
  }

  // The error of reading `json` as a goal.
  std::string GoalError(const std::string& json) {
    absl::StatusOr<FromFhir<v1::Goal>> r = GoalFromFhir(json, read_);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    return std::string(r.status().message());
  }

  std::string GoalJson(const v1::Goal& g) { return GoalToFhir(g, map_)->front().json; }

  v1::Episode episode_;
  std::vector<v1::Goal> goals_;
  absl::flat_hash_set<std::string> known_;
  MappingContext map_;
  ReadContext read_;
};

TEST_F(ReadingTest, EveryGoalRoundTripsToTheSameRecordAndTheSameFhir) {
  for (const v1::Goal& original : goals_) {
    SCOPED_TRACE(original.name());
    const std::string json = GoalJson(original);
    absl::StatusOr<FromFhir<v1::Goal>> read = GoalFromFhir(json, read_);
    ASSERT_TRUE(read.ok()) << read.status();
    v1::Goal expected = original;
    if (expected.visibility() == v1::Goal::VISIBILITY_UNSPECIFIED) {
      expected.set_visibility(v1::Goal::EPISODE);
    }
    v1::Goal got = read->record;
    RestoreMeta(original, &got);
    EXPECT_TRUE(MessageDifferencer::Equals(expected, got)) << expected.DebugString() << "\nvs\n"
                                                           << got.DebugString();
    EXPECT_TRUE(read->preserved.at(original.name()).extensions.empty());
    EXPECT_TRUE(read->preserved.at(original.name()).reported.empty());
    MappingContext again = map_;
    again.preserved = &read->preserved;
    EXPECT_EQ(Parse(GoalToFhir(got, again)->front().json), Parse(json));
  }
}

TEST_F(ReadingTest, EpisodesRoundTrip) {
  for (const GoldenCase& c : GoldenCases()) {
    const auto* original = std::get_if<v1::Episode>(&c.record);
    if (original == nullptr) continue;
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::vector<FhirResource>> rs = EpisodeToFhir(*original, map_);
    ASSERT_TRUE(rs.ok());
    std::vector<absl::string_view> plans;
    for (const FhirResource* p : OfType(*rs, "CarePlan")) plans.push_back(p->json);
    ReadContext ctx;  // the episode is what is being read
    absl::StatusOr<FromFhir<v1::Episode>> read =
        EpisodeFromFhir(One(*rs, "CareTeam").json, plans, ctx);
    ASSERT_TRUE(read.ok()) << read.status();
    v1::Episode got = read->record;
    RestoreMeta(*original, &got);
    EXPECT_TRUE(MessageDifferencer::Equals(*original, got)) << original->DebugString() << "\nvs\n"
                                                            << got.DebugString();
    MappingContext again = map_;
    again.goals = nullptr;
    absl::StatusOr<std::vector<FhirResource>> rs2 = EpisodeToFhir(got, again);
    MappingContext first = map_;
    first.goals = nullptr;
    rs = EpisodeToFhir(*original, first);
    ASSERT_EQ(rs->size(), rs2->size());
    for (size_t i = 0; i < rs->size(); ++i) EXPECT_EQ(Parse((*rs)[i].json), Parse((*rs2)[i].json));
  }
}

TEST_F(ReadingTest, HypothesesWithTheirResponsesRoundTrip) {
  for (const GoldenCase& c : GoldenCases()) {
    const auto* original = std::get_if<v1::Hypothesis>(&c.record);
    if (original == nullptr) continue;
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::vector<FhirResource>> rs = HypothesisToFhir(*original, map_);
    ASSERT_TRUE(rs.ok());
    const auto conditions = OfType(*rs, "Condition");
    absl::StatusOr<FromFhir<v1::Hypothesis>> read = HypothesisFromFhir(
        One(*rs, "ClinicalImpression").json,
        conditions.empty() ? absl::string_view() : absl::string_view(conditions[0]->json), read_);
    ASSERT_TRUE(read.ok()) << read.status();
    v1::Hypothesis got = read->record;
    for (const FhirResource* o : OfType(*rs, "Observation")) {
      absl::StatusOr<FromFhir<v1::HypothesisResponse>> resp = ResponseFromFhir(o->json, read_);
      ASSERT_TRUE(resp.ok()) << resp.status();
      EXPECT_EQ(resp->parent, original->name());
      *got.add_responses() = resp->record;
    }
    RestoreMeta(*original, &got);
    EXPECT_TRUE(MessageDifferencer::Equals(*original, got)) << original->DebugString() << "\nvs\n"
                                                            << got.DebugString();
    absl::StatusOr<std::vector<FhirResource>> rs2 = HypothesisToFhir(got, map_);
    ASSERT_EQ(rs->size(), rs2->size());
    for (size_t i = 0; i < rs->size(); ++i) EXPECT_EQ(Parse((*rs)[i].json), Parse((*rs2)[i].json));
  }
}

TEST_F(ReadingTest, ReviewScoresRoundTrip) {
  for (const GoldenCase& c : GoldenCases()) {
    const auto* original = std::get_if<v1::Review>(&c.record);
    if (original == nullptr || original->ratings().empty()) continue;
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::vector<FhirResource>> rs = ReviewToFhir(*original, map_);
    ASSERT_TRUE(rs.ok());
    std::vector<absl::string_view> scores;
    for (const FhirResource& r : *rs) {
      if (r.type == "QuestionnaireResponse" || r.type == "Observation") scores.push_back(r.json);
    }
    absl::StatusOr<FromFhir<v1::Review>> read = ReviewScoresFromFhir(scores, read_);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->record.name(), original->name());
    ASSERT_EQ(read->record.ratings_size(), original->ratings_size());
    for (int i = 0; i < original->ratings_size(); ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(original->ratings(i), read->record.ratings(i)));
    }
    ASSERT_EQ(read->record.instrument_scores_size(), original->instrument_scores_size());
    for (int i = 0; i < original->instrument_scores_size(); ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(original->instrument_scores(i),
                                             read->record.instrument_scores(i)))
          << read->record.instrument_scores(i).DebugString();
    }
    v1::Review again = *original;
    *again.mutable_ratings() = read->record.ratings();
    *again.mutable_instrument_scores() = read->record.instrument_scores();
    MappingContext ctx = map_;
    ctx.preserved = &read->preserved;
    absl::StatusOr<std::vector<FhirResource>> rs2 = ReviewToFhir(again, ctx);
    ASSERT_EQ(rs->size(), rs2->size());
    for (size_t i = 0; i < rs->size(); ++i) EXPECT_EQ(Parse((*rs)[i].json), Parse((*rs2)[i].json));
  }
}

TEST_F(ReadingTest, DecimalsKeepTheirPrecisionThroughARoundTrip) {
  const v1::Review review = SignedReview();
  absl::StatusOr<std::vector<FhirResource>> rs = ReviewToFhir(review, map_);
  ASSERT_TRUE(rs.ok());
  // Maya's rating of g1 (6.5) and her ORS answers (6.2 …), as an EHR might have written them.
  const std::string key = "episodes/e1/reviews/r1/ratings/Patient/1/goals/g1";
  std::string rating, ors;
  for (const FhirResource& r : *rs) {
    if (r.key == key) rating = absl::StrReplaceAll(r.json, {{"\"value\":6.5", "\"value\":6.50"}});
    if (r.key == "episodes/e1/reviews/r1/instruments/Patient/1/ORS") {
      ors = absl::StrReplaceAll(r.json, {{"\"valueDecimal\":5", "\"valueDecimal\":5.0"},
                                         {"\"valueDecimal\":6.2", "\"valueDecimal\":6.20"}});
    }
  }
  ASSERT_TRUE(absl::StrContains(rating, "6.50"));
  ASSERT_TRUE(absl::StrContains(ors, "5.0,") || absl::StrContains(ors, "5.0}"));
  absl::StatusOr<FromFhir<v1::Review>> read = ReviewScoresFromFhir({rating, ors}, read_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->preserved.at(key).decimals.at("Observation.valueQuantity.value"), "6.50");
  EXPECT_EQ(read->record.ratings(0).score(), 6.5);
  MappingContext ctx = map_;
  ctx.preserved = &read->preserved;
  absl::StatusOr<std::vector<FhirResource>> again = ReviewToFhir(review, ctx);
  ASSERT_TRUE(again.ok());
  for (const FhirResource& r : *again) {
    if (r.key == key) {
      EXPECT_TRUE(absl::StrContains(r.json, "\"value\":6.50")) << r.json;
      EXPECT_EQ(Parse(r.json), Parse(rating));
    }
    if (r.key == "episodes/e1/reviews/r1/instruments/Patient/1/ORS") {
      EXPECT_EQ(Parse(r.json), Parse(ors));
    }
  }
  // Once the value itself changes, the old text no longer applies.
  v1::Review changed = review;
  changed.mutable_ratings(0)->set_score(7);
  absl::StatusOr<std::vector<FhirResource>> changed_rs = ReviewToFhir(changed, ctx);
  ASSERT_TRUE(changed_rs.ok());
  for (const FhirResource& r : *changed_rs) {
    if (r.key == key) {
      EXPECT_EQ(Text(Parse(r.json), "valueQuantity.value"), "7");
    }
  }
}

TEST_F(ReadingTest, GoalTargetDecimalTextIsKept) {
  const std::string json =
      absl::StrReplaceAll(GoalJson(goals_[0]), {{"\"value\":10", "\"value\":10.0"}});
  absl::StatusOr<FromFhir<v1::Goal>> read = GoalFromFhir(json, read_);
  ASSERT_TRUE(read.ok()) << read.status();
  MappingContext ctx = map_;
  ctx.preserved = &read->preserved;
  v1::Goal g = read->record;
  RestoreMeta(goals_[0], &g);
  const std::string again = GoalToFhir(g, ctx)->front().json;
  EXPECT_TRUE(absl::StrContains(again, "\"value\":10.0,")) << again;
  EXPECT_EQ(Parse(again), Parse(json));
}

TEST_F(ReadingTest, UnknownExtensionsAreKeptAndWrittenBack) {
  const std::string ext =
      R"({"url":"https://ehr.example/fhir/StructureDefinition/reviewed-in-clinic","valueBoolean":true})";
  std::string json = GoalJson(goals_[0]);
  const std::string marker = "\"extension\":[";
  json.insert(json.find(marker) + marker.size(), ext + ",");
  absl::StatusOr<FromFhir<v1::Goal>> read = GoalFromFhir(json, read_);
  ASSERT_TRUE(read.ok()) << read.status();
  const Preserved& p = read->preserved.at(goals_[0].name());
  ASSERT_EQ(p.extensions.size(), 1u);
  EXPECT_EQ(Parse(p.extensions[0]), Parse(ext));
  MappingContext ctx = map_;
  ctx.preserved = &read->preserved;
  v1::Goal g = read->record;
  RestoreMeta(goals_[0], &g);
  const JsonValue again = Parse(GoalToFhir(g, ctx)->front().json);
  const JsonValue* exts = At(again, "extension");
  ASSERT_NE(exts, nullptr);
  EXPECT_EQ(exts->items().back(), Parse(ext));
  // Same content as what was read (only the position of the extension moved).
  JsonValue original = Parse(json);
  auto& items = original.Find("extension")->items();
  std::rotate(items.begin(), items.begin() + 1, items.end());
  EXPECT_EQ(again, original);
}

TEST_F(ReadingTest, UnmappedElementsAndNestedExtensionsAreReported) {
  std::string json = GoalJson(goals_[0]);
  json.insert(json.size() - 1, R"(,"outcomeCode":[{"text":"better"}])");
  json = absl::StrReplaceAll(json, {{R"({"url":"restatement",)",
                                     R"({"url":"mood","valueString":"x"},{"url":"restatement",)"}});
  absl::StatusOr<FromFhir<v1::Goal>> read = GoalFromFhir(json, read_);
  ASSERT_TRUE(read.ok()) << read.status();
  const std::vector<std::string>& reported = read->preserved.at(goals_[0].name()).reported;
  EXPECT_NE(std::find(reported.begin(), reported.end(), "Goal.outcomeCode"), reported.end());
  EXPECT_NE(std::find(reported.begin(), reported.end(), "Goal.extension[4].extension[0]"),
            reported.end())
      << reported.size();
}

TEST_F(ReadingTest, ModifierExtensionsAreRefused) {
  std::string json = GoalJson(goals_[0]);
  json.insert(json.size() - 1,
              R"(,"modifierExtension":[{"url":"https://x.example/not","valueBoolean":true}])");
  EXPECT_EQ(GoalError(json),
            "Goal.modifierExtension: collabcare understands no modifier extension");
}

TEST_F(ReadingTest, BadGoalsAreRefusedNamingTheElement) {
  const std::string good = GoalJson(goals_[0]);
  const auto replace = [&](absl::string_view from, absl::string_view to) {
    const std::string s = absl::StrReplaceAll(good, {{from, to}});
    EXPECT_NE(s, good) << from;
    return s;
  };
  EXPECT_TRUE(
      absl::StartsWith(GoalError("{\"resourceType\":\"Goal\""), "Goal: malformed JSON at byte"));
  EXPECT_EQ(GoalError("[1,2]"), "Goal: must be an object");
  EXPECT_EQ(GoalError(replace("\"resourceType\":\"Goal\"", "\"resourceType\":\"Condition\"")),
            "Goal.resourceType: must be Goal");
  EXPECT_EQ(GoalError(replace("\"description\":{\"text\":", "\"description\":{\"txt\":")),
            "Goal.description.text: is required");
  EXPECT_EQ(GoalError(replace("\"description\":{\"text\":\"I want",
                              "\"description\":{\"text\":\"  \",\"x\":\"")),
            "Goal.description.text: must not be empty");
  EXPECT_EQ(GoalError(replace("\"detailQuantity\":{\"value\":10",
                              "\"detailQuantity\":{\"value\":\"10\"")),
            "Goal.target[0].detailQuantity.value: must be a number");
  EXPECT_EQ(
      GoalError(replace("\"detailQuantity\":{\"value\":10", "\"detailQuantity\":{\"value\":11")),
      "Goal.target[0].detailQuantity.value: must be between 0 and 10");
  EXPECT_EQ(GoalError(replace("\"expressedBy\":{\"reference\":\"Patient/1\"",
                              "\"expressedBy\":{\"reference\":\"Patient/77\"")),
            "Goal.expressedBy.reference: is not a participant of the episode");
  EXPECT_EQ(GoalError(replace("\"expressedBy\":{\"reference\":\"Patient/1\"",
                              "\"expressedBy\":{\"reference\":\"Practitioner/9\"")),
            "Goal.expressedBy.reference: names a participant without the role this element needs");
  EXPECT_EQ(GoalError(replace("\"lifecycleStatus\":\"active\"",
                              "\"lifecycleStatus\":\"entered-in-error\"")),
            "Goal.lifecycleStatus: must be a goal-status collabcare can hold");
  EXPECT_EQ(GoalError(replace("\"value\":\"episodes/e1/goals/g1\"",
                              "\"value\":\"episodes/e2/goals/g1\"")),
            "Goal.identifier: names a goal of another episode");
  EXPECT_EQ(GoalError(replace("\"system\":\"https://collabcare.dev/fhir/sid/record\"",
                              "\"system\":\"urn:other\"")),
            "Goal.identifier: has no collabcare record identifier");
  EXPECT_EQ(GoalError(replace("\"code\":\"corrected\"", "\"code\":\"maybe\"")),
            "Goal.extension[4].extension[3].valueCoding.code: is not a code of its code system");
  EXPECT_EQ(GoalError(replace("\"valuePositiveInt\":1}", "\"valuePositiveInt\":0}")),
            "Goal.extension[3].valuePositiveInt: must be a positive integer");
  EXPECT_EQ(
      GoalError(replace("\"valueDateTime\":\"2026-03-02T16:25:00Z\"",
                        "\"valueDateTime\":\"2026-03-02\"")),
      "Goal.extension[4].extension[2].valueDateTime: must be a date and time with a time zone");
  EXPECT_EQ(
      GoalError(replace("\"valuePositiveInt\":4}", "\"valuePositiveInt\":4,\"valueString\":[]}")),
      "Goal.extension[0]: must hold exactly one value[x]");
}

TEST_F(ReadingTest, ErrorsNeverCarryTheWords) {
  const std::string good = GoalJson(goals_[0]);
  for (const std::string& bad :
       {absl::StrReplaceAll(good, {{"\"Patient/1\"", "\"I want to go back to school\""}}),
        absl::StrReplaceAll(good,
                            {{"\"lifecycleStatus\":\"active\"", "\"lifecycleStatus\":\"I want\""}}),
        absl::StrReplaceAll(good,
                            {{"\"resourceType\":\"Goal\"", "\"resourceType\":\"I want to\""}})}) {
    const std::string error = GoalError(bad);
    EXPECT_FALSE(absl::StrContains(error, "I want")) << error;
    EXPECT_FALSE(absl::StrContains(error, "school")) << error;
  }
}

TEST_F(ReadingTest, ReferencesToUnknownRecordsAreRefused) {
  absl::StatusOr<std::vector<FhirResource>> rs = ReviewToFhir(SignedReview(), map_);
  ASSERT_TRUE(rs.ok());
  std::string rating;
  for (const FhirResource& r : *rs) {
    if (absl::StrContains(r.key, "/ratings/Patient/1/goals/g1")) rating = r.json;
  }
  absl::flat_hash_set<std::string> fewer = known_;
  fewer.erase("episodes/e1/goals/g1");
  ReadContext ctx = read_;
  ctx.known_names = &fewer;
  EXPECT_EQ(RatingFromFhir(rating, ctx).status().message(),
            "Observation.focus[0]: is not a known goal of the episode");
  fewer.insert("episodes/e1/goals/g1");
  fewer.erase("episodes/e1/reviews/r1");
  EXPECT_EQ(RatingFromFhir(rating, ctx).status().message(),
            "Observation.identifier: names a review that is not known");
  ctx.known_names = nullptr;
  EXPECT_FALSE(RatingFromFhir(rating, ctx).ok());

  const std::vector<FhirResource> h = *HypothesisToFhir(ProfessionalHypothesis(), map_);
  fewer = known_;
  fewer.erase("episodes/e1/hypotheses/h1");
  ctx.known_names = &fewer;
  EXPECT_EQ(ResponseFromFhir(OfType(h, "Observation")[0]->json, ctx).status().message(),
            "Observation.focus[0]: is not a known hypothesis of the episode");
  fewer.erase("episodes/e1/goals/g1");
  EXPECT_EQ(HypothesisFromFhir(h[0].json, "", ctx).status().message(),
            "ClinicalImpression.extension[4].valueReference: is not a known goal of the episode");
}

TEST_F(ReadingTest, BadHypothesesAreRefusedNamingTheElement) {
  const std::vector<FhirResource> h = *HypothesisToFhir(ProfessionalHypothesis(), map_);
  const std::string& ci = h[0].json;
  const auto error = [&](const std::string& json, absl::string_view condition = "") {
    return std::string(HypothesisFromFhir(json, condition, read_).status().message());
  };
  EXPECT_EQ(error(absl::StrReplaceAll(ci, {{"h1/revisions/1\"", "h1/revisions/7\""}})),
            "ClinicalImpression.previous: must be the hypothesis's previous revision");
  EXPECT_EQ(error(absl::StrReplaceAll(ci, {{"\"summary\":", "\"summery\":"}})),
            "ClinicalImpression.summary: is required");
  EXPECT_EQ(error(absl::StrReplaceAll(ci, {{"\"assessor\":{\"reference\":\"Practitioner/9\"",
                                            "\"assessor\":{\"reference\":\"Patient/1\""}})),
            "ClinicalImpression.assessor.reference: names a participant without the role this "
            "element needs");
  EXPECT_EQ(error(ci, "{}"), "Condition.resourceType: is required");
  EXPECT_EQ(error(ci, h[1].json.substr(0, 40)).substr(0, 30), "Condition: malformed JSON at b");
  const std::string refuted =
      absl::StrReplaceAll(h[1].json, {{"\"code\":\"provisional\"", "\"code\":\"refuted\""}});
  EXPECT_EQ(error(ci, refuted), "Condition.verificationStatus: must still hold the hypothesis");
  EXPECT_TRUE(HypothesisFromFhir(ci, h[1].json, read_).ok());
}

TEST_F(ReadingTest, BadScoresAreRefusedNamingTheElement) {
  const std::vector<FhirResource> rs = *ReviewToFhir(SignedReview(), map_);
  const std::string& qr = rs[0].json;  // Maya's ORS
  const auto error = [&](const std::string& json) {
    return std::string(InstrumentScoreFromFhir(json, read_).status().message());
  };
  EXPECT_EQ(error(absl::StrReplaceAll(qr, {{"\"valueDecimal\":5}", "\"valueDecimal\":12}"}})),
            "QuestionnaireResponse.item[1].answer[0].valueDecimal: is outside the instrument's "
            "item range");
  EXPECT_EQ(error(absl::StrReplaceAll(qr, {{"\"valueDecimal\":5}", "\"valueDecimal\":5.25}"}})),
            "QuestionnaireResponse.item[1].answer[0].valueDecimal: must have at most one decimal "
            "place");
  EXPECT_EQ(error(absl::StrReplaceAll(qr, {{"Questionnaire/ors", "Questionnaire/phq9"}})),
            "QuestionnaireResponse.questionnaire: is not the questionnaire of a known instrument");
  EXPECT_EQ(error(absl::StrReplaceAll(qr, {{"\"linkId\":\"2\"", "\"linkId\":\"b\""}})),
            "QuestionnaireResponse.item[1].linkId: must number the items 1, 2, …");
  std::string three = qr;
  const size_t last = three.rfind(",{\"linkId\":\"4\"");
  three.erase(last, three.rfind("]") - last);
  EXPECT_EQ(error(three), "QuestionnaireResponse.item: ORS takes 4 items");

  const std::string& rating = rs[10].json;  // Maya on g1
  ASSERT_TRUE(RatingFromFhir(rating, read_).ok()) << RatingFromFhir(rating, read_).status();
  EXPECT_EQ(
      RatingFromFhir(absl::StrReplaceAll(rating, {{"\"value\":6.5", "\"value\":6.55"}}), read_)
          .status()
          .message(),
      "Observation.valueQuantity.value: must have at most one decimal place");
  EXPECT_EQ(RatingFromFhir(absl::StrReplaceAll(
                               rating, {{"\"status\":\"final\"", "\"status\":\"preliminary\""}}),
                           read_)
                .status()
                .message(),
            "Observation.status: must be final, amended or corrected");
  EXPECT_EQ(
      RatingFromFhir(absl::StrReplaceAll(rating, {{"\"performer\":[{\"reference\":\"Patient/1\"",
                                                   "\"performer\":[{\"reference\":\"Patient/3\""}}),
                     read_)
          .status()
          .message(),
      "Observation.identifier: does not match the rater and the goal");
  // A total that disagrees with its questionnaire response.
  const std::string total = absl::StrReplaceAll(rs[1].json, {{"\"value\":24.7", "\"value\":25"}});
  EXPECT_EQ(ReviewScoresFromFhir({qr, total}, read_).status().message(),
            "Observation.valueQuantity.value: differs from its questionnaire response's total");
  EXPECT_EQ(ReviewScoresFromFhir({rs[1].json}, read_).status().message(),
            "Observation.derivedFrom: the questionnaire response of this total is missing");
  EXPECT_EQ(ReviewScoresFromFhir({GoalJson(goals_[0])}, read_).status().message(),
            "resources[0].resourceType: must be QuestionnaireResponse or Observation");
}

TEST_F(ReadingTest, BadEpisodesAreRefusedNamingTheElement) {
  const std::vector<FhirResource> rs = *EpisodeToFhir(episode_, map_);
  const std::string& team = rs[3].json;
  ReadContext ctx;
  EXPECT_EQ(EpisodeFromFhir(team, {}, ctx).status().message(),
            "CarePlan: at least one is required");
  EXPECT_EQ(
      EpisodeFromFhir(
          team, {rs[0].json, absl::StrReplaceAll(rs[1].json, {{"therapist-led", "client-led"}})},
          ctx)
          .status()
          .message(),
      "CarePlan.extension: differs from the episode's other care plans");
  EXPECT_EQ(EpisodeFromFhir(
                absl::StrReplaceAll(team, {{"\"code\":\"family-member\"", "\"code\":\"cousin\""}}),
                {rs[0].json}, ctx)
                .status()
                .message(),
            "CareTeam.participant[1].role[0].coding: has a code outside its code system");
  EXPECT_EQ(EpisodeFromFhir(team,
                            {absl::StrReplaceAll(
                                rs[0].json, {{"episodes/e1/careteam", "episodes/e2/careteam"}})},
                            ctx)
                .status()
                .message(),
            "CarePlan.careTeam[0]: is not the episode's care team");
  EXPECT_EQ(EpisodeFromFhir(team,
                            {absl::StrReplaceAll(
                                rs[0].json, {{"\"subject\":{\"reference\":\"Patient/1\"",
                                              "\"subject\":{\"reference\":\"RelatedPerson/2\""}})},
                            ctx)
                .status()
                .message(),
            "CarePlan.subject.reference: names a participant without the role this element needs");
}

TEST_F(ReadingTest, ReadersNeedTheEpisode) {
  ReadContext ctx;
  EXPECT_EQ(GoalFromFhir(GoalJson(goals_[0]), ctx).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Mutations of every golden resource fed to every reader: each answer is a record or
// INVALID_ARGUMENT, never a crash (the libFuzzer target explores further).
TEST_F(ReadingTest, MutatedInputNeverCrashes) {
  std::vector<std::string> seeds;
  for (const GoldenCase& c : GoldenCases()) {
    absl::StatusOr<std::vector<FhirResource>> rs = MapGoldenCase(c, CanonicalUrls());
    ASSERT_TRUE(rs.ok());
    for (const FhirResource& r : *rs) seeds.push_back(r.json);
  }
  std::mt19937 rng(20260302);
  const char* fragments[] = {"null",
                             "[]",
                             "{}",
                             "\"\"",
                             "1e400",
                             "-0",
                             "\"x\"",
                             "true",
                             "[{}]",
                             "{\"reference\":\"Patient/1\"}",
                             "0.123456789012345678901"};
  int ok = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const size_t at = rng() % s.size();
      switch (rng() % 5) {
        case 0:
          s[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          s.erase(at, 1 + rng() % 40);
          break;
        case 2: {
          // Replace a value after a colon with another JSON fragment.
          const size_t colon = s.find(':', at);
          if (colon == std::string::npos) break;
          const size_t end = s.find_first_of(",}]", colon + 1);
          if (end == std::string::npos) break;
          s.replace(colon + 1, end - colon - 1, fragments[rng() % std::size(fragments)]);
          break;
        }
        case 3:
          s.resize(at);
          break;
        default:
          s.insert(at, s.substr(rng() % s.size(), rng() % 60));
      }
    }
    const auto check = [&](const absl::Status& st) {
      if (st.ok()) {
        ++ok;
        return;
      }
      EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    };
    check(GoalFromFhir(s, read_).status());
    check(HypothesisFromFhir(s, s, read_).status());
    check(ResponseFromFhir(s, read_).status());
    check(RatingFromFhir(s, read_).status());
    check(InstrumentScoreFromFhir(s, read_).status());
    check(ReviewScoresFromFhir({s}, read_).status());
    check(EpisodeFromFhir(s, {s}, ReadContext()).status());
  }
  EXPECT_GT(ok, 0);  // some mutations are harmless and still read
}

}  // namespace
}  // namespace collabcare::fhir::testing
