// --jwks_url: keys fetched from a real local HTTP server, rotation picked up on an unknown key,
// refreshes rate-limited.
#include "plugin/server/remote_jwks.h"

#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/fakes.h"

namespace collabcare::server {
namespace {

constexpr char kIssuer[] = "https://idp.clinic.example";
constexpr char kAudience[] = "collabcare";

// A signing key with its JWKS, made in a fresh folder.
struct Key {
  explicit Key() {
    char tmpl[] = "/tmp/collabcare-jwks-XXXXXX";
    dir = mkdtemp(tmpl);
    identity = *identity::EnsureDevIdentity(dir);
  }
  ~Key() { std::filesystem::remove_all(dir); }
  std::string Token(absl::Time now) const {
    identity::TokenClaims claims;
    claims.issuer = kIssuer;
    claims.audience = kAudience;
    claims.fhir_user = "Practitioner/9";
    return *identity::MintToken(identity.private_key_pem, identity.key_id, claims, now);
  }
  std::string dir;
  identity::DevIdentity identity;
};

class RemoteJwksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/jwks.json", [this](const httplib::Request&, httplib::Response& res) {
      ++fetches_;
      std::lock_guard<std::mutex> lock(mu_);
      res.set_content(jwks_, "application/json");
    });
    server_.set_keep_alive_max_count(1);  // no idle connection to wait for at stop()
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
    transport_ = *host::NewCurlTransport({});
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  void Publish(const std::string& jwks) {
    std::lock_guard<std::mutex> lock(mu_);
    jwks_ = jwks;
  }
  RemoteJwksOptions Options() {
    RemoteJwksOptions options;
    options.url = "http://127.0.0.1:" + std::to_string(port_) + "/jwks.json";
    options.verifier.issuer = kIssuer;
    options.verifier.audience = kAudience;
    options.verifier.clock = &clock_;
    return options;
  }

  testing::FakeClock clock_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::string jwks_;
  std::atomic<int> fetches_{0};
  std::unique_ptr<host::HttpTransport> transport_;
};

TEST_F(RemoteJwksTest, VerifiesWithFetchedKeysAndPicksUpARotation) {
  Key first, second;
  Publish(first.identity.jwks_json);
  auto verifier = NewRemoteJwksVerifier(Options(), *transport_);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_EQ((*verifier)->Verify(first.Token(clock_.Now()))->person, "Practitioner/9");
  EXPECT_EQ(fetches_.load(), 1);
  // The identity provider rotates to a new key: the first token naming it triggers a fetch.
  Publish(second.identity.jwks_json);
  absl::StatusOr<identity::Caller> rotated = (*verifier)->Verify(second.Token(clock_.Now()));
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(fetches_.load(), 2);
}

TEST_F(RemoteJwksTest, FailingTokensRefreshAtMostOncePerInterval) {
  Key published, unknown;
  Publish(published.identity.jwks_json);
  auto verifier = NewRemoteJwksVerifier(Options(), *transport_);
  ASSERT_TRUE(verifier.ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*verifier)->Verify(unknown.Token(clock_.Now())).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(fetches_.load(), 2);  // the first fetch and one refresh
  clock_.Advance(absl::Minutes(2));
  EXPECT_FALSE((*verifier)->Verify(unknown.Token(clock_.Now())).ok());
  EXPECT_EQ(fetches_.load(), 3);
}

TEST_F(RemoteJwksTest, BadAnswersKeepTheKeysInUse) {
  Key key;
  Publish(key.identity.jwks_json);
  auto verifier = NewRemoteJwksVerifier(Options(), *transport_);
  ASSERT_TRUE(verifier.ok());
  Publish("<html>maintenance</html>");
  EXPECT_EQ((*verifier)->Refresh().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*verifier)->Verify(key.Token(clock_.Now())).ok());
}

TEST_F(RemoteJwksTest, UnreachableUrlFailsAtStart) {
  RemoteJwksOptions options = Options();
  options.url = "http://127.0.0.1:" + std::to_string(port_) + "/missing.json";
  EXPECT_EQ(NewRemoteJwksVerifier(options, *transport_).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace collabcare::server
