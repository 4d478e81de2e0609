// The HTTP face: routing, authentication, errors, watch streams, the app and the small routes.
#include "plugin/http/http_face.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "plugin/common/log.h"
#include "plugin/http/static_files.h"

namespace collabcare::http {
namespace {

namespace v1 = ::collabcare::v1;

constexpr char kJson[] = "application/json";

// When the request being served on this worker thread started (set before routing, read when
// the response has been written; httplib runs both on the thread that serves the request).
thread_local absl::Time request_start = absl::InfinitePast();

// `Authorization: Bearer <JWT>`, exactly once, verified like the gRPC face does.
absl::StatusOr<std::string> Authenticate(const httplib::Request& request,
                                         identity::TokenVerifier& verifier) {
  const size_t count = request.get_header_value_count("Authorization");
  if (count == 0) return absl::UnauthenticatedError("missing Authorization: Bearer token");
  if (count > 1) return absl::UnauthenticatedError("more than one Authorization header");
  const std::string header = request.get_header_value("Authorization");
  absl::string_view value = header;
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(value, kBearer)) {
    return absl::UnauthenticatedError("Authorization must be a Bearer token");
  }
  absl::StatusOr<identity::Caller> caller =
      verifier.Verify(absl::StripAsciiWhitespace(value.substr(kBearer.size())));
  if (!caller.ok()) return caller.status();
  return caller->person;
}

absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  std::string host;
  absl::string_view port_text;
  if (absl::StartsWith(listen, "[")) {
    const size_t close = listen.find("]:");
    if (close == std::string::npos) return absl::InvalidArgumentError("listen: expected [v6]:port");
    host = listen.substr(1, close - 1);
    port_text = absl::string_view(listen).substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return absl::InvalidArgumentError("listen: expected host:port");
    host = listen.substr(0, colon);
    port_text = absl::string_view(listen).substr(colon + 1);
  }
  int port = 0;
  if (host.empty() || !absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError("listen: expected host:port with a port from 0 to 65535");
  }
  return std::make_pair(host, port);
}

// The error of a response that has no body yet (one httplib produced, or an unknown path).
std::string FallbackError(int status, size_t max_body_bytes) {
  switch (status) {
    case 404:
      return ErrorJson(404, absl::StatusCode::kNotFound, "no such path");
    case 405:
      return ErrorJson(405, absl::StatusCode::kUnimplemented, "method not allowed");
    case 413:
      return ErrorJson(413, absl::StatusCode::kInvalidArgument,
                       absl::StrCat("body: larger than ", max_body_bytes, " bytes"));
    case 414:
      return ErrorJson(414, absl::StatusCode::kInvalidArgument, "path: too long");
    case 503:
      return ErrorJson(503, absl::StatusCode::kUnavailable, "unavailable");
    default:
      if (status >= 500) return ErrorJson(status, absl::StatusCode::kInternal, "internal error");
      return ErrorJson(status, absl::StatusCode::kInvalidArgument, "malformed request");
  }
}

std::string EventFrame(const v1::EpisodeEvent& event, const std::string& json) {
  return absl::StrCat("id: ", event.sequence(), "\ndata: ", json, "\n\n");
}

}  // namespace

struct HttpFace::Call {
  const httplib::Request& request;
  httplib::Response& response;
  PathMatch match;
};

HttpFace::HttpFace(HttpFaceOptions options, service::CollabService& service,
                   identity::TokenVerifier& verifier, service::EventHub& hub,
                   std::function<absl::Status()> health)
    : options_(std::move(options)),
      service_(service),
      verifier_(verifier),
      hub_(hub),
      health_(std::move(health)) {}

HttpFace::~HttpFace() { Stop(); }

void HttpFace::AddRoutes(std::function<void(httplib::Server&)> add) {
  extra_routes_.push_back(std::move(add));
}

