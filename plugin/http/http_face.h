// The HTTP face of collabcare-server: the JSON API over the same use cases as the gRPC face
// (plugin/http/json_api.h), WatchEpisode as server-sent events, the SMART app's static files
// with a strict Content-Security-Policy, /healthz, collabcare's public JWKS and /metrics, on
// cpp-httplib (Debian's libcpp-httplib, with OpenSSL for TLS).
#ifndef COLLABCARE_PLUGIN_HTTP_HTTP_FACE_H_
#define COLLABCARE_PLUGIN_HTTP_HTTP_FACE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "plugin/http/json_api.h"
#include "plugin/identity/identity.h"
#include "plugin/service/collab_service.h"
#include "plugin/service/event_hub.h"

namespace collabcare::http {

struct HttpFaceOptions {
  // host:port or [v6]:port; port 0 picks a free one (see HttpFace::port).
  std::string listen = "127.0.0.1:0";
  // PEM files: serve HTTPS (TLS 1.2 or later) when both are set.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Worker threads. Each open watch stream holds one until it ends.
  int threads = 16;
  // Larger request bodies are refused with 413 before any handler reads them.
  size_t max_body_bytes = 256 * 1024;

  // The SMART app: the folder served under /app/ (empty: no app, /app/ is 404) and the values of
  // the generated /app/config.json.
  std::string web_root;
  std::string smart_client_id;
  std::string smart_scope = "launch launch/patient openid fhirUser patient/*.rs user/*.rs";
  std::vector<std::string> smart_fhir_servers;
  // Content-Security-Policy sources of the app: origins it may fetch from besides 'self' (the
  // EHR's FHIR and authorization servers) and those that may frame it (default 'self').
  std::vector<std::string> connect_src;
  std::vector<std::string> frame_ancestors;

  // GET /metrics answers this (Prometheus text; counts only) when set; 404 otherwise.
  std::function<std::string()> metrics;
  // GET /.well-known/jwks.json answers this JWK Set when non-empty; 404 otherwise.
  std::string public_jwks;

  // Watch streams re-read the store at least this often (other replicas' writes, Stop), and
  // send an SSE comment when nothing was written for `watch_keepalive`.
  absl::Duration watch_poll = absl::Seconds(2);
  absl::Duration watch_keepalive = absl::Seconds(15);
  int watch_batch = 256;
};

// Serves HTTP(S) on its own thread pool; handlers call CollabService (which blocks on the
// store) on those threads. Collaborators are not owned and must outlive the face. Start and
// Stop are called from one thread; port() and the handlers are thread-safe.
//
// Every response carries `Cache-Control: no-store`, `X-Content-Type-Options: nosniff` and
// `Referrer-Policy: no-referrer` (routes added with AddRoutes too: do not set these again);
// the app's files also the Content-Security-Policy. Logs hold the method, the route template,
// the status and the time: never the filled path, a token, a caller or any content.
class HttpFace {
 public:
  // `health` reports whether the store answers (GET /healthz); null means always serving.
  HttpFace(HttpFaceOptions options, service::CollabService& service,
           identity::TokenVerifier& verifier, service::EventHub& hub,
           std::function<absl::Status()> health);
  HttpFace(const HttpFace&) = delete;
  HttpFace& operator=(const HttpFace&) = delete;
  ~HttpFace();  // Stops.

  // Lets another module (the CDS Hooks service) register handlers on the same server. Call
  // before Start; `add` runs during Start, before the face's own routes, so its paths win over
  // the face's 404/405 answers. Paths under /v1/, /app/, /healthz, /metrics and /.well-known/
  // belong to the face. Register handlers only: the server-wide settings (logger, error and
  // pre-routing handlers, default headers, limits, thread pool) are the face's. Responses with
  // an error status and an empty body get the face's JSON error body.
  void AddRoutes(std::function<void(httplib::Server&)> add);

  // Binds and starts serving. INVALID_ARGUMENT for unusable options (naming the option: a CSP
  // source, the TLS files, the listen address), UNAVAILABLE if the address cannot be bound.
  absl::Status Start();

  // Stops taking requests, ends watch streams (within watch_poll; at once if the hub was shut
  // down) and waits for the handlers in flight. Idempotent.
  void Stop();

  // The bound port once started (the real one when `listen` asked for port 0), else 0.
  int port() const { return port_.load(); }

 private:
  struct Call;
  void Dispatch(const httplib::Request& request, httplib::Response& response);
  void ServeUnary(const ApiRoute& route, Call& call);
  void ServeWatch(const ApiRoute& route, Call& call);
  void ServeMe(Call& call);
  void ServeApp(const httplib::Request& request, httplib::Response& response);
  void ServeHealth(httplib::Response& response);
  void SetError(httplib::Response& response, const absl::Status& status);

  HttpFaceOptions options_;
  service::CollabService& service_;
  identity::TokenVerifier& verifier_;
  service::EventHub& hub_;
  std::function<absl::Status()> health_;
  std::vector<std::function<void(httplib::Server&)>> extra_routes_;
  std::vector<ApiRoute> routes_;
  std::string csp_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::atomic<int> port_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace collabcare::http

#endif  // COLLABCARE_PLUGIN_HTTP_HTTP_FACE_H_
