// The HTTP face in process, over the in-memory store and SQLite, with real bearer tokens signed
// by a test key and a real HTTP client on loopback: every route reaches its use case, errors
// name the field and store nothing, tokens are checked and refusals audited, watch streams as
// server-sent events, and the app's files come with their security headers.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "plugin/http/http_face.h"
#include "plugin/http/json_api.h"
#include "plugin/identity/identity.h"
#include "plugin/service/collab_service.h"
#include "plugin/store/store.h"
#include "tests/testing/fakes.h"
#include "tests/testing/test_backend.h"

namespace collabcare {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using json = nlohmann::json;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";
constexpr char kMother[] = "RelatedPerson/2";
constexpr char kOutsider[] = "Patient/77";
constexpr char kSecretText[] = "the-secret-file-content";

using testutil::StoreKind;

// One HTTP answer, its body parsed when it is JSON.
struct Answer {
  int status = 0;
  std::string body;
  json body_json;
  httplib::Headers headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpApiTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto backend = testutil::NewTestBackend("http", GetParam(), clock_);
    ASSERT_TRUE(backend.ok()) << backend.status();
    dir_ = backend->dir;
    dev_ = backend->dev;
    verifier_ = std::move(backend->verifier);
    store_ = std::move(backend->store);
    service::CollabService::Options service_options;
    // Reads wait for their audit record, so the audit checks can read it back at once.
    service_options.read_audit = service::CollabService::Options::ReadAudit::kDurable;
    service_ =
        std::make_unique<service::CollabService>(*store_, clock_, ids_, hub_, service_options);
    // The app's folder, and a file beside it that must never be served.
    std::filesystem::create_directories(dir_ + "/web/assets");
    std::ofstream(dir_ + "/web/index.html") << "<!doctype html><title>collabcare</title>";
    std::ofstream(dir_ + "/web/assets/app.js") << "console.log('app');";
    std::ofstream(dir_ + "/web/assets/app.css") << "body{}";
    std::ofstream(dir_ + "/web/.env") << kSecretText;
    std::ofstream(dir_ + "/secret") << kSecretText;
    std::filesystem::create_symlink(dir_ + "/secret", dir_ + "/web/link");
    ASSERT_NO_FATAL_FAILURE(StartFace(DefaultOptions()));
  }

