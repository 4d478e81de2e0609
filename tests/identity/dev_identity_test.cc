// Tests for the development identity and MintToken, each in a fresh temporary folder.
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/identity/identity.h"
#include "tests/identity/identity_test_util.h"

namespace collabcare::identity {
namespace {

using ::nlohmann::json;
using testutil::FakeClock;
using testutil::TempDir;
using testutil::TestKey;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

mode_t Mode(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

absl::StatusOr<std::unique_ptr<TokenVerifier>> DevVerifier(const DevIdentity& identity,
                                                           const Clock& clock) {
  VerifierOptions options;
  options.jwks_json = identity.jwks_json;
  options.issuer = kDevIssuer;
  options.audience = kDevAudience;
  options.clock = &clock;
  return NewJwksVerifier(options);
}

TEST(DevIdentityTest, EnsureCreatesPrivateFiles) {
  TempDir temp;
  absl::StatusOr<DevIdentity> identity = EnsureDevIdentity(temp.path());
  ASSERT_TRUE(identity.ok()) << identity.status();
  const std::string dir = temp.path() + "/dev-identity";
  EXPECT_EQ(Mode(dir), 0700u);
  EXPECT_EQ(Mode(dir + "/signing-key.pem"), 0600u);
  EXPECT_NE(Mode(dir + "/jwks.json"), 0u);
  const std::string pem = ReadAll(dir + "/signing-key.pem");
  EXPECT_TRUE(absl::StartsWith(pem, "-----BEGIN PRIVATE KEY-----\n")) << "not PKCS#8";
  EXPECT_EQ(pem, identity->private_key_pem);
  EXPECT_EQ(json::parse(ReadAll(dir + "/jwks.json")), json::parse(identity->jwks_json));
  // No temporary files left behind.
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"jwks.json", "signing-key.pem"}));
}

TEST(DevIdentityTest, EnsureCreatesParentFolders) {
  TempDir temp;
  const std::string data_dir = temp.path() + "/a/b";
  ASSERT_TRUE(EnsureDevIdentity(data_dir).ok());
  EXPECT_EQ(Mode(data_dir + "/dev-identity/signing-key.pem"), 0600u);
}

TEST(DevIdentityTest, EnsureIsStableAcrossCalls) {
  TempDir temp;
  absl::StatusOr<DevIdentity> first = EnsureDevIdentity(temp.path());
  absl::StatusOr<DevIdentity> second = EnsureDevIdentity(temp.path());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->key_id, second->key_id);
  EXPECT_EQ(first->private_key_pem, second->private_key_pem);
  EXPECT_EQ(first->jwks_json, second->jwks_json);
  absl::StatusOr<DevIdentity> loaded = LoadDevIdentity(temp.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->key_id, first->key_id);
}

TEST(DevIdentityTest, SeparateFoldersGetSeparateKeys) {
  TempDir one;
  TempDir two;
  absl::StatusOr<DevIdentity> first = EnsureDevIdentity(one.path());
  absl::StatusOr<DevIdentity> second = EnsureDevIdentity(two.path());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->key_id, second->key_id);
}

