// JOSE building blocks shared by the token verifier and the development identity: strict
// base64url, SHA-256, OpenSSL key handles, ECDSA signature formats, JWKs and the fhirUser rule.
// Internal to plugin/identity; not part of the module's interface.
#ifndef COLLABCARE_PLUGIN_IDENTITY_JOSE_H_
#define COLLABCARE_PLUGIN_IDENTITY_JOSE_H_

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace collabcare::identity::internal {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// The JWS algorithms this module signs and verifies (RFC 7518 section 3.1). Everything else,
// `none` and the HMAC family in particular, is refused.
enum class JwsAlg { kRs256, kRs384, kEs256, kEs384 };

std::optional<JwsAlg> JwsAlgFromName(absl::string_view name);
const char* JwsAlgName(JwsAlg alg);
bool IsEcdsa(JwsAlg alg);
// Bytes of one ECDSA coordinate (and of r or s): 32 for ES256, 48 for ES384; 0 for RSA.
size_t EcCoordinateBytes(JwsAlg alg);
// The digest the algorithm signs with (an implicitly fetched, never freed EVP_MD).
const EVP_MD* JwsDigest(JwsAlg alg);

// RFC 7515 section 2: base64url without padding.
std::string Base64UrlEncode(absl::string_view data);
// Strict inverse of Base64UrlEncode: refuses padding, whitespace, characters outside the
// base64url alphabet and non-zero trailing bits, so every byte string has one encoding.
std::optional<std::string> Base64UrlDecode(absl::string_view encoded);

// The 32-byte SHA-256 digest of `data`.
std::string Sha256(absl::string_view data);

// JWS ECDSA signatures are the fixed-width big-endian r || s (RFC 7518 section 3.4); OpenSSL
// produces and consumes DER. INVALID_ARGUMENT on malformed input.
absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw);
absl::StatusOr<std::string> EcdsaDerToRaw(absl::string_view der, size_t coordinate_bytes);

// Minimum RSA modulus: NIST SP 800-131A disallows shorter keys for signatures.
inline constexpr int kMinRsaBits = 2048;

// The signing algorithm for a key: EC P-256 -> ES256, EC P-384 -> ES384, RSA (at least
// kMinRsaBits) -> RS256. INVALID_ARGUMENT for any other key.
absl::StatusOr<JwsAlg> SigningAlgForKey(EVP_PKEY* key);

// Reads an unencrypted PEM private key (PKCS#8 or traditional). INVALID_ARGUMENT if it is not
// one; never prompts for a pass phrase.
absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem);

// The public JWK of `key` (whose algorithm SigningAlgForKey picks), with kid = its RFC 7638
// thumbprint, alg and use "sig".
struct PublicJwk {
  std::string json;  // one JWK object
  std::string kid;
  JwsAlg alg;
};
absl::StatusOr<PublicJwk> MakePublicJwk(EVP_PKEY* key);

// Reduces a SMART `fhirUser` value to `Type/id`: accepts `Type/id` or an absolute http(s) URL
// ending in `/Type/id`, either optionally followed by `/_history/N` (dropped). Type is one of
// Patient, RelatedPerson, Practitioner, PractitionerRole, Person; id follows FHIR's id syntax.
// INVALID_ARGUMENT "bad fhirUser" or "unsupported fhirUser type"; never echoes the value.
absl::StatusOr<std::string> ReduceFhirUser(absl::string_view fhir_user);

}  // namespace collabcare::identity::internal

#endif  // COLLABCARE_PLUGIN_IDENTITY_JOSE_H_
