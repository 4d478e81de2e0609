// `collabctl call`: any unary method of the four collabcare services, by name, with a JSON
// request.
#ifndef COLLABCARE_PLUGIN_CLI_CALL_H_
#define COLLABCARE_PLUGIN_CLI_CALL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "plugin/cli/client.h"

namespace collabcare::cli {

// Calls `method` ("GoalService.GetGoal", also "collabcare.v1.GoalService.GetGoal" or
// "/collabcare.v1.GoalService/GetGoal") with the request parsed from `json_request` (the proto3
// JSON mapping). An empty `request_id` of a mutating request is filled in from the connection.
// INVALID_ARGUMENT (a usage error) for an unknown or streaming method or bad JSON; the
// server's status otherwise.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> CallByName(
    const Connection& connection, const std::string& method, const std::string& json_request);

}  // namespace collabcare::cli

#endif  // COLLABCARE_PLUGIN_CLI_CALL_H_
