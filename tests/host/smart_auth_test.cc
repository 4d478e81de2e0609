// SMART Backend Services against a loopback authorization server that checks the client
// assertion with OpenSSL against the JWKS collabcare publishes, then issues tokens.
#include "adapters/host/smart_auth.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/host/fhir_client.h"
#include "gtest/gtest.h"
#include "tests/host/host_test_util.h"
#include "tests/testing/fakes.h"

namespace collabcare::host {
namespace {

using nlohmann::json;

constexpr char kClientId[] = "collabcare-client";
constexpr char kScope[] = "system/Goal.write system/DocumentReference.write";

const std::string& RsaPem() {
  static const std::string* pem = new std::string(testutil::NewRsaKeyPem(2048));
  return *pem;
}
const std::string& P384Pem() {
  static const std::string* pem = new std::string(testutil::NewEcKeyPem("P-384"));
  return *pem;
}

// The authorization server and FHIR server in one: discovery, token endpoint, one Goal.
class SmartAuthTest : public ::testing::TestWithParam<bool /*rsa*/> {
 protected:
  void SetUp() override { pem_ = GetParam() ? RsaPem() : P384Pem(); }

  // Registers collabcare's JWKS, the handlers, and starts the server.
  void Start() {
    auto jwks = PublicJwksFromPrivateKey(pem_);
    ASSERT_TRUE(jwks.ok()) << jwks.status();
    registered_jwks_ = json::parse(*jwks);
    server_.server().Get("/fhir/.well-known/smart-configuration",
                         [this](const httplib::Request& req, httplib::Response& res) {
                           ++discoveries_;
                           json config = {
                               {"token_endpoint", Origin(req) + "/auth/token"},
                               {"token_endpoint_auth_methods_supported", {"private_key_jwt"}},
                               {"token_endpoint_auth_signing_alg_values_supported", algs_},
                               {"grant_types_supported", {"client_credentials"}}};
                           res.set_content(config.dump(), "application/json");
                         });
    server_.server().Post("/auth/token", [this](const httplib::Request& req,
                                                httplib::Response& res) { Token(req, res); });
    server_.server().Get(
        "/fhir/Goal/g1", [this](const httplib::Request& req, httplib::Response& res) {
          authorizations_.push_back(req.get_header_value("Authorization"));
          res.set_content(R"({"resourceType":"Goal","id":"g1"})", "application/fhir+json");
        });
    server_.Start();
    auto transport = NewCurlTransport({});
    ASSERT_TRUE(transport.ok());
    transport_ = std::move(transport).value();
  }

  std::unique_ptr<AccessTokenSource> Source(SmartBackendOptions options = {}) {
    options.fhir_base_url = server_.url() + "/fhir";
    options.client_id = kClientId;
    options.scope = kScope;
    options.private_key_pem = pem_;
    auto source = NewSmartBackendTokenSource(options, transport_.get(), &clock_);
    EXPECT_TRUE(source.ok()) << source.status();
    return std::move(source).value();
  }

  static std::string Origin(const httplib::Request& req) {
    return "http://" + req.get_header_value("Host");
  }

  // Checks the request as a SMART authorization server must, then issues "tok-N".
  void Token(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    ++token_requests_;
    auto refuse = [&](const std::string& why) {
      failures_.push_back(why);
      res.status = 400;
      res.set_content(R"({"error":"invalid_client","error_description":"Dr. Jo's key"})",
                      "application/json");
    };
    if (reply_status_ != 200) {
      res.status = reply_status_;
      if (reply_status_ == 503) res.set_header("Retry-After", "5");
      res.set_content(reply_body_, "application/json");
      return;
    }
    if (req.get_header_value("Content-Type") != "application/x-www-form-urlencoded") {
      return refuse("content type");
    }
    auto form = testutil::ParseForm(req.body);
    if (form["grant_type"] != "client_credentials") return refuse("grant_type");
    if (form["scope"] != kScope) return refuse("scope");
    if (form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return refuse("client_assertion_type");
    }
    json header, claims;
    const json& jwk = registered_jwks_["keys"][0];
    if (!testutil::VerifyJws(form["client_assertion"], jwk, &header, &claims)) {
      return refuse("signature");
    }
    if (header["alg"] != (GetParam() ? "RS384" : "ES384")) return refuse("alg");
    if (header["typ"] != "JWT") return refuse("typ");
    if (header["kid"] != jwk["kid"]) return refuse("kid");
    if (claims["iss"] != kClientId || claims["sub"] != kClientId) return refuse("iss/sub");
    if (claims["aud"] != Origin(req) + "/auth/token") return refuse("aud");
    const int64_t now = absl::ToUnixSeconds(clock_.Now());
    if (!claims["exp"].is_number_integer() || claims["exp"].get<int64_t>() <= now ||
        claims["exp"].get<int64_t>() > now + 300) {
      return refuse("exp");
    }
    if (!claims["jti"].is_string() || claims["jti"].get<std::string>().size() < 16 ||
        !jtis_.insert(claims["jti"].get<std::string>()).second) {
      return refuse("jti");
    }
    res.set_content(json{{"access_token", absl::StrCat("tok-", ++issued_)},
                         {"token_type", "Bearer"},
                         {"expires_in", 600},
                         {"scope", kScope}}
                        .dump(),
                    "application/json");
  }

