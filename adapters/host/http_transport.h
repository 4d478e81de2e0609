// The HTTP transport under the host-EHR client: one request in, one response out, and an error
// only when no HTTP response arrived.
#ifndef COLLABCARE_ADAPTERS_HOST_HTTP_TRANSPORT_H_
#define COLLABCARE_ADAPTERS_HOST_HTTP_TRANSPORT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace collabcare::host {

// Header fields in order; names as given (requests) or lowercased (responses).
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

enum class HttpMethod { kGet, kPost, kPut, kPatch, kDelete, kHead };
const char* HttpMethodName(HttpMethod method);

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string url;  // absolute http:// or https:// URL
  HttpHeaders headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names lowercased, values trimmed, in arrival order
  std::string body;

  // The first value of header `name` (any case), or nullopt.
  std::optional<std::string> Header(absl::string_view name) const;
};

// Sends HTTP requests. Thread-safe: any number of threads may call Send at once.
//
// Contract (house style rule 5): Send returns the response for EVERY HTTP status, 4xx and 5xx
// included; turning a status into an error is status_map.h's job. It returns an error only
// when no complete response arrived:
//   DEADLINE_EXCEEDED   connect or total timeout;
//   UNAVAILABLE         DNS failure, connection refused or reset, closed mid-response, TLS
//                       handshake or server-certificate failure, proxy failure;
//   RESOURCE_EXHAUSTED  response body above the configured bound;
//   FAILED_PRECONDITION unusable local TLS material (CA bundle, client certificate or key);
//   INVALID_ARGUMENT    malformed URL or a scheme other than http/https.
// Every such error carries IsTransportError(). Messages name the method and the URL without
// its query string, never a body.
class HttpTransport {
 public:
  HttpTransport() = default;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;
  virtual ~HttpTransport() = default;

  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// True if `status` came from a transport failure (no HTTP response), as opposed to an HTTP
// status mapped by status_map.h.
bool IsTransportError(const absl::Status& status);

// The URL without query or fragment, for error messages and logs: query strings carry search
// values (identifiers) that do not belong in logs.
std::string RedactUrl(absl::string_view url);

// 16 MiB: a single FHIR resource or search page from a host; anything larger is refused.
inline constexpr size_t kDefaultMaxResponseBytes = size_t{16} << 20;

struct CurlTransportOptions {
  // TLS, always with peer and host-name verification. Empty CA bundle: the system store.
  std::string ca_bundle_path;
  // Mutual TLS: PEM certificate (chain) and unencrypted PEM private key, both or neither.
  std::string client_cert_path;
  std::string client_key_path;

  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration total_timeout = absl::Seconds(60);  // whole request, response included

  // e.g. "http://proxy.hospital.example:3128". Empty: connect directly; the http_proxy /
  // https_proxy environment variables are ignored so that a deployment's behaviour is stated
  // in its configuration.
  std::string proxy;
  std::string no_proxy;  // comma-separated hosts that bypass `proxy`

  size_t max_response_bytes = kDefaultMaxResponseBytes;
  // Idle easy handles kept for reuse (they keep their connections alive).
  size_t max_idle_handles = 8;
  std::string user_agent = "collabcare/0.1";
};

// libcurl (OpenSSL flavour). Redirects are never followed (a 3xx comes back as a response);
// only http and https are allowed. INVALID_ARGUMENT for inconsistent options.
absl::StatusOr<std::unique_ptr<HttpTransport>> NewCurlTransport(
    const CurlTransportOptions& options);

}  // namespace collabcare::host

#endif  // COLLABCARE_ADAPTERS_HOST_HTTP_TRANSPORT_H_