  void TearDown() override {
    hub_.Shutdown();
    face_.reset();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  http::HttpFaceOptions DefaultOptions() {
    http::HttpFaceOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 8;
    options.web_root = dir_ + "/web";
    options.smart_client_id = "collabcare-app";
    options.connect_src = {"https://ehr.example", "https://auth.ehr.example"};
    options.frame_ancestors = {"'self'", "https://ehr.example"};
    options.public_jwks = R"({"keys":[{"kty":"EC","kid":"k1"}]})";
    options.metrics = [] { return std::string("collabcare_http_test 1\n"); };
    options.watch_poll = absl::Milliseconds(100);
    return options;
  }

  void StartFace(http::HttpFaceOptions options, std::function<absl::Status()> health = nullptr) {
    face_.reset();
    face_ = std::make_unique<http::HttpFace>(std::move(options), *service_, *verifier_, hub_,
                                             std::move(health));
    absl::Status started = face_->Start();
    ASSERT_TRUE(started.ok()) << started;
    ASSERT_GT(face_->port(), 0);
  }

  std::unique_ptr<httplib::Client> Client() {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", face_->port());
    client->set_connection_timeout(5);
    client->set_read_timeout(20);
    client->set_write_timeout(20);
    return client;
  }

  std::string Token(const std::string& who, absl::Duration age = absl::ZeroDuration()) {
    identity::TokenClaims claims;
    claims.fhir_user = who;
    absl::StatusOr<std::string> token =
        identity::MintToken(dev_.private_key_pem, dev_.key_id, claims, clock_.Now() - age);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  // Sends `method path` with `token` (none when empty) and `body`.
  Answer SendToken(const std::string& method, const std::string& path, const std::string& token,
                   const std::string& body = "") {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto client = Client();
    httplib::Request request;
    request.method = method;
    request.path = path;
    request.headers = headers;
    if (method != "GET" && method != "DELETE") {
      request.body = body;
      request.set_header("Content-Type", "application/json");
    }
    httplib::Result result = client->send(request);
    Answer answer;
    if (!result) {
      ADD_FAILURE() << method << " " << path << ": " << httplib::to_string(result.error());
      return answer;
    }
    answer.status = result->status;
    answer.body = result->body;
    answer.headers = result->headers;
    answer.body_json = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
    return answer;
  }
  Answer Send(const std::string& method, const std::string& path, const std::string& who,
              const std::string& body = "") {
    return SendToken(method, path, Token(who), body);
  }
  // Sends and expects 200; the JSON answer.
  json Ok(const std::string& method, const std::string& path, const std::string& who,
          const json& body = nullptr) {
    Answer answer = Send(method, path, who, body.is_null() ? "" : body.dump());
    EXPECT_EQ(answer.status, 200) << method << " " << path << ": " << answer.body;
    return answer.body_json;
  }

  // A family episode: the therapist, the client and the client's mother. Its name.
  std::string FamilyEpisode() {
    json created = Ok("POST", "/v1/episodes", kTherapist,
                      {{"episode",
                        {{"participants",
                          {{{"person", kTherapist}, {"role", "THERAPIST"}, {"display", "Dr Lee"}},
                           {{"person", kClient}, {"role", "CLIENT"}},
                           {{"person", kMother}, {"role", "FAMILY_MEMBER"}}}},
                         {"format", "CLIENT_LED"},
                         {"modality", "FAMILY"}}},
                       {"requestId", "episode-1"}});
    return created.value("name", "");
  }

  std::string WriteGoal(const std::string& who, const std::string& episode,
                        const std::string& words, const std::string& visibility = "EPISODE") {
    json goal = Ok("POST", absl::StrCat("/v1/", episode, "/goals"), who,
                   {{"goal", {{"words", words}, {"visibility", visibility}}}});
    return goal.value("name", "");
  }

  int CountGoals(const std::string& who, const std::string& episode) {
    json list = Ok("GET", absl::StrCat("/v1/", episode, "/goals"), who);
    return list.contains("goals") ? static_cast<int>(list["goals"].size()) : 0;
  }

  std::vector<store::AuditRecord> Audit() {
    auto audit = store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 10000);
    EXPECT_TRUE(audit.ok()) << audit.status();
    return audit.value_or(std::vector<store::AuditRecord>{});
  }

  std::string dir_;
  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  service::EventHub hub_;
  identity::DevIdentity dev_;
  std::unique_ptr<identity::TokenVerifier> verifier_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::CollabService> service_;
  std::unique_ptr<http::HttpFace> face_;
};

// A family session through HTTP only, touching every route; the audit log then shows that
// each route reached its own use case.
TEST_P(HttpApiTest, FamilySessionReachesEveryUseCase) {
  const std::string episode = FamilyEpisode();
  ASSERT_THAT(episode, HasSubstr("episodes/"));
  json got = Ok("GET", "/v1/" + episode, kClient);
  EXPECT_EQ(got["format"], "CLIENT_LED");  // enums by name, lowerCamelCase fields
  EXPECT_EQ(got["participants"][0]["role"], "THERAPIST");
  EXPECT_TRUE(got["meta"].contains("createTime"));
  EXPECT_FALSE(got["meta"].contains("create_time"));
  json mine = Ok("GET", "/v1/episodes", kMother);
  ASSERT_THAT(mine["episodes"], SizeIs(1));
  EXPECT_EQ(Ok("GET", "/v1/me", kMother)["person"], kMother);

  // The client writes a goal in her words; the therapist restates it; she confirms.
  json goal = Ok(
      "POST", "/v1/" + episode + "/goals", kClient,
      {{"goal",
        {{"words", "Get through a school week"}, {"everydaySigns", "I pack my bag on Sunday"}}}});
  const std::string g = goal["name"];
  EXPECT_EQ(goal["words"], "Get through a school week");
  EXPECT_EQ(goal["everydaySigns"], "I pack my bag on Sunday");
  EXPECT_EQ(goal["owner"], kClient);
  EXPECT_EQ(Ok("GET", "/v1/" + g, kMother)["words"], "Get through a school week");
  json restated =
      Ok("POST", "/v1/" + g + ":restate", kTherapist,
         {{"restatement", "Feeling ready for school again"}, {"etag", goal["meta"]["etag"]}});
  EXPECT_EQ(restated["understanding"]["verdict"], "UNCONFIRMED");
  json confirmed = Ok("POST", "/v1/" + g + ":confirmUnderstanding", kClient,
                      {{"verdict", "CORRECTED"},
                       {"correction", "Not ready, just getting through"},
                       {"etag", restated["meta"]["etag"]}});
  EXPECT_EQ(confirmed["understanding"]["verdict"], "CORRECTED");
  json updated =
      Ok("PATCH", "/v1/" + g, kClient,
         {{"goal", {{"priority", 1}, {"status", "ACTIVE"}}}, {"updateMask", "priority,status"}});
  EXPECT_EQ(updated["status"], "ACTIVE");
  EXPECT_EQ(updated["meta"]["revision"], "4");  // int64 is a string in proto3 JSON
  EXPECT_THAT(Ok("GET", "/v1/" + g + "/revisions", kTherapist)["goals"], SizeIs(4));
  EXPECT_THAT(Ok("GET", "/v1/" + episode + "/goals", kMother)["goals"], SizeIs(1));

  // The therapist shares a hypothesis with the client, revises it; the client answers.
  json h = Ok("POST", "/v1/" + episode + "/hypotheses", kTherapist,
              {{"hypothesis",
                {{"kind", "PERSONAL"},
                 {"text", "I wonder whether mornings are the hardest part"},
                 {"tentativeness", "WONDERING"},
                 {"audience", {kClient}}}}});
  const std::string hn = h["name"];
  json revised =
      Ok("PATCH", "/v1/" + hn, kTherapist,
         {{"hypothesis", {{"tentativeness", "CONSIDERING"}}}, {"updateMask", "tentativeness"}});
  EXPECT_EQ(revised["tentativeness"], "CONSIDERING");
  json answered = Ok("POST", "/v1/" + hn + ":respond", kClient,
                     {{"stance", "PARTLY_FITS"}, {"words", "evenings too"}});
  ASSERT_THAT(answered["responses"], SizeIs(1));
  EXPECT_EQ(answered["responses"][0]["stance"], "PARTLY_FITS");
  EXPECT_EQ(Ok("GET", "/v1/" + hn, kClient)["text"],
            "I wonder whether mornings are the hardest part");
  EXPECT_THAT(Ok("GET", "/v1/" + episode + "/hypotheses", kTherapist)["hypotheses"], SizeIs(1));
  EXPECT_THAT(Ok("GET", "/v1/" + hn + "/revisions", kTherapist)["hypotheses"], SizeIs(3));
  // The mother is outside the hypothesis's audience: it does not exist for her.
  EXPECT_EQ(Send("GET", "/v1/" + hn, kMother).status, 404);

  // A review: everyone rates, reflects, a next step, everyone signs.
  json review = Ok("POST", "/v1/" + episode + "/reviews", kTherapist, json::object());
  const std::string r = review["name"];
  for (const auto& [who, score] :
       std::vector<std::pair<std::string, double>>{{kClient, 6}, {kMother, 3}, {kTherapist, 5.5}}) {
    json body = {{"ratings", {{{"goal", g}, {"score", score}}}}};
    if (who != kTherapist) {
      body["instrumentScores"] = {{{"instrument", "ORS"}, {"items", {5.0, 6.5, 7.0, 4.2}}}};
    }
    review = Ok("POST", "/v1/" + r + ":submitRatings", who, body);
  }
  review = Ok("POST", "/v1/" + r + ":addReflection", kClient, {{"words", "mornings got easier"}});
  review = Ok("POST", "/v1/" + r + ":addNextStep", kMother,
              {{"nextStep", {{"text", "pack the bag together on Sunday"}, {"owner", kClient}}}});
  ASSERT_THAT(review["nextSteps"], SizeIs(1));
  for (const char* who : {kClient, kTherapist, kMother}) {
    review = Ok("POST", "/v1/" + r + ":sign", who, {{"etag", review["meta"]["etag"]}});
  }
  EXPECT_EQ(review["status"], "SIGNED");
  EXPECT_THAT(review["signatures"], SizeIs(3));
  EXPECT_EQ(Ok("GET", "/v1/" + r, kMother)["status"], "SIGNED");
  EXPECT_THAT(Ok("GET", "/v1/" + episode + "/reviews", kClient)["reviews"], SizeIs(1));
  EXPECT_GE(Ok("GET", "/v1/" + r + "/revisions", kClient)["reviews"].size(), 8u);
  json progress = Ok("GET", "/v1/" + episode + "/progress", kMother);
  EXPECT_THAT(progress["goals"], SizeIs(3));  // one series per rater, never averaged
  bool divergence = false;
  for (const json& flag : progress["flags"]) divergence |= flag["kind"] == "RATER_DIVERGENCE";
  EXPECT_TRUE(divergence);

  // The therapist changes the episode; its history shows both revisions.
  json changed = Ok("PATCH", "/v1/" + episode, kTherapist,
                    {{"episode", {{"format", "THERAPIST_LED"}}}, {"updateMask", "format"}});
  EXPECT_EQ(changed["format"], "THERAPIST_LED");
  EXPECT_THAT(Ok("GET", "/v1/" + episode + "/revisions", kClient)["episodes"], SizeIs(2));

  // Every unary route's use case ran, each audited under its own RPC name, allowed.
  absl::StatusOr<std::vector<http::ApiRoute>> routes = http::V1Routes();
  ASSERT_TRUE(routes.ok());
  std::set<std::string> allowed_actions;
  for (const store::AuditRecord& record : Audit()) {
    if (record.outcome == 0) allowed_actions.insert(record.action);
  }
  for (const http::ApiRoute& route : *routes) {
    if (route.kind != http::ApiRoute::Kind::kUnary) continue;
    EXPECT_TRUE(allowed_actions.count(route.rpc)) << route.method << " " << route.path.text();
  }
}

TEST_P(HttpApiTest, TokensAreCheckedAndRefusalsAudited) {
  const std::string episode = FamilyEpisode();
  const size_t audited_before = Audit().size();
  Answer missing = SendToken("GET", "/v1/episodes", "");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.Header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(missing.body_json["error"]["status"], "UNAUTHENTICATED");
  EXPECT_EQ(missing.body_json["error"]["code"], 401);
  Answer garbage = SendToken("GET", "/v1/" + episode + "/goals", "not.a.token");
  EXPECT_EQ(garbage.status, 401);
  Answer expired = SendToken("POST", "/v1/" + episode + "/goals", Token(kClient, absl::Hours(9)),
                             R"({"goal":{"words":"sleep better"}})");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.Header("WWW-Authenticate"), "Bearer");
  httplib::Headers basic = {{"Authorization", "Basic dXNlcjpwdw=="}};
  auto basic_answer = Client()->Get("/v1/me", basic);
  ASSERT_TRUE(basic_answer);
  EXPECT_EQ(basic_answer->status, 401);
  // Nothing was written by the expired token, and each refusal is audited as anonymous.
  EXPECT_EQ(CountGoals(kClient, episode), 0);
  std::vector<store::AuditRecord> audit = Audit();
  ASSERT_GE(audit.size(), audited_before + 4);
  std::vector<std::string> refused;
  for (size_t i = audited_before; i < audit.size(); ++i) {
    if (audit[i].actor != "anonymous") continue;
    EXPECT_EQ(audit[i].outcome, static_cast<int>(absl::StatusCode::kUnauthenticated));
    refused.push_back(audit[i].action);
  }
  EXPECT_THAT(refused,
              ::testing::ElementsAre("collabcare.v1.EpisodeService/ListEpisodes",
                                     "collabcare.v1.GoalService/ListGoals",
                                     "collabcare.v1.GoalService/CreateGoal", "collabcare.http/Me"));
}

