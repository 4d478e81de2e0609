// collabcare-server: wires the store, identity, use cases and the gRPC face together and
// serves API v1 until SIGTERM.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "adapters/host/access_token.h"
#include "adapters/host/fhir_client.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/smart_auth.h"
#include "adapters/host/sync/host_sink.h"
#include "adapters/host/sync/read_back.h"
#include "adapters/host/sync/sync_worker.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "plugin/cds/cds_routes.h"
#include "plugin/cds/cds_service.h"
#include "plugin/common/clock.h"
#include "plugin/common/log.h"
#include "plugin/common/metrics.h"
#include "plugin/common/status_macros.h"
#include "plugin/grpc/grpc_services.h"
#include "plugin/grpc/sync_grpc_service.h"
#include "plugin/http/http_face.h"
#include "plugin/identity/identity.h"
#include "plugin/server/remote_jwks.h"
#include "plugin/server/thresholds_config.h"
#include "plugin/service/collab_service.h"
#include "plugin/service/sync_status_service.h"
#include "plugin/store/store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, data_dir, "./collabcare-data",
          "folder for the SQLite file and dev identity");
ABSL_FLAG(std::string, db, "", "sqlite:PATH (default sqlite:<data_dir>/collabcare.db)");
ABSL_FLAG(std::string, jwks_file, "", "JWK Set that signs callers' bearer tokens");
ABSL_FLAG(std::string, jwks_url, "",
          "URL of the JWK Set that signs callers' bearer tokens (fetched at start, every "
          "--jwks_refresh, and when a token names an unknown key)");
ABSL_FLAG(absl::Duration, jwks_refresh, absl::Minutes(10), "how often --jwks_url is fetched");
ABSL_FLAG(std::string, jwks_ca_bundle, "", "CA bundle for --jwks_url (default: the system's)");
ABSL_FLAG(std::string, token_issuer, "", "required `iss` of bearer tokens");
ABSL_FLAG(std::string, token_audience, "", "required `aud` of bearer tokens");
ABSL_FLAG(bool, dev, false,
          "development identity: create a local key under <data_dir>/dev-identity and accept "
          "only tokens it signed (collabctl token --as Patient/123)");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: require and verify client certificates (mutual TLS)");
ABSL_FLAG(std::string, thresholds_file, "",
          "JSON threshold table replacing the built-in one (see deploy/thresholds.example.json)");
ABSL_FLAG(bool, print_thresholds, false,
          "print the active threshold table as JSON (a starting point for --thresholds_file) "
          "and exit");
ABSL_FLAG(std::string, audit_reads, "queued",
          "queued: a read's audit record is committed with the next group commit (a crash can "
          "lose the last milliseconds of read audits); durable: every read waits for its audit "
          "record's fsync");
ABSL_FLAG(int, max_threads, 200,
          "upper bound on gRPC worker threads (each open WatchEpisode stream holds one)");
ABSL_FLAG(std::string, port_file, "", "write the bound port here once serving (for scripts)");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::string, host_profile, "ndjson",
          "what collabcare writes to the host EHR (DESIGN.md \"Host EHRs\"): ndjson (FHIR bulk "
          "NDJSON files in --host_ndjson_dir), fhir-r4 (transaction bundles to --host_base_url), "
          "epic or oracle-health (DocumentReference notes and provisional Conditions, one write "
          "at a time), auto (chosen per resource type from the host's CapabilityStatement), none");
ABSL_FLAG(std::string, host_base_url, "",
          "FHIR R4 base URL of the host EHR (fhir-r4, epic, "
          "oracle-health, auto)");
ABSL_FLAG(std::string, host_ndjson_dir, "",
          "folder for --host_profile=ndjson (default "
          "<data_dir>/fhir-export)");
ABSL_FLAG(std::string, host_client_id, "",
          "client id registered with the EHR (SMART Backend "
          "Services)");
ABSL_FLAG(std::string, host_private_key, "",
          "PEM private key (RSA >= 2048 bits or EC P-384) that signs collabcare's SMART Backend "
          "Services assertions; enables them. --print_host_jwks shows the public JWKS to "
          "register with the EHR");
