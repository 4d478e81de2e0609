// The gRPC face of API v1.
#include "plugin/grpc/grpc_services.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collabcare/v1/episode_service.grpc.pb.h"
#include "collabcare/v1/goal_service.grpc.pb.h"
#include "collabcare/v1/hypothesis_service.grpc.pb.h"
#include "collabcare/v1/review_service.grpc.pb.h"
#include "plugin/common/log.h"

namespace collabcare::grpcface {
namespace {

namespace v1 = ::collabcare::v1;

// The shared shape of every unary handler: authenticate, run the use case, log, convert.
class Handler {
 public:
  Handler(service::CollabService& service, identity::TokenVerifier& verifier)
      : service_(service), verifier_(verifier) {}

  template <typename Response, typename Call>
  grpc::Status Unary(grpc::ServerContext* context, const std::string& method, Response* response,
                     Call&& call) {
    const absl::Time start = absl::Now();
    absl::Status status;
    absl::StatusOr<std::string> caller = Authenticate(context, verifier_);
    if (!caller.ok()) {
      status = caller.status();
      service_.AuditRefusal("", method, status);
    } else {
      auto result = call(*caller);
      status = result.status();
      if (result.ok()) *response = *std::move(result);
    }
    LogCall(method, status, absl::Now() - start);
    return ToGrpcStatus(status);
  }

  service::CollabService& service() { return service_; }
  identity::TokenVerifier& verifier() { return verifier_; }

  static void LogCall(const std::string& method, const absl::Status& status, absl::Duration d) {
    // Only the method, the code and the time: never the caller, the message or any content.
    Log(status.ok() ? LogLevel::kDebug : LogLevel::kInfo, "rpc",
        {{"method", method},
         {"code", absl::StatusCodeToString(status.code())},
         {"ms", absl::StrCat(absl::ToDoubleMilliseconds(d))}});
  }

 private:
  service::CollabService& service_;
  identity::TokenVerifier& verifier_;
};

#define COLLABCARE_UNARY(Method, Request, Response)                                    \
  grpc::Status Method(grpc::ServerContext* context, const v1::Request* request,        \
                      v1::Response* response) override {                               \
    static const std::string kMethod = absl::StrCat(kService, #Method);                \
    return handler_.Unary(context, kMethod, response, [&](const std::string& caller) { \
      return handler_.service().Method(caller, *request);                              \
    });                                                                                \
  }

class EpisodeServiceImpl final : public v1::EpisodeService::Service {
 public:
  static constexpr char kService[] = "collabcare.v1.EpisodeService/";
  EpisodeServiceImpl(Handler handler, service::EventHub& hub, FaceOptions options)
      : handler_(handler), hub_(hub), options_(options) {}

  COLLABCARE_UNARY(CreateEpisode, CreateEpisodeRequest, Episode)
  COLLABCARE_UNARY(GetEpisode, GetEpisodeRequest, Episode)
  COLLABCARE_UNARY(ListEpisodes, ListEpisodesRequest, ListEpisodesResponse)
  COLLABCARE_UNARY(UpdateEpisode, UpdateEpisodeRequest, Episode)
  COLLABCARE_UNARY(ListEpisodeRevisions, ListEpisodeRevisionsRequest, ListEpisodeRevisionsResponse)

  // Runs on a thread of the sync server's bounded pool. Writers only publish to the hub, so a
  // slow reader (a full flow-control window blocks Write) never holds up a writer.
  grpc::Status WatchEpisode(grpc::ServerContext* context, const v1::WatchEpisodeRequest* request,
                            grpc::ServerWriter<v1::EpisodeEvent>* writer) override {
    static const std::string kWatch = absl::StrCat(kService, "WatchEpisode");
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> caller = Authenticate(context, handler_.verifier());
    if (!caller.ok()) {
      handler_.service().AuditRefusal("", kWatch, caller.status());
      return ToGrpcStatus(caller.status());
    }
    absl::StatusOr<std::string> episode_id = handler_.service().StartWatch(*caller, *request);
    if (!episode_id.ok()) {
      Handler::LogCall(kWatch, episode_id.status(), absl::Now() - start);
      return ToGrpcStatus(episode_id.status());
    }
    int64_t after = request->after_sequence();
    while (!context->IsCancelled()) {
      absl::StatusOr<service::EventBatch> batch =
          handler_.service().ReadEvents(*caller, *episode_id, after, options_.watch_batch);
      if (!batch.ok()) return ToGrpcStatus(batch.status());
      for (const v1::EpisodeEvent& event : batch->events) {
        if (!writer->Write(event)) return grpc::Status::OK;  // the client went away
      }
      after = batch->last_sequence;
      if (static_cast<int>(batch->events.size()) == options_.watch_batch) continue;
      if (!hub_.WaitBeyond(*episode_id, after, options_.watch_poll)) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down");
      }
    }
    return grpc::Status::OK;
  }

 private:
  Handler handler_;
  service::EventHub& hub_;
  FaceOptions options_;
};

class GoalServiceImpl final : public v1::GoalService::Service {
 public:
  static constexpr char kService[] = "collabcare.v1.GoalService/";
  explicit GoalServiceImpl(Handler handler) : handler_(handler) {}
  COLLABCARE_UNARY(CreateGoal, CreateGoalRequest, Goal)
  COLLABCARE_UNARY(GetGoal, GetGoalRequest, Goal)
  COLLABCARE_UNARY(ListGoals, ListGoalsRequest, ListGoalsResponse)
  COLLABCARE_UNARY(UpdateGoal, UpdateGoalRequest, Goal)
  COLLABCARE_UNARY(RestateGoal, RestateGoalRequest, Goal)
  COLLABCARE_UNARY(ConfirmUnderstanding, ConfirmUnderstandingRequest, Goal)
  COLLABCARE_UNARY(ListGoalRevisions, ListGoalRevisionsRequest, ListGoalRevisionsResponse)