TEST_P(HttpApiTest, BadInputNamesTheFieldAndStoresNothing) {
  const std::string episode = FamilyEpisode();
  const std::string goals = "/v1/" + episode + "/goals";
  struct Case {
    std::string body;
    std::string message;
  };
  const std::string words = "my private words about school";
  const std::vector<Case> cases = {
      {R"({"goal":{"words":""}})", "goal.words"},
      {R"({"goal":{"words":"   "}})", "goal.words"},
      {json{{"goal", {{"words", std::string(8 * 1024 + 1, 'a')}}}}.dump(), "goal.words"},
      {R"({"goal":{"words":"a\u0000b"}})", "goal.words"},
      {json{{"goal", {{"words", words}, {"wordz", words}}}}.dump(), "goal.wordz: unknown field"},
      {json{{"goal", {{"words", words}}}, {"extra", 1}}.dump(), "extra: unknown field"},
      {json{{"goal", {{"words", words}, {"status", words}}}}.dump(), "goal.status: invalid value"},
      {json{{"goal", {{"words", words}, {"priority", words}}}}.dump(),
       "goal.priority: invalid value"},
      {R"({"goal":{"words":")" + words + R"(" )", "body: malformed JSON"},
      {R"(["a list"])", "body: must be a JSON object"},
      {json{{"parent", "episodes/someone-elses"}, {"goal", {{"words", words}}}}.dump(),
       "parent: does not match the path"},
  };
  for (const Case& c : cases) {
    Answer answer = Send("POST", goals, kClient, c.body);
    EXPECT_EQ(answer.status, 400) << c.message;
    EXPECT_EQ(answer.body_json["error"]["status"], "INVALID_ARGUMENT") << c.message;
    EXPECT_THAT(answer.body_json["error"]["message"].get<std::string>(), HasSubstr(c.message));
    EXPECT_THAT(answer.body, Not(HasSubstr("private words"))) << c.message;  // never echoed
  }
  EXPECT_EQ(CountGoals(kClient, episode), 0);
  auto events = store_->ReadEvents(episode.substr(sizeof("episodes/") - 1), 0, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(*events, SizeIs(1));  // only EPISODE_CREATED

  // A slider value outside 0–10, in a tampered request: refused, the review unchanged.
  const std::string g = WriteGoal(kClient, episode, "sleep through the night");
  json review = Ok("POST", "/v1/" + episode + "/reviews", kTherapist, json::object());
  const std::string r = review["name"];
  for (double score : {10.5, -1.0, 11.0}) {
    Answer rating = Send("POST", "/v1/" + r + ":submitRatings", kClient,
                         json{{"ratings", {{{"goal", g}, {"score", score}}}}}.dump());
    EXPECT_EQ(rating.status, 400);
    EXPECT_THAT(rating.body_json["error"]["message"].get<std::string>(),
                HasSubstr("ratings[0].score"));
  }
  Answer items =
      Send("POST", "/v1/" + r + ":submitRatings", kClient,
           json{{"instrumentScores", {{{"instrument", "ORS"}, {"items", {5.0, 6.5, 70.0, 4.2}}}}}}
               .dump());
  EXPECT_EQ(items.status, 400);
  json after = Ok("GET", "/v1/" + r, kClient);
  EXPECT_FALSE(after.contains("ratings"));
  EXPECT_FALSE(after.contains("instrumentScores"));
  EXPECT_EQ(after["meta"]["revision"], "1");

  // A refusal before the use case is audited too, under the caller and the RPC.
  bool audited = false;
  for (const store::AuditRecord& record : Audit()) {
    audited |= record.actor == kClient && record.action == "collabcare.v1.GoalService/CreateGoal" &&
               record.outcome == static_cast<int>(absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(audited);
}

TEST_P(HttpApiTest, QueryParametersFillListRequests) {
  const std::string episode = FamilyEpisode();
  for (int i = 0; i < 7; ++i) WriteGoal(kClient, episode, absl::StrCat("goal ", i));
  std::string token;
  int seen = 0, pages = 0;
  do {
    std::string path = "/v1/" + episode + "/goals?pageSize=3";
    if (!token.empty()) path += "&pageToken=" + httplib::detail::encode_query_param(token);
    json page = Ok("GET", path, kClient);
    seen += page.contains("goals") ? static_cast<int>(page["goals"].size()) : 0;
    token = page.value("nextPageToken", "");
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, 7);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(Ok("GET", "/v1/" + episode + "/goals?page_size=2", kClient)["goals"], SizeIs(2));
  Answer bad = Send("GET", "/v1/" + episode + "/goals?pageSize=many", kClient);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body_json["error"]["message"].get<std::string>(),
              HasSubstr("page_size: invalid value"));
  Answer unknown = Send("GET", "/v1/" + episode + "/goals?color=red", kClient);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body_json["error"]["message"].get<std::string>(),
              HasSubstr("color: unknown query parameter"));
  Answer twice = Send("GET", "/v1/" + episode + "/goals?pageSize=1&page_size=2", kClient);
  EXPECT_EQ(twice.status, 400);
}

TEST_P(HttpApiTest, StatusCodesFollowTheTable) {
  const std::string episode = FamilyEpisode();
  // Another person's episode does not exist for an outsider.
  Answer outsider = Send("GET", "/v1/" + episode, kOutsider);
  EXPECT_EQ(outsider.status, 404);
  EXPECT_EQ(outsider.body_json["error"]["status"], "NOT_FOUND");
  EXPECT_EQ(Send("GET", "/v1/" + episode + "/goals", kOutsider).status, 404);
  EXPECT_THAT(Ok("GET", "/v1/episodes", kOutsider), Not(::testing::Contains("episodes")));
  // Only the owner rewrites a goal.
  const std::string g = WriteGoal(kClient, episode, "walk the dog every morning");
  Answer forbidden = Send("PATCH", "/v1/" + g, kTherapist,
                          R"({"goal":{"words":"exercise"},"updateMask":"words"})");
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.body_json["error"]["status"], "PERMISSION_DENIED");
  // A stale etag is a conflict.
  json goal = Ok("GET", "/v1/" + g, kClient);
  json update = {{"goal", {{"priority", 1}, {"meta", {{"etag", goal["meta"]["etag"]}}}}},
                 {"updateMask", "priority"}};
  Ok("PATCH", "/v1/" + g, kClient, update);
  update["goal"]["priority"] = 2;  // still carries the first etag
  Answer stale = Send("PATCH", "/v1/" + g, kClient, update.dump());
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body_json["error"]["status"], "ABORTED");
  // A change the state does not allow: a signed review takes no reflection.
  json review = Ok("POST", "/v1/" + episode + "/reviews", kTherapist, json::object());
  for (const char* who : {kClient, kMother, kTherapist}) {
    review = Ok("POST", "/v1/" + review["name"].get<std::string>() + ":sign", who,
                {{"etag", review["meta"]["etag"]}});
  }
  ASSERT_EQ(review["status"], "SIGNED");
  Answer late = Send("POST", "/v1/" + review["name"].get<std::string>() + ":addReflection", kClient,
                     R"({"words":"too late"})");
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(late.body_json["error"]["status"], "FAILED_PRECONDITION");
  // Unknown paths and methods.
  Answer nothing = Send("GET", "/v1/nothing/here", kClient);
  EXPECT_EQ(nothing.status, 404);
  EXPECT_EQ(nothing.body_json["error"]["status"], "NOT_FOUND");
  EXPECT_EQ(Send("GET", "/elsewhere", kClient).status, 404);
  EXPECT_EQ(Send("GET", "/v1/" + episode + ":explode", kClient).status, 404);
  Answer method = Send("DELETE", "/v1/" + episode, kTherapist);
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.Header("Allow"), "GET, PATCH");
  EXPECT_EQ(Ok("GET", "/v1/" + episode, kClient)["name"], episode);  // still there
  // Every API answer is private to its caller.
  EXPECT_EQ(outsider.Header("Cache-Control"), "no-store");
  EXPECT_EQ(outsider.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(outsider.Header("Content-Type"), "application/json");
}

