// The FHIR client against a loopback HTTP server playing the host EHR: headers, interactions,
// paging, bundles, and every way a host's answer can be wrong.
#include "adapters/host/fhir_client.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/host/host_test_util.h"
#include "tests/testing/fakes.h"

namespace collabcare::host {
namespace {

using nlohmann::json;

constexpr char kFhirJson[] = "application/fhir+json";

// Hands out "tok-1", "tok-2", … ; Invalidate moves on to the next.
class CountingTokens final : public AccessTokenSource {
 public:
  absl::StatusOr<std::string> GetToken() override {
    std::lock_guard lock(mu_);
    return absl::StrCat("tok-", generation_);
  }
  void Invalidate(const std::string& token) override {
    std::lock_guard lock(mu_);
    if (token == absl::StrCat("tok-", generation_)) ++generation_;
  }

 private:
  std::mutex mu_;
  int generation_ = 1;
};

class FhirClientTest : public ::testing::Test {
 protected:
  // Starts the server (after the test registered handlers) and builds the client.
  void Start(CurlTransportOptions transport_options = {}, FhirClientOptions options = {}) {
    server_.Start();
    auto transport = NewCurlTransport(transport_options);
    ASSERT_TRUE(transport.ok()) << transport.status();
    transport_ = std::move(transport).value();
    options.base_url = base();
    auto client = NewFhirClient(options, transport_.get(), &tokens_, &clock_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(client).value();
  }
  std::string base() const { return server_.url() + "/fhir"; }
  static void Reply(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), kFhirJson);
  }

  testutil::TestServer server_;
  testing::FakeClock clock_;
  CountingTokens tokens_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<FhirClient> client_;
};

const json kGoal = {{"resourceType", "Goal"},
                    {"id", "g1"},
                    {"meta", {{"versionId", "3"}}},
                    {"lifecycleStatus", "active"}};

TEST_F(FhirClientTest, ReadSendsFhirHeadersAndBearerToken) {
  std::string accept, authorization;
  server_.server().Get("/fhir/Goal/g1", [&](const httplib::Request& req, httplib::Response& res) {
    accept = req.get_header_value("Accept");
    authorization = req.get_header_value("Authorization");
    res.set_header("ETag", "W/\"3\"");
    Reply(res, 200, kGoal);
  });
  Start();
  auto result = client_->Read("Goal", "g1");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->http_status, 200);
  EXPECT_EQ(result->resource, kGoal);
  EXPECT_EQ(result->etag, "W/\"3\"");
  EXPECT_EQ(result->version_id, "3");
  EXPECT_EQ(result->id, "g1");
  EXPECT_EQ(json::parse(result->body), kGoal);
  EXPECT_EQ(accept, kFhirJson);
  EXPECT_EQ(authorization, "Bearer tok-1");
}

TEST_F(FhirClientTest, ReadRefusesBadArguments) {
  Start();
  EXPECT_EQ(client_->Read("goal", "g1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Read("Goal", "../metadata").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FhirClientTest, ReadMapsHttpErrors) {
  server_.server().Get("/fhir/Goal/gone", [&](const httplib::Request&, httplib::Response& res) {
    Reply(res, 410,
          {{"resourceType", "OperationOutcome"},
           {"issue", {{{"severity", "error"}, {"code", "deleted"}}}}});
  });
  Start();
  auto result = client_->Read("Goal", "gone");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(HttpStatusOf(result.status()), 410);
  EXPECT_NE(result.status().message().find("read Goal: HTTP 410; issues: deleted"),
            absl::string_view::npos)
      << result.status();
}

TEST_F(FhirClientTest, WrongResourceTypeIsAClearError) {
  server_.server().Get("/fhir/Goal/g1", [&](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"resourceType", "Patient"}, {"id", "g1"}, {"name", {{{"text", "Jo"}}}}});
  });
  Start();
  auto result = client_->Read("Goal", "g1");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("a Patient where a Goal was expected"),
            absl::string_view::npos)
      << result.status();
  EXPECT_EQ(result.status().message().find("Jo"), absl::string_view::npos);
}

