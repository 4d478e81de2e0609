// Transport-independent helpers of http_transport.h.
#include "adapters/host/http_transport.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "adapters/host/transport_error.h"

namespace collabcare::host {

const char* HttpMethodName(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kPatch:
      return "PATCH";
    case HttpMethod::kDelete:
      return "DELETE";
    case HttpMethod::kHead:
      return "HEAD";
  }
  return "GET";
}

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

bool IsTransportError(const absl::Status& status) {
  return !status.ok() && status.GetPayload(internal::kTransportErrorPayload).has_value();
}

std::string RedactUrl(absl::string_view url) {
  const size_t cut = url.find_first_of("?#");
  std::string out(url.substr(0, cut));
  if (cut != absl::string_view::npos) out += "?...";
  // Userinfo (user:password@) never belongs in a message.
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t host_start = scheme + 3;
    const size_t path = out.find('/', host_start);
    const size_t at = out.find('@', host_start);
    if (at != std::string::npos && (path == std::string::npos || at < path)) {
      out.erase(host_start, at + 1 - host_start);
    }
  }
  return out;
}

absl::Status internal::TransportError(absl::StatusCode code, absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kTransportErrorPayload, absl::Cord("1"));
  return status;
}

}  // namespace collabcare::host
