// The gRPC face of SyncService: thin handlers over service::SyncStatusService.
#ifndef COLLABCARE_PLUGIN_GRPC_SYNC_GRPC_SERVICE_H_
#define COLLABCARE_PLUGIN_GRPC_SYNC_GRPC_SERVICE_H_

#include <memory>

#include "grpcpp/grpcpp.h"
#include "plugin/identity/identity.h"
#include "plugin/service/sync_status_service.h"

namespace collabcare::grpcface {

// SyncService over `service`, callers verified by `verifier` (neither owned; both must
// outlive the returned service). Register it with a grpc::ServerBuilder.
std::unique_ptr<grpc::Service> NewSyncService(service::SyncStatusService& service,
                                              identity::TokenVerifier& verifier);

}  // namespace collabcare::grpcface

#endif  // COLLABCARE_PLUGIN_GRPC_SYNC_GRPC_SERVICE_H_