  int token_requests() {
    std::lock_guard lock(mu_);
    return token_requests_;
  }
  std::vector<std::string> failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }

  std::string pem_;
  json registered_jwks_;
  json algs_ = {"RS384", "ES384"};
  int reply_status_ = 200;  // other values: answer with reply_body_ instead of checking
  std::string reply_body_;
  testing::FakeClock clock_;
  testutil::TestServer server_;
  std::unique_ptr<HttpTransport> transport_;
  std::atomic<int> discoveries_{0};
  std::vector<std::string> authorizations_;

  std::mutex mu_;
  int token_requests_ = 0;
  int issued_ = 0;
  std::set<std::string> jtis_;
  std::vector<std::string> failures_;
};

TEST_P(SmartAuthTest, DiscoversSignsCachesAndRefreshes) {
  Start();
  auto source = Source();
  auto first = source->GetToken();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "tok-1");
  EXPECT_TRUE(failures().empty()) << failures()[0];
  EXPECT_EQ(discoveries_.load(), 1);

  EXPECT_EQ(source->GetToken().value_or(""), "tok-1");
  EXPECT_EQ(token_requests(), 1);  // cached: no second request

  clock_.Advance(absl::Minutes(8));  // 600 s token, refreshed 60 s before expiry
  EXPECT_EQ(source->GetToken().value_or(""), "tok-1");
  EXPECT_EQ(token_requests(), 1);

  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(source->GetToken().value_or(""), "tok-2");
  EXPECT_EQ(token_requests(), 2);
  EXPECT_EQ(discoveries_.load(), 1);  // the endpoint is discovered once
  EXPECT_TRUE(failures().empty());
}

TEST_P(SmartAuthTest, InvalidateFetchesANewToken) {
  Start();
  auto source = Source();
  EXPECT_EQ(source->GetToken().value_or(""), "tok-1");
  source->Invalidate("tok-unrelated");
  EXPECT_EQ(source->GetToken().value_or(""), "tok-1");
  source->Invalidate("tok-1");
  EXPECT_EQ(source->GetToken().value_or(""), "tok-2");
  EXPECT_EQ(token_requests(), 2);
}

TEST_P(SmartAuthTest, ConcurrentCallersShareOneTokenRequest) {
  Start();
  auto source = Source();
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (source->GetToken().value_or("") == "tok-1") ++good;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 8);
  EXPECT_EQ(token_requests(), 1);
}

TEST_P(SmartAuthTest, FhirClientSendsTheToken) {
  Start();
  auto source = Source();
  FhirClientOptions options;
  options.base_url = server_.url() + "/fhir";
  auto client = NewFhirClient(options, transport_.get(), source.get(), &clock_);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Read("Goal", "g1").ok());
  ASSERT_TRUE((*client)->Read("Goal", "g1").ok());
  EXPECT_EQ(authorizations_, (std::vector<std::string>{"Bearer tok-1", "Bearer tok-1"}));
  EXPECT_EQ(token_requests(), 1);
}