TEST_P(HttpApiTest, RetryWithTheSameRequestIdWritesOnce) {
  const std::string episode = FamilyEpisode();
  const json body = {{"goal", {{"words", "sleep through the night"}}}, {"requestId", "req-1"}};
  json first = Ok("POST", "/v1/" + episode + "/goals", kClient, body);
  json again = Ok("POST", "/v1/" + episode + "/goals", kClient, body);
  EXPECT_EQ(first["name"], again["name"]);
  EXPECT_EQ(again["meta"]["revision"], "1");
  EXPECT_EQ(CountGoals(kClient, episode), 1);
  // The proto name works too, and the same key for a different request is refused.
  Answer other = Send("POST", "/v1/" + episode + "/goals", kClient,
                      R"({"goal":{"words":"something else"},"request_id":"req-1"})");
  EXPECT_EQ(other.status, 400);
  EXPECT_THAT(other.body_json["error"]["message"].get<std::string>(), HasSubstr("request_id"));
  EXPECT_EQ(CountGoals(kClient, episode), 1);
}

TEST_P(HttpApiTest, OversizedBodyIsRefusedBeforeAnyHandler) {
  const std::string episode = FamilyEpisode();
  const std::string big = json{{"goal", {{"words", std::string(300 * 1024, 'a')}}}}.dump();
  Answer answer = Send("POST", "/v1/" + episode + "/goals", kClient, big);
  EXPECT_EQ(answer.status, 413);
  EXPECT_EQ(answer.body_json["error"]["code"], 413);
  EXPECT_THAT(answer.body_json["error"]["message"].get<std::string>(), HasSubstr("body"));
  EXPECT_EQ(CountGoals(kClient, episode), 0);
}

