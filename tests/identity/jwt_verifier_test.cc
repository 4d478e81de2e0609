// Tests for NewJwksVerifier: tokens signed by keys the tests generate, a fake clock, and one
// expected reason per refusal so each test fails if a different check catches the token.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
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
using testutil::Jwks;
using testutil::OtherP256Key;
using testutil::OtherRsaKey;
using testutil::P256Key;
using testutil::P384Key;
using testutil::RsaKey;
using testutil::SignJws;
using testutil::SignRaw;
using testutil::TestKey;

constexpr char kIssuer[] = "https://idp.example/realms/care";
constexpr char kAudience[] = "collabcare";
const absl::Time kNow = absl::FromUnixSeconds(1700000000);
const int64_t kNowSeconds = 1700000000;

// The JWKS most tests verify against: one key of each kind, JWK `alg` left out.
std::string StandardJwks() {
  return Jwks({RsaKey().Jwk("rsa"), P256Key().Jwk("p256"), P384Key().Jwk("p384")});
}

json Claims() {
  return {{"iss", kIssuer},          {"aud", kAudience},
          {"sub", "user-1"},         {"fhirUser", "Patient/123"},
          {"iat", kNowSeconds - 10}, {"exp", kNowSeconds + 300}};
}

json Header(absl::string_view alg, absl::string_view kid) {
  json header = {{"alg", std::string(alg)}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = std::string(kid);
  return header;
}

std::string RsaToken(const json& claims) {
  return SignJws(Header("RS256", "rsa"), claims, RsaKey(), "RS256");
}

std::vector<std::string> Segments(const std::string& token) { return absl::StrSplit(token, '.'); }

class JwtVerifierTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<TokenVerifier>> NewVerifier(const std::string& jwks,
                                                             size_t cache_entries = 4096) {
    VerifierOptions options;
    options.jwks_json = jwks;
    options.issuer = kIssuer;
    options.audience = kAudience;
    options.clock = &clock_;
    options.cache_entries = cache_entries;
    return NewJwksVerifier(options);
  }

  // Verifies `token` with a fresh verifier over `jwks`. A JWKS the verifier refuses yields
  // INVALID_ARGUMENT, which fails every expectation below.
  absl::StatusOr<Caller> Verify(const std::string& jwks, const std::string& token) {
    absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = NewVerifier(jwks);
    if (!verifier.ok()) return verifier.status();
    return (*verifier)->Verify(token);
  }
  absl::StatusOr<Caller> Verify(const std::string& token) { return Verify(StandardJwks(), token); }

  FakeClock clock_{kNow};
};

void ExpectRefused(const absl::StatusOr<Caller>& result, absl::string_view reason) {
  ASSERT_FALSE(result.ok()) << "accepted a token that should fail with: " << reason;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << result.status();
  EXPECT_EQ(result.status().message(), reason);
}

void ExpectPatient123(const absl::StatusOr<Caller>& result) {
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->person, "Patient/123");
  EXPECT_EQ(result->issuer, kIssuer);
  EXPECT_EQ(result->subject, "user-1");
  EXPECT_EQ(result->expiry, kNow + absl::Seconds(300));
}

TEST_F(JwtVerifierTest, AcceptsRs256Token) {
  ExpectPatient123(Verify(SignJws(Header("RS256", "rsa"), Claims(), RsaKey(), "RS256")));
}

TEST_F(JwtVerifierTest, AcceptsRs384Token) {
  ExpectPatient123(Verify(SignJws(Header("RS384", "rsa"), Claims(), RsaKey(), "RS384")));
}

TEST_F(JwtVerifierTest, AcceptsEs256Token) {
  ExpectPatient123(Verify(SignJws(Header("ES256", "p256"), Claims(), P256Key(), "ES256")));
}

TEST_F(JwtVerifierTest, AcceptsEs384Token) {
  ExpectPatient123(Verify(SignJws(Header("ES384", "p384"), Claims(), P384Key(), "ES384")));
}

