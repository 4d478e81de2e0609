// The JSON writer (escaping, FHIR times and decimals) and the exact-decimal JSON reader.
#include "nlohmann/json.hpp"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/json_writer.h"
#include "gtest/gtest.h"

namespace collabcare::fhir {
namespace {

std::string Json(absl::string_view s) {
  std::string out;
  bool ok = true;
  AppendJsonEscaped(s, &out, &ok);
  return out;
}

std::string Xhtml(absl::string_view s, bool* ok_out = nullptr) {
  std::string out;
  bool ok = true;
  AppendXhtmlEscaped(s, &out, &ok);
  if (ok_out != nullptr) *ok_out = ok;
  return out;
}

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Json("a\"b\\c\nd\te\x01"), "a\\\"b\\\\c\\nd\\te\\u0001");
  EXPECT_EQ(Json("😴 أريد"), "😴 أريد");
}

TEST(JsonWriterTest, OutputParsesBackToTheSameText) {
  const std::string tricky = "<script>&\"'\\\n\t\x1f 😴 \xD7\x90\u200F";
  std::string out = "\"" + Json(tricky) + "\"";
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), tricky);
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementAndIsReported) {
  std::string out;
  bool ok = true;
  AppendJsonEscaped("ab\xC3(cd\xED\xA0\x80", &out, &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(out, "ab\xEF\xBF\xBD(cd\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(JsonWriterTest, XhtmlEscapesEverySpecialCharacter) {
  EXPECT_EQ(Xhtml("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
  EXPECT_EQ(Xhtml("one\ntwo\r\nthree"), "one<br/>two<br/>three");
  EXPECT_EQ(Xhtml("tab\tback\\slash"), "tab\\tback\\\\slash");
}

TEST(JsonWriterTest, XhtmlReplacesCharactersXmlForbids) {
  bool ok = true;
  EXPECT_EQ(Xhtml("a\x01"
                  "b\xEF\xBF\xBE",
                  &ok),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_TRUE(ok);  // valid UTF-8, only not XML
  Xhtml("\xFF", &ok);
  EXPECT_FALSE(ok);
}

TEST(JsonWriterTest, BlankMeansWhatJavaScriptTrims) {
  EXPECT_TRUE(IsBlank(""));
  EXPECT_TRUE(IsBlank(" \t\n"));
  EXPECT_TRUE(IsBlank("\xC2\xA0\xE3\x80\x80\xEF\xBB\xBF"));  // NBSP, ideographic space, BOM
  EXPECT_FALSE(IsBlank(" a "));
  EXPECT_FALSE(IsBlank("\u200F"));  // RLM is not whitespace
}

TEST(JsonWriterTest, MarkdownEscapesMarkup) {
  std::string out;
  AppendMarkdownEscaped("*bold* _x_ [link](u) <b> # & ok.", &out);
  EXPECT_EQ(out, "\\*bold\\* \\_x\\_ \\[link\\](u) \\<b\\> \\# \\& ok.");
}

TEST(JsonWriterTest, InstantsAreUtcWithTheShortestFraction) {
  std::string out;
  ASSERT_TRUE(AppendInstant(Ts(1772467200), &out));
  EXPECT_EQ(out, "2026-03-02T16:00:00Z");
  out.clear();
  ASSERT_TRUE(AppendInstant(Ts(1772467200, 250000000), &out));
  EXPECT_EQ(out, "2026-03-02T16:00:00.25Z");
  out.clear();
  ASSERT_TRUE(AppendInstant(Ts(-1, 999999000), &out));
  EXPECT_EQ(out, "1969-12-31T23:59:59.999999Z");
  out.clear();
  ASSERT_TRUE(AppendInstant(Ts(951782400), &out));  // leap day 2000
  EXPECT_EQ(out, "2000-02-29T00:00:00Z");
  out.clear();
  EXPECT_FALSE(AppendInstant(Ts(-62135596801), &out));  // year 0
  out.clear();
  ASSERT_TRUE(AppendDate(Ts(1772467200), &out));
  EXPECT_EQ(out, "2026-03-02");
}

TEST(JsonWriterTest, DecimalsAreShortestRoundTrip) {
  std::string out;
  for (double v : {7.5, 10.0, 0.0, 0.1, 24.7, 5.25}) {
    out.clear();
    ASSERT_TRUE(AppendDecimal(v, &out));
    EXPECT_EQ(std::stod(out), v) << out;
  }
  out.clear();
  AppendDecimal(10.0, &out);
  EXPECT_EQ(out, "10");
  out.clear();
  EXPECT_FALSE(AppendDecimal(std::nan(""), &out));
}

TEST(JsonWriterTest, CommasBetweenMembersAndItems) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("a", "x");
  w.Key("b");
  w.BeginArray();
  w.Int(1);
  w.Bool(true);
  w.BeginObject();
  w.EndObject();
  w.EndArray();
  w.Key("c");
  w.Decimal(2.5, "c");
  w.EndObject();
  EXPECT_EQ(out, R"({"a":"x","b":[1,true,{}],"c":2.5})");
}

TEST(JsonValueTest, DecimalsKeepTheirExactText) {
  absl::StatusOr<JsonValue> v = ParseJson(R"({"a":7.50,"b":1E2,"c":-0.0,"d":12,"e":[0.10]})");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Find("a")->text(), "7.50");
  EXPECT_EQ(v->Find("b")->text(), "1E2");
  EXPECT_EQ(SerializeJson(*v), R"({"a":7.50,"b":1E2,"c":-0.0,"d":12,"e":[0.10]})");
}

TEST(JsonValueTest, RejectsMalformedJsonWithItsOffset) {
  for (absl::string_view bad : {"", "{", R"({"a":})", R"({"a":1,})", "[1 2]", "nul", "{}x",
                                "\"\xFF\"", "01", "NaN", "1e999999"}) {
    absl::StatusOr<JsonValue> v = ParseJson(bad);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(absl::StrContains(ParseJson(R"({"a":})").status().message(), "byte 6"));
}

TEST(JsonValueTest, RejectsDuplicateKeys) {
  absl::StatusOr<JsonValue> v = ParseJson(R"({"a":1,"b":{"x":1,"x":2}})");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(v.status().message(), "duplicate"));
}

TEST(JsonValueTest, RejectsDeepNestingWithoutCrashing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(ParseJson(deep).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(ok).ok());
}

TEST(JsonValueTest, EqualityIgnoresMemberOrderNotDecimalText) {
  EXPECT_EQ(*ParseJson(R"({"a":1,"b":[1,2]})"), *ParseJson(R"({"b":[1,2],"a":1})"));
  EXPECT_NE(*ParseJson(R"({"a":7.5})"), *ParseJson(R"({"a":7.50})"));
  EXPECT_NE(*ParseJson(R"([1,2])"), *ParseJson(R"([2,1])"));
}

}  // namespace
}  // namespace collabcare::fhir