absl::Status HttpFace::Start() {
  if (server_ != nullptr) return absl::FailedPreconditionError("already started");
  absl::StatusOr<std::string> csp =
      ContentSecurityPolicy(options_.connect_src, options_.frame_ancestors);
  if (!csp.ok()) return csp.status();
  csp_ = *std::move(csp);
  absl::StatusOr<std::vector<ApiRoute>> routes = V1Routes();
  if (!routes.ok()) return routes.status();
  routes_ = *std::move(routes);
  absl::StatusOr<std::pair<std::string, int>> address = ParseListen(options_.listen);
  if (!address.ok()) return address.status();
  if (options_.threads < 1) return absl::InvalidArgumentError("threads: must be at least 1");
  if (std::error_code ec;
      !options_.web_root.empty() && !std::filesystem::is_directory(options_.web_root, ec)) {
    return absl::InvalidArgumentError("web_root: not a directory");
  }
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert_file and tls_key_file go together");
  }
  if (!options_.tls_cert_file.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(),
                                                    options_.tls_key_file.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(
          "tls_cert_file, tls_key_file: cannot load the certificate chain and its key");
    }
    SSL_CTX_set_min_proto_version(tls->ssl_context(), TLS1_2_VERSION);
    server_ = std::move(tls);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *server_;
  const size_t threads = static_cast<size_t>(options_.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(options_.max_body_bytes);
  // Small JSON answers must not wait for delayed ACKs (measured: without it every CDS call
  // took ~86 ms at p50 even with 4 calls in flight).
  server.set_tcp_nodelay(true);
  // httplib's default is SO_REUSEPORT, which lets a second server bind the same port and take
  // a share of its connections; SO_REUSEADDR only allows a restart over TIME_WAIT sockets.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.set_default_headers({{"Cache-Control", "no-store"},
                              {"X-Content-Type-Options", "nosniff"},
                              {"Referrer-Policy", "no-referrer"}});
  server.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_start = absl::Now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [max = options_.max_body_bytes](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        response.set_content(FallbackError(response.status, max), kJson);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    // The route's template, never the path itself: ids are not needed, and a stray path could
    // hold anything.
    std::string route = "(unmatched)";
    for (const ApiRoute& r : routes_) {
      if (r.path.Match(request.path)) {
        route = r.path.text();
        break;
      }
    }
    if (route == "(unmatched)") {
      for (absl::string_view known : {"/healthz", "/metrics", "/.well-known/jwks.json", "/"}) {
        if (request.path == known) route = std::string(known);
      }
      if (absl::StartsWith(request.path, "/app")) route = "/app/*";
      if (absl::StartsWith(request.path, "/cds-services")) route = "/cds-services/*";
    }
    // A request refused before routing (a malformed request line) has no start time.
    const std::string ms =
        request_start == absl::InfinitePast()
            ? ""
            : absl::StrCat(absl::ToDoubleMilliseconds(absl::Now() - request_start));
    request_start = absl::InfinitePast();
    Log(response.status < 400 ? LogLevel::kDebug : LogLevel::kInfo, "http",
        {{"method", absl::AsciiStrToUpper(request.method).substr(0, 8)},
         {"route", route},
         {"status", absl::StrCat(response.status)},
         {"ms", ms}});
  });

  for (const auto& add : extra_routes_) add(server);

  auto dispatch = [this](const httplib::Request& request, httplib::Response& response) {
    Dispatch(request, response);
  };
  const std::string api = "/v1/.*";
  server.Get(api, dispatch);
  server.Post(api, httplib::Server::Handler(dispatch));
  server.Patch(api, httplib::Server::Handler(dispatch));
  server.Put(api, httplib::Server::Handler(dispatch));
  server.Delete(api, httplib::Server::Handler(dispatch));
  server.Options(api, dispatch);
  server.Get("/healthz", [this](const httplib::Request&, httplib::Response& response) {
    ServeHealth(response);
  });
  server.Get(
      "/\\.well-known/jwks\\.json", [this](const httplib::Request&, httplib::Response& response) {
        if (options_.public_jwks.empty()) {
          response.status = 404;
          response.set_content(
              ErrorJson(404, absl::StatusCode::kNotFound, "no host key is configured"), kJson);
          return;
        }
        response.set_content(options_.public_jwks, kJson);
      });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    if (!options_.metrics) {
      response.status = 404;
      return;
    }
    response.set_content(options_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  auto app = [this](const httplib::Request& request, httplib::Response& response) {
    ServeApp(request, response);
  };
  server.Get("/", app);
  server.Get("/app(/.*)?", app);

  int port = address->second;
  if (port == 0) {
    port = server.bind_to_any_port(address->first);
  } else if (!server.bind_to_port(address->first, port)) {
    port = -1;
  }
  if (port <= 0) {
    server_.reset();
    return absl::UnavailableError("listen: cannot bind the address");
  }
  port_ = port;
  stopping_ = false;
  listener_ = std::thread([&server] { server.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so Stop must not race ahead of it.
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  Log(LogLevel::kInfo, "http_serving",
      {{"port", absl::StrCat(port)},
       {"tls", options_.tls_cert_file.empty() ? "off" : "on"},
       {"app", options_.web_root.empty() ? "off" : "on"}});
  return absl::OkStatus();
}

void HttpFace::Stop() {
  if (server_ == nullptr) return;
  stopping_ = true;
  server_->stop();  // watch streams notice `stopping_` within watch_poll
  if (listener_.joinable()) listener_.join();
  server_.reset();
  port_ = 0;
}

void HttpFace::SetError(httplib::Response& response, const absl::Status& status) {
  response.status = HttpStatusFor(status.code());
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    response.set_header("WWW-Authenticate", "Bearer");
  }
  response.set_content(ErrorJson(status), kJson);
}

void HttpFace::Dispatch(const httplib::Request& request, httplib::Response& response) {
  const ApiRoute* found = nullptr;
  std::optional<PathMatch> match;
  std::vector<std::string> allowed;
  for (const ApiRoute& route : routes_) {
    std::optional<PathMatch> m = route.path.Match(request.path);
    if (!m) continue;
    if (route.method == request.method) {
      found = &route;
      match = std::move(m);
      break;
    }
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
      allowed.push_back(route.method);
    }
  }
  if (found == nullptr) {
    if (allowed.empty()) {
      response.status = 404;
      response.set_content(ErrorJson(404, absl::StatusCode::kNotFound, "no such path"), kJson);
    } else {
      response.status = 405;
      response.set_header("Allow", absl::StrJoin(allowed, ", "));
      response.set_content(ErrorJson(405, absl::StatusCode::kUnimplemented, "method not allowed"),
                           kJson);
    }
    return;
  }
  Call call{request, response, *std::move(match)};
  switch (found->kind) {
    case ApiRoute::Kind::kUnary:
      ServeUnary(*found, call);
      return;
    case ApiRoute::Kind::kWatch:
      ServeWatch(*found, call);
      return;
    case ApiRoute::Kind::kMe:
      ServeMe(call);
      return;
  }
}