TEST_F(JwtVerifierTest, AcceptsTokensWhoseJwkNamesTheirAlg) {
  const std::string jwks = Jwks({RsaKey().Jwk("rsa", "RS384"), P256Key().Jwk("p256", "ES256")});
  ExpectPatient123(Verify(jwks, SignJws(Header("RS384", "rsa"), Claims(), RsaKey(), "RS384")));
  ExpectPatient123(Verify(jwks, SignJws(Header("ES256", "p256"), Claims(), P256Key(), "ES256")));
}

TEST_F(JwtVerifierTest, AcceptsMintedTokensForEveryKeyType) {
  TokenClaims claims;
  claims.issuer = kIssuer;
  claims.audience = kAudience;
  claims.fhir_user = "Practitioner/abc";
  claims.lifetime = absl::Minutes(5);
  const std::string jwks =
      Jwks({RsaKey().Jwk("rsa"), P256Key().Jwk("p256"), P384Key().Jwk("p384")});
  for (const auto& [key, kid] : {std::pair<const TestKey*, std::string>{&RsaKey(), "rsa"},
                                 {&P256Key(), "p256"},
                                 {&P384Key(), "p384"}}) {
    SCOPED_TRACE(kid);
    absl::StatusOr<std::string> token = MintToken(key->PrivatePem(), kid, claims, kNow);
    ASSERT_TRUE(token.ok()) << token.status();
    absl::StatusOr<Caller> caller = Verify(jwks, *token);
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->person, "Practitioner/abc");
    EXPECT_EQ(caller->subject, "Practitioner/abc");
    EXPECT_EQ(caller->expiry, kNow + absl::Minutes(5));
  }
}

// MintToken checked by the test's own OpenSSL code, not by the module's verifier.
TEST_F(JwtVerifierTest, MintedSignaturesVerifyWithOpenSsl) {
  TokenClaims claims;
  claims.fhir_user = "Patient/1";
  for (const auto& [key, alg, size] :
       {std::tuple<const TestKey*, std::string, size_t>{&RsaKey(), "RS256", 256},
        {&P256Key(), "ES256", 64},
        {&P384Key(), "ES384", 96}}) {
    SCOPED_TRACE(alg);
    absl::StatusOr<std::string> token = MintToken(key->PrivatePem(), "k1", claims, kNow);
    ASSERT_TRUE(token.ok()) << token.status();
    const std::vector<std::string> parts = Segments(*token);
    ASSERT_EQ(parts.size(), 3u);
    const json header = json::parse(testutil::UnB64(parts[0]));
    EXPECT_EQ(header, json({{"alg", alg}, {"typ", "JWT"}, {"kid", "k1"}}));
    const std::string signature = testutil::UnB64(parts[2]);
    EXPECT_EQ(signature.size(), size);
    EXPECT_TRUE(key->VerifySignature(alg, absl::StrCat(parts[0], ".", parts[1]), signature));
  }
}

TEST_F(JwtVerifierTest, RejectsExpiredToken) {
  json claims = Claims();
  claims["exp"] = kNowSeconds - 61;  // beyond the 60 s leeway
  ExpectRefused(Verify(RsaToken(claims)), "token expired");
}

TEST_F(JwtVerifierTest, AcceptsRecentlyExpiredTokenWithinLeeway) {
  json claims = Claims();
  claims["exp"] = kNowSeconds - 59;
  EXPECT_TRUE(Verify(RsaToken(claims)).ok());
}

TEST_F(JwtVerifierTest, RejectsTokenWithoutExp) {
  json claims = Claims();
  claims.erase("exp");
  ExpectRefused(Verify(RsaToken(claims)), "missing exp");
}

TEST_F(JwtVerifierTest, RejectsNonNumericExp) {
  json claims = Claims();
  claims["exp"] = absl::StrCat(kNowSeconds + 300);
  ExpectRefused(Verify(RsaToken(claims)), "malformed token");
}

