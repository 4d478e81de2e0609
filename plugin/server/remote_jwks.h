// Bearer-token verification against a JWKS published at a URL (`--jwks_url`): fetched at
// start, refreshed periodically and when a token names a key id not seen yet (key rotation).
#ifndef COLLABCARE_PLUGIN_SERVER_REMOTE_JWKS_H_
#define COLLABCARE_PLUGIN_SERVER_REMOTE_JWKS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/host/http_transport.h"
#include "plugin/common/clock.h"
#include "plugin/identity/identity.h"

namespace collabcare::server {

// A TokenVerifier over a remote JWKS. Thread-safe.
class RemoteJwksVerifier : public identity::TokenVerifier {
 public:
  // Fetches the JWKS again now; on failure the keys in use stay. Returns the fetch's status.
  virtual absl::Status Refresh() = 0;
};

struct RemoteJwksOptions {
  std::string url;
  // `jwks_json` is filled from `url`; everything else is passed to NewJwksVerifier.
  identity::VerifierOptions verifier;
  // A token that fails verification triggers a refresh at most this often (a new key id
  // after rotation is then accepted within this time).
  absl::Duration min_refresh_interval = absl::Minutes(1);
};

// Fetches the JWKS once (UNAVAILABLE if that fails, INVALID_ARGUMENT if it is unusable).
// `transport` and `options.verifier.clock` are not owned and must outlive the verifier.
absl::StatusOr<std::unique_ptr<RemoteJwksVerifier>> NewRemoteJwksVerifier(
    RemoteJwksOptions options, host::HttpTransport& transport);

}  // namespace collabcare::server

#endif  // COLLABCARE_PLUGIN_SERVER_REMOTE_JWKS_H_
