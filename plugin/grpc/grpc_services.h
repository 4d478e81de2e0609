// The gRPC face of API v1: thin handlers that take the caller from a verified bearer token,
// call one use case, and turn its status into a gRPC status.
#ifndef COLLABCARE_PLUGIN_GRPC_GRPC_SERVICES_H_
#define COLLABCARE_PLUGIN_GRPC_GRPC_SERVICES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "plugin/identity/identity.h"
#include "plugin/service/collab_service.h"

namespace collabcare::grpcface {

// absl::Status → grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Verifies the `authorization: Bearer …` metadata and returns the caller's FHIR reference;
// UNAUTHENTICATED (or the verifier's status) otherwise.
absl::StatusOr<std::string> Authenticate(grpc::ServerContext* context,
                                         identity::TokenVerifier& verifier);

struct FaceOptions {
  // WatchEpisode re-reads the store at least this often, to pick up other replicas' writes.
  absl::Duration watch_poll = absl::Seconds(2);
  int watch_batch = 256;
};

// The four v1 services, sharing one use-case service and one token verifier (not owned; both
// must outlive the returned services). Register each with a grpc::ServerBuilder.
std::vector<std::unique_ptr<grpc::Service>> NewV1Services(service::CollabService& service,
                                                          identity::TokenVerifier& verifier,
                                                          service::EventHub& hub,
                                                          FaceOptions options = {});

}  // namespace collabcare::grpcface

#endif  // COLLABCARE_PLUGIN_GRPC_GRPC_SERVICES_H_