TEST_F(JwtVerifierTest, RejectsTokenNotYetValid) {
  json claims = Claims();
  claims["nbf"] = kNowSeconds + 120;
  ExpectRefused(Verify(RsaToken(claims)), "token not yet valid");
  claims["nbf"] = kNowSeconds + 30;  // within leeway
  EXPECT_TRUE(Verify(RsaToken(claims)).ok());
}

TEST_F(JwtVerifierTest, RejectsTokenIssuedInTheFuture) {
  json claims = Claims();
  claims["iat"] = kNowSeconds + 120;
  ExpectRefused(Verify(RsaToken(claims)), "token issued in the future");
}

TEST_F(JwtVerifierTest, RejectsWrongIssuer) {
  json claims = Claims();
  claims["iss"] = "https://idp.example/realms/other";
  ExpectRefused(Verify(RsaToken(claims)), "wrong issuer");
  claims["iss"] = absl::StrCat(kIssuer, "/");  // exact match only
  ExpectRefused(Verify(RsaToken(claims)), "wrong issuer");
  claims.erase("iss");
  ExpectRefused(Verify(RsaToken(claims)), "wrong issuer");
}

TEST_F(JwtVerifierTest, RejectsWrongAudience) {
  json claims = Claims();
  claims["aud"] = "someone-else";
  ExpectRefused(Verify(RsaToken(claims)), "wrong audience");
  claims.erase("aud");
  ExpectRefused(Verify(RsaToken(claims)), "wrong audience");
}

TEST_F(JwtVerifierTest, AcceptsAudienceArrayContainingUs) {
  json claims = Claims();
  claims["aud"] = {"account", kAudience};
  ExpectPatient123(Verify(RsaToken(claims)));
  claims["aud"] = {"account", "other"};
  ExpectRefused(Verify(RsaToken(claims)), "wrong audience");
}

TEST_F(JwtVerifierTest, RejectsFlippedSignatureByte) {
  for (const auto& [key, alg, kid] :
       {std::tuple<const TestKey*, std::string, std::string>{&RsaKey(), "RS256", "rsa"},
        {&P256Key(), "ES256", "p256"},
        {&P384Key(), "ES384", "p384"}}) {
    SCOPED_TRACE(alg);
    const std::vector<std::string> parts = Segments(SignJws(Header(alg, kid), Claims(), *key, alg));
    std::string signature = testutil::UnB64(parts[2]);
    signature[signature.size() / 2] ^= 0x01;
    ExpectRefused(Verify(absl::StrCat(parts[0], ".", parts[1], ".", testutil::B64(signature))),
                  "bad signature");
  }
}

TEST_F(JwtVerifierTest, RejectsModifiedPayload) {
  const std::vector<std::string> parts = Segments(RsaToken(Claims()));
  // Flip one byte of the payload.
  std::string payload = testutil::UnB64(parts[1]);
  payload[payload.find("123")] = '9';
  ExpectRefused(Verify(absl::StrCat(parts[0], ".", testutil::B64(payload), ".", parts[2])),
                "bad signature");
  // Swap in a different, well-formed claim set.
  json claims = Claims();
  claims["fhirUser"] = "Practitioner/1";
  ExpectRefused(Verify(absl::StrCat(parts[0], ".", testutil::B64(claims.dump()), ".", parts[2])),
                "bad signature");
}

TEST_F(JwtVerifierTest, RejectsTokenSignedByAnotherKeyWithTheSameKid) {
  ExpectRefused(Verify(SignJws(Header("ES256", "p256"), Claims(), OtherP256Key(), "ES256")),
                "bad signature");
}

TEST_F(JwtVerifierTest, RejectsEcdsaSignatureOfWrongLength) {
  const std::vector<std::string> parts =
      Segments(SignJws(Header("ES256", "p256"), Claims(), P256Key(), "ES256"));
  const std::string signature = testutil::UnB64(parts[2]);
  ExpectRefused(
      Verify(absl::StrCat(parts[0], ".", parts[1], ".", testutil::B64(signature.substr(1)))),
      "bad signature");
}

