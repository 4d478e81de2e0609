// collabctl's connection to the server: channel credentials, the bearer token (given or minted
// from the development key), per-call deadlines and idempotency keys.
#ifndef COLLABCARE_PLUGIN_CLI_CLIENT_H_
#define COLLABCARE_PLUGIN_CLI_CLIENT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace collabcare::cli {

struct ConnectionOptions {
  std::string server;           // HOST:PORT
  std::string token;            // bearer token; empty sends none
  std::string tls_ca;           // PEM file; TLS when this or tls_cert is set
  std::string tls_cert;         // PEM client certificate chain (mutual TLS)
  std::string tls_key;          // PEM private key for tls_cert
  std::string tls_server_name;  // overrides the name checked in the server certificate
  absl::Duration timeout = absl::Seconds(30);
  bool timeout_given = false;             // whether --timeout was on the command line
  std::optional<std::string> request_id;  // --request_id; otherwise a fresh one per call
};

// One channel to the server. Not thread-safe (collabctl makes one call at a time).
class Connection {
 public:
  // Reads the TLS files and creates the channel (which connects lazily). INVALID_ARGUMENT for
  // unusable TLS options, NOT_FOUND for a missing file.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const ConnectionOptions& options);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // Sets the bearer token and the deadline (--timeout) on a fresh context.
  void Prepare(grpc::ClientContext* context) const;
  // As Prepare, but with a deadline only when --timeout was given (for streams that run until
  // they are stopped).
  void PrepareStream(grpc::ClientContext* context) const;

  // The idempotency key for the next mutating call: --request_id, or 16 random bytes in hex.
  std::string RequestId() const;

 private:
  Connection(std::shared_ptr<grpc::Channel> channel, ConnectionOptions options)
      : channel_(std::move(channel)), options_(std::move(options)) {}

  void AddToken(grpc::ClientContext* context) const;
  void SetDeadline(grpc::ClientContext* context) const;

  std::shared_ptr<grpc::Channel> channel_;
  ConnectionOptions options_;
};

// A failed RPC as an absl::Status marked as coming from the server (see IsRpcError).
absl::Status FromGrpc(const grpc::Status& status);
// Whether a status came from an RPC (exit code 1) rather than from local checks.
bool IsRpcError(const absl::Status& status);

// Mints a development token for `person` (e.g. `Patient/123`) with the key that
// `collabcare-server --dev` keeps under `data_dir`. FAILED_PRECONDITION when there is none.
absl::StatusOr<std::string> MintDevToken(const std::string& data_dir, const std::string& person,
                                         absl::Duration lifetime);

}  // namespace collabcare::cli

#endif  // COLLABCARE_PLUGIN_CLI_CLIENT_H_
