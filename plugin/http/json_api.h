// The JSON API of the HTTP face: one table of routes, each a request message filled from the
// path, the query and the JSON body, one use case of service::CollabService called with the
// verified caller, and the answer printed in the proto3 JSON mapping. No rule lives here.
#ifndef COLLABCARE_PLUGIN_HTTP_JSON_API_H_
#define COLLABCARE_PLUGIN_HTTP_JSON_API_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "plugin/http/path_template.h"
#include "plugin/service/collab_service.h"

namespace collabcare::http {

// Query parameters in the order they came, already percent-decoded.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// The HTTP status for a canonical code: INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
// 400; UNAUTHENTICATED 401; PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS, ABORTED 409;
// RESOURCE_EXHAUSTED 429; UNIMPLEMENTED 501; UNAVAILABLE 503; DEADLINE_EXCEEDED 504; any other
// 500 (OK is 200).
int HttpStatusFor(absl::StatusCode code);

// {"error":{"code":<http status>,"status":"INVALID_ARGUMENT","message":"…"}}; the message is
// the status's own (use cases never put clinical text in one).
std::string ErrorJson(int http_status, absl::StatusCode code, absl::string_view message);
std::string ErrorJson(const absl::Status& status);

// Fills `request` from a JSON body (proto3 JSON, lowerCamelCase or proto names; unknown fields
// refused), then from query parameters (top-level singular fields by JSON or proto name), then
// the path's binding (`path.field`, e.g. `goal.name`). INVALID_ARGUMENT naming the field
// (`goal.status: invalid value`, `goal.wordz: unknown field`, `parent: does not match the
// path`, `body: malformed JSON`); the message never quotes the body or a query value.
absl::Status FillRequest(absl::string_view body, const QueryParams& query, const PathMatch& path,
                         google::protobuf::Message* request);

// The proto3 JSON of `message`: lowerCamelCase names, enums as names, defaults omitted.
// INTERNAL if protobuf cannot print it.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// What a route needs from the HTTP request.
struct ApiInput {
  absl::string_view body;
  const QueryParams* query = nullptr;
  PathMatch path;
};

// One row of the route table.
struct ApiRoute {
  enum class Kind {
    kUnary,  // `call` runs one use case
    kWatch,  // WatchEpisode as server-sent events (served by HttpFace)
    kMe,     // who the token says the caller is (served by HttpFace)
  };
  std::string method;  // GET, POST, PATCH
  PathTemplate path;
  std::string rpc;  // the audited action, the gRPC method name (collabcare.v1.GoalService/…)
  Kind kind = Kind::kUnary;
  // For kUnary: the printed answer, or the status. A request that cannot be filled is audited
  // here as a refusal of `rpc` by `caller`; the use case audits everything else.
  std::function<absl::StatusOr<std::string>(service::CollabService& service,
                                            const std::string& caller, const ApiInput& input)>
      call;
};

// Every route of API v1 (the table in README.md, "The HTTP face").
// INVALID_ARGUMENT only if a template in the table is malformed (a bug, caught by the tests).
absl::StatusOr<std::vector<ApiRoute>> V1Routes();

}  // namespace collabcare::http

#endif  // COLLABCARE_PLUGIN_HTTP_JSON_API_H_