TEST_F(JwtVerifierTest, RejectsUnknownKeyId) {
  ExpectRefused(Verify(SignJws(Header("RS256", "nope"), Claims(), RsaKey(), "RS256")),
                "unknown key id");
}

TEST_F(JwtVerifierTest, UsesTheOnlyFittingKeyWhenTokenHasNoKid) {
  const std::string jwks = Jwks({RsaKey().Jwk("rsa"), P256Key().Jwk("p256")});
  ExpectPatient123(Verify(jwks, SignJws(Header("ES256", ""), Claims(), P256Key(), "ES256")));
  ExpectPatient123(Verify(jwks, SignJws(Header("RS256", ""), Claims(), RsaKey(), "RS256")));
  ExpectRefused(Verify(jwks, SignJws(Header("ES384", ""), Claims(), P384Key(), "ES384")),
                "no key for alg");
}

TEST_F(JwtVerifierTest, RejectsTokenWithoutKidWhenKeysAreAmbiguous) {
  const std::string jwks = Jwks({RsaKey().Jwk("a"), OtherRsaKey().Jwk("b")});
  ExpectRefused(Verify(jwks, SignJws(Header("RS256", ""), Claims(), RsaKey(), "RS256")),
                "ambiguous key");
}

TEST_F(JwtVerifierTest, RejectsAlgNone) {
  const std::string payload = testutil::B64(Claims().dump());
  for (const json& header : {json{{"alg", "none"}}, json{{"alg", "none"}, {"kid", "rsa"}},
                             json{{"alg", "None"}, {"kid", "rsa"}}}) {
    ExpectRefused(Verify(absl::StrCat(testutil::B64(header.dump()), ".", payload, ".")),
                  "unsupported alg");
  }
}

// The classic confusion attack: HMAC keyed with the public key the verifier knows.
TEST_F(JwtVerifierTest, RejectsHs256) {
  const std::string input = absl::StrCat(testutil::B64(Header("HS256", "rsa").dump()), ".",
                                         testutil::B64(Claims().dump()));
  const std::string secret = StandardJwks();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
  const std::string token = absl::StrCat(
      input, ".", testutil::B64(absl::string_view(reinterpret_cast<char*>(mac), size)));
  ExpectRefused(Verify(token), "unsupported alg");
}

TEST_F(JwtVerifierTest, RejectsOtherAlgs) {
  for (const char* alg : {"HS384", "PS256", "ES512", "RS512", "EdDSA", ""}) {
    SCOPED_TRACE(alg);
    ExpectRefused(Verify(SignJws(Header(alg, "rsa"), Claims(), RsaKey(), "RS256")),
                  "unsupported alg");
  }
}

TEST_F(JwtVerifierTest, RejectsEs256HeaderWithRsaKey) {
  ExpectRefused(Verify(SignJws(Header("ES256", "rsa"), Claims(), P256Key(), "ES256")),
                "alg does not match key");
}

TEST_F(JwtVerifierTest, RejectsRs256HeaderWithEcKey) {
  ExpectRefused(Verify(SignJws(Header("RS256", "p256"), Claims(), RsaKey(), "RS256")),
                "alg does not match key");
}

TEST_F(JwtVerifierTest, RejectsEs384HeaderWithP256Key) {
  ExpectRefused(Verify(SignJws(Header("ES384", "p256"), Claims(), P384Key(), "ES384")),
                "alg does not match key");
}

TEST_F(JwtVerifierTest, RejectsAlgOtherThanTheJwkNames) {
  const std::string jwks = Jwks({RsaKey().Jwk("rsa", "RS384")});
  ExpectRefused(Verify(jwks, SignJws(Header("RS256", "rsa"), Claims(), RsaKey(), "RS256")),
                "alg does not match key");
}

TEST_F(JwtVerifierTest, RejectsCriticalHeaderExtensions) {
  json header = Header("RS256", "rsa");
  header["crit"] = {"exp"};
  ExpectRefused(Verify(SignJws(header, Claims(), RsaKey(), "RS256")), "unsupported header");
}

