// The JSON plumbing of the HTTP face: status mapping, error bodies, and how requests are filled
// from the body, the query and the path without ever quoting what the caller sent.
#include "plugin/http/json_api.h"

#include <set>

#include "collabcare/v1/goal_service.pb.h"
#include "collabcare/v1/review_service.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace collabcare::http {
namespace {

namespace v1 = ::collabcare::v1;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(JsonApiTest, HttpStatusFollowsTheTable) {
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kOutOfRange), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kAborted), 409);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnimplemented), 501);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDataLoss), 500);
}

TEST(JsonApiTest, ErrorBodyHasCodeStatusAndMessage) {
  nlohmann::json body =
      nlohmann::json::parse(ErrorJson(absl::InvalidArgumentError("goal.words: must not be empty")));
  EXPECT_EQ(body, nlohmann::json::parse(R"({"error":{"code":400,"status":"INVALID_ARGUMENT",
                                            "message":"goal.words: must not be empty"}})"));
}

TEST(JsonApiTest, FillsFromBodyQueryAndPath) {
  v1::UpdateGoalRequest request;
  QueryParams query = {{"requestId", "r-1"}};
  absl::Status s = FillRequest(R"({"goal":{"words":"walk","status":"ACHIEVED"},
                                   "updateMask":"words,status,everydaySigns"})",
                               query, {"goal.name", "episodes/E/goals/G"}, &request);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(request.goal().name(), "episodes/E/goals/G");
  EXPECT_EQ(request.goal().words(), "walk");
  EXPECT_EQ(request.goal().status(), v1::Goal::ACHIEVED);
  EXPECT_THAT(request.update_mask().paths(),
              ::testing::ElementsAre("words", "status", "everyday_signs"));
  EXPECT_EQ(request.request_id(), "r-1");
}

TEST(JsonApiTest, AnEmptyBodyIsAnEmptyRequest) {
  v1::StartReviewRequest request;
  ASSERT_TRUE(FillRequest("  \n", {}, {"parent", "episodes/E"}, &request).ok());
  EXPECT_EQ(request.parent(), "episodes/E");
  EXPECT_FALSE(request.has_review());
}

TEST(JsonApiTest, PathMustAgreeWithTheBody) {
  v1::CreateGoalRequest request;
  EXPECT_TRUE(
      FillRequest(R"({"parent":"episodes/E"})", {}, {"parent", "episodes/E"}, &request).ok());
  v1::CreateGoalRequest other;
  absl::Status s = FillRequest(R"({"parent":"episodes/X"})", {}, {"parent", "episodes/E"}, &other);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "parent: does not match the path");
}

TEST(JsonApiTest, ParseErrorsNameTheFieldButNeverQuoteTheInput) {
  struct Case {
    std::string body;
    std::string message;
  };
  const std::string secret = "my secret words";
  const std::vector<Case> cases = {
      {R"({"goal":{"wordz":"my secret words"}})", "goal.wordz: unknown field"},
      {R"({"my secret words":1})", "body: unknown field"},
      {R"({"goal":{"my secret words":1}})", "goal: unknown field"},
      {R"({"goal":{"status":"my secret words"}})", "goal.status: invalid value"},
      {R"({"requestId":5})", "request_id: invalid value"},
      {R"({"goal":{"words":"my secret words")", "body: malformed JSON"},
      {R"({"goal":{"words":"my secret words" x}})", "body: malformed JSON"},
      {R"({"goal":{"words":"\ud800 my secret words"}})", "body: malformed JSON"},
      {R"("my secret words")", "body: must be a JSON object"},
  };
  for (const Case& c : cases) {
    v1::CreateGoalRequest request;
    absl::Status s = FillRequest(c.body, {}, {"parent", "episodes/E"}, &request);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_EQ(s.message(), c.message) << c.body;
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("secret"))) << c.body;
  }
  v1::SubmitRatingsRequest ratings;
  absl::Status s = FillRequest(R"({"ratings":[{"score":"high"}]})", {}, {}, &ratings);
  EXPECT_EQ(s.message(), "ratings[0].score: invalid value");
}

TEST(JsonApiTest, QueryParametersAreCheckedLikeTheBody) {
  v1::ListGoalsRequest request;
  ASSERT_TRUE(FillRequest("", {{"pageSize", "7"}, {"pageToken", "t"}}, {}, &request).ok());
  EXPECT_EQ(request.page_size(), 7);
  EXPECT_EQ(request.page_token(), "t");
  auto refused = [](const QueryParams& query) {
    v1::ListGoalsRequest r;
    return std::string(FillRequest("", query, {}, &r).message());
  };
  EXPECT_EQ(refused({{"pageSize", "seven"}}), "page_size: invalid value");
  EXPECT_EQ(refused({{"color", "red"}}), "color: unknown query parameter");
  EXPECT_EQ(refused({{"my secret", "x"}}), "query: unknown query parameter");
  EXPECT_EQ(refused({{"pageSize", "1"}, {"page_size", "2"}}), "page_size: given more than once");
  v1::ListGoalsRequest both;
  EXPECT_EQ(FillRequest(R"({"pageSize":1})", {{"pageSize", "2"}}, {}, &both).message(),
            "page_size: given in both the query and the body");
  v1::UpdateGoalRequest nested;
  EXPECT_EQ(FillRequest("", {{"goal", "x"}}, {}, &nested).message(),
            "goal: cannot be given in the query");
}

TEST(JsonApiTest, PrintsProto3JsonWithEnumNames) {
  v1::Goal goal;
  goal.set_name("episodes/E/goals/G");
  goal.set_everyday_signs("packing the bag");
  goal.set_status(v1::Goal::LET_GO);
  goal.mutable_meta()->set_revision(3);
  absl::StatusOr<std::string> json = ToJson(goal);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(nlohmann::json::parse(*json), nlohmann::json::parse(R"({"name":"episodes/E/goals/G",
      "everydaySigns":"packing the bag","status":"LET_GO","meta":{"revision":"3"}})"));
}

TEST(JsonApiTest, RouteTableIsCompleteAndUnambiguous) {
  absl::StatusOr<std::vector<ApiRoute>> routes = V1Routes();
  ASSERT_TRUE(routes.ok()) << routes.status();
  EXPECT_EQ(routes->size(), 29u);  // 27 RPCs + watch as SSE + /v1/me
  std::set<std::string> rpcs;
  for (const ApiRoute& route : *routes) {
    EXPECT_TRUE(rpcs.insert(route.rpc).second) << route.rpc;
    EXPECT_EQ(route.kind == ApiRoute::Kind::kUnary, route.call != nullptr) << route.rpc;
  }
  // Each sample path is taken by exactly one route for its method.
  const std::vector<std::pair<std::string, std::string>> samples = {
      {"POST", "/v1/episodes"},
      {"GET", "/v1/episodes/E"},
      {"GET", "/v1/episodes/E:watch"},
      {"PATCH", "/v1/episodes/E/goals/G"},
      {"POST", "/v1/episodes/E/goals/G:confirmUnderstanding"},
      {"GET", "/v1/episodes/E/hypotheses/H/revisions"},
      {"POST", "/v1/episodes/E/reviews/R:sign"},
      {"GET", "/v1/episodes/E/progress"},
      {"GET", "/v1/me"},
  };
  for (const auto& [method, path] : samples) {
    int matched = 0;
    for (const ApiRoute& route : *routes) {
      matched += route.method == method && route.path.Match(path).has_value();
    }
    EXPECT_EQ(matched, 1) << method << " " << path;
  }
}

}  // namespace
}  // namespace collabcare::http