ABSL_FLAG(std::string, host_scope, "system/*.write", "scopes requested from the EHR");
ABSL_FLAG(std::string, host_ca_bundle, "", "CA bundle for the EHR (default: the system's)");
ABSL_FLAG(std::vector<std::string>, operators, {},
          "comma-separated FHIR references (e.g. Practitioner/ops1) allowed to call "
          "SyncService.GetSyncStatus (collabctl sync status); nobody when empty");
ABSL_FLAG(int, host_sync_parallelism, 4,
          "episodes pushed to a FHIR host at once (changes of one episode stay in order; the "
          "ndjson profile always writes one at a time)");
ABSL_FLAG(absl::Duration, host_read_back_interval, absl::Seconds(30),
          "how often Goals changed in the EHR are read back (fhir-r4, or auto with "
          "transactions); 0 turns reading back off");
ABSL_FLAG(std::string, host_read_back_author, "",
          "who an EHR change without meta.author is attributed to (e.g. Device/ehr); empty: "
          "such changes are kept as conflicts");
ABSL_FLAG(bool, print_host_jwks, false,
          "print the public JWKS of --host_private_key (to register with the EHR) and exit");

// ---- HTTP face (plugin/http): the JSON API, watch as server-sent events, the SMART app,
// /healthz, collabcare's public JWKS. Off unless --http_listen is set.
ABSL_FLAG(std::string, http_listen, "",
          "HTTP(S) address for the JSON API and the SMART app (host:port, e.g. 127.0.0.1:8443; "
          "port 0 picks one; empty: no HTTP face). HTTPS with --tls_cert/--tls_key");
ABSL_FLAG(std::string, http_port_file, "",
          "write the bound HTTP port here once serving (for scripts)");
ABSL_FLAG(int, http_threads, 64,
          "HTTP worker threads: each open app holds one for its live updates, so size it above "
          "the number of people using the app at once");
ABSL_FLAG(std::string, web_root, "",
          "folder of the built SMART app, served under /app/ (empty: no app)");
ABSL_FLAG(std::string, smart_client_id, "",
          "the app's SMART client id, given to it in /app/config.json");
ABSL_FLAG(std::string, smart_scope, "launch launch/patient openid fhirUser patient/*.rs user/*.rs",
          "scopes the app requests, given to it in /app/config.json");
ABSL_FLAG(std::vector<std::string>, smart_fhir_servers, {},
          "comma-separated FHIR base URLs offered for a standalone launch (/app/config.json)");
ABSL_FLAG(std::vector<std::string>, http_connect_src, {},
          "comma-separated origins the app may fetch from besides its own (the EHR's FHIR and "
          "authorization servers), for its Content-Security-Policy connect-src");
ABSL_FLAG(std::vector<std::string>, frame_ancestors, {},
          "comma-separated origins that may show the app in a frame (the EHR), for its "
          "Content-Security-Policy frame-ancestors (default 'self')");

// ---- CDS Hooks (plugin/cds) on the HTTP face: cards for the EHR's patient-view and
// encounter-start hooks. Off unless --cds_base_url is set.
ABSL_FLAG(std::string, cds_base_url, "",
          "the URL under which the EHR calls /cds-services (e.g. https://apps.example.org); "
          "tokens' aud must name its endpoints. Empty: no CDS Hooks service");
ABSL_FLAG(std::string, app_launch_url, "",
          "the SMART app's launch URL, linked from every card (e.g. "
          "https://apps.example.org/app/launch.html)");
ABSL_FLAG(std::vector<std::string>, cds_clients, {},
          "comma-separated ISSUER=JWKS pairs: the EHRs (CDS clients) whose signed calls are "
          "accepted; JWKS is an https:// URL or a file");
ABSL_FLAG(std::vector<std::string>, cds_jku_allow, {},
          "comma-separated ISSUER=URL pairs: `jku` key-set URLs a client may name in its JWTs");