TEST_F(JwtVerifierTest, RejectsMalformedTokens) {
  const std::vector<std::string> good = Segments(RsaToken(Claims()));
  const std::string h = good[0];
  const std::string p = good[1];
  const std::string s = good[2];
  const std::vector<std::string> cases = {
      "",
      absl::StrCat(h, ".", p),                                            // two segments
      absl::StrCat(h, ".", p, ".", s, ".", s),                            // four segments
      absl::StrCat(h, ".", p, ".", s, "="),                               // padding
      absl::StrCat(h, "=.", p, ".", s),                                   // padding
      absl::StrCat(h, ".", p, "*", ".", s),                               // not base64url
      absl::StrCat(h, ".", p, ".", s.substr(0, 10), "+/", s.substr(12)),  // base64, not url
      absl::StrCat(h, ". ", p, ".", s),                                   // whitespace
      absl::StrCat("e30ab.", p, ".", s),                                  // length 4n+1
      absl::StrCat(".", p, ".", s),                                       // empty header
      absl::StrCat(h, "..", s),                                           // empty payload
      absl::StrCat(testutil::B64("not json"), ".", p, ".", s),
      absl::StrCat(testutil::B64("[1,2]"), ".", p, ".", s),
      absl::StrCat(testutil::B64(R"({"alg":5})"), ".", p, ".", s),
      absl::StrCat(testutil::B64(R"({"alg":"RS256","kid":7})"), ".", p, ".", s),
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectRefused(Verify(cases[i]), "malformed token");
  }
}

TEST_F(JwtVerifierTest, RejectsSignedNonJsonPayload) {
  ExpectRefused(Verify(SignRaw(Header("RS256", "rsa"), "not json", RsaKey(), "RS256")),
                "malformed token");
  ExpectRefused(Verify(SignRaw(Header("ES256", "p256"), "[1]", P256Key(), "ES256")),
                "malformed token");
}

TEST_F(JwtVerifierTest, RejectsMissingFhirUser) {
  json claims = Claims();
  claims.erase("fhirUser");
  ExpectRefused(Verify(RsaToken(claims)), "missing fhirUser");
}

TEST_F(JwtVerifierTest, ReducesFhirUserUrlToReference) {
  json claims = Claims();
  claims["fhirUser"] = "https://ehr.example/fhir/R4/Patient/123";
  ExpectPatient123(Verify(RsaToken(claims)));
  claims["fhirUser"] = "http://localhost:8080/fhir/Patient/123/_history/7";
  ExpectPatient123(Verify(RsaToken(claims)));
  claims["fhirUser"] = "Patient/123/_history/2";
  ExpectPatient123(Verify(RsaToken(claims)));
}

TEST_F(JwtVerifierTest, AcceptsEveryAllowedFhirUserType) {
  for (const char* type :
       {"Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Person"}) {
    json claims = Claims();
    claims["fhirUser"] = absl::StrCat(type, "/a-B.9");
    absl::StatusOr<Caller> caller = Verify(RsaToken(claims));
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->person, absl::StrCat(type, "/a-B.9"));
  }
}

TEST_F(JwtVerifierTest, RejectsFhirUserOfDisallowedType) {
  for (const char* fhir_user :
       {"Organization/1", "Group/2", "https://ehr.example/fhir/Device/3", "patient/123"}) {
    SCOPED_TRACE(fhir_user);
    json claims = Claims();
    claims["fhirUser"] = fhir_user;
    ExpectRefused(Verify(RsaToken(claims)), "unsupported fhirUser type");
  }
}