// Reads a watch stream on its own thread, frame by frame, until told to stop.
class SseReader {
 public:
  struct Frame {
    std::string id;
    std::string event;
    std::string data;
    bool comment = false;
  };

  SseReader(std::unique_ptr<httplib::Client> client, std::string path, httplib::Headers headers)
      : client_(std::move(client)) {
    thread_ = std::thread([this, path = std::move(path), headers = std::move(headers)] {
      auto result = client_->Get(
          path.c_str(), headers,
          [this](const httplib::Response& response) {
            absl::MutexLock lock(&mu_);
            status_ = response.status;
            content_type_ = response.get_header_value("Content-Type");
            return true;
          },
          [this](const char* data, size_t length) {
            absl::MutexLock lock(&mu_);
            buffer_.append(data, length);
            size_t end;
            while ((end = buffer_.find("\n\n")) != std::string::npos) {
              Frame frame;
              for (absl::string_view line : absl::StrSplit(buffer_.substr(0, end), '\n')) {
                if (absl::ConsumePrefix(&line, ":")) frame.comment = true;
                if (absl::ConsumePrefix(&line, "id: ")) frame.id = std::string(line);
                if (absl::ConsumePrefix(&line, "event: ")) frame.event = std::string(line);
                if (absl::ConsumePrefix(&line, "data: ")) frame.data = std::string(line);
              }
              frames_.push_back(frame);
              buffer_.erase(0, end + 2);
            }
            return !stop_;
          });
      absl::MutexLock lock(&mu_);
      ended_ = true;
      if (!result && status_ == 0) status_ = -1;
    });
  }
  ~SseReader() {
    Stop();
    thread_.join();
  }