TEST_P(SmartAuthTest, RefusedClientIsUnauthenticatedWithoutEchoingTheServer) {
  Start();
  SmartBackendOptions options;
  options.key_id = "not-the-registered-kid";
  auto source = Source(options);
  auto token = source->GetToken();
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated) << token.status();
  EXPECT_NE(token.status().message().find("oauth error invalid_client"), absl::string_view::npos);
  EXPECT_EQ(token.status().message().find("Jo"), absl::string_view::npos);
  EXPECT_EQ(failures(), (std::vector<std::string>{"kid"}));
}

TEST_P(SmartAuthTest, TokenEndpointOutageIsUnavailableWithRetryAfter) {
  reply_status_ = 503;
  Start();
  auto source = Source();
  auto token = source->GetToken();
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
  EXPECT_EQ(RetryAfterOf(token.status()), absl::Seconds(5));
}

TEST_P(SmartAuthTest, GarbageTokenResponsesAreErrors) {
  reply_status_ = 200;
  Start();
  auto source = Source();
  {
    std::lock_guard lock(mu_);
    reply_status_ = 201;  // 2xx but not checked: answer with reply_body_
    reply_body_ = "<html>hello</html>";
  }
  EXPECT_EQ(source->GetToken().status().code(), absl::StatusCode::kInternal);
  {
    std::lock_guard lock(mu_);
    reply_body_ = R"({"access_token":"a b","token_type":"Bearer"})";
  }
  EXPECT_EQ(source->GetToken().status().code(), absl::StatusCode::kInternal);
  {
    std::lock_guard lock(mu_);
    reply_body_ = R"({"access_token":"t","token_type":"MAC","expires_in":60})";
  }
  EXPECT_EQ(source->GetToken().status().code(), absl::StatusCode::kInternal);
}

TEST_P(SmartAuthTest, DiscoveryMustOfferOurAlgorithm) {
  algs_ = {"RS256"};
  Start();
  auto token = Source()->GetToken();
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition) << token.status();
  EXPECT_EQ(token_requests(), 0);
}

TEST_P(SmartAuthTest, ConfiguredTokenEndpointSkipsDiscovery) {
  Start();
  SmartBackendOptions options;
  options.token_endpoint = server_.url() + "/auth/token";
  auto token = Source(options)->GetToken();
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(discoveries_.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Keys, SmartAuthTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Rs384" : "Es384";
                         });

TEST(PublicJwksTest, RsaKey) {
  auto jwks = PublicJwksFromPrivateKey(RsaPem());
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  const json parsed = json::parse(*jwks);
  ASSERT_EQ(parsed["keys"].size(), 1u);
  const json& jwk = parsed["keys"][0];
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["alg"], "RS384");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["kid"], testutil::Thumbprint(jwk));
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_FALSE(jwk.contains("d"));  // never the private exponent
}

TEST(PublicJwksTest, P384Key) {
  auto jwks = PublicJwksFromPrivateKey(P384Pem());
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  const json jwk = json::parse(*jwks)["keys"][0];
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-384");
  EXPECT_EQ(jwk["alg"], "ES384");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["kid"], testutil::Thumbprint(jwk));
  EXPECT_EQ(testutil::B64UrlDecode(jwk["x"].get<std::string>()).size(), 48u);
  EXPECT_FALSE(jwk.contains("d"));
}

TEST(PublicJwksTest, RefusesKeysSmartCannotUse) {
  EXPECT_EQ(PublicJwksFromPrivateKey(testutil::NewEcKeyPem("P-256")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicJwksFromPrivateKey(testutil::NewRsaKeyPem(1024)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicJwksFromPrivateKey("not a key").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SmartOptionsTest, RefusesUnusableOptions) {
  testing::FakeClock clock;
  auto transport = NewCurlTransport({});
  ASSERT_TRUE(transport.ok());
  SmartBackendOptions options;
  options.fhir_base_url = "https://ehr.example/fhir";
  options.client_id = kClientId;
  options.private_key_pem = P384Pem();
  options.assertion_lifetime = absl::Minutes(6);  // SMART allows at most 5
  EXPECT_EQ(NewSmartBackendTokenSource(options, transport->get(), &clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.assertion_lifetime = absl::Minutes(4);
  options.client_id = "";
  EXPECT_EQ(NewSmartBackendTokenSource(options, transport->get(), &clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.client_id = kClientId;
  EXPECT_TRUE(NewSmartBackendTokenSource(options, transport->get(), &clock).ok());
}

}  // namespace
}  // namespace collabcare::host