void HttpFace::ServeUnary(const ApiRoute& route, Call& call) {
  absl::StatusOr<std::string> caller = Authenticate(call.request, verifier_);
  if (!caller.ok()) {
    service_.AuditRefusal("", route.rpc, caller.status());
    SetError(call.response, caller.status());
    return;
  }
  QueryParams query(call.request.params.begin(), call.request.params.end());
  ApiInput input;
  // A GET carries no request body; whatever came along is ignored.
  input.body = route.method == "GET" ? absl::string_view() : absl::string_view(call.request.body);
  input.query = &query;
  input.path = call.match;
  absl::StatusOr<std::string> answer = route.call(service_, *caller, input);
  if (!answer.ok()) {
    SetError(call.response, answer.status());
    return;
  }
  call.response.set_content(*answer, kJson);
}

void HttpFace::ServeMe(Call& call) {
  absl::StatusOr<std::string> caller = Authenticate(call.request, verifier_);
  if (!caller.ok()) {
    service_.AuditRefusal("", "collabcare.http/Me", caller.status());
    SetError(call.response, caller.status());
    return;
  }
  call.response.set_content(nlohmann::json{{"person", *caller}}.dump(), kJson);
}

void HttpFace::ServeWatch(const ApiRoute& route, Call& call) {
  absl::StatusOr<std::string> caller = Authenticate(call.request, verifier_);
  if (!caller.ok()) {
    service_.AuditRefusal("", route.rpc, caller.status());
    SetError(call.response, caller.status());
    return;
  }
  QueryParams query(call.request.params.begin(), call.request.params.end());
  v1::WatchEpisodeRequest request;
  absl::Status filled = FillRequest("", query, call.match, &request);
  // A reconnecting EventSource (or the app's fetch) resumes after the last id it saw.
  if (filled.ok() && call.request.has_header("Last-Event-ID")) {
    int64_t last = 0;
    if (!absl::SimpleAtoi(call.request.get_header_value("Last-Event-ID"), &last) || last < 0) {
      filled = absl::InvalidArgumentError("Last-Event-ID: must be a sequence number");
    } else {
      request.set_after_sequence(std::max(request.after_sequence(), last));
    }
  }
  if (!filled.ok()) {
    service_.AuditRefusal(*caller, route.rpc, filled);
    SetError(call.response, filled);
    return;
  }
  absl::StatusOr<std::string> episode_id = service_.StartWatch(*caller, request);
  if (!episode_id.ok()) {
    SetError(call.response, episode_id.status());
    return;
  }
  struct Stream {
    std::string caller;
    std::string episode_id;
    int64_t after = 0;
    absl::Time last_write;
  };
  auto stream = std::make_shared<Stream>(
      Stream{*std::move(caller), *std::move(episode_id), request.after_sequence(), absl::Now()});
  call.response.set_header("X-Accel-Buffering", "no");  // for a proxy in front: do not buffer
  call.response.set_chunked_content_provider(
      "text/event-stream", [this, stream](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& text) {
          stream->last_write = absl::Now();
          return sink.write(text.data(), text.size());
        };
        // Ends the stream after telling the client why (it may reconnect with Last-Event-ID).
        auto end_with = [&](const absl::Status& status) {
          write(absl::StrCat("event: error\ndata: ", ErrorJson(status), "\n\n"));
          sink.done();
          return true;
        };
        if (stopping_) return end_with(absl::UnavailableError("server is shutting down"));
        absl::StatusOr<service::EventBatch> batch = service_.ReadEvents(
            stream->caller, stream->episode_id, stream->after, options_.watch_batch);
        if (!batch.ok()) return end_with(batch.status());
        for (const v1::EpisodeEvent& event : batch->events) {
          absl::StatusOr<std::string> json = ToJson(event);
          if (!json.ok()) return end_with(json.status());
          if (!write(EventFrame(event, *json))) return false;  // the client went away
        }
        stream->after = batch->last_sequence;
        if (static_cast<int>(batch->events.size()) == options_.watch_batch) return true;
        const absl::Duration quiet = absl::Now() - stream->last_write;
        if (quiet >= options_.watch_keepalive) return write(": keepalive\n\n");
        const absl::Duration wait = std::min(options_.watch_poll, options_.watch_keepalive - quiet);
        if (!hub_.WaitBeyond(stream->episode_id, stream->after, wait)) {
          return end_with(absl::UnavailableError("server is shutting down"));
        }
        return true;
      });
}