  // Waits (up to 10 s) until `done` holds for the frames read so far.
  bool WaitUntil(const std::function<bool(const std::vector<Frame>&)>& done) {
    absl::MutexLock lock(&mu_);
    auto ready = [&] { return done(frames_) || ended_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(10));
    return done(frames_);
  }
  bool WaitForEnd() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&ended_), absl::Seconds(10));
    return ended_;
  }
  // Makes the next chunk end the stream from the client's side.
  void Stop() {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  std::vector<Frame> frames() {
    absl::MutexLock lock(&mu_);
    return frames_;
  }
  int status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  std::string content_type() {
    absl::MutexLock lock(&mu_);
    return content_type_;
  }

 private:
  std::unique_ptr<httplib::Client> client_;
  absl::Mutex mu_;
  std::string buffer_;
  std::vector<Frame> frames_;
  int status_ = 0;
  std::string content_type_;
  bool stop_ = false;
  bool ended_ = false;
  std::thread thread_;
};

std::vector<std::string> Ids(const std::vector<SseReader::Frame>& frames) {
  std::vector<std::string> ids;
  for (const auto& f : frames) {
    if (!f.id.empty()) ids.push_back(f.id);
  }
  return ids;
}

TEST_P(HttpApiTest, WatchStreamsEventsWrittenByOthersAndResumes) {
  const std::string episode = FamilyEpisode();
  WriteGoal(kClient, episode, "secret", "OWNER_AND_THERAPISTS");  // sequence 2: hidden
  const std::string watch = "/v1/" + episode + ":watch";
  {
    SseReader reader(Client(), watch, {{"Authorization", "Bearer " + Token(kMother)}});
    ASSERT_TRUE(reader.WaitUntil([](const auto& f) { return Ids(f).size() >= 1; }));
    EXPECT_EQ(reader.status(), 200);
    EXPECT_EQ(reader.content_type(), "text/event-stream");
    // Written by another caller after the stream started: arrives live.
    WriteGoal(kClient, episode, "visible to everyone");
    ASSERT_TRUE(reader.WaitUntil([](const auto& f) { return Ids(f).size() >= 2; }));
    reader.Stop();
    std::vector<SseReader::Frame> frames = reader.frames();
    EXPECT_THAT(Ids(frames), ::testing::ElementsAre("1", "3"));
    std::vector<json> events;
    for (const auto& f : frames) {
      if (!f.id.empty()) events.push_back(json::parse(f.data));
    }
    EXPECT_EQ(events[0]["kind"], "EPISODE_CREATED");
    EXPECT_EQ(events[1]["kind"], "GOAL_CREATED");
    EXPECT_EQ(events[1]["sequence"], "3");
    EXPECT_EQ(events[1]["goal"]["words"], "visible to everyone");
    // Unblock the reader's last chunk.
    WriteGoal(kClient, episode, "one more");
    EXPECT_TRUE(reader.WaitForEnd());
  }
  // Resuming: Last-Event-ID (what a reconnecting EventSource sends) and afterSequence.
  for (const auto& [path, headers] : std::vector<std::pair<std::string, httplib::Headers>>{
           {watch, {{"Last-Event-ID", "3"}}}, {watch + "?afterSequence=3", {}}}) {
    httplib::Headers with_token = headers;
    with_token.emplace("Authorization", "Bearer " + Token(kMother));
    SseReader reader(Client(), path, with_token);
    ASSERT_TRUE(reader.WaitUntil([](const auto& f) { return !Ids(f).empty(); })) << path;
    reader.Stop();
    EXPECT_EQ(Ids(reader.frames()).front(), "4") << path;
    WriteGoal(kClient, episode, "to end the stream");
    EXPECT_TRUE(reader.WaitForEnd());
  }
  // Not a participant: refused before the stream starts. No token: 401.
  EXPECT_EQ(Send("GET", watch, kOutsider).status, 404);
  EXPECT_EQ(SendToken("GET", watch, "").status, 401);
  Answer bad = Send("GET", watch + "?afterSequence=soon", kMother);
  EXPECT_EQ(bad.status, 400);
}

