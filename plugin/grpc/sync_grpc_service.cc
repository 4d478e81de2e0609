// SyncService: authenticate, call the use case, convert the status.
#include "plugin/grpc/sync_grpc_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collabcare/v1/sync_service.grpc.pb.h"
#include "plugin/common/log.h"
#include "plugin/grpc/grpc_services.h"

namespace collabcare::grpcface {
namespace {

namespace v1 = ::collabcare::v1;

class SyncServiceImpl final : public v1::SyncService::Service {
 public:
  SyncServiceImpl(service::SyncStatusService& service, identity::TokenVerifier& verifier)
      : service_(service), verifier_(verifier) {}

  grpc::Status GetSyncStatus(grpc::ServerContext* context, const v1::GetSyncStatusRequest* request,
                             v1::SyncStatus* response) override {
    return Handle(
        context, service::SyncStatusService::kMethod, response,
        [&](const std::string& caller) { return service_.GetSyncStatus(caller, *request); });
  }

  grpc::Status RetryParkedChange(grpc::ServerContext* context,
                                 const v1::RetryParkedChangeRequest* request,
                                 v1::RetryParkedChangeResponse* response) override {
    return Handle(
        context, service::SyncStatusService::kRetryMethod, response,
        [&](const std::string& caller) { return service_.RetryParkedChange(caller, *request); });
  }

  grpc::Status DiscardParkedChange(grpc::ServerContext* context,
                                   const v1::DiscardParkedChangeRequest* request,
                                   v1::ParkedSyncChange* response) override {
    return Handle(
        context, service::SyncStatusService::kDiscardMethod, response,
        [&](const std::string& caller) { return service_.DiscardParkedChange(caller, *request); });
  }

 private:
  // The shape of every method: the verified caller, one use case, one status conversion.
  template <typename Response, typename Call>
  grpc::Status Handle(grpc::ServerContext* context, const char* method, Response* response,
                      Call&& call) {
    const absl::Time start = absl::Now();
    absl::Status status;
    absl::StatusOr<std::string> caller = Authenticate(context, verifier_);
    if (!caller.ok()) {
      status = caller.status();
      service_.AuditRefusal("", status, method);
    } else {
      absl::StatusOr<Response> result = call(*caller);
      status = result.status();
      if (result.ok()) *response = *std::move(result);
    }
    // Only the method, the code and the time, like every other handler.
    Log(status.ok() ? LogLevel::kDebug : LogLevel::kInfo, "rpc",
        {{"method", method},
         {"code", absl::StatusCodeToString(status.code())},
         {"ms", absl::StrCat(absl::ToDoubleMilliseconds(absl::Now() - start))}});
    return ToGrpcStatus(status);
  }

  service::SyncStatusService& service_;
  identity::TokenVerifier& verifier_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewSyncService(service::SyncStatusService& service,
                                              identity::TokenVerifier& verifier) {
  return std::make_unique<SyncServiceImpl>(service, verifier);
}

}  // namespace collabcare::grpcface