TEST(DevIdentityTest, LoadReturnsNotFoundOnEmptyDir) {
  TempDir temp;
  EXPECT_EQ(LoadDevIdentity(temp.path()).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(std::filesystem::create_directory(temp.path() + "/dev-identity"));
  EXPECT_EQ(LoadDevIdentity(temp.path()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadDevIdentity(temp.path() + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST(DevIdentityTest, LoadRefusesCorruptKey) {
  TempDir temp;
  ASSERT_TRUE(EnsureDevIdentity(temp.path()).ok());
  std::ofstream(temp.path() + "/dev-identity/signing-key.pem") << "garbage";
  EXPECT_EQ(LoadDevIdentity(temp.path()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(DevIdentityTest, JwksIsThePublicKeyWithThumbprintKid) {
  TempDir temp;
  absl::StatusOr<DevIdentity> identity = EnsureDevIdentity(temp.path());
  ASSERT_TRUE(identity.ok()) << identity.status();
  const TestKey key = TestKey::FromPem(identity->private_key_pem);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
  json expected_jwk = key.Jwk(key.Thumbprint(), "ES256");
  expected_jwk["use"] = "sig";
  EXPECT_EQ(json::parse(identity->jwks_json), json({{"keys", {expected_jwk}}}));
  EXPECT_EQ(identity->key_id, key.Thumbprint());
  EXPECT_EQ(identity->key_id.size(), 43u);  // base64url of 32 bytes
}

TEST(DevIdentityTest, JwksIsRebuiltFromTheKey) {
  TempDir temp;
  absl::StatusOr<DevIdentity> created = EnsureDevIdentity(temp.path());
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string jwks_path = temp.path() + "/dev-identity/jwks.json";
  std::ofstream(jwks_path) << R"({"keys":[]})";
  absl::StatusOr<DevIdentity> loaded = LoadDevIdentity(temp.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->jwks_json, created->jwks_json);
  ASSERT_TRUE(EnsureDevIdentity(temp.path()).ok());
  EXPECT_EQ(ReadAll(jwks_path), created->jwks_json);
  std::filesystem::remove(jwks_path);
  ASSERT_TRUE(EnsureDevIdentity(temp.path()).ok());
  EXPECT_EQ(ReadAll(jwks_path), created->jwks_json);
}

TEST(DevIdentityTest, MintedDevTokenVerifies) {
  TempDir temp;
  absl::StatusOr<DevIdentity> identity = EnsureDevIdentity(temp.path());
  ASSERT_TRUE(identity.ok()) << identity.status();
  TokenClaims claims;
  claims.fhir_user = "Patient/7";
  absl::StatusOr<std::string> token =
      MintToken(identity->private_key_pem, identity->key_id, claims, kNow);
  ASSERT_TRUE(token.ok()) << token.status();

  FakeClock clock(kNow + absl::Minutes(1));
  absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = DevVerifier(*identity, clock);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  absl::StatusOr<Caller> caller = (*verifier)->Verify(*token);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->person, "Patient/7");
  EXPECT_EQ(caller->subject, "Patient/7");
  EXPECT_EQ(caller->issuer, kDevIssuer);
  EXPECT_EQ(caller->expiry, kNow + absl::Hours(8));

  clock.Advance(absl::Hours(9));
  EXPECT_EQ((*verifier)->Verify(*token).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(DevIdentityTest, MintTokenWritesTheDocumentedClaims) {
  const TestKey key = TestKey::Generate(testutil::KeyType::kP256);
  TokenClaims claims;
  claims.issuer = "iss-1";
  claims.audience = "aud-1";
  claims.fhir_user = "https://ehr.example/fhir/Practitioner/p1";
  claims.subject = "alice-login";
  claims.lifetime = absl::Minutes(10);
  absl::StatusOr<std::string> first = MintToken(key.PrivatePem(), "kid-1", claims, kNow);
  absl::StatusOr<std::string> second = MintToken(key.PrivatePem(), "kid-1", claims, kNow);
  ASSERT_TRUE(first.ok() && second.ok());
  const std::vector<std::string> parts = absl::StrSplit(*first, '.');
  ASSERT_EQ(parts.size(), 3u);
  json payload = json::parse(testutil::UnB64(parts[1]));
  const std::string jti = payload["jti"].get<std::string>();
  EXPECT_EQ(testutil::UnB64(jti).size(), 16u);
  payload.erase("jti");
  EXPECT_EQ(payload, json({{"iss", "iss-1"},
                           {"aud", "aud-1"},
                           {"sub", "alice-login"},
                           {"fhirUser", "https://ehr.example/fhir/Practitioner/p1"},
                           {"iat", 1700000000},
                           {"nbf", 1700000000},
                           {"exp", 1700000600}}));
  const std::vector<std::string> other = absl::StrSplit(*second, '.');
  EXPECT_NE(json::parse(testutil::UnB64(other[1]))["jti"], jti);
}

TEST(DevIdentityTest, MintTokenRejectsBadInput) {
  const std::string pem = testutil::P256Key().PrivatePem();
  TokenClaims good;
  good.fhir_user = "Patient/1";
  ASSERT_TRUE(MintToken(pem, "k", good, kNow).ok());

  EXPECT_EQ(MintToken("not a key", "k", good, kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  TokenClaims organization = good;
  organization.fhir_user = "Organization/1";
  TokenClaims empty_user = good;
  empty_user.fhir_user.clear();
  TokenClaims no_lifetime = good;
  no_lifetime.lifetime = absl::ZeroDuration();
  for (const TokenClaims& claims : {organization, empty_user, no_lifetime}) {
    EXPECT_EQ(MintToken(pem, "k", claims, kNow).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  for (const testutil::KeyType type : {testutil::KeyType::kRsa1024, testutil::KeyType::kP521}) {
    EXPECT_EQ(MintToken(TestKey::Generate(type).PrivatePem(), "k", good, kNow).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace collabcare::identity