TEST_P(HttpApiTest, WatchSendsKeepalivesAndEndsOnStopAndShutdown) {
  http::HttpFaceOptions options = DefaultOptions();
  options.threads = 2;  // a leaked stream would starve the next requests
  options.watch_keepalive = absl::Milliseconds(100);
  options.watch_poll = absl::Milliseconds(50);
  ASSERT_NO_FATAL_FAILURE(StartFace(options));
  const std::string episode = FamilyEpisode();
  const std::string watch = "/v1/" + episode + ":watch";
  const httplib::Headers auth = {{"Authorization", "Bearer " + Token(kClient)}};
  // Clients that go away free their worker: more streams than workers, one after another.
  for (int i = 0; i < 4; ++i) {
    SseReader reader(Client(), watch, auth);
    ASSERT_TRUE(reader.WaitUntil([](const auto& frames) {
      return std::any_of(frames.begin(), frames.end(), [](const auto& f) { return f.comment; });
    })) << "no keepalive on stream "
        << i;
    reader.Stop();
    EXPECT_TRUE(reader.WaitForEnd());
  }
  EXPECT_EQ(Ok("GET", "/v1/" + episode, kClient)["name"], episode);
  // Stop ends an open stream.
  {
    SseReader reader(Client(), watch, auth);
    ASSERT_TRUE(reader.WaitUntil([](const auto& f) { return !Ids(f).empty(); }));
    face_->Stop();
    EXPECT_TRUE(reader.WaitForEnd());
    EXPECT_EQ(face_->port(), 0);
  }
  // The hub's shutdown (what main does first on SIGTERM) ends a stream at once, saying why.
  options.watch_poll = absl::Seconds(30);
  options.watch_keepalive = absl::Seconds(30);
  ASSERT_NO_FATAL_FAILURE(StartFace(options));
  SseReader reader(Client(), watch, auth);
  ASSERT_TRUE(reader.WaitUntil([](const auto& f) { return !Ids(f).empty(); }));
  hub_.Shutdown();
  EXPECT_TRUE(reader.WaitForEnd());
  std::vector<SseReader::Frame> frames = reader.frames();
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().event, "error");
  EXPECT_EQ(json::parse(frames.back().data)["error"]["status"], "UNAVAILABLE");
}

