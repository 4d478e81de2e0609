// SMART Backend Services (client-confidential-asymmetric) for outbound calls to the host EHR:
// token-endpoint discovery, the signed client assertion, a cached access token, and
// collabcare's public JWKS for registration with the EHR.
#ifndef COLLABCARE_ADAPTERS_HOST_SMART_AUTH_H_
#define COLLABCARE_ADAPTERS_HOST_SMART_AUTH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/host/access_token.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/status_map.h"
#include "plugin/common/clock.h"

namespace collabcare::host {

struct SmartBackendOptions {
  // The token endpoint is read from {fhir_base_url}/.well-known/smart-configuration unless
  // `token_endpoint` is set.
  std::string fhir_base_url;
  std::string token_endpoint;
  std::string client_id;  // as registered with the EHR: the assertion's iss and sub
  std::string scope;      // e.g. "system/Condition.write system/DocumentReference.write"
  // Unencrypted PEM: RSA of at least 2048 bits (signs RS384) or EC P-384 (signs ES384).
  std::string private_key_pem;
  std::string key_id;  // JWS `kid`; empty: the key's RFC 7638 thumbprint (as in the JWKS)
  // The assertion's exp - iat; SMART requires at most 5 minutes.
  absl::Duration assertion_lifetime = absl::Minutes(4);
  // A cached token is replaced this long before it expires (at most half its lifetime).
  absl::Duration refresh_margin = absl::Seconds(60);
  // Used when the token response has no expires_in.
  absl::Duration default_token_lifetime = absl::Minutes(5);
  StatusMapOverrides status_overrides;  // for the discovery and token endpoints' answers
};

// Thread-safe; one token request at a time, other callers wait for its result. GetToken
// errors: the transport's; discovery or token endpoint HTTP errors per StatusMap, except that
// an OAuth error invalid_client / invalid_grant / unauthorized_client gives UNAUTHENTICATED
// and invalid_scope PERMISSION_DENIED; FAILED_PRECONDITION when discovery finds no usable
// https token endpoint or one that does not accept RS384/ES384 assertions; INTERNAL for
// malformed answers. Messages never contain tokens, assertions or error_description.
// `transport` and `clock` are not owned and must outlive the source. INVALID_ARGUMENT for
// unusable options (missing client id, unsupported key, lifetime above 5 minutes).
absl::StatusOr<std::unique_ptr<AccessTokenSource>> NewSmartBackendTokenSource(
    SmartBackendOptions options, HttpTransport* transport, const Clock* clock);

// {"keys":[{kty, kid, alg, use:"sig", n/e or crv/x/y}]}: the public half of `private_key_pem`,
// kid = RFC 7638 thumbprint, alg RS384 (RSA) or ES384 (EC P-384). IT registers this (or a URL
// serving it) with the EHR. INVALID_ARGUMENT for keys NewSmartBackendTokenSource refuses.
absl::StatusOr<std::string> PublicJwksFromPrivateKey(const std::string& private_key_pem);

}  // namespace collabcare::host

#endif  // COLLABCARE_ADAPTERS_HOST_SMART_AUTH_H_
