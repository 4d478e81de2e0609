// Tests of the shared field validation (validation.h): text limits and UTF-8, FHIR references,
// request ids, dates, scores and resource names. Errors are INVALID_ARGUMENT naming the field.
#include "plugin/domain/validation.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/domain/rules_test_util.h"

namespace collabcare::domain {
namespace {

using testing::IsFieldError;

std::string Repeat(const std::string& s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s;
  return out;
}

TEST(ValidationTest, FieldErrorNamesTheField) {
  const absl::Status status = FieldError("goal.words", "is required");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "goal.words: is required");
}

TEST(ValidationTest, RequiredTextMustNotBeEmptyOrBlank) {
  EXPECT_TRUE(IsFieldError(ValidateText("", "goal.words", true), "goal.words"));
  EXPECT_TRUE(IsFieldError(ValidateText(" \t\r\n", "goal.words", true), "goal.words"));
  EXPECT_TRUE(ValidateText("", "goal.everyday_signs", false).ok());
  EXPECT_TRUE(ValidateText("  x ", "goal.words", true).ok());
}

TEST(ValidationTest, TextAtMostEightKiB) {
  EXPECT_EQ(kMaxTextBytes, 8192u);
  EXPECT_TRUE(ValidateText(std::string(8192, 'a'), "goal.words", true).ok());
  EXPECT_TRUE(IsFieldError(ValidateText(std::string(8193, 'a'), "goal.words", true), "goal.words"));
  EXPECT_TRUE(
      IsFieldError(ValidateText(std::string(11, 'a'), "x.display", false, 10), "x.display"));
}

TEST(ValidationTest, EightKiBOfMultiByteTextAccepted) {
  const std::string emoji = "\xF0\x9F\x98\x80";            // U+1F600, 4 bytes
  const std::string euro = "\xE2\x82\xAC";                 // U+20AC, 3 bytes
  const std::string e_acute = "\xC3\xA9";                  // U+00E9, 2 bytes
  const std::string four = Repeat(emoji, 2048);            // 8192 bytes
  const std::string mixed = Repeat(euro, 2730) + e_acute;  // 8190 + 2 bytes
  ASSERT_EQ(four.size(), 8192u);
  ASSERT_EQ(mixed.size(), 8192u);
  EXPECT_TRUE(ValidateText(four, "goal.words", true).ok());
  EXPECT_TRUE(ValidateText(mixed, "goal.words", true).ok());
  // One more byte is too many, even as a whole character.
  EXPECT_TRUE(IsFieldError(ValidateText(mixed + "a", "goal.words", true), "goal.words"));
  EXPECT_TRUE(IsFieldError(ValidateText(Repeat(e_acute, 4097), "goal.words", true), "goal.words"));
}

TEST(ValidationTest, ValidUtf8Accepted) {
  for (const std::string& ok : std::vector<std::string>{
           std::string("plain ASCII"),
           std::string("\xC2\x80"),          // U+0080, smallest 2-byte
           std::string("\xDF\xBF"),          // U+07FF
           std::string("\xE0\xA0\x80"),      // U+0800, smallest 3-byte
           std::string("\xED\x9F\xBF"),      // U+D7FF, just below the surrogates
           std::string("\xEE\x80\x80"),      // U+E000, just above them
           std::string("\xEF\xBF\xBF"),      // U+FFFF
           std::string("\xF0\x90\x80\x80"),  // U+10000, smallest 4-byte
           std::string("\xF4\x8F\xBF\xBF"),  // U+10FFFF, the largest code point
           std::string("Schlaf \xC3\xBC"
                       "ber Nacht \xF0\x9F\x98\xB4"),
       }) {
    EXPECT_TRUE(ValidateText(ok, "goal.words", true).ok()) << absl::CEscape(ok);
  }
}

TEST(ValidationTest, InvalidUtf8Refused) {
  for (const std::string& bad : std::vector<std::string>{
           std::string("\x80"),  // lone continuation byte
           std::string("ab\xBF"
                       "cd"),                // lone continuation byte inside
           std::string("\xC0\x80"),          // overlong NUL
           std::string("\xC1\xBF"),          // overlong 2-byte
           std::string("\xE0\x80\x80"),      // overlong 3-byte
           std::string("\xE0\x9F\xBF"),      // overlong U+07FF
           std::string("\xF0\x80\x80\x80"),  // overlong 4-byte
           std::string("\xF0\x8F\xBF\xBF"),  // overlong U+FFFF
           std::string("\xED\xA0\x80"),      // surrogate U+D800
           std::string("\xED\xBF\xBF"),      // surrogate U+DFFF
           std::string("\xF4\x90\x80\x80"),  // U+110000, above Unicode
           std::string("\xF5\x80\x80\x80"),  // never-valid lead byte
           std::string("\xFF"),              // never-valid byte
           std::string("abc\xE2\x82"),       // truncated sequence at the end
           std::string("abc\xF0\x9F\x98"),   // truncated 4-byte sequence at the end
           std::string("\xC3"),              // lead byte alone
           std::string("\xE2\x28\xA1"),      // bad continuation
           std::string("a\0b", 3),           // NUL
           std::string("\0", 1),             // NUL alone
       }) {
    EXPECT_TRUE(IsFieldError(ValidateText(bad, "goal.words", false), "goal.words"))
        << absl::CEscape(bad);
  }
}

TEST(ValidationTest, PersonReferences) {
  for (const std::string& ok : std::vector<std::string>{
           "Patient/123", "RelatedPerson/7", "Practitioner/9", "PractitionerRole/a.b-C",
           "Person/X1", "Patient/" + std::string(64, 'a')}) {
    EXPECT_TRUE(ValidatePersonReference(ok, "goal.owner").ok()) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{
           "", "Patient", "Foo/1", "Patient/", "Patient/a b", "/1", "Patient/1/2", "patient/1",
           "Organization/1", "Patient/a_b", "Patient/1 ", " Patient/1", "Patient//1",
           "Patient/" + std::string(65, 'a'), "Patient/\xC3\xA9"}) {
    EXPECT_TRUE(IsFieldError(ValidatePersonReference(bad, "goal.owner"), "goal.owner"))
        << absl::CEscape(bad);
  }
}

TEST(ValidationTest, RequestIds) {
  EXPECT_TRUE(ValidateRequestId("", "request_id").ok());
  EXPECT_TRUE(ValidateRequestId("3f2a-9b_x.y:Z", "request_id").ok());
  EXPECT_TRUE(ValidateRequestId(std::string(128, 'r'), "request_id").ok());
  for (const std::string& bad : std::vector<std::string>{
           std::string(129, 'r'), std::string("a b"), std::string("a/b"), std::string("a+b"),
           std::string("\xC3\xA9"), std::string("a\0b", 3)}) {
    EXPECT_TRUE(IsFieldError(ValidateRequestId(bad, "request_id"), "request_id"))
        << absl::CEscape(bad);
  }
}

TEST(ValidationTest, DatesThatExistAccepted) {
  for (const std::string& ok :
       std::vector<std::string>{"2024-02-29", "2000-02-29", "2026-12-31", "2026-01-01",
                                "2026-04-30", "1900-01-01", "9999-12-31"}) {
    EXPECT_TRUE(ValidateDate(ok, "next_step.due_date").ok()) << ok;
  }
}

TEST(ValidationTest, DatesThatDoNotExistOrAreMalformedRefused) {
  for (const std::string& bad : std::vector<std::string>{
           "2026-02-29", "1900-02-29", "2100-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
           "2026-01-00", "2026-01-32", "2026-1-01", "2026-01-1", "20260101", "", "2026-01-01T00:00",
           "26-01-01", "1899-12-31", "2026/01/01", "2026-01-01 ", "abcd-ef-gh",
           // Signs and spaces that a lenient integer parser would take.
           "2026-+1-01", "2026-01-+1", "2026- 1-01", "2026-01- 1", "+202-01-01", " 2026-01-1"}) {
    EXPECT_TRUE(IsFieldError(ValidateDate(bad, "next_step.due_date"), "next_step.due_date"))
        << "'" << bad << "'";
  }
}

TEST(ValidationTest, ScoresInRangeWithOneDecimal) {
  for (double ok : {0.0, 10.0, 7.3, 0.1, 9.9, 5.0}) {
    EXPECT_TRUE(ValidateScore(ok, "ratings[0].score").ok()) << ok;
  }
  for (double bad :
       {-0.1, 10.1, 7.25, 0.01, -0.0001, 11.0, std::nan(""),
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    EXPECT_TRUE(IsFieldError(ValidateScore(bad, "ratings[0].score"), "ratings[0].score")) << bad;
  }
}

TEST(ValidationTest, ParseEpisodeName) {
  absl::StatusOr<std::string> id = ParseEpisodeName("episodes/e1", "parent");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "e1");
  id = ParseEpisodeName("episodes/" + std::string(63, 'a'), "parent");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, std::string(63, 'a'));
  EXPECT_EQ(*ParseEpisodeName("episodes/0-9-z", "parent"), "0-9-z");

