// The JSON API's route table and its proto3 JSON plumbing.
#include "plugin/http/json_api.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "plugin/common/status_macros.h"

namespace collabcare::http {
namespace {

namespace v1 = ::collabcare::v1;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A field path protobuf put in an error, such as `goal.status` or `ratings[0].score`.
bool IsSafeFieldPath(absl::string_view path) {
  return !path.empty() && path.size() <= 200 && std::all_of(path.begin(), path.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '[' || c == ']';
  });
}

// A JSON key or query parameter a caller sent: named back only if it looks like a field name.
bool IsSafeName(absl::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_';
  });
}

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// protobuf's JSON parser explains errors by quoting the input around them, which may be a
// person's words. Keep only what names a field:
//   "(goal) wordz: Cannot find field."   -> goal.wordz: unknown field
//   "(goal.status): invalid value "X" …"  -> goal.status: invalid value
// and say no more than "malformed JSON" for everything else.
absl::Status FromJsonParseError(absl::string_view message) {
  constexpr absl::string_view kUnknown = ": Cannot find field.";
  if (absl::ConsumeSuffix(&message, kUnknown)) {
    absl::string_view parent, name = message;
    if (absl::ConsumePrefix(&name, "(")) {
      const size_t close = name.find(") ");
      if (close == absl::string_view::npos) return FieldError("body", "unknown field");
      parent = name.substr(0, close);
      name = name.substr(close + 2);
      if (!IsSafeFieldPath(parent)) return FieldError("body", "unknown field");
    }
    if (!IsSafeName(name)) return FieldError(parent.empty() ? "body" : parent, "unknown field");
    return FieldError(parent.empty() ? std::string(name) : absl::StrCat(parent, ".", name),
                      "unknown field");
  }
  if (absl::ConsumePrefix(&message, "(")) {
    const size_t close = message.find("): invalid value");
    if (close != absl::string_view::npos && IsSafeFieldPath(message.substr(0, close))) {
      return FieldError(message.substr(0, close), "invalid value");
    }
  }
  if (absl::StrContains(message, "Root element must be a message")) {
    return FieldError("body", "must be a JSON object");
  }
  return FieldError("body", "malformed JSON");
}

absl::Status ParseJson(absl::string_view json, Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) return FromJsonParseError(status.message().as_string());
  return absl::OkStatus();
}

const FieldDescriptor* FindTopLevelField(const Message& message, const std::string& name) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  if (const FieldDescriptor* f = descriptor->FindFieldByName(name)) return f;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (descriptor->field(i)->json_name() == name) return descriptor->field(i);
  }
  return nullptr;
}

absl::Status ApplyQuery(const QueryParams& query, Message* request) {
  std::vector<std::string> seen;
  for (const auto& [key, value] : query) {
    const std::string shown = IsSafeName(key) ? key : "query";
    const FieldDescriptor* field = FindTopLevelField(*request, key);
    if (field == nullptr) return FieldError(shown, "unknown query parameter");
    if (field->is_repeated() ||
        (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field->message_type()->full_name() != "google.protobuf.FieldMask")) {
      return FieldError(field->name(), "cannot be given in the query");
    }
    if (std::find(seen.begin(), seen.end(), field->name()) != seen.end()) {
      return FieldError(field->name(), "given more than once");
    }
    seen.push_back(field->name());
    if (request->GetReflection()->HasField(*request, field)) {
      return FieldError(field->name(), "given in both the query and the body");
    }
    // Through the JSON parser, so a query value means what it would in the body: "7" for an
    // int, an enum's name, "a,b" for a field mask.
    nlohmann::json one = nlohmann::json::object();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
      if (value != "true" && value != "false") return FieldError(field->name(), "invalid value");
      one[field->json_name()] = value == "true";
    } else {
      one[field->json_name()] = value;
    }
    std::unique_ptr<Message> part(request->New());
    RETURN_IF_ERROR(
        ParseJson(one.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), part.get()));
    request->MergeFrom(*part);
  }
  return absl::OkStatus();
}