TEST_F(JwtVerifierTest, RejectsMalformedFhirUser) {
  const std::vector<json> values = {
      "Patient",
      "Patient/",
      "/Patient/123",
      "Patient/12 3",
      "Patient/12_3",
      absl::StrCat("Patient/", std::string(65, 'a')),
      "ehr.example/fhir/Patient/123",
      "ftp://ehr.example/Patient/123",
      "https:///Patient/123",
      "https://ehr.example/fhir?x=/Patient/123",
      "Patient/123/_history/",
      "",
      123,
      json::array({"Patient/123"}),
  };
  for (const json& value : values) {
    SCOPED_TRACE(value.dump());
    json claims = Claims();
    claims["fhirUser"] = value;
    ExpectRefused(Verify(RsaToken(claims)), "bad fhirUser");
  }
}

TEST_F(JwtVerifierTest, RejectsTokenLargerThanLimit) {
  json claims = Claims();
  claims["padding"] = std::string(8 * 1024, 'x');
  EXPECT_TRUE(Verify(RsaToken(claims)).ok());  // large but under the limit
  claims["padding"] = std::string(16 * 1024, 'x');
  ExpectRefused(Verify(RsaToken(claims)), "token too large");
}

TEST_F(JwtVerifierTest, CachedTokenExpiresWithTheClock) {
  absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = NewVerifier(StandardJwks());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const std::string token = RsaToken(Claims());
  absl::StatusOr<Caller> first = (*verifier)->Verify(token);
  absl::StatusOr<Caller> second = (*verifier)->Verify(token);
  ExpectPatient123(first);
  ExpectPatient123(second);
  clock_.Advance(absl::Seconds(300 + 59));
  ExpectPatient123((*verifier)->Verify(token));
  clock_.Advance(absl::Seconds(2));
  ExpectRefused((*verifier)->Verify(token), "token expired");
}

TEST_F(JwtVerifierTest, CacheDoesNotAcceptAlteredTokens) {
  absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = NewVerifier(StandardJwks());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const std::string token = RsaToken(Claims());
  ExpectPatient123((*verifier)->Verify(token));
  std::vector<std::string> parts = Segments(token);
  std::string signature = testutil::UnB64(parts[2]);
  signature[0] ^= 0x80;
  ExpectRefused(
      (*verifier)->Verify(absl::StrCat(parts[0], ".", parts[1], ".", testutil::B64(signature))),
      "bad signature");
}

TEST_F(JwtVerifierTest, SmallCacheKeepsVerifyingEveryToken) {
  absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = NewVerifier(StandardJwks(), 2);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    json claims = Claims();
    claims["fhirUser"] = absl::StrCat("Patient/", i);
    claims["exp"] = kNowSeconds + 100 * (i + 1);
    tokens.push_back(SignJws(Header("ES256", "p256"), claims, P256Key(), "ES256"));
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<Caller> caller = (*verifier)->Verify(tokens[i]);
      ASSERT_TRUE(caller.ok()) << caller.status();
      EXPECT_EQ(caller->person, absl::StrCat("Patient/", i));
    }
  }
  clock_.Advance(absl::Seconds(260));  // the first two are now expired
  ExpectRefused((*verifier)->Verify(tokens[0]), "token expired");
  ExpectRefused((*verifier)->Verify(tokens[1]), "token expired");
  EXPECT_TRUE((*verifier)->Verify(tokens[4]).ok());
}