namespace collabcare {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read the file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// What verifies callers' tokens, and what keeps it fresh.
struct Identity {
  std::unique_ptr<host::HttpTransport> transport;  // for --jwks_url
  std::unique_ptr<identity::TokenVerifier> verifier;
  server::RemoteJwksVerifier* remote = nullptr;  // set with --jwks_url
};

absl::StatusOr<Identity> MakeIdentity(const Clock& clock) {
  identity::VerifierOptions options;
  options.clock = &clock;
  Identity identity;
  const bool file = !absl::GetFlag(FLAGS_jwks_file).empty();
  const bool url = !absl::GetFlag(FLAGS_jwks_url).empty();
  if (absl::GetFlag(FLAGS_dev)) {
    if (file || url) {
      return absl::InvalidArgumentError("--dev excludes --jwks_file and --jwks_url");
    }
    ASSIGN_OR_RETURN(identity::DevIdentity dev,
                     identity::EnsureDevIdentity(absl::GetFlag(FLAGS_data_dir)));
    options.jwks_json = dev.jwks_json;
    options.issuer = identity::kDevIssuer;
    options.audience = identity::kDevAudience;
    Log(LogLevel::kWarning, "dev_identity",
        {{"note",
          "development identity: tokens minted by collabctl are accepted; never use "
          "in production"}});
    ASSIGN_OR_RETURN(identity.verifier, identity::NewJwksVerifier(options));
    return identity;
  }
  if (file == url || absl::GetFlag(FLAGS_token_issuer).empty() ||
      absl::GetFlag(FLAGS_token_audience).empty()) {
    return absl::InvalidArgumentError(
        "set one of --jwks_file or --jwks_url, and --token_issuer and --token_audience (or "
        "--dev for a local trial)");
  }
  if (absl::GetFlag(FLAGS_token_issuer) == identity::kDevIssuer) {
    return absl::InvalidArgumentError(
        "--token_issuer: the development issuer is only accepted with --dev");
  }
  options.issuer = absl::GetFlag(FLAGS_token_issuer);
  options.audience = absl::GetFlag(FLAGS_token_audience);
  if (file) {
    ASSIGN_OR_RETURN(options.jwks_json, ReadFile(absl::GetFlag(FLAGS_jwks_file), "jwks_file"));
    ASSIGN_OR_RETURN(identity.verifier, identity::NewJwksVerifier(options));
    return identity;
  }
  host::CurlTransportOptions transport;
  transport.ca_bundle_path = absl::GetFlag(FLAGS_jwks_ca_bundle);
  transport.total_timeout = absl::Seconds(10);
  transport.max_response_bytes = 1 << 20;
  ASSIGN_OR_RETURN(identity.transport, host::NewCurlTransport(transport));
  server::RemoteJwksOptions remote;
  remote.url = absl::GetFlag(FLAGS_jwks_url);
  remote.verifier = options;
  ASSIGN_OR_RETURN(std::unique_ptr<server::RemoteJwksVerifier> verifier,
                   server::NewRemoteJwksVerifier(remote, *identity.transport));
  identity.remote = verifier.get();
  identity.verifier = std::move(verifier);
  return identity;
}

absl::StatusOr<std::unique_ptr<store::Store>> OpenStore() {
  std::string db = absl::GetFlag(FLAGS_db);
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (db.empty()) db = absl::StrCat("sqlite:", data_dir, "/collabcare.db");
  if (absl::StartsWith(db, "postgresql://") || absl::StartsWith(db, "postgres://")) {
    return absl::UnimplementedError("--db: the PostgreSQL store is not part of this build yet");
  }
  if (!absl::StartsWith(db, "sqlite:")) {
    return absl::InvalidArgumentError("--db must be sqlite:PATH");
  }
  store::SqliteOptions options;
  options.path = db.substr(sizeof("sqlite:") - 1);
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(options.path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return absl::UnavailableError("--db: cannot create the database folder");
    ::chmod(parent.c_str(), 0700);
  }
  return store::OpenSqliteStore(options);
}

// The connection to the host EHR and the worker that feeds it (nothing when --host_profile=none).
struct HostSync {
  std::string host;     // the store's name for the connection
  std::string profile;  // --host_profile
  std::unique_ptr<host::HttpTransport> transport;
  std::unique_ptr<host::AccessTokenSource> tokens;
  std::unique_ptr<host::FhirClient> client;
  std::unique_ptr<host::HostSink> sink;
  std::unique_ptr<host::Sleeper> sleeper;
  std::unique_ptr<host::SyncWorker> worker;
  // Goals changed in the EHR, read back (FHIR hosts holding collabcare's Goals only).
  std::unique_ptr<host::Sleeper> read_back_sleeper;
  std::unique_ptr<host::ReadBackPoller> read_back;
};

absl::StatusOr<HostSync> MakeHostSync(store::Store& store, const Clock& clock,
                                      MetricsRegistry& metrics) {
  HostSync sync;
  const std::string profile = absl::GetFlag(FLAGS_host_profile);
  if (profile == "none") return sync;
  host::SyncWorkerOptions options;
  if (profile == "ndjson") {
    std::string dir = absl::GetFlag(FLAGS_host_ndjson_dir);
    if (dir.empty()) dir = absl::StrCat(absl::GetFlag(FLAGS_data_dir), "/fhir-export");
    ASSIGN_OR_RETURN(sync.sink, host::NewNdjsonSink(dir));
    options.host = "ndjson";
  } else if (profile == "fhir-r4" || profile == "epic" || profile == "oracle-health" ||
             profile == "auto") {
    const std::string base_url = absl::GetFlag(FLAGS_host_base_url);
    if (base_url.empty()) return absl::InvalidArgumentError("--host_base_url is required");
    host::CurlTransportOptions transport;
    transport.ca_bundle_path = absl::GetFlag(FLAGS_host_ca_bundle);
    ASSIGN_OR_RETURN(sync.transport, host::NewCurlTransport(transport));
    if (!absl::GetFlag(FLAGS_host_private_key).empty()) {
      host::SmartBackendOptions smart;
      smart.fhir_base_url = base_url;
      smart.client_id = absl::GetFlag(FLAGS_host_client_id);
      smart.scope = absl::GetFlag(FLAGS_host_scope);
      ASSIGN_OR_RETURN(smart.private_key_pem,
                       ReadFile(absl::GetFlag(FLAGS_host_private_key), "host_private_key"));
      ASSIGN_OR_RETURN(sync.tokens,
                       host::NewSmartBackendTokenSource(smart, sync.transport.get(), &clock));
    }
    host::FhirClientOptions client;
    client.base_url = base_url;
    ASSIGN_OR_RETURN(sync.client,
                     host::NewFhirClient(client, sync.transport.get(), sync.tokens.get(), &clock));
    // The cursor and remote ids belong to this profile at this server.
    options.host = absl::StrCat(profile, ":", base_url);
    if (profile == "fhir-r4") {
      sync.sink = host::NewFhirR4Sink(host::FhirR4SinkOptions(), sync.client.get());
    } else if (profile == "auto") {
      // Chooses per resource type from the host's CapabilityStatement, logging its choices.
      host::AutoSinkOptions automatic;
      automatic.host = options.host;
      ASSIGN_OR_RETURN(sync.sink, host::NewAutoSink(automatic, sync.client.get(), &store, &clock));
    } else {
      host::SingleWriteSinkOptions single;
      single.host = options.host;
      sync.sink = host::NewSingleWriteSink(single, sync.client.get(), &store, &clock);
    }
  } else {
    return absl::InvalidArgumentError(
        "--host_profile must be ndjson, fhir-r4, epic, oracle-health, auto or none");
  }
  sync.host = options.host;
  sync.profile = profile;
  options.parallelism = absl::GetFlag(FLAGS_host_sync_parallelism);
  if (options.parallelism < 1) {
    return absl::InvalidArgumentError("--host_sync_parallelism must be at least 1");
  }
  options.metrics = &metrics;
  sync.sleeper = host::NewRealSleeper();
  sync.worker = std::make_unique<host::SyncWorker>(
      options, &store, sync.sink.get(), &clock, sync.sleeper.get(),
      static_cast<uint64_t>(absl::ToUnixNanos(clock.Now())));
  Log(LogLevel::kInfo, "host_sync",
      {{"profile", profile}, {"auth", sync.tokens != nullptr ? "smart-backend" : "none"}});
  return sync;
}

// Starts reading Goals back from a FHIR host that holds them in full (fhir-r4, or auto when it
// chose transactions); the changes become revisions through `service`.
void MakeReadBack(HostSync& sync, store::Store& store, const Clock& clock,
                  service::CollabService& service, MetricsRegistry& metrics) {
  const absl::Duration interval = absl::GetFlag(FLAGS_host_read_back_interval);
  if (sync.client == nullptr || sync.sink == nullptr || interval <= absl::ZeroDuration() ||
      sync.sink->content() != host::SinkContent::kFull) {
    return;
  }
  host::ReadBackOptions options;
  options.host = sync.host;
  options.poll_interval = interval;
  options.fallback_author = absl::GetFlag(FLAGS_host_read_back_author);
  options.metrics = &metrics;
  sync.read_back_sleeper = host::NewRealSleeper();
  sync.read_back = std::make_unique<host::ReadBackPoller>(
      options, sync.client.get(), &store,
      [&service](const host::HostGoalChange& c) {
        return service.RecordHostGoalChange(c.ehr_user, c.host, c.goal, c.based_on_revision,
                                            c.status, c.request_id);
      },
      &clock, sync.read_back_sleeper.get());
  Log(LogLevel::kInfo, "host_read_back",
      {{"interval_s", absl::StrCat(absl::ToInt64Seconds(interval))}});
}

// The host connection of this server for SyncService: its worker's counters.
class WorkerStatusProvider final : public service::SyncStatusProvider {
 public:
  explicit WorkerStatusProvider(const HostSync& sync) : sync_(sync) {}

