// Generic unary calls through grpc::GenericStub, with request and response types taken from
// the generated descriptor pool.
#include "plugin/cli/call.h"

#include <future>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "collabcare/v1/episode_service.pb.h"
#include "collabcare/v1/goal_service.pb.h"
#include "collabcare/v1/hypothesis_service.pb.h"
#include "collabcare/v1/review_service.pb.h"
#include "collabcare/v1/sync_service.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "plugin/common/status_macros.h"

namespace collabcare::cli {
namespace {

namespace v1 = ::collabcare::v1;
namespace pb = ::google::protobuf;

// The services `call` may reach; naming one message of each file links its descriptors.
std::vector<const pb::ServiceDescriptor*> Services() {
  std::vector<const pb::ServiceDescriptor*> services;
  for (const pb::FileDescriptor* file :
       {v1::GetEpisodeRequest::descriptor()->file(), v1::GetGoalRequest::descriptor()->file(),
        v1::GetHypothesisRequest::descriptor()->file(), v1::GetReviewRequest::descriptor()->file(),
        v1::GetSyncStatusRequest::descriptor()->file()}) {
    for (int i = 0; i < file->service_count(); ++i) services.push_back(file->service(i));
  }
  return services;
}

std::string MethodList() {
  std::vector<std::string> names;
  for (const pb::ServiceDescriptor* s : Services()) {
    for (int i = 0; i < s->method_count(); ++i) {
      const pb::MethodDescriptor* m = s->method(i);
      if (!m->client_streaming() && !m->server_streaming()) {
        names.push_back(absl::StrCat(s->name(), ".", m->name()));
      }
    }
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<const pb::MethodDescriptor*> FindMethod(const std::string& name) {
  // "/collabcare.v1.GoalService/GetGoal" and "collabcare.v1.GoalService.GetGoal" → "GoalService"
  // and "GetGoal".
  std::string normalized = name;
  if (absl::StartsWith(normalized, "/")) normalized = normalized.substr(1);
  for (char& c : normalized) {
    if (c == '/') c = '.';
  }
  if (absl::StartsWith(normalized, "collabcare.v1.")) {
    normalized = normalized.substr(std::string("collabcare.v1.").size());
  }
  std::vector<std::string> parts = absl::StrSplit(normalized, '.');
  if (parts.size() == 2) {
    for (const pb::ServiceDescriptor* s : Services()) {
      if (s->name() != parts[0]) continue;
      const pb::MethodDescriptor* m = s->FindMethodByName(parts[1]);
      if (m == nullptr) break;
      if (m->client_streaming() || m->server_streaming()) {
        return absl::InvalidArgumentError(absl::StrCat(
            s->name(), ".", m->name(), " streams; use `collabctl episodes watch` instead"));
      }
      return m;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown method \"", name, "\"; methods: ", MethodList()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<pb::Message>> CallByName(const Connection& connection,
                                                        const std::string& method,
                                                        const std::string& json_request) {
  ASSIGN_OR_RETURN(const pb::MethodDescriptor* m, FindMethod(method));
  pb::MessageFactory* factory = pb::MessageFactory::generated_factory();
  std::unique_ptr<pb::Message> request(factory->GetPrototype(m->input_type())->New());
  std::unique_ptr<pb::Message> response(factory->GetPrototype(m->output_type())->New());

  auto parsed = pb::util::JsonStringToMessage(json_request, request.get());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request is not a ", m->input_type()->name(),
                                                   " in JSON: ", parsed.message().ToString()));
  }
  // Mutating requests get a fresh idempotency key unless the JSON names one.
  const pb::FieldDescriptor* request_id = m->input_type()->FindFieldByName("request_id");
  if (request_id != nullptr && request_id->type() == pb::FieldDescriptor::TYPE_STRING &&
      request->GetReflection()->GetString(*request, request_id).empty()) {
    request->GetReflection()->SetString(request.get(), request_id, connection.RequestId());
  }

  std::string bytes;
  if (!request->SerializeToString(&bytes)) {
    return absl::InternalError("cannot serialize the request");
  }
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;

  grpc::ClientContext context;
  connection.Prepare(&context);
  grpc::GenericStub stub(connection.channel());
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, absl::StrCat("/", m->service()->full_name(), "/", m->name()),
                 grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  RETURN_IF_ERROR(FromGrpc(status));

  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) {
    return absl::InternalError("cannot read the response");
  }
  std::string response_bytes;
  for (const grpc::Slice& s : slices) {
    response_bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (!response->ParseFromString(response_bytes)) {
    return absl::InternalError(
        absl::StrCat("the response is not a ", m->output_type()->full_name()));
  }
  return response;
}

}  // namespace collabcare::cli