TEST_F(JwtVerifierTest, VerifiesConcurrently) {
  absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = NewVerifier(StandardJwks(), 3);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i) {
    json claims = Claims();
    claims["fhirUser"] = absl::StrCat("Patient/", i);
    tokens.push_back(SignJws(Header("ES256", "p256"), claims, P256Key(), "ES256"));
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const int which = (t + i) % 4;
        absl::StatusOr<Caller> caller = (*verifier)->Verify(tokens[which]);
        if (!caller.ok() || caller->person != absl::StrCat("Patient/", which)) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST_F(JwtVerifierTest, ReasonsNeverEchoTheToken) {
  json claims = Claims();
  claims["fhirUser"] = "Organization/secret-name";
  claims["sub"] = "secret-subject";
  std::vector<std::string> tokens = {RsaToken(claims)};
  claims["iss"] = "https://secret-issuer";
  tokens.push_back(RsaToken(claims));
  claims["aud"] = "secret-audience";
  tokens.push_back(RsaToken(claims));
  for (const std::string& token : tokens) {
    absl::StatusOr<Caller> result = Verify(token);
    ASSERT_FALSE(result.ok());
    EXPECT_FALSE(absl::StrContains(result.status().ToString(), "secret")) << result.status();
    EXPECT_FALSE(absl::StrContains(result.status().ToString(), Segments(token)[1]));
  }
}

TEST(NewJwksVerifierTest, RejectsUnusableJwks) {
  FakeClock clock(kNow);
  json off_curve = P256Key().Jwk("p");
  std::string y = testutil::UnB64(off_curve["y"].get<std::string>());
  y[5] ^= 0x01;
  off_curve["y"] = testutil::B64(y);
  json private_key = P256Key().Jwk("p");
  private_key["d"] = testutil::B64(std::string(32, '\x01'));
  json short_x = P256Key().Jwk("p");
  short_x["x"] = testutil::B64(std::string(31, '\x01'));
  const std::vector<std::string> cases = {
      "",
      "not json",
      "[]",
      R"({"keys":{}})",
      R"({"keys":[]})",
      Jwks({json{{"kty", "oct"}, {"k", "c2VjcmV0"}}}),  // nothing usable
      Jwks({testutil::TestKey::Generate(testutil::KeyType::kRsa1024).Jwk("small")}),
      Jwks({off_curve}),
      Jwks({private_key}),
      Jwks({short_x}),
      Jwks({RsaKey().Jwk("same"), P256Key().Jwk("same")}),
      Jwks({RsaKey().Jwk("rsa", "ES256")}),
      Jwks({json{{"kty", "RSA"}, {"n", "AQAB"}}}),
      Jwks({json{{"kty", "RSA"}, {"n", "not base64!"}, {"e", "AQAB"}}}),
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    VerifierOptions options;
    options.jwks_json = cases[i];
    options.issuer = kIssuer;
    options.audience = kAudience;
    options.clock = &clock;
    absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = NewJwksVerifier(options);
    EXPECT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument) << verifier.status();
  }
}

TEST(NewJwksVerifierTest, RejectsUnusableOptions) {
  FakeClock clock(kNow);
  VerifierOptions good;
  good.jwks_json = StandardJwks();
  good.issuer = kIssuer;
  good.audience = kAudience;
  good.clock = &clock;
  ASSERT_TRUE(NewJwksVerifier(good).ok());
  VerifierOptions no_clock = good;
  no_clock.clock = nullptr;
  VerifierOptions no_issuer = good;
  no_issuer.issuer.clear();
  VerifierOptions no_audience = good;
  no_audience.audience.clear();
  VerifierOptions negative_leeway = good;
  negative_leeway.leeway = absl::Seconds(-1);
  for (const VerifierOptions& options : {no_clock, no_issuer, no_audience, negative_leeway}) {
    EXPECT_EQ(NewJwksVerifier(options).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(NewJwksVerifierTest, SkipsKeysItCannotUse) {
  FakeClock clock(kNow);
  json encryption = OtherRsaKey().Jwk("enc");
  encryption["use"] = "enc";
  VerifierOptions options;
  options.jwks_json = Jwks({json{{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}},
                            json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}},
                            testutil::TestKey::Generate(testutil::KeyType::kP521).Jwk("p521"),
                            OtherRsaKey().Jwk("pss", "PS256"), encryption, RsaKey().Jwk("rsa")});
  options.issuer = kIssuer;
  options.audience = kAudience;
  options.clock = &clock;
  absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = NewJwksVerifier(options);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  ExpectPatient123((*verifier)->Verify(RsaToken(Claims())));
  ExpectRefused(
      (*verifier)->Verify(SignJws(Header("RS256", "enc"), Claims(), OtherRsaKey(), "RS256")),
      "unknown key id");
}

}  // namespace
}  // namespace collabcare::identity