TEST_P(HttpApiTest, ServesTheAppWithItsSecurityHeaders) {
  Answer index = SendToken("GET", "/app/index.html", "");
  EXPECT_EQ(index.status, 200);
  EXPECT_THAT(index.body, HasSubstr("<title>collabcare</title>"));
  EXPECT_EQ(index.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self' https://ehr.example https://auth.ehr.example; frame-ancestors "
            "'self' https://ehr.example; base-uri 'none'; form-action 'self'");
  EXPECT_EQ(index.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(index.Header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(index.Header("X-Frame-Options"), "");  // frame-ancestors decides: the EHR may frame it
  EXPECT_EQ(SendToken("GET", "/app/assets/app.js", "").Header("Content-Type"),
            "text/javascript; charset=utf-8");
  EXPECT_EQ(SendToken("GET", "/app/assets/app.css", "").Header("Content-Type"),
            "text/css; charset=utf-8");
  Answer root = SendToken("GET", "/", "");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.Header("Location"), "/app/index.html");
  EXPECT_EQ(SendToken("GET", "/app/", "").Header("Location"), "/app/index.html");
  json config = SendToken("GET", "/app/config.json", "").body_json;
  EXPECT_EQ(config["clientId"], "collabcare-app");
  EXPECT_EQ(config["scope"], "launch launch/patient openid fhirUser patient/*.rs user/*.rs");
  EXPECT_FALSE(config.contains("fhirServers"));
  // Nothing outside the web root, nor hidden files, nor links leading out of it.
  for (const char* path :
       {"/app/../secret", "/app/%2e%2e/secret", "/app/assets/../../secret", "/app/.env",
        "/app/link", "/app/assets", "/app/missing.js", "/app/..%2fsecret"}) {
    Answer refused = SendToken("GET", path, "");
    EXPECT_EQ(refused.status, 404) << path;
    EXPECT_THAT(refused.body, Not(HasSubstr(kSecretText))) << path;
  }
}

TEST_P(HttpApiTest, WithoutAWebRootThereIsNoApp) {
  http::HttpFaceOptions options = DefaultOptions();
  options.web_root.clear();
  options.smart_fhir_servers = {"https://ehr.example/fhir"};
  ASSERT_NO_FATAL_FAILURE(StartFace(options));
  EXPECT_EQ(SendToken("GET", "/app/index.html", "").status, 404);
  EXPECT_EQ(SendToken("GET", "/", "").status, 404);
  EXPECT_EQ(SendToken("GET", "/app/config.json", "").body_json["fhirServers"][0],
            "https://ehr.example/fhir");
}

TEST_P(HttpApiTest, HealthJwksAndMetrics) {
  Answer health = SendToken("GET", "/healthz", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body_json, json({{"status", "SERVING"}}));
  Answer jwks = SendToken("GET", "/.well-known/jwks.json", "");
  EXPECT_EQ(jwks.status, 200);
  EXPECT_EQ(jwks.body_json["keys"][0]["kid"], "k1");
  Answer metrics = SendToken("GET", "/metrics", "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body, "collabcare_http_test 1\n");
  EXPECT_THAT(metrics.Header("Content-Type"), HasSubstr("text/plain"));

  http::HttpFaceOptions options = DefaultOptions();
  options.public_jwks.clear();
  options.metrics = nullptr;
  ASSERT_NO_FATAL_FAILURE(
      StartFace(options, [] { return absl::UnavailableError("database is locked"); }));
  Answer sick = SendToken("GET", "/healthz", "");
  EXPECT_EQ(sick.status, 503);
  EXPECT_EQ(sick.body_json, json({{"status", "NOT_SERVING"}}));
  EXPECT_EQ(SendToken("GET", "/.well-known/jwks.json", "").status, 404);
  EXPECT_EQ(SendToken("GET", "/metrics", "").status, 404);
}

TEST_P(HttpApiTest, OtherModulesAddRoutesBeforeStart) {
  http::HttpFaceOptions options = DefaultOptions();
  face_.reset();
  face_ = std::make_unique<http::HttpFace>(options, *service_, *verifier_, hub_, nullptr);
  face_->AddRoutes([](httplib::Server& server) {
    server.Get("/cds-services", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"({"services":[]})", "application/json");
    });
  });
  ASSERT_TRUE(face_->Start().ok());
  Answer discovery = SendToken("GET", "/cds-services", "");
  EXPECT_EQ(discovery.status, 200);
  EXPECT_EQ(discovery.body_json, json({{"services", json::array()}}));
  EXPECT_EQ(discovery.Header("Cache-Control"), "no-store");
}

TEST_P(HttpApiTest, StartRefusesUnsafeOptions) {
  http::HttpFaceOptions options = DefaultOptions();
  options.connect_src = {"https://ehr.example; script-src *"};
  http::HttpFace injected(options, *service_, *verifier_, hub_, nullptr);
  absl::Status status = injected.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("connect_src[0]"));
  options = DefaultOptions();
  options.tls_cert_file = dir_ + "/missing.pem";
  http::HttpFace no_key(options, *service_, *verifier_, hub_, nullptr);
  EXPECT_EQ(no_key.Start().code(), absl::StatusCode::kInvalidArgument);
  options.tls_key_file = dir_ + "/missing.key";
  http::HttpFace no_files(options, *service_, *verifier_, hub_, nullptr);
  EXPECT_EQ(no_files.Start().code(), absl::StatusCode::kInvalidArgument);
  options = DefaultOptions();
  options.listen = "127.0.0.1";
  http::HttpFace no_port(options, *service_, *verifier_, hub_, nullptr);
  EXPECT_EQ(no_port.Start().code(), absl::StatusCode::kInvalidArgument);
  // The port the running face holds cannot be bound twice.
  options.listen = absl::StrCat("127.0.0.1:", face_->port());
  http::HttpFace taken(options, *service_, *verifier_, hub_, nullptr);
  EXPECT_EQ(taken.Start().code(), absl::StatusCode::kUnavailable);
}

TEST_P(HttpApiTest, ServesHttpsWithTheGivenCertificate) {
  const std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
  const std::string command = absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
      "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout ",
      key, " -out ", cert, " 2>/dev/null");
  ASSERT_EQ(std::system(command.c_str()), 0);
  http::HttpFaceOptions options = DefaultOptions();
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  ASSERT_NO_FATAL_FAILURE(StartFace(options));
  httplib::SSLClient client("127.0.0.1", face_->port());
  client.set_ca_cert_path(cert.c_str());
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(5);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  auto me = client.Get("/v1/me", {{"Authorization", "Bearer " + Token(kClient)}});
  ASSERT_TRUE(me);
  EXPECT_EQ(json::parse(me->body)["person"], kClient);
  // Plain HTTP to the TLS port gets no answer.
  auto plain = Client()->Get("/healthz");
  EXPECT_TRUE(!plain || plain->status != 200);
}

INSTANTIATE_TEST_SUITE_P(Stores, HttpApiTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kSqlite),
                         [](const ::testing::TestParamInfo<StoreKind>& info) {
                           return info.param == StoreKind::kMemory ? "Memory" : "Sqlite";
                         });

}  // namespace
}  // namespace collabcare