  for (const std::string& bad : std::vector<std::string>{
           "", "episodes", "episodes/", "episodes/E1", "episodes/e_1", "episodes/e1/",
           "episodes/e1/goals/g1", "goals/e1", "/episodes/e1", "Episodes/e1", "episodes/e 1",
           "episodes/" + std::string(64, 'a')}) {
    EXPECT_TRUE(IsFieldError(ParseEpisodeName(bad, "parent"), "parent")) << bad;
  }
}

TEST(ValidationTest, ParseChildName) {
  absl::StatusOr<ChildName> name = ParseChildName("episodes/e1/goals/g-2", "goals", "goal.name");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->episode_id, "e1");
  EXPECT_EQ(name->id, "g-2");

  for (const std::string& bad : std::vector<std::string>{
           "", "episodes/e1", "episodes/e1/goals", "episodes/e1/goals/", "episodes//goals/g1",
           "episodes/e1/reviews/g1", "episodes/e1/goals/g1/x", "episodes/e1/goals/G1",
           "episodes/E1/goals/g1", "other/e1/goals/g1", "episodes/e1/goal/g1"}) {
    EXPECT_TRUE(IsFieldError(ParseChildName(bad, "goals", "goal.name"), "goal.name")) << bad;
  }
}

TEST(ValidationTest, NamesRoundTrip) {
  EXPECT_EQ(EpisodeName("e1"), "episodes/e1");
  EXPECT_EQ(ChildResourceName("e1", "reviews", "r1"), "episodes/e1/reviews/r1");
  absl::StatusOr<ChildName> name =
      ParseChildName(ChildResourceName("e1", "hypotheses", "h1"), "hypotheses", "name");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->episode_id, "e1");
  EXPECT_EQ(name->id, "h1");
  EXPECT_EQ(*ParseEpisodeName(EpisodeName("abc"), "parent"), "abc");
}

}  // namespace
}  // namespace collabcare::domain