  std::vector<service::HostSyncCounters> Hosts() override {
    if (sync_.worker == nullptr) return {};
    // Status() also reads the cursor and backlog from the store; the use case reads those
    // itself, so only the counters are taken here.
    const host::SyncStatus status = sync_.worker->Status();
    service::HostSyncCounters counters;
    counters.host = sync_.host;
    counters.profile = sync_.profile;
    counters.worker_running = true;
    counters.pushed = status.pushed;
    counters.retried = status.retried;
    counters.parked = status.parked;
    counters.last_error = status.last_error;
    std::vector<service::HostSyncCounters> hosts = {counters};
    if (sync_.read_back != nullptr) {
      // Conflicts read back from the EHR are parked under their own name.
      service::HostSyncCounters conflicts;
      conflicts.host = host::ReadBackPoller::ConflictHost(sync_.host);
      conflicts.profile = "read-back";
      conflicts.worker_running = true;
      hosts.push_back(conflicts);
    }
    return hosts;
  }

  absl::StatusOr<service::ParkedRetryOutcome> RetryParked(const std::string& host,
                                                          int64_t outbox_id,
                                                          absl::Duration timeout) override {
    if (sync_.worker == nullptr || host != sync_.host) {
      return absl::FailedPreconditionError("host: no sync worker for it runs in this server");
    }
    ASSIGN_OR_RETURN(host::ParkedRetry retry, sync_.worker->RetryParked(outbox_id, timeout));
    return service::ParkedRetryOutcome{retry.pushed, retry.failure, retry.parked};
  }