// Sets the string field at `path` (e.g. `goal.name`) to `value`, refusing a different value
// that the body already gave.
absl::Status ApplyPath(const PathMatch& path, Message* request) {
  if (path.field.empty()) return absl::OkStatus();
  Message* message = request;
  std::vector<std::string> parts = absl::StrSplit(path.field, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(parts[i]);
    const Reflection* reflection = message->GetReflection();
    const bool last = i + 1 == parts.size();
    if (field == nullptr || field->is_repeated() ||
        field->cpp_type() !=
            (last ? FieldDescriptor::CPPTYPE_STRING : FieldDescriptor::CPPTYPE_MESSAGE)) {
      return absl::InternalError(absl::StrCat("route binds an unusable field: ", path.field));
    }
    if (!last) {
      message = reflection->MutableMessage(message, field);
      continue;
    }
    const std::string current = reflection->GetString(*message, field);
    if (!current.empty() && current != path.value) {
      return FieldError(path.field, "does not match the path");
    }
    reflection->SetString(message, field, path.value);
  }
  return absl::OkStatus();
}

template <typename Request, typename Response>
ApiRoute Unary(const std::string& method, const PathTemplate& path, const std::string& rpc,
               absl::StatusOr<Response> (service::CollabService::*use_case)(const std::string&,
                                                                            const Request&)) {
  ApiRoute route{method, path, rpc, ApiRoute::Kind::kUnary, nullptr};
  route.call = [use_case, rpc](service::CollabService& service, const std::string& caller,
                               const ApiInput& input) -> absl::StatusOr<std::string> {
    Request request;
    absl::Status filled = FillRequest(input.body, *input.query, input.path, &request);
    if (!filled.ok()) {
      service.AuditRefusal(caller, rpc, filled);
      return filled;
    }
    ASSIGN_OR_RETURN(Response response, (service.*use_case)(caller, request));
    return ToJson(response);
  };
  return route;
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string ErrorJson(int http_status, absl::StatusCode code, absl::string_view message) {
  nlohmann::json error = {{"code", http_status},
                          {"status", absl::StatusCodeToString(code)},
                          {"message", std::string(message)}};
  return nlohmann::json{{"error", std::move(error)}}.dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
}

std::string ErrorJson(const absl::Status& status) {
  return ErrorJson(HttpStatusFor(status.code()), status.code(), status.message());
}

absl::Status FillRequest(absl::string_view body, const QueryParams& query, const PathMatch& path,
                         Message* request) {
  if (!absl::StripAsciiWhitespace(body).empty()) RETURN_IF_ERROR(ParseJson(body, request));
  RETURN_IF_ERROR(ApplyQuery(query, request));
  return ApplyPath(path, request);
}

absl::StatusOr<std::string> ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  options.always_print_enums_as_ints = false;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    return absl::InternalError("cannot print the response as JSON");
  }
  return json;
}

