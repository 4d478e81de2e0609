// The status table: every default row, OperationOutcome refinements, per-host overrides,
// message hygiene and Retry-After.
#include "adapters/host/status_map.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace collabcare::host {
namespace {

using Code = absl::StatusCode;

const absl::Time kNow = absl::FromUnixSeconds(1790000000);

HttpResponse Response(int status, std::string body = "", HttpHeaders headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

std::string Outcome(const std::string& code, const std::string& expression = "",
                    const std::string& diagnostics = "", const std::string& severity = "error") {
  nlohmann::json issue = {{"severity", severity}, {"code", code}};
  if (!expression.empty()) issue["expression"] = {expression};
  if (!diagnostics.empty()) issue["diagnostics"] = diagnostics;
  return nlohmann::json{{"resourceType", "OperationOutcome"}, {"issue", {issue}}}.dump();
}

TEST(StatusMapTest, DefaultHttpRows) {
  const StatusMap map;
  const std::vector<std::pair<int, Code>> rows = {
      {200, Code::kOk},
      {201, Code::kOk},
      {204, Code::kOk},
      {400, Code::kInvalidArgument},
      {422, Code::kInvalidArgument},
      {401, Code::kUnauthenticated},
      {403, Code::kPermissionDenied},
      {404, Code::kNotFound},
      {410, Code::kNotFound},
      {405, Code::kUnimplemented},
      {409, Code::kAborted},
      {412, Code::kAborted},
      {408, Code::kUnavailable},
      {429, Code::kUnavailable},
      {500, Code::kUnavailable},
      {501, Code::kUnimplemented},
      {502, Code::kUnavailable},
      {503, Code::kUnavailable},
      {504, Code::kUnavailable},
      {302, Code::kFailedPrecondition},  // redirects are not followed
      {418, Code::kFailedPrecondition},  // other 4xx
      {599, Code::kUnavailable},         // other 5xx
      {101, Code::kUnknown},
  };
  for (const auto& [http, code] : rows) {
    EXPECT_EQ(map.CodeFor(http, ""), code) << "HTTP " << http;
    EXPECT_EQ(map.ToStatus(Response(http), "read Goal", kNow).code(), code) << "HTTP " << http;
  }
}

TEST(StatusMapTest, IssueCodesRefineClientErrors) {
  const StatusMap map;
  EXPECT_EQ(map.ToStatus(Response(412, Outcome("multiple-matches")), "create Goal", kNow).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(map.ToStatus(Response(404, Outcome("not-supported")), "create Goal", kNow).code(),
            Code::kUnimplemented);
  EXPECT_EQ(map.ToStatus(Response(400, Outcome("throttled")), "create Goal", kNow).code(),
            Code::kUnavailable);
  EXPECT_EQ(map.ToStatus(Response(400, Outcome("conflict")), "update Goal", kNow).code(),
            Code::kAborted);
  // Codes that add nothing keep the HTTP row.
  EXPECT_EQ(map.ToStatus(Response(422, Outcome("invalid")), "create Goal", kNow).code(),
            Code::kInvalidArgument);
}

TEST(StatusMapTest, IssueCodesDoNotOverrideServerErrors) {
  const StatusMap map;
  EXPECT_EQ(map.ToStatus(Response(503, Outcome("not-found")), "read Goal", kNow).code(),
            Code::kUnavailable);
}

TEST(StatusMapTest, OnlyErrorIssuesCount) {
  const StatusMap map;
  const std::string body = nlohmann::json{{"resourceType", "OperationOutcome"},
                                          {"issue",
                                           {{{"severity", "warning"}, {"code", "not-supported"}},
                                            {{"severity", "error"}, {"code", "invalid"}}}}}
                               .dump();
  EXPECT_EQ(map.ToStatus(Response(400, body), "create Goal", kNow).code(), Code::kInvalidArgument);
}

TEST(StatusMapTest, HostOverridesWin) {
  StatusMapOverrides overrides;
  overrides.http_status[500] = Code::kInternal;
  overrides.http_status[404] = Code::kFailedPrecondition;
  overrides.issue_code["business-rule"] = Code::kFailedPrecondition;
  overrides.issue_code["multiple-matches"] = Code::kAlreadyExists;
  const StatusMap map(overrides);
  EXPECT_EQ(map.CodeFor(500, ""), Code::kInternal);
  EXPECT_EQ(map.CodeFor(404, ""), Code::kFailedPrecondition);
  EXPECT_EQ(map.CodeFor(422, "business-rule"), Code::kFailedPrecondition);
  EXPECT_EQ(map.CodeFor(412, "multiple-matches"), Code::kAlreadyExists);
  EXPECT_EQ(map.CodeFor(503, ""), Code::kUnavailable);  // untouched rows stay
  EXPECT_EQ(map.CodeFor(200, "business-rule"), Code::kOk);
}

TEST(StatusMapTest, MessageNamesStatusIssueCodesAndPaths) {
  const StatusMap map;
  const absl::Status status = map.ToStatus(
      Response(422, Outcome("invalid", "Goal.target[0].detailQuantity")), "create Goal", kNow);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_NE(status.message().find("create Goal: HTTP 422"), absl::string_view::npos)
      << status.message();
  EXPECT_NE(status.message().find("invalid at Goal.target[0].detailQuantity"),
            absl::string_view::npos)
      << status.message();
  EXPECT_EQ(HttpStatusOf(status), 422);
  EXPECT_FALSE(RetryAfterOf(status).has_value());
}

TEST(StatusMapTest, DiagnosticsAreSanitizedAndBounded) {
  const StatusMap map;
  const absl::Status quoted =
      map.ToStatus(Response(400, Outcome("value", "Goal.description.text",
                                         "Value 'I feel hopeless every morning' is too long")),
                   "create Goal", kNow);
  EXPECT_EQ(quoted.message().find("hopeless"), absl::string_view::npos) << quoted.message();
  EXPECT_NE(quoted.message().find("is too long"), absl::string_view::npos) << quoted.message();

  const absl::Status long_text =
      map.ToStatus(Response(400, Outcome("value", "", std::string(5000, 'x') + "\n\xc3\xa9")),
                   "create Goal", kNow);
  EXPECT_LT(long_text.message().size(), 300u);
  for (char c : long_text.message()) EXPECT_TRUE(c >= 0x20 && c < 0x7f);

  StatusMapOverrides none;
  none.max_diagnostics_chars = 0;
  const absl::Status silent = StatusMap(none).ToStatus(
      Response(400, Outcome("value", "", "unquoted clinical words")), "create Goal", kNow);
  EXPECT_EQ(silent.message().find("clinical"), absl::string_view::npos) << silent.message();
}

TEST(StatusMapTest, ExpressionsAreSanitized) {
  const StatusMap map;
  const absl::Status status =
      map.ToStatus(Response(400, Outcome("invalid", "Goal.note.where(text='private words')")),
                   "create Goal", kNow);
  EXPECT_EQ(status.message().find("private"), absl::string_view::npos) << status.message();
  EXPECT_NE(status.message().find("at Goal.note.where(text"), absl::string_view::npos)
      << status.message();
}

TEST(StatusMapTest, NonOutcomeBodiesAreNotEchoed) {
  const StatusMap map;
  const absl::Status status = map.ToStatus(
      Response(503, "<html>Patient Jane Doe's chart is unavailable</html>"), "read Goal", kNow);
  EXPECT_EQ(status.code(), Code::kUnavailable);
  EXPECT_EQ(status.message().find("Jane"), absl::string_view::npos) << status.message();
  EXPECT_FALSE(ParseOperationOutcome("<html>").has_value());
  EXPECT_FALSE(ParseOperationOutcome(R"({"resourceType":"Goal"})").has_value());
  EXPECT_FALSE(ParseOperationOutcome("").has_value());
}

TEST(StatusMapTest, RetryAfterSeconds) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 5 ", kNow), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter("0", kNow), absl::ZeroDuration());
}

TEST(StatusMapTest, RetryAfterHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(784111747);  // Sun, 06 Nov 1994 08:49:07 GMT
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now), absl::ZeroDuration());
}