 private:
  const HostSync& sync_;
};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials() {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert.empty() && key.empty()) {
    if (!client_ca.empty()) return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert");
    return grpc::InsecureServerCredentials();
  }
  if (cert.empty() || key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadFile(cert, "tls_cert"));
  ASSIGN_OR_RETURN(pair.private_key, ReadFile(key, "tls_key"));
  ssl.pem_key_cert_pairs.push_back(pair);
  if (!client_ca.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(client_ca, "tls_client_ca"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

// ---- HTTP face: its options from the flags.
absl::StatusOr<http::HttpFaceOptions> HttpOptionsFromFlags() {
  http::HttpFaceOptions options;
  options.listen = absl::GetFlag(FLAGS_http_listen);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);  // same certificate as the gRPC port
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.threads = absl::GetFlag(FLAGS_http_threads);
  options.web_root = absl::GetFlag(FLAGS_web_root);
  options.smart_client_id = absl::GetFlag(FLAGS_smart_client_id);
  options.smart_scope = absl::GetFlag(FLAGS_smart_scope);
  options.smart_fhir_servers = absl::GetFlag(FLAGS_smart_fhir_servers);
  options.connect_src = absl::GetFlag(FLAGS_http_connect_src);
  options.frame_ancestors = absl::GetFlag(FLAGS_frame_ancestors);
  // collabcare's public JWKS for the EHR's backend-services registration (the JWKS URL is
  // <http address>/.well-known/jwks.json).
  if (!absl::GetFlag(FLAGS_host_private_key).empty()) {
    ASSIGN_OR_RETURN(std::string pem,
                     ReadFile(absl::GetFlag(FLAGS_host_private_key), "host_private_key"));
    ASSIGN_OR_RETURN(options.public_jwks, host::PublicJwksFromPrivateKey(pem));
  }
  return options;
}

// ---- CDS Hooks: the trusted CDS clients and the service, from the flags.
struct CdsHooks {
  std::unique_ptr<host::HttpTransport> transport;  // fetches the clients' JWKS URLs
  std::unique_ptr<cds::UuidSource> uuids;
  std::unique_ptr<cds::CdsHooksService> service;
};

absl::StatusOr<CdsHooks> MakeCdsHooks(service::CollabService& collab, store::Store& store,
                                      const Clock& clock) {
  CdsHooks hooks;
  if (absl::GetFlag(FLAGS_cds_base_url).empty()) return hooks;
  if (absl::GetFlag(FLAGS_http_listen).empty()) {
    return absl::InvalidArgumentError("--cds_base_url needs --http_listen (the HTTP face)");
  }
  cds::CdsOptions options;
  options.base_url = absl::GetFlag(FLAGS_cds_base_url);
  options.app_launch_url = absl::GetFlag(FLAGS_app_launch_url);
  host::CurlTransportOptions transport;
  transport.ca_bundle_path = absl::GetFlag(FLAGS_jwks_ca_bundle);
  transport.total_timeout = absl::Seconds(10);
  transport.max_response_bytes = 1 << 20;
  ASSIGN_OR_RETURN(hooks.transport, host::NewCurlTransport(transport));
  // A verifier over one client's key set: a URL (fetched now, again on an unknown key id) or
  // a file.
  auto verifier_for =
      [&](const std::string& issuer, const std::string& jwks,
          const char* flag) -> absl::StatusOr<std::shared_ptr<identity::TokenVerifier>> {
    identity::VerifierOptions verifier = cds::VerifierOptionsFor(options, issuer, clock);
    if (absl::StartsWith(jwks, "https://") || absl::StartsWith(jwks, "http://")) {
      server::RemoteJwksOptions remote;
      remote.url = jwks;
      remote.verifier = verifier;
      ASSIGN_OR_RETURN(std::unique_ptr<server::RemoteJwksVerifier> v,
                       server::NewRemoteJwksVerifier(remote, *hooks.transport));
      return std::shared_ptr<identity::TokenVerifier>(std::move(v));
    }
    ASSIGN_OR_RETURN(verifier.jwks_json, ReadFile(jwks, flag));
    ASSIGN_OR_RETURN(std::unique_ptr<identity::TokenVerifier> v,
                     identity::NewJwksVerifier(verifier));
    return std::shared_ptr<identity::TokenVerifier>(std::move(v));
  };
  std::map<std::string, cds::TrustedClient> clients;
  auto split = [](const std::string& entry,
                  const char* flag) -> absl::StatusOr<std::pair<std::string, std::string>> {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": expected ISSUER=VALUE"));
    }
    return std::make_pair(entry.substr(0, eq), entry.substr(eq + 1));
  };
  for (const std::string& entry : absl::GetFlag(FLAGS_cds_clients)) {
    ASSIGN_OR_RETURN(auto pair, split(entry, "cds_clients"));
    cds::TrustedClient& client = clients[pair.first];
    client.issuer = pair.first;
    ASSIGN_OR_RETURN(client.verifier, verifier_for(pair.first, pair.second, "cds_clients"));
  }
  for (const std::string& entry : absl::GetFlag(FLAGS_cds_jku_allow)) {
    ASSIGN_OR_RETURN(auto pair, split(entry, "cds_jku_allow"));
    cds::TrustedClient& client = clients[pair.first];
    client.issuer = pair.first;
    ASSIGN_OR_RETURN(client.jku[pair.second],
                     verifier_for(pair.first, pair.second, "cds_jku_allow"));
  }
  for (auto& [issuer, client] : clients) options.clients.push_back(std::move(client));
  hooks.uuids = cds::NewRandomUuidSource();
  ASSIGN_OR_RETURN(hooks.service,
                   cds::NewCdsHooksService(collab, store, clock, *hooks.uuids, std::move(options)));
  Log(LogLevel::kInfo, "cds_hooks", {{"clients", absl::StrCat(clients.size())}});
  return hooks;
}