TEST_F(FhirClientTest, NonJsonBodyIsAClearError) {
  server_.server().Get("/fhir/Goal/g1", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html><body>Welcome, Jo</body></html>", "text/html");
  });
  server_.server().Get("/fhir/Goal/g2", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"resourceType": "Goal", "id": "g2", )", kFhirJson);  // truncated
  });
  server_.server().Get("/fhir/Goal/g3", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"(["not", "a", "resource"])", kFhirJson);
  });
  Start();
  for (const char* id : {"g1", "g2"}) {
    auto result = client_->Read("Goal", id);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
    EXPECT_NE(result.status().message().find("not JSON"), absl::string_view::npos)
        << result.status();
    EXPECT_EQ(result.status().message().find("Jo"), absl::string_view::npos);
  }
  EXPECT_EQ(client_->Read("Goal", "g3").status().code(), absl::StatusCode::kInternal);
}

TEST_F(FhirClientTest, AbsurdlyDeepJsonIsRefused) {
  server_.server().Get("/fhir/Goal/g1", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(500000, '[') + std::string(500000, ']'), kFhirJson);
  });
  Start();
  auto result = client_->Read("Goal", "g1");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("nested deeper"), absl::string_view::npos);
}

TEST_F(FhirClientTest, HugeBodyIsRefused) {
  server_.server().Get("/fhir/Goal/g1", [&](const httplib::Request&, httplib::Response& res) {
    json goal = kGoal;
    goal["description"] = {{"text", std::string(300000, 'z')}};
    Reply(res, 200, goal);
  });
  CurlTransportOptions small;
  small.max_response_bytes = 64 * 1024;
  Start(small);
  EXPECT_EQ(client_->Read("Goal", "g1").status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(FhirClientTest, CreateSendsIfNoneExist) {
  std::string if_none_exist, content_type, prefer, body;
  server_.server().Post("/fhir/Goal", [&](const httplib::Request& req, httplib::Response& res) {
    if_none_exist = req.get_header_value("If-None-Exist");
    content_type = req.get_header_value("Content-Type");
    prefer = req.get_header_value("Prefer");
    body = req.body;
    json created = json::parse(req.body);
    created["id"] = "new1";
    created["meta"] = {{"versionId", "1"}};
    res.set_header("Location", base() + "/Goal/new1/_history/1");
    res.set_header("ETag", "W/\"1\"");
    Reply(res, 201, created);
  });
  Start();
  const json goal = {{"resourceType", "Goal"}, {"lifecycleStatus", "proposed"}};
  auto result = client_->Create(goal, IdentifierQuery("https://collabcare.dev/goal", "abc,1|x"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->http_status, 201);
  EXPECT_EQ(result->id, "new1");
  EXPECT_EQ(result->version_id, "1");
  EXPECT_EQ(result->location, base() + "/Goal/new1/_history/1");
  // cpp-httplib percent-decodes header values; IdentifierQueryTest checks the encoding.
  EXPECT_EQ(if_none_exist, "identifier=https://collabcare.dev/goal|abc\\,1\\|x");
  EXPECT_EQ(content_type, "application/fhir+json; charset=utf-8");
  EXPECT_EQ(prefer, "return=representation");
  EXPECT_EQ(json::parse(body), goal);
}

TEST_F(FhirClientTest, CreateWithoutBodyTakesIdFromLocation) {
  server_.server().Post("/fhir/Goal", [&](const httplib::Request& req, httplib::Response& res) {
    EXPECT_FALSE(req.has_header("If-None-Exist"));
    res.status = 201;
    res.set_header("Location", base() + "/Goal/loc7/_history/2");
  });
  Start();
  auto result = client_->Create({{"resourceType", "Goal"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->resource.is_null());
  EXPECT_EQ(result->id, "loc7");
}

TEST_F(FhirClientTest, CreateRefusesResourceWithoutTypeOrWithBadUtf8) {
  Start();
  EXPECT_EQ(client_->Create({{"id", "x"}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Create({{"resourceType", "Goal"}, {"note", "\xff\xfe"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FhirClientTest, UpdateSendsIfMatchAndMapsConflict) {
  server_.server().Put("/fhir/Goal/g1", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("If-Match") != "W/\"3\"") {
      Reply(res, 412,
            {{"resourceType", "OperationOutcome"},
             {"issue", {{{"severity", "error"}, {"code", "conflict"}}}}});
      return;
    }
    json updated = json::parse(req.body);
    updated["meta"] = {{"versionId", "4"}};
    res.set_header("ETag", "W/\"4\"");
    Reply(res, 200, updated);
  });
  Start();
  auto ok = client_->Update(kGoal, "3");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->version_id, "4");
  auto stale = client_->Update(kGoal, "2");
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
  EXPECT_EQ(HttpStatusOf(stale.status()), 412);
  EXPECT_EQ(client_->Update({{"resourceType", "Goal"}}, "3").status().code(),
            absl::StatusCode::kInvalidArgument);  // no id
  EXPECT_EQ(client_->Update(kGoal, "3\"x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FhirClientTest, ConditionalUpdateUsesIdentifierSearch) {
  std::string identifier;
  server_.server().Put("/fhir/Goal", [&](const httplib::Request& req, httplib::Response& res) {
    identifier = req.get_param_value("identifier");
    if (identifier == "sys|dup") {
      Reply(res, 412,
            {{"resourceType", "OperationOutcome"},
             {"issue", {{{"severity", "error"}, {"code", "multiple-matches"}}}}});
      return;
    }
    Reply(res, 201, json::parse(req.body));
  });
  Start();
  auto created = client_->ConditionalUpdate(kGoal, "sys", "v,1");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->http_status, 201);
  EXPECT_EQ(identifier, "sys|v\\,1");
  auto ambiguous = client_->ConditionalUpdate(kGoal, "sys", "dup");
  EXPECT_EQ(ambiguous.status().code(), absl::StatusCode::kFailedPrecondition) << ambiguous.status();
}

TEST_F(FhirClientTest, TransactionAndBatchPostToBase) {
  std::vector<std::string> kinds;
  server_.server().Post("/fhir", [&](const httplib::Request& req, httplib::Response& res) {
    EXPECT_EQ(req.get_header_value("Content-Type"), "application/fhir+json; charset=utf-8");
    const json bundle = json::parse(req.body);
    const std::string type = bundle["type"];
    kinds.push_back(type);
    json reply = {
        {"resourceType", "Bundle"}, {"type", type + "-response"}, {"entry", json::array()}};
    for (size_t i = 0; i < bundle["entry"].size(); ++i) {
      reply["entry"].push_back({{"response", {{"status", "201 Created"}}}});
    }
    Reply(res, 200, reply);
  });
  Start();
  json transaction = {
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       {{{"fullUrl", "urn:uuid:0b8f7c1e-0000-4000-8000-000000000001"},
         {"resource", {{"resourceType", "Goal"}}},
         {"request",
          {{"method", "POST"}, {"url", "Goal"}, {"ifNoneExist", "identifier=sys|1"}}}}}}};
  auto reply = client_->Transaction(transaction);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ((*reply)["type"], "transaction-response");
  EXPECT_EQ((*reply)["entry"].size(), 1u);
  json batch = transaction;
  batch["type"] = "batch";
  ASSERT_TRUE(client_->Batch(batch).ok());
  // Wrong bundle types never leave the process.
  EXPECT_EQ(client_->Transaction(batch).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Batch(kGoal).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kinds, (std::vector<std::string>{"transaction", "batch"}));
}

// The DOM overloads re-serialize (1.50 → 1.5); the text overloads send the caller's bytes.
TEST_F(FhirClientTest, BundleTextIsSentByteForByte) {
  std::vector<std::string> bodies;
  server_.server().Post("/fhir", [&](const httplib::Request& req, httplib::Response& res) {
    bodies.push_back(req.body);
    const std::string type = json::parse(req.body)["type"];
    Reply(res, 200, {{"resourceType", "Bundle"}, {"type", type + "-response"}});
  });
  Start();
  const std::string text =
      R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)"
      R"({"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"h"}},)"
      R"("request":{"method":"POST","url":"Observation"}}]})";
  auto reply = client_->Transaction(text);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ((*reply)["type"], "transaction-response");
  std::string batch = text;
  batch.replace(batch.find("transaction"), 11, "batch");
  ASSERT_TRUE(client_->Batch(absl::string_view(batch)).ok());
  ASSERT_TRUE(client_->Transaction(json::parse(text)).ok());
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0], text);
  EXPECT_NE(bodies[0].find(R"("value":1.50,)"), std::string::npos) << bodies[0];
  EXPECT_EQ(bodies[1], batch);
  EXPECT_EQ(bodies[2].find("1.50"), std::string::npos);  // what the DOM overload does

  // Text that is not a Bundle of the right type, or not JSON, never leaves the process.
  EXPECT_EQ(client_->Transaction(batch).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Batch(text).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Transaction(std::string(R"({"resourceType":"Bundle",)")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_
                ->Transaction(std::string("{\"resourceType\":\"Bundle\",\"type\":"
                                          "\"transaction\",\"id\":\"\xff\"}"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bodies.size(), 3u);
}

TEST_F(FhirClientTest, TransactionAnsweredWithWrongBundleIsAnError) {
  server_.server().Post("/fhir", [&](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"resourceType", "Bundle"}, {"type", "searchset"}});
  });
  Start();
  auto reply = client_->Transaction({{"resourceType", "Bundle"}, {"type", "transaction"}});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInternal) << reply.status();
}

// Three pages of two Goals each, linked by `next` under `next_base` (default: this server).
void ServePages(testutil::TestServer& server, const std::string& next_base,
                std::atomic<int>* requests) {
  server.server().Get("/fhir/Goal", [=](const httplib::Request& req, httplib::Response& res) {
    ++*requests;
    const std::string link_base =
        next_base.empty() ? "http://" + req.get_header_value("Host") + "/fhir" : next_base;
    const int page = req.has_param("page") ? std::stoi(req.get_param_value("page")) : 1;
    EXPECT_EQ(req.get_param_value("patient"), "Patient/p1");
    json bundle = {{"resourceType", "Bundle"}, {"type", "searchset"}, {"entry", json::array()}};
    for (int i = 0; i < 2; ++i) {
      bundle["entry"].push_back(
          {{"resource", {{"resourceType", "Goal"}, {"id", absl::StrCat("g", page, i)}}}});
    }
    bundle["link"] = {{{"relation", "self"}, {"url", "ignored"}}};
    if (page < 3) {
      bundle["link"].push_back(
          {{"relation", "next"},
           {"url", absl::StrCat(link_base, "/Goal?patient=Patient%2Fp1&page=", page + 1)}});
    }
    res.set_content(bundle.dump(), kFhirJson);
  });
}

TEST_F(FhirClientTest, SearchFollowsNextLinks) {
  std::atomic<int> requests{0};
  ServePages(server_, "", &requests);
  Start();
  auto result = client_->Search("Goal", {{"patient", "Patient/p1"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->complete);
  EXPECT_EQ(result->pages, 3);
  EXPECT_EQ(requests.load(), 3);
  std::vector<std::string> ids;
  for (const auto& entry : result->bundle["entry"]) ids.push_back(entry["resource"]["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"g10", "g11", "g20", "g21", "g30", "g31"}));
  EXPECT_EQ(result->bundle["resourceType"], "Bundle");
}

TEST_F(FhirClientTest, SearchStopsAtPageBound) {
  std::atomic<int> requests{0};
  ServePages(server_, "", &requests);
  Start();
  auto result = client_->Search("Goal", {{"patient", "Patient/p1"}}, 1);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->complete);
  EXPECT_EQ(result->pages, 1);
  EXPECT_EQ(result->bundle["entry"].size(), 2u);
  EXPECT_EQ(requests.load(), 1);
}

TEST_F(FhirClientTest, SearchNeverSendsTheTokenToAnotherOrigin) {
  std::atomic<int> requests{0};
  testutil::TestServer elsewhere;
  std::atomic<int> elsewhere_hits{0};
  elsewhere.server().Get(".*", [&](const httplib::Request&, httplib::Response& res) {
    ++elsewhere_hits;
    res.set_content("{}", kFhirJson);
  });
  elsewhere.Start();
  ServePages(server_, elsewhere.url() + "/fhir", &requests);
  Start();
  auto result = client_->Search("Goal", {{"patient", "Patient/p1"}});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
  EXPECT_EQ(elsewhere_hits.load(), 0);
}

TEST_F(FhirClientTest, SearchStopsAtEntryBound) {
  std::atomic<int> requests{0};
  ServePages(server_, "", &requests);
  FhirClientOptions options;
  options.max_search_entries = 3;
  Start({}, options);
  auto result = client_->Search("Goal", {{"patient", "Patient/p1"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->complete);
  EXPECT_EQ(result->bundle["entry"].size(), 3u);
}

TEST_F(FhirClientTest, CapabilitiesReadsMetadata) {
  server_.server().Get("/fhir/metadata", [&](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"resourceType", "CapabilityStatement"}, {"fhirVersion", "4.0.1"}});
  });
  Start();
  auto capabilities = client_->Capabilities();
  ASSERT_TRUE(capabilities.ok()) << capabilities.status();
  EXPECT_EQ((*capabilities)["fhirVersion"], "4.0.1");
}

TEST_F(FhirClientTest, RetriesOnceWithAFreshTokenAfter401) {
  std::vector<std::string> tokens_seen;
  std::mutex mu;
  server_.server().Get("/fhir/Goal/g1", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    tokens_seen.push_back(req.get_header_value("Authorization"));
    if (req.get_header_value("Authorization") == "Bearer tok-1") {
      res.status = 401;
      return;
    }
    Reply(res, 200, kGoal);
  });
  server_.server().Get("/fhir/Goal/never",
                       [&](const httplib::Request&, httplib::Response& res) { res.status = 401; });
  Start();
  ASSERT_TRUE(client_->Read("Goal", "g1").ok());
  EXPECT_EQ(tokens_seen, (std::vector<std::string>{"Bearer tok-1", "Bearer tok-2"}));
  EXPECT_EQ(client_->Read("Goal", "never").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(FhirClientTest, RateLimitCarriesRetryAfter) {
  server_.server().Post("/fhir/Goal", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "30");
  });
  Start();
  auto result = client_->Create({{"resourceType", "Goal"}});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(RetryAfterOf(result.status()), absl::Seconds(30));
}

TEST_F(FhirClientTest, HostOverridesApply) {
  server_.server().Get("/fhir/Goal/g1",
                       [&](const httplib::Request&, httplib::Response& res) { res.status = 500; });
  FhirClientOptions options;
  options.status_overrides.http_status[500] = absl::StatusCode::kInternal;
  Start({}, options);
  EXPECT_EQ(client_->Read("Goal", "g1").status().code(), absl::StatusCode::kInternal);
}

TEST(FhirClientFactoryTest, RefusesBadBaseUrls) {
  testing::FakeClock clock;
  auto transport = NewCurlTransport({});
  ASSERT_TRUE(transport.ok());
  for (const char* base :
       {"", "ehr.example/fhir", "ftp://ehr.example", "https://", "https://ehr.example/fhir?x=1"}) {
    FhirClientOptions options;
    options.base_url = base;
    EXPECT_EQ(NewFhirClient(options, transport->get(), nullptr, &clock).status().code(),
              absl::StatusCode::kInvalidArgument)
        << base;
  }
}

TEST(IdentifierQueryTest, EscapesAndEncodes) {
  EXPECT_EQ(IdentifierQuery("https://collabcare.dev/goal", "abc,1|x"),
            "identifier=https%3A%2F%2Fcollabcare.dev%2Fgoal%7Cabc%5C%2C1%5C%7Cx");
  EXPECT_EQ(IdentifierQuery("", "a$b"), "identifier=a%5C%24b");
  EXPECT_EQ(UrlEncode("a b&c=d~_.-"), "a%20b%26c%3Dd~_.-");
}

TEST(JsonTooDeepTest, CountsOnlyStructuralBrackets) {
  EXPECT_FALSE(JsonTooDeep(R"({"a":[1,{"b":"[[[[[[["}]})", 3));
  EXPECT_TRUE(JsonTooDeep(R"({"a":[{"b":[]}]})", 3));
  EXPECT_FALSE(JsonTooDeep(R"({"a":"\"[[[[["})", 1));
}

}  // namespace
}  // namespace collabcare::host
