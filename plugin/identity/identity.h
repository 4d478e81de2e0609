// Who is calling: bearer-token verification against a JWKS, and the development identity that
// lets the quickstart run without an identity provider.
#ifndef COLLABCARE_PLUGIN_IDENTITY_IDENTITY_H_
#define COLLABCARE_PLUGIN_IDENTITY_IDENTITY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "plugin/common/clock.h"

namespace collabcare::identity {

// A verified caller.
struct Caller {
  // FHIR reference from the SMART `fhirUser` claim, reduced to `Type/id` (a full URL such as
  // `https://ehr.example/fhir/Patient/123` becomes `Patient/123`). Types: Patient,
  // RelatedPerson, Practitioner, PractitionerRole, Person.
  std::string person;
  std::string issuer;    // `iss`
  std::string subject;   // `sub`
  absl::Time expiry;     // `exp`
  std::string token_id;  // `jti`, empty when the token has none
  // The token's `aud` values (one or several) that are among the verifier's accepted audiences.
  std::vector<std::string> audiences;
};

// Verifies bearer tokens. Thread-safe. Every failure is UNAUTHENTICATED with a short reason
// that never contains the token or its claims ("token expired", "unknown key id", …).
class TokenVerifier {
 public:
  TokenVerifier() = default;
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;
  virtual ~TokenVerifier() = default;

  // `token` is the compact JWS (without "Bearer ").
  virtual absl::StatusOr<Caller> Verify(absl::string_view token) = 0;
};

struct VerifierOptions {
  std::string jwks_json;  // a JWK Set: RSA (RS256, RS384) and EC P-256/P-384 (ES256, ES384)
  std::string issuer;     // required `iss`
  std::string audience;   // required in `aud` (string or array)
  // Further audiences a token may name instead of `audience` (e.g. one URL per CDS service).
  std::vector<std::string> extra_audiences;
  // SMART callers are people, named by `fhirUser`. Off for machine clients (a CDS client signs
  // for the EHR, not for a user): an absent claim then leaves Caller::person empty, while a
  // present one is still checked.
  bool require_fhir_user = true;
  // Require a string `jti` (CDS Hooks requires one on every call, against replay).
  bool require_jti = false;
  absl::Duration leeway = absl::Seconds(60);  // clock skew allowed on exp / nbf / iat
  const Clock* clock = nullptr;               // not owned; must outlive the verifier
  size_t cache_entries = 4096;                // verified tokens remembered until they expire
};

// Verifies compact JWS tokens signed by a key of the JWKS (matched by `kid`, or the only key
// of the right type when the token has no `kid`), with `alg` one of RS256, RS384, ES256,
// ES384 and matching the key; checks `iss`, `aud`, `exp` (required), `nbf`, and requires
// `fhirUser`. INVALID_ARGUMENT if the JWKS or options are unusable.
absl::StatusOr<std::unique_ptr<TokenVerifier>> NewJwksVerifier(const VerifierOptions& options);

// What a token says about who signed it, read before verification so that a service trusting
// several issuers can pick the verifier (and the `jku` key set) for it. Nothing here is trusted
// until that verifier accepts the token. UNAUTHENTICATED "malformed token" if the token is not a
// compact JWS with JSON header and payload, without echoing any of it.
struct TokenRouting {
  std::string issuer;  // the payload's `iss`; empty when absent or not a string
  std::string jku;     // the header's `jku` (RFC 7515 section 4.1.2); empty when absent
};
absl::StatusOr<TokenRouting> PeekTokenRouting(absl::string_view token);

// The development identity: an ES256 key and its JWKS, kept under
// `<data_dir>/dev-identity/` (signing-key.pem, mode 0600; jwks.json).
inline constexpr char kDevIssuer[] = "collabcare-dev";
inline constexpr char kDevAudience[] = "collabcare";

struct DevIdentity {
  std::string private_key_pem;
  std::string jwks_json;
  std::string key_id;
};

// Creates the development key and JWKS if they do not exist yet, then loads them.
absl::StatusOr<DevIdentity> EnsureDevIdentity(const std::string& data_dir);

// Loads an existing development identity; NOT_FOUND if there is none.
absl::StatusOr<DevIdentity> LoadDevIdentity(const std::string& data_dir);

struct TokenClaims {
  std::string issuer = kDevIssuer;
  std::string audience = kDevAudience;
  std::string fhir_user;  // e.g. "Patient/123"
  std::string subject;    // defaults to fhir_user
  absl::Duration lifetime = absl::Hours(8);
};

// Signs a token with a PEM private key (EC P-256 → ES256, EC P-384 → ES384, RSA → RS256).
absl::StatusOr<std::string> MintToken(const std::string& private_key_pem, const std::string& key_id,
                                      const TokenClaims& claims, absl::Time now);

}  // namespace collabcare::identity

#endif  // COLLABCARE_PLUGIN_IDENTITY_IDENTITY_H_