absl::Status Run() {
  const absl::Time started = absl::Now();
  ::umask(077);  // the database, its WAL and the dev key are readable by this user only
  // SIGTERM and SIGINT are taken synchronously by the main thread; block them before any
  // thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string level = absl::GetFlag(FLAGS_log_level);
  SetLogLevel(level == "debug"     ? LogLevel::kDebug
              : level == "warning" ? LogLevel::kWarning
              : level == "error"   ? LogLevel::kError
                                   : LogLevel::kInfo);

  std::unique_ptr<Clock> clock = NewSystemClock();
  std::unique_ptr<IdGenerator> ids = NewRandomIdGenerator();
  domain::ThresholdTable thresholds = domain::DefaultThresholds();
  if (!absl::GetFlag(FLAGS_thresholds_file).empty()) {
    ASSIGN_OR_RETURN(std::string text,
                     ReadFile(absl::GetFlag(FLAGS_thresholds_file), "thresholds_file"));
    ASSIGN_OR_RETURN(thresholds, server::ParseThresholdTable(text));
  }
  if (absl::GetFlag(FLAGS_print_thresholds)) {
    std::fputs(server::ThresholdTableToJson(thresholds).c_str(), stdout);
    return absl::OkStatus();
  }
  if (absl::GetFlag(FLAGS_print_host_jwks)) {
    ASSIGN_OR_RETURN(std::string pem,
                     ReadFile(absl::GetFlag(FLAGS_host_private_key), "host_private_key"));
    ASSIGN_OR_RETURN(std::string jwks, host::PublicJwksFromPrivateKey(pem));
    std::fputs(absl::StrCat(jwks, "\n").c_str(), stdout);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Identity identity, MakeIdentity(*clock));
  identity::TokenVerifier* verifier = identity.verifier.get();
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, MakeCredentials());
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, OpenStore());
  MetricsRegistry metrics;
  ASSIGN_OR_RETURN(HostSync sync, MakeHostSync(*store, *clock, metrics));

  service::EventHub hub;
  service::CollabService::Options options;
  options.thresholds = &thresholds;
  const std::string audit_reads = absl::GetFlag(FLAGS_audit_reads);
  if (audit_reads != "queued" && audit_reads != "durable") {
    return absl::InvalidArgumentError("--audit_reads must be queued or durable");
  }
  options.read_audit = audit_reads == "durable"
                           ? service::CollabService::Options::ReadAudit::kDurable
                           : service::CollabService::Options::ReadAudit::kQueued;
  service::CollabService service(*store, *clock, *ids, hub, options);
  MakeReadBack(sync, *store, *clock, service, metrics);
  std::vector<std::unique_ptr<grpc::Service>> services =
      grpcface::NewV1Services(service, *verifier, hub);
  WorkerStatusProvider sync_status_provider(sync);
  std::set<std::string> operators;
  for (const std::string& op : absl::GetFlag(FLAGS_operators)) {
    if (!op.empty()) operators.insert(op);
  }
  service::SyncStatusService sync_status(*store, *clock, sync_status_provider,
                                         std::move(operators));
  services.push_back(grpcface::NewSyncService(sync_status, *verifier));
  // ---- HTTP face: started before any thread and the gRPC port, so a bad HTTP flag stops the
  // server at once.
  ASSIGN_OR_RETURN(CdsHooks cds_hooks, MakeCdsHooks(service, *store, *clock));
  std::unique_ptr<http::HttpFace> http_face;
  if (!absl::GetFlag(FLAGS_http_listen).empty()) {
    ASSIGN_OR_RETURN(http::HttpFaceOptions http_options, HttpOptionsFromFlags());
    http_options.metrics = [&metrics] { return metrics.Render(); };
    store::Store* health_store = store.get();
    http_face = std::make_unique<http::HttpFace>(
        std::move(http_options), service, *verifier, hub, [health_store] {
          // A cheap indexed read: the store answers.
          return health_store->CountOutboxAfter(std::numeric_limits<int64_t>::max()).status();
        });
    // ---- CDS Hooks: /cds-services on the same port.
    if (cds_hooks.service != nullptr) {
      http_face->AddRoutes(
          [&](httplib::Server& routes) { cds::RegisterCdsHooks(routes, *cds_hooks.service); });
    }
    if (absl::Status started = http_face->Start(); !started.ok()) {
      return absl::Status(started.code(), absl::StrCat("HTTP face: ", started.message()));
    }
    if (!absl::GetFlag(FLAGS_http_port_file).empty()) {
      std::ofstream(absl::GetFlag(FLAGS_http_port_file)) << http_face->port() << "\n";
    }
  }

  // Keeps --jwks_url's keys fresh; stops with the server.
  absl::Notification stop_refreshing;
  std::thread refresher;
  if (identity.remote != nullptr) {
    refresher = std::thread([&] {
      while (!stop_refreshing.WaitForNotificationWithTimeout(absl::GetFlag(FLAGS_jwks_refresh))) {
        identity.remote->Refresh().IgnoreError();  // logged; the old keys stay in use
      }
    });
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), credentials, &port);
  for (auto& s : services) builder.RegisterService(s.get());
  grpc::ResourceQuota quota("collabcare");
  quota.SetMaxThreads(absl::GetFlag(FLAGS_max_threads));
  builder.SetResourceQuota(quota);
  // Keep idle workers polling instead of exiting: handlers block on the store, and gRPC's
  // default (at most 2 pollers) makes every burst start and stop threads.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    stop_refreshing.Notify();
    if (refresher.joinable()) refresher.join();
    if (http_face != nullptr) http_face->Stop();
    return absl::UnavailableError("--listen: cannot bind the address");
  }
  // Pushes the outbox to the host EHR on its own thread; stopped before the store closes.
  std::thread sync_thread;
  if (sync.worker != nullptr) sync_thread = std::thread([&] { sync.worker->Run(); });
  std::thread read_back_thread;
  if (sync.read_back != nullptr) read_back_thread = std::thread([&] { sync.read_back->Run(); });
  if (!absl::GetFlag(FLAGS_port_file).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_port_file)) << port << "\n";
  }
  Log(LogLevel::kInfo, "serving",
      {{"port", absl::StrCat(port)},
       {"tls", absl::GetFlag(FLAGS_tls_cert).empty() ? "off" : "on"},
       {"mtls", absl::GetFlag(FLAGS_tls_client_ca).empty() ? "off" : "on"},
       {"identity", absl::GetFlag(FLAGS_dev)     ? "dev"
                    : identity.remote != nullptr ? "jwks_url"
                                                 : "jwks_file"},
       {"startup_ms", absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - started))}});

  int signal = 0;
  sigwait(&signals, &signal);
  Log(LogLevel::kInfo, "shutting_down", {{"signal", absl::StrCat(signal)}});
  stop_refreshing.Notify();
  if (refresher.joinable()) refresher.join();
  hub.Shutdown();  // ends WatchEpisode streams
  // ---- HTTP face: ends its watch streams, finishes the requests in flight.
  if (http_face != nullptr) http_face->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  server->Wait();
  if (sync.read_back != nullptr) {
    sync.read_back->Stop();  // the watermark stays before anything not yet handled
    read_back_thread.join();
  }
  if (sync.worker != nullptr) {
    sync.worker->Stop();  // the change in flight stays after the cursor: pushed again next start
    sync_thread.join();
  }
  store.reset();  // drains the writer: everything acknowledged is committed
  Log(LogLevel::kInfo, "stopped");
  return absl::OkStatus();
}

}  // namespace
}  // namespace collabcare

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "collabcare-server: collaborative-care records over gRPC (API collabcare.v1).\n"
      "  collabcare-server --dev                      # local trial, SQLite in ./collabcare-data\n"
      "  collabcare-server --jwks_file=jwks.json --token_issuer=… --token_audience=…");
  absl::ParseCommandLine(argc, argv);
  absl::Status status = collabcare::Run();
  if (!status.ok()) {
    collabcare::Log(collabcare::LogLevel::kError, "startup_failed",
                    {{"code", absl::StatusCodeToString(status.code())},
                     {"message", std::string(status.message())}});
    return 1;
  }
  return 0;
}
