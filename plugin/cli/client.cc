// collabctl's channel, call contexts, idempotency keys and development tokens.
#include "plugin/cli/client.h"

#include <openssl/rand.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "plugin/common/status_macros.h"
#include "plugin/identity/identity.h"

namespace collabcare::cli {
namespace {

// Marks statuses that came back from the server.
constexpr char kRpcPayload[] = "type.collabcare.dev/collabctl.RpcError";

absl::StatusOr<std::string> ReadFile(const std::string& option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("--", option, ": cannot read ", path));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::Duration Clamp(absl::Duration d) {
  return d < absl::ZeroDuration() ? absl::ZeroDuration() : d;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const ConnectionOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca.empty() && options.tls_cert.empty()) {
    if (!options.tls_server_name.empty()) {
      return absl::InvalidArgumentError("--tls_server_name needs --tls_ca");
    }
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile("tls_ca", options.tls_ca));
    }
    if (!options.tls_cert.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile("tls_cert", options.tls_cert));
      ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile("tls_key", options.tls_key));
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments arguments;
  if (!options.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(options.tls_server_name);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.server, credentials, arguments);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--server: cannot use ", options.server));
  }
  return std::unique_ptr<Connection>(new Connection(std::move(channel), options));
}

void Connection::Prepare(grpc::ClientContext* context) const {
  AddToken(context);
  SetDeadline(context);
}

void Connection::PrepareStream(grpc::ClientContext* context) const {
  AddToken(context);
  if (options_.timeout_given) SetDeadline(context);
}

void Connection::AddToken(grpc::ClientContext* context) const {
  if (!options_.token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  }
}

void Connection::SetDeadline(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(Clamp(options_.timeout)));
}

std::string Connection::RequestId() const {
  if (options_.request_id.has_value()) return *options_.request_id;
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // Without a random key a retry could be mistaken for a different request; send none (the
    // server then treats the call as not idempotent) rather than a guessable one.
    return "";
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  result.SetPayload(kRpcPayload, absl::Cord("1"));
  return result;
}

bool IsRpcError(const absl::Status& status) { return status.GetPayload(kRpcPayload).has_value(); }

absl::StatusOr<std::string> MintDevToken(const std::string& data_dir, const std::string& person,
                                         absl::Duration lifetime) {
  size_t slash = person.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == person.size() ||
      person.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--as: \"", person, "\" is not a FHIR reference like Patient/123"));
  }
  if (lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--ttl must be positive");
  }
  absl::StatusOr<identity::DevIdentity> dev = identity::LoadDevIdentity(data_dir);
  if (absl::IsNotFound(dev.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("no development identity in ", data_dir,
                     "/dev-identity: start the server with --dev (and --data_dir=", data_dir,
                     "), or pass --data_dir / COLLABCARE_DATA_DIR pointing at its data folder"));
  }
  if (!dev.ok()) {
    return absl::Status(dev.status().code(),
                        absl::StrCat("development identity: ", dev.status().message()));
  }
  identity::TokenClaims claims;
  claims.fhir_user = person;
  claims.lifetime = lifetime;
  return identity::MintToken(dev->private_key_pem, dev->key_id, claims, absl::Now());
}

}  // namespace collabcare::cli
