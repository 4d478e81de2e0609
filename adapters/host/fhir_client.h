// A FHIR R4 REST client for the host EHR: read, search, create, update, bundles, /metadata.
#ifndef COLLABCARE_ADAPTERS_HOST_FHIR_CLIENT_H_
#define COLLABCARE_ADAPTERS_HOST_FHIR_CLIENT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/host/access_token.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/status_map.h"
#include "nlohmann/json.hpp"
#include "plugin/common/clock.h"

namespace collabcare::host {

// One successful interaction.
struct FhirResult {
  int http_status = 0;      // 200 or 201 (201: created; 200 on create: If-None-Exist matched)
  nlohmann::json resource;  // the returned resource; null when the host sent no body
  std::string body;         // the same, as received (for decimal-exact SAX parsing)
  std::string etag;         // e.g. W/"3"; empty if absent
  std::string version_id;   // "3" from the ETag, else meta.versionId
  std::string location;     // Location header, e.g. [base]/Goal/123/_history/3
  std::string id;           // resource.id, else taken from Location
};

struct SearchResult {
  nlohmann::json bundle;  // the first page's Bundle with the entries of every page fetched
  int pages = 0;
  bool complete = true;  // false: stopped at a bound; `bundle` keeps the next link
};

// Search parameters in order, unescaped: {"identifier", "http://sys|123"}.
using SearchParams = std::vector<std::pair<std::string, std::string>>;

// Talks FHIR R4 JSON to one server. Thread-safe if its transport and token source are.
//
// Errors: the transport's (http_transport.h), the token source's, HTTP failures mapped by the
// StatusMap (status_map.h, with HttpStatusOf / RetryAfterOf), and for a 2xx answer that is not
// what FHIR promises (not JSON, nested absurdly deep, wrong resourceType or Bundle.type):
// INTERNAL "host sent …". INVALID_ARGUMENT for bad arguments (type names, ids, bundles).
// After a 401 the token is invalidated and the request sent once more with a fresh one.
class FhirClient {
 public:
  FhirClient() = default;
  FhirClient(const FhirClient&) = delete;
  FhirClient& operator=(const FhirClient&) = delete;
  virtual ~FhirClient() = default;

  // GET [base]/type/id.
  virtual absl::StatusOr<FhirResult> Read(absl::string_view type, absl::string_view id) = 0;

  // GET [base]/type?params, then the `next` links (same origin as base only, since they get
  // the bearer token) until done or `max_pages` / FhirClientOptions::max_search_entries.
  virtual absl::StatusOr<SearchResult> Search(absl::string_view type, const SearchParams& params,
                                              int max_pages = 10) = 0;

  // POST [base]/<resourceType>; `if_none_exist` is a query without '?', e.g.
  // "identifier=http://sys|123" (use IdentifierQuery), sent as If-None-Exist.
  virtual absl::StatusOr<FhirResult> Create(const nlohmann::json& resource,
                                            absl::string_view if_none_exist = "") = 0;

  // PUT [base]/<resourceType>/<id>; `if_match_version` "3" sends If-Match: W/"3".
  virtual absl::StatusOr<FhirResult> Update(const nlohmann::json& resource,
                                            absl::string_view if_match_version = "") = 0;

  // PUT [base]/<resourceType>?identifier=system|value: creates when nothing matches, updates
  // the one match, 412 (mapped per StatusMap) when several match.
  virtual absl::StatusOr<FhirResult> ConditionalUpdate(const nlohmann::json& resource,
                                                       absl::string_view identifier_system,
                                                       absl::string_view identifier_value) = 0;

  // POST [base] with a Bundle of type transaction / batch; returns the response Bundle
  // (transaction-response / batch-response). A batch answers 200 even when entries fail: the
  // caller reads each entry.response.status (ParseEntryStatus, StatusMap::FromParts).
  virtual absl::StatusOr<nlohmann::json> Transaction(const nlohmann::json& bundle) = 0;
  virtual absl::StatusOr<nlohmann::json> Batch(const nlohmann::json& bundle) = 0;

  // The same with the Bundle as JSON text, sent byte for byte: decimals keep their precision
  // (1.50 stays 1.50, which the nlohmann DOM overloads would re-serialize as 1.5). The text
  // must be UTF-8 JSON with resourceType Bundle and the matching type, else INVALID_ARGUMENT.
  virtual absl::StatusOr<nlohmann::json> Transaction(absl::string_view bundle_json) = 0;
  virtual absl::StatusOr<nlohmann::json> Batch(absl::string_view bundle_json) = 0;
  // For std::string arguments, which nlohmann::json and absl::string_view both convert from.
  absl::StatusOr<nlohmann::json> Transaction(const std::string& bundle_json) {
    return Transaction(absl::string_view(bundle_json));
  }
  absl::StatusOr<nlohmann::json> Batch(const std::string& bundle_json) {
    return Batch(absl::string_view(bundle_json));
  }

  // GET [base]/metadata: the CapabilityStatement.
  virtual absl::StatusOr<nlohmann::json> Capabilities() = 0;
};

struct FhirClientOptions {
  std::string base_url;  // e.g. https://ehr.example/fhir/r4 (no trailing slash needed)
  StatusMapOverrides status_overrides;
  size_t max_search_entries = 10000;
  int max_json_depth = 100;  // deeper JSON from a host is refused before parsing
};

// `transport` is required; `tokens` may be null (no Authorization header); `clock` is used for
// Retry-After dates. None is owned; all must outlive the client. INVALID_ARGUMENT for a base
// URL that is not absolute http(s) without query.
absl::StatusOr<std::unique_ptr<FhirClient>> NewFhirClient(FhirClientOptions options,
                                                          HttpTransport* transport,
                                                          AccessTokenSource* tokens,
                                                          const Clock* clock);

// "identifier=<system>|<value>" with FHIR search escaping (\, , $ |) and percent-encoding, for
// If-None-Exist and conditional URLs.
std::string IdentifierQuery(absl::string_view system, absl::string_view value);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(absl::string_view text);

// True if `json` nests arrays/objects deeper than `max_depth` (scanned without parsing).
bool JsonTooDeep(absl::string_view json, int max_depth);

}  // namespace collabcare::host

#endif  // COLLABCARE_ADAPTERS_HOST_FHIR_CLIENT_H_