void HttpFace::ServeHealth(httplib::Response& response) {
  absl::Status health = stopping_ ? absl::UnavailableError("stopping")
                        : health_ ? health_()
                                  : absl::OkStatus();
  if (!health.ok()) {
    response.status = 503;
    response.set_content(R"({"status":"NOT_SERVING"})", kJson);
    return;
  }
  response.set_content(R"({"status":"SERVING"})", kJson);
}

void HttpFace::ServeApp(const httplib::Request& request, httplib::Response& response) {
  response.set_header("Content-Security-Policy", csp_);
  const std::string& path = request.path;
  if (path == "/app/config.json") {
    response.set_content(
        AppConfigJson(options_.smart_client_id, options_.smart_scope, options_.smart_fhir_servers),
        kJson);
    return;
  }
  if (options_.web_root.empty()) {
    response.status = 404;
    response.set_content(ErrorJson(404, absl::StatusCode::kNotFound, "no app is served here"),
                         kJson);
    return;
  }
  if (path == "/" || path == "/app" || path == "/app/") {
    response.set_redirect("/app/index.html", 302);
    return;
  }
  absl::StatusOr<std::filesystem::path> file =
      ResolveAppFile(options_.web_root, absl::string_view(path).substr(sizeof("/app/") - 1));
  std::ifstream in;
  if (file.ok()) in.open(*file, std::ios::binary);
  if (!file.ok() || !in) {
    response.status = 404;
    response.set_content(ErrorJson(404, absl::StatusCode::kNotFound, "no such file"), kJson);
    return;
  }
  std::stringstream content;
  content << in.rdbuf();
  response.set_content(content.str(), ContentTypeFor(*file));
}

}  // namespace collabcare::http