absl::StatusOr<std::vector<ApiRoute>> V1Routes() {
  using S = service::CollabService;
  std::vector<ApiRoute> routes;
  // Adds one route; the template is checked once here.
  absl::Status bad;
  auto path = [&](absl::string_view text) {
    absl::StatusOr<PathTemplate> parsed = PathTemplate::Parse(text);
    if (!parsed.ok()) {
      bad.Update(parsed.status());
      return *PathTemplate::Parse("/invalid");
    }
    return *std::move(parsed);
  };
  const std::string e = "collabcare.v1.EpisodeService/";
  const std::string g = "collabcare.v1.GoalService/";
  const std::string h = "collabcare.v1.HypothesisService/";
  const std::string r = "collabcare.v1.ReviewService/";
  routes.push_back(Unary("POST", path("/v1/episodes"), e + "CreateEpisode", &S::CreateEpisode));
  routes.push_back(Unary("GET", path("/v1/episodes"), e + "ListEpisodes", &S::ListEpisodes));
  routes.push_back(Unary("GET", path("/v1/{name=episodes/*}"), e + "GetEpisode", &S::GetEpisode));
  routes.push_back(Unary("PATCH", path("/v1/{episode.name=episodes/*}"), e + "UpdateEpisode",
                         &S::UpdateEpisode));
  routes.push_back(Unary("GET", path("/v1/{name=episodes/*}/revisions"), e + "ListEpisodeRevisions",
                         &S::ListEpisodeRevisions));
  routes.push_back(ApiRoute{"GET", path("/v1/{name=episodes/*}:watch"), e + "WatchEpisode",
                            ApiRoute::Kind::kWatch, nullptr});

  routes.push_back(
      Unary("POST", path("/v1/{parent=episodes/*}/goals"), g + "CreateGoal", &S::CreateGoal));
  routes.push_back(
      Unary("GET", path("/v1/{parent=episodes/*}/goals"), g + "ListGoals", &S::ListGoals));
  routes.push_back(Unary("GET", path("/v1/{name=episodes/*/goals/*}"), g + "GetGoal", &S::GetGoal));
  routes.push_back(
      Unary("PATCH", path("/v1/{goal.name=episodes/*/goals/*}"), g + "UpdateGoal", &S::UpdateGoal));
  routes.push_back(Unary("POST", path("/v1/{name=episodes/*/goals/*}:restate"), g + "RestateGoal",
                         &S::RestateGoal));
  routes.push_back(Unary("POST", path("/v1/{name=episodes/*/goals/*}:confirmUnderstanding"),
                         g + "ConfirmUnderstanding", &S::ConfirmUnderstanding));
  routes.push_back(Unary("GET", path("/v1/{name=episodes/*/goals/*}/revisions"),
                         g + "ListGoalRevisions", &S::ListGoalRevisions));

  routes.push_back(Unary("POST", path("/v1/{parent=episodes/*}/hypotheses"), h + "ShareHypothesis",
                         &S::ShareHypothesis));
  routes.push_back(Unary("GET", path("/v1/{parent=episodes/*}/hypotheses"), h + "ListHypotheses",
                         &S::ListHypotheses));
  routes.push_back(Unary("GET", path("/v1/{name=episodes/*/hypotheses/*}"), h + "GetHypothesis",
                         &S::GetHypothesis));
  routes.push_back(Unary("PATCH", path("/v1/{hypothesis.name=episodes/*/hypotheses/*}"),
                         h + "ReviseHypothesis", &S::ReviseHypothesis));
  routes.push_back(Unary("POST", path("/v1/{name=episodes/*/hypotheses/*}:respond"),
                         h + "RespondToHypothesis", &S::RespondToHypothesis));
  routes.push_back(Unary("GET", path("/v1/{name=episodes/*/hypotheses/*}/revisions"),
                         h + "ListHypothesisRevisions", &S::ListHypothesisRevisions));

  routes.push_back(
      Unary("POST", path("/v1/{parent=episodes/*}/reviews"), r + "StartReview", &S::StartReview));
  routes.push_back(
      Unary("GET", path("/v1/{parent=episodes/*}/reviews"), r + "ListReviews", &S::ListReviews));
  routes.push_back(
      Unary("GET", path("/v1/{name=episodes/*/reviews/*}"), r + "GetReview", &S::GetReview));
  routes.push_back(Unary("POST", path("/v1/{name=episodes/*/reviews/*}:submitRatings"),
                         r + "SubmitRatings", &S::SubmitRatings));
  routes.push_back(Unary("POST", path("/v1/{name=episodes/*/reviews/*}:addReflection"),
                         r + "AddReflection", &S::AddReflection));
  routes.push_back(Unary("POST", path("/v1/{name=episodes/*/reviews/*}:addNextStep"),
                         r + "AddNextStep", &S::AddNextStep));
  routes.push_back(Unary("POST", path("/v1/{name=episodes/*/reviews/*}:sign"), r + "SignReview",
                         &S::SignReview));
  routes.push_back(Unary("GET", path("/v1/{name=episodes/*/reviews/*}/revisions"),
                         r + "ListReviewRevisions", &S::ListReviewRevisions));
  routes.push_back(
      Unary("GET", path("/v1/{episode=episodes/*}/progress"), r + "GetProgress", &S::GetProgress));

  routes.push_back(
      ApiRoute{"GET", path("/v1/me"), "collabcare.http/Me", ApiRoute::Kind::kMe, nullptr});
  RETURN_IF_ERROR(bad);
  return routes;
}

}  // namespace collabcare::http