 private:
  Handler handler_;
};

class HypothesisServiceImpl final : public v1::HypothesisService::Service {
 public:
  static constexpr char kService[] = "collabcare.v1.HypothesisService/";
  explicit HypothesisServiceImpl(Handler handler) : handler_(handler) {}
  COLLABCARE_UNARY(ShareHypothesis, ShareHypothesisRequest, Hypothesis)
  COLLABCARE_UNARY(GetHypothesis, GetHypothesisRequest, Hypothesis)
  COLLABCARE_UNARY(ListHypotheses, ListHypothesesRequest, ListHypothesesResponse)
  COLLABCARE_UNARY(ReviseHypothesis, ReviseHypothesisRequest, Hypothesis)
  COLLABCARE_UNARY(RespondToHypothesis, RespondToHypothesisRequest, Hypothesis)
  COLLABCARE_UNARY(ListHypothesisRevisions, ListHypothesisRevisionsRequest,
                   ListHypothesisRevisionsResponse)

 private:
  Handler handler_;
};

class ReviewServiceImpl final : public v1::ReviewService::Service {
 public:
  static constexpr char kService[] = "collabcare.v1.ReviewService/";
  explicit ReviewServiceImpl(Handler handler) : handler_(handler) {}
  COLLABCARE_UNARY(StartReview, StartReviewRequest, Review)
  COLLABCARE_UNARY(GetReview, GetReviewRequest, Review)
  COLLABCARE_UNARY(ListReviews, ListReviewsRequest, ListReviewsResponse)
  COLLABCARE_UNARY(SubmitRatings, SubmitRatingsRequest, Review)
  COLLABCARE_UNARY(AddReflection, AddReflectionRequest, Review)
  COLLABCARE_UNARY(AddNextStep, AddNextStepRequest, Review)
  COLLABCARE_UNARY(SignReview, SignReviewRequest, Review)
  COLLABCARE_UNARY(GetProgress, GetProgressRequest, Progress)
  COLLABCARE_UNARY(ListReviewRevisions, ListReviewRevisionsRequest, ListReviewRevisionsResponse)

 private:
  Handler handler_;
};

#undef COLLABCARE_UNARY

}  // namespace

absl::StatusOr<std::string> Authenticate(grpc::ServerContext* context,
                                         identity::TokenVerifier& verifier) {
  const auto& metadata = context->client_metadata();
  auto range = metadata.equal_range("authorization");
  if (range.first == range.second) {
    return absl::UnauthenticatedError("missing authorization: Bearer token");
  }
  if (std::next(range.first) != range.second) {
    return absl::UnauthenticatedError("more than one authorization header");
  }
  absl::string_view value(range.first->second.data(), range.first->second.size());
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(value, kBearer)) {
    return absl::UnauthenticatedError("authorization must be a Bearer token");
  }
  absl::StatusOr<identity::Caller> caller = verifier.Verify(value.substr(kBearer.size()));
  if (!caller.ok()) return caller.status();
  return caller->person;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::vector<std::unique_ptr<grpc::Service>> NewV1Services(service::CollabService& service,
                                                          identity::TokenVerifier& verifier,
                                                          service::EventHub& hub,
                                                          FaceOptions options) {
  Handler handler(service, verifier);
  std::vector<std::unique_ptr<grpc::Service>> services;
  services.push_back(std::make_unique<EpisodeServiceImpl>(handler, hub, options));
  services.push_back(std::make_unique<GoalServiceImpl>(handler));
  services.push_back(std::make_unique<HypothesisServiceImpl>(handler));
  services.push_back(std::make_unique<ReviewServiceImpl>(handler));
  return services;
}

}  // namespace collabcare::grpcface