TEST(StatusMapTest, RetryAfterGarbage) {
  for (const char* value : {"", "soon", "-5", "1.5", "5s", "99999999999999999999999",
                            "Sun, 32 Nov 1994 08:49:37 GMT"}) {
    EXPECT_FALSE(ParseRetryAfter(value, kNow).has_value()) << value;
  }
}

TEST(StatusMapTest, RetryAfterTravelsInStatus) {
  const StatusMap map;
  const absl::Status status =
      map.ToStatus(Response(429, "", {{"retry-after", "7"}}), "create Goal", kNow);
  EXPECT_EQ(status.code(), Code::kUnavailable);
  EXPECT_EQ(RetryAfterOf(status), absl::Seconds(7));
  EXPECT_EQ(HttpStatusOf(status), 429);
  const absl::Status unparseable =
      map.ToStatus(Response(503, "", {{"retry-after", "later"}}), "create Goal", kNow);
  EXPECT_FALSE(RetryAfterOf(unparseable).has_value());
  EXPECT_FALSE(RetryAfterOf(absl::UnavailableError("elsewhere")).has_value());
}

TEST(StatusMapTest, EntryStatus) {
  EXPECT_EQ(ParseEntryStatus("201 Created"), 201);
  EXPECT_EQ(ParseEntryStatus("412"), 412);
  EXPECT_FALSE(ParseEntryStatus("abc").has_value());
  EXPECT_FALSE(ParseEntryStatus("2010").has_value());
  const StatusMap map;
  EXPECT_EQ(map.FromParts(*ParseEntryStatus("409 Conflict"), {}, std::nullopt, "entry 0").code(),
            Code::kAborted);
}

}  // namespace
}  // namespace collabcare::host
