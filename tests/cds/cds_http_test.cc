// The CDS Hooks service over real HTTP: a cpp-httplib server on 127.0.0.1 (port 0) in front of
// the use cases on the in-memory store, called with real ES384/RS256-signed JWTs.
#include <httplib.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/cds/cds_routes.h"
#include "plugin/cds/cds_service.h"
#include "plugin/common/log.h"
#include "plugin/identity/identity.h"
#include "plugin/service/collab_service.h"
#include "plugin/store/store.h"
#include "tests/identity/identity_test_util.h"
#include "tests/testing/fakes.h"

namespace collabcare::cds {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using Json = nlohmann::json;
namespace testutil = identity::testutil;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";
constexpr char kSister[] = "RelatedPerson/4";
constexpr char kBase[] = "https://apps.example.org/collabcare";
constexpr char kLaunch[] = "https://apps.example.org/collabcare/launch.html";
constexpr char kEhr[] = "https://ehr.example.org";
constexpr char kEhrKid[] = "ehr-key-1";
constexpr char kJkuEhr[] = "https://jku-ehr.example.org";
constexpr char kJkuUrl[] = "https://jku-ehr.example.org/.well-known/jwks.json";
constexpr char kGoalWords[] = "Get through a school week without calling in sick";

std::string Endpoint(const std::string& id) { return absl::StrCat(kBase, "/cds-services/", id); }

// Counted apart from the code under test: bytes that start a UTF-8 sequence.
size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class CdsHttpTest : public ::testing::Test {
 protected:
  CdsHttpTest()
      : store_(store::NewMemoryStore()),
        service_(*store_, clock_, ids_, hub_, service::CollabService::Options{}),
        uuids_(NewRandomUuidSource()) {}

  void SetUp() override {
    CdsOptions options;
    options.base_url = kBase;
    options.app_launch_url = kLaunch;
    options.source_url = "https://apps.example.org/collabcare/about";
    TrustedClient ehr;
    ehr.issuer = kEhr;
    identity::VerifierOptions v = VerifierOptionsFor(options, kEhr, clock_);
    v.jwks_json = testutil::Jwks({testutil::P384Key().Jwk(kEhrKid, "ES384")});
    auto verifier = identity::NewJwksVerifier(v);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    ehr.verifier = std::move(*verifier);
    // A client whose keys are found only through an allow-listed `jku`.
    TrustedClient jku_ehr;
    jku_ehr.issuer = kJkuEhr;
    identity::VerifierOptions jv = VerifierOptionsFor(options, kJkuEhr, clock_);
    jv.jwks_json = testutil::Jwks({testutil::RsaKey().Jwk("rsa-1", "RS256")});
    auto jku_verifier = identity::NewJwksVerifier(jv);
    ASSERT_TRUE(jku_verifier.ok()) << jku_verifier.status();
    jku_ehr.jku[kJkuUrl] = std::move(*jku_verifier);
    options.clients = {ehr, jku_ehr};
    auto cds = NewCdsHooksService(service_, *store_, clock_, *uuids_, options);
    ASSERT_TRUE(cds.ok()) << cds.status();
    cds_ = std::move(*cds);

    RegisterCdsHooks(server_, *cds_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_connection_timeout(5);
    client_->set_read_timeout(10);
    MakeEpisode();
  }

  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Therapist, client (Sam) and sister (Jo); the client writes a goal, the therapist shares a
  // hypothesis with the client only, and a review holds a low SRS from the client.
  void MakeEpisode() {
    v1::CreateEpisodeRequest create;
    auto add = [&](const char* who, v1::Participant::Role role, const char* display) {
      v1::Participant* p = create.mutable_episode()->add_participants();
      p->set_person(who);
      p->set_role(role);
      p->set_display(display);
    };
    add(kTherapist, v1::Participant::THERAPIST, "Dr Lee");
    add(kClient, v1::Participant::CLIENT, "Sam");
    add(kSister, v1::Participant::FAMILY_MEMBER, "Jo");
    create.mutable_episode()->set_format(v1::Episode::CLIENT_LED);
    create.mutable_episode()->set_modality(v1::Episode::FAMILY);
    auto episode = service_.CreateEpisode(kTherapist, create);
    ASSERT_TRUE(episode.ok()) << episode.status();
    episode_ = *episode;

    v1::CreateGoalRequest goal;
    goal.set_parent(episode_.name());
    goal.mutable_goal()->set_words(kGoalWords);
    auto g = service_.CreateGoal(kClient, goal);
    ASSERT_TRUE(g.ok()) << g.status();
    goal_ = *g;

    v1::ShareHypothesisRequest share;
    share.set_parent(episode_.name());
    share.mutable_hypothesis()->set_kind(v1::Hypothesis::PERSONAL);
    share.mutable_hypothesis()->set_text("I wonder whether Sunday evenings set the week's tone");
    share.mutable_hypothesis()->set_tentativeness(v1::Hypothesis::WONDERING);
    share.mutable_hypothesis()->add_audience(kClient);
    auto h = service_.ShareHypothesis(kTherapist, share);
    ASSERT_TRUE(h.ok()) << h.status();
    hypothesis_ = *h;

    v1::StartReviewRequest start;
    start.set_parent(episode_.name());
    auto review = service_.StartReview(kClient, start);
    ASSERT_TRUE(review.ok()) << review.status();
    v1::SubmitRatingsRequest rate;
    rate.set_name(review->name());
    v1::InstrumentScore* srs = rate.add_instrument_scores();
    srs->set_instrument("SRS");
    for (double item : {7.0, 8.0, 7.5, 8.0}) srs->add_items(item);  // total 30.5 < 36
    auto rated = service_.SubmitRatings(kClient, rate);
    ASSERT_TRUE(rated.ok()) << rated.status();
    clock_.Advance(absl::Minutes(1));
  }

  Json Claims(const std::string& aud) {
    const int64_t now = absl::ToUnixSeconds(clock_.Now());
    return Json{{"iss", kEhr}, {"sub", "ehr-client"}, {"aud", aud},
                {"iat", now},  {"exp", now + 240},    {"jti", absl::StrCat("jti-", ++jti_)}};
  }

  std::string Token(const Json& claims) {
    return testutil::SignJws({{"alg", "ES384"}, {"typ", "JWT"}, {"kid", kEhrKid}}, claims,
                             testutil::P384Key(), "ES384");
  }

  std::string TokenFor(const std::string& service_id) {
    return Token(Claims(Endpoint(service_id)));
  }

  Json HookBody(const std::string& hook = "patient-view", const std::string& user = kTherapist,
                const std::string& patient = "1") {
    return Json{{"hook", hook},
                {"hookInstance", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"},
                {"fhirServer", "https://ehr.example.org/fhir"},
                {"context", {{"userId", user}, {"patientId", patient}}},
                {"prefetch", {{"patient", {{"resourceType", "Patient"}, {"id", patient}}}}}};
  }

  httplib::Result Post(const std::string& path, const std::string& token, const std::string& body) {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client_->Post(path.c_str(), headers, body, "application/json");
  }

  // A patient-view call; the response's JSON, after checking the status.
  Json CallPatientView(const Json& body, int expected_status = 200) {
    auto res = Post("/cds-services/collabcare-patient-view", TokenFor(kPatientViewId), body.dump());
    EXPECT_TRUE(res) << httplib::to_string(res.error());
    if (!res) return Json();
    EXPECT_EQ(res->status, expected_status) << res->body;
    return Json::parse(res->body, nullptr, false);
  }

  std::vector<store::AuditRecord> Audit() {
    auto records = store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100000);
    EXPECT_TRUE(records.ok());
    return records.value_or(std::vector<store::AuditRecord>{});
  }

  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  service::EventHub hub_;
  std::unique_ptr<store::Store> store_;
  service::CollabService service_;
  std::unique_ptr<UuidSource> uuids_;
  std::unique_ptr<CdsHooksService> cds_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  int jti_ = 0;
  v1::Episode episode_;
  v1::Goal goal_;
  v1::Hypothesis hypothesis_;
};

TEST_F(CdsHttpTest, DiscoveryListsBothServicesWithPatientPrefetch) {
  auto res = client_->Get("/cds-services");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const Json json = Json::parse(res->body);
  ASSERT_THAT(json["services"], SizeIs(2));
  std::vector<std::string> hooks;
  for (const Json& s : json["services"]) {
    hooks.push_back(absl::StrCat(s["id"].get<std::string>(), "=", s["hook"].get<std::string>()));
    EXPECT_FALSE(s["title"].get<std::string>().empty());
    EXPECT_FALSE(s["description"].get<std::string>().empty());
    EXPECT_EQ(s["prefetch"], (Json{{"patient", "Patient/{{context.patientId}}"}}));
  }
  EXPECT_THAT(hooks, ::testing::UnorderedElementsAre("collabcare-patient-view=patient-view",
                                                     "collabcare-encounter-start=encounter-start"));
}

TEST_F(CdsHttpTest, PatientViewGivesCardsInTheClientsWords) {
  const Json json = CallPatientView(HookBody());
  ASSERT_TRUE(json.contains("cards"));
  std::vector<std::string> topics;
  for (const Json& card : json["cards"]) {
    topics.push_back(card["source"]["topic"]["code"].get<std::string>());
    const std::string uuid = card["uuid"].get<std::string>();
    EXPECT_THAT(uuid, ::testing::MatchesRegex(
                          "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
    EXPECT_LE(CodePoints(card["summary"].get<std::string>()), 140u);
    EXPECT_FALSE(card["detail"].get<std::string>().empty());
    EXPECT_EQ(card["source"]["label"], "collabcare");
    EXPECT_EQ(card["source"]["url"], "https://apps.example.org/collabcare/about");
    ASSERT_THAT(card["links"], SizeIs(1));
    EXPECT_EQ(card["links"][0], (Json{{"label", "Open in collabcare"},
                                      {"url", kLaunch},
                                      {"type", "smart"},
                                      {"appContext", episode_.name()}}));
  }
  // Most urgent first: the alliance alert (warning), then the goal and the hypothesis (info).
  EXPECT_THAT(topics,
              ::testing::ElementsAre("alliance-alert", "goal-from-client", "hypothesis-awaiting"));
  EXPECT_EQ(json["cards"][0]["indicator"], "warning");
  EXPECT_THAT(json["cards"][0]["summary"].get<std::string>(), HasSubstr("SRS, Sam"));
  EXPECT_EQ(json["cards"][1]["indicator"], "info");
  EXPECT_EQ(json["cards"][1]["summary"],
            absl::StrCat("New goal from Sam: \u201c", kGoalWords, "\u201d"));
  EXPECT_THAT(json["cards"][2]["summary"].get<std::string>(),
              ::testing::StartsWith("Awaiting an answer from Sam: "));
}

TEST_F(CdsHttpTest, EncounterStartNeedsAnEncounterAndGivesTheSameCards) {
  Json body = HookBody("encounter-start");
  auto res =
      Post("/cds-services/collabcare-encounter-start", TokenFor(kEncounterStartId), body.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("context.encounterId is missing"));
  body["context"]["encounterId"] = "enc-7";
  res = Post("/cds-services/collabcare-encounter-start", TokenFor(kEncounterStartId), body.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_THAT(Json::parse(res->body)["cards"], SizeIs(3));
}

TEST_F(CdsHttpTest, OnlyEpisodesTheUserMaySeeGiveCards) {
  // A practitioner outside the episode, another patient's chart: nothing, not even a hint.
  EXPECT_EQ(CallPatientView(HookBody("patient-view", "Practitioner/77")),
            Json::parse(R"({"cards":[]})"));
  EXPECT_EQ(CallPatientView(HookBody("patient-view", kTherapist, "2")),
            Json::parse(R"({"cards":[]})"));
  // The sister takes part, but the hypothesis is addressed to Sam alone.
  const Json sister = CallPatientView(HookBody("patient-view", kSister));
  std::vector<std::string> topics;
  for (const Json& card : sister["cards"]) topics.push_back(card["source"]["topic"]["code"]);
  EXPECT_THAT(topics, Not(Contains("hypothesis-awaiting")));
  EXPECT_THAT(topics, Contains("goal-from-client"));
}

TEST_F(CdsHttpTest, CallsAreAuditedAsTheUser) {
  CallPatientView(HookBody());
  std::vector<std::string> actions;
  for (const store::AuditRecord& r : Audit()) {
    if (r.actor == kTherapist) actions.push_back(r.action);
  }
  EXPECT_THAT(actions, Contains("cds-hooks/collabcare-patient-view"));
  EXPECT_THAT(actions, Contains(HasSubstr("ListGoals")));
  EXPECT_THAT(actions, Contains(HasSubstr("GetProgress")));
}

TEST_F(CdsHttpTest, BadTokensAreRefusedWith401) {
  const std::string path = "/cds-services/collabcare-patient-view";
  const std::string body = HookBody().dump();
  auto status = [&](const std::string& token) {
    auto res = Post(path, token, body);
    EXPECT_TRUE(res);
    return res ? res->status : -1;
  };
  const std::string aud = Endpoint(kPatientViewId);
  EXPECT_EQ(status(""), 401);  // no Authorization header
  Json expired = Claims(aud);
  expired["iat"] = expired["iat"].get<int64_t>() - 600;
  expired["exp"] = expired["iat"].get<int64_t>() + 300;
  EXPECT_EQ(status(Token(expired)), 401);
  Json no_exp = Claims(aud);
  no_exp.erase("exp");
  EXPECT_EQ(status(Token(no_exp)), 401);
  Json long_lived = Claims(aud);
  long_lived["exp"] = long_lived["iat"].get<int64_t>() + 3600;
  EXPECT_EQ(status(Token(long_lived)), 401);
  EXPECT_EQ(status(Token(Claims("https://other.example.org/cds-services/x"))), 401);
  // A token for the other service of the same base is not for this one.
  EXPECT_EQ(status(Token(Claims(Endpoint(kEncounterStartId)))), 401);
  Json untrusted = Claims(aud);
  untrusted["iss"] = "https://stranger.example.org";
  EXPECT_EQ(status(Token(untrusted)), 401);
  Json no_jti = Claims(aud);
  no_jti.erase("jti");
  EXPECT_EQ(status(Token(no_jti)), 401);
  // Signed by a key the EHR's JWKS does not hold.
  EXPECT_EQ(status(testutil::SignJws({{"alg", "ES384"}, {"kid", kEhrKid}}, Claims(aud),
                                     testutil::OtherP256Key(), "ES256")),
            401);
  EXPECT_EQ(status("not.a.jwt"), 401);
  // The same token twice: the second is a replay.
  const std::string once = Token(Claims(aud));
  EXPECT_EQ(status(once), 200);
  EXPECT_EQ(status(once), 401);
  // The discovery URL as audience is accepted (some clients send it).
  EXPECT_EQ(status(Token(Claims(absl::StrCat(kBase, "/cds-services")))), 200);
  // Refusals are audited, anonymously, with UNAUTHENTICATED.
  int refused = 0;
  for (const store::AuditRecord& r : Audit()) {
    if (r.action == "cds-hooks/collabcare-patient-view" && r.actor == "anonymous" &&
        r.outcome == static_cast<int>(absl::StatusCode::kUnauthenticated)) {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 11);
}

TEST_F(CdsHttpTest, JkuIsFollowedOnlyWhenAllowListed) {
  const std::string path = "/cds-services/collabcare-patient-view";
  Json claims = Claims(Endpoint(kPatientViewId));
  claims["iss"] = kJkuEhr;
  auto sign = [&](const std::string& jku) {
    claims["jti"] = absl::StrCat("jku-", ++jti_);
    Json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "rsa-1"}};
    if (!jku.empty()) header["jku"] = jku;
    return testutil::SignJws(header, claims, testutil::RsaKey(), "RS256");
  };
  auto res = Post(path, sign(kJkuUrl), HookBody().dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = Post(path, sign("https://attacker.example.org/jwks.json"), HookBody().dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_THAT(res->body, HasSubstr("jku not allowed"));
  res = Post(path, sign(""), HookBody().dump());  // this client has no out-of-band keys
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
}

TEST_F(CdsHttpTest, MalformedRequestsAreRefusedWith400NamingTheField) {
  const std::string path = "/cds-services/collabcare-patient-view";
  auto refused = [&](const std::string& body) {
    auto res = Post(path, TokenFor(kPatientViewId), body);
    EXPECT_TRUE(res);
    if (!res) return std::string();
    EXPECT_EQ(res->status, 400) << body;
    return Json::parse(res->body, nullptr, false).value("error", std::string());
  };
  EXPECT_THAT(refused("{\"hook\": "), HasSubstr("not well-formed JSON"));
  EXPECT_THAT(refused("[]"), HasSubstr("JSON object"));
  Json body = HookBody("order-select");
  EXPECT_THAT(refused(body.dump()), HasSubstr("hook does not match"));
  body = HookBody();
  body["context"].erase("userId");
  EXPECT_EQ(refused(body.dump()), "context.userId is missing");
  body = HookBody("patient-view", "Device/secret-device-name");
  const std::string message = refused(body.dump());
  EXPECT_THAT(message, HasSubstr("context.userId must be"));
  EXPECT_THAT(message, Not(HasSubstr("secret-device-name")));  // values are never echoed
  body = HookBody();
  body["context"]["patientId"] = "has spaces";
  EXPECT_THAT(refused(body.dump()), HasSubstr("context.patientId must be a FHIR id"));
  body = HookBody();
  body.erase("hookInstance");
  EXPECT_EQ(refused(body.dump()), "hookInstance is missing");
  body = HookBody();
  body["context"] = "Patient/1";
  EXPECT_EQ(refused(body.dump()), "context must be an object");
}

TEST_F(CdsHttpTest, OversizedBodiesAreRefused) {
  Json body = HookBody();
  body["prefetch"]["padding"] = std::string(300 * 1024, 'x');
  auto res = Post("/cds-services/collabcare-patient-view", TokenFor(kPatientViewId), body.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

TEST_F(CdsHttpTest, UnknownServiceIs404) {
  auto res = Post("/cds-services/no-such-service", TokenFor(kPatientViewId), HookBody().dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(CdsHttpTest, FeedbackIsAuditedWithoutTheComment) {
  const Json cards = CallPatientView(HookBody())["cards"];
  ASSERT_THAT(cards, SizeIs(3));
  const std::string goal_card = cards[1]["uuid"];
  const std::string alert_card = cards[0]["uuid"];
  const Json feedback = {
      {"feedback",
       {{{"card", goal_card},
         {"outcome", "accepted"},
         {"outcomeTimestamp", "2026-09-21T10:00:00Z"}},
        {{"card", alert_card},
         {"outcome", "overridden"},
         {"overrideReason",
          {{"reason", {{"code", "discussed"}, {"system", "https://example.org/reasons"}}},
           {"userComment", "we talked about the alliance privately"}}},
         {"outcomeTimestamp", "2026-09-21T10:01:00.123+02:00"}}}}};
  auto res = Post("/cds-services/collabcare-patient-view/feedback", TokenFor(kPatientViewId),
                  feedback.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  bool accepted = false, overridden = false;
  for (const store::AuditRecord& r : Audit()) {
    EXPECT_THAT(absl::StrCat(r.actor, r.action, r.resource, r.request_id),
                Not(HasSubstr("privately")));
    if (r.action == "cds-hooks/collabcare-patient-view/feedback:accepted") {
      accepted = true;
      EXPECT_EQ(r.actor, kTherapist);
      EXPECT_EQ(r.resource, goal_.name());
      EXPECT_EQ(r.request_id, goal_card);
    }
    if (r.action == "cds-hooks/collabcare-patient-view/feedback:overridden") {
      overridden = true;
      EXPECT_EQ(r.actor, kTherapist);
      EXPECT_EQ(r.resource, "SRS");
      EXPECT_EQ(r.request_id, alert_card);
    }
  }
  EXPECT_TRUE(accepted);
  EXPECT_TRUE(overridden);
}

TEST_F(CdsHttpTest, BadFeedbackIsRefused) {
  const std::string path = "/cds-services/collabcare-patient-view/feedback";
  auto refused = [&](const Json& body) {
    auto res = Post(path, TokenFor(kPatientViewId), body.dump());
    EXPECT_TRUE(res);
    if (!res) return std::string();
    EXPECT_EQ(res->status, 400);
    return Json::parse(res->body).value("error", std::string());
  };
  const std::string uuid = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea";
  EXPECT_EQ(refused(Json::object()), "feedback is missing");
  EXPECT_EQ(refused({{"feedback", Json::array()}}), "feedback is empty");
  EXPECT_EQ(refused({{"feedback",
                      {{{"card", uuid},
                        {"outcome", "maybe"},
                        {"outcomeTimestamp", "2026-09-21T10:00:00Z"}}}}}),
            "feedback[0].outcome must be accepted or overridden");
  EXPECT_EQ(refused({{"feedback",
                      {{{"card", "x"},
                        {"outcome", "accepted"},
                        {"outcomeTimestamp", "2026-09-21T10:00:00Z"}}}}}),
            "feedback[0].card must be a card's uuid");
  EXPECT_EQ(
      refused({{"feedback",
                {{{"card", uuid}, {"outcome", "accepted"}, {"outcomeTimestamp", "yesterday"}}}}}),
      "feedback[0].outcomeTimestamp must be an ISO 8601 instant");
  EXPECT_EQ(refused({{"feedback",
                      {{{"card", uuid},
                        {"outcome", "accepted"},
                        {"overrideReason", {{"userComment", "no"}}},
                        {"outcomeTimestamp", "2026-09-21T10:00:00Z"}}}}}),
            "feedback[0].overrideReason is only for overridden cards");
  // Feedback needs the same signed token as a call.
  auto res = Post(path, "", R"({"feedback": []})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
}

TEST_F(CdsHttpTest, LogsCarryCountsNotWords) {
  SetLogLevel(LogLevel::kDebug);
  ::testing::internal::CaptureStderr();
  const Json json = CallPatientView(HookBody());
  const std::string logs = ::testing::internal::GetCapturedStderr();
  SetLogLevel(LogLevel::kInfo);
  ASSERT_THAT(json["cards"], SizeIs(3));
  EXPECT_THAT(logs, AllOf(HasSubstr("\"event\":\"cds_call\""),
                          HasSubstr("\"service\":\"collabcare-patient-view\""),
                          HasSubstr("\"cards\":\"3\""), HasSubstr("latency_ms")));
  EXPECT_THAT(logs, Not(HasSubstr("school week")));
  EXPECT_THAT(logs, Not(HasSubstr("Sam")));
  EXPECT_THAT(logs, Not(HasSubstr(kTherapist)));
}

TEST(CdsOptionsTest, UnusableOptionsAreRefusedNamingTheOption) {
  testing::FakeClock clock;
  testing::SequentialIds ids;
  service::EventHub hub;
  auto store = store::NewMemoryStore();
  service::CollabService service(*store, clock, ids, hub, {});
  auto uuids = NewRandomUuidSource();
  CdsOptions options;
  options.base_url = "apps.example.org";
  options.app_launch_url = kLaunch;
  auto made = NewCdsHooksService(service, *store, clock, *uuids, options);
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(made.status().message(), HasSubstr("options.base_url"));
  options.base_url = std::string(kBase) + "/";
  made = NewCdsHooksService(service, *store, clock, *uuids, options);
  EXPECT_THAT(made.status().message(), HasSubstr("options.clients is empty"));
  TrustedClient client;
  client.issuer = kEhr;
  options.clients = {client};
  made = NewCdsHooksService(service, *store, clock, *uuids, options);
  EXPECT_THAT(made.status().message(), HasSubstr("neither a verifier nor an allowed jku"));
}

// The identity additions CDS relies on, through the public verifier.
TEST(CdsVerifierTest, CallerCarriesJtiAndMatchedAudiencesWithoutFhirUser) {
  testing::FakeClock clock;
  CdsOptions options;
  options.base_url = kBase;
  identity::VerifierOptions v = VerifierOptionsFor(options, kEhr, clock);
  v.jwks_json = testutil::Jwks({testutil::P256Key().Jwk("k", "ES256")});
  auto verifier = identity::NewJwksVerifier(v);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const int64_t now = absl::ToUnixSeconds(clock.Now());
  Json claims = {{"iss", kEhr},
                 {"aud", {"https://unrelated.example.org", Endpoint(kPatientViewId)}},
                 {"iat", now},
                 {"exp", now + 60},
                 {"jti", "abc"}};
  auto caller = (*verifier)->Verify(
      testutil::SignJws({{"alg", "ES256"}, {"kid", "k"}}, claims, testutil::P256Key(), "ES256"));
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->token_id, "abc");
  EXPECT_EQ(caller->person, "");
  EXPECT_THAT(caller->audiences, ::testing::ElementsAre(Endpoint(kPatientViewId)));
  claims.erase("jti");
  caller = (*verifier)->Verify(
      testutil::SignJws({{"alg", "ES256"}, {"kid", "k"}}, claims, testutil::P256Key(), "ES256"));
  EXPECT_EQ(caller.status().message(), "missing jti");
  // Routing facts are read before verification, without trusting them.
  auto routing = identity::PeekTokenRouting(testutil::SignJws(
      {{"alg", "ES256"}, {"jku", "https://x.example/jwks"}}, claims, testutil::P256Key(), "ES256"));
  ASSERT_TRUE(routing.ok());
  EXPECT_EQ(routing->issuer, kEhr);
  EXPECT_EQ(routing->jku, "https://x.example/jwks");
  EXPECT_EQ(identity::PeekTokenRouting("a.b").status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace collabcare::cds
