// The use cases behind every RPC of API v1: load the episode, check who may do what with the
// domain rules, and write one change atomically (revision, event, audit, outbox, idempotency).
// The gRPC face (and later the HTTP face) call these; no rule lives anywhere else.
#ifndef COLLABCARE_PLUGIN_SERVICE_COLLAB_SERVICE_H_
#define COLLABCARE_PLUGIN_SERVICE_COLLAB_SERVICE_H_

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collabcare/v1/episode_service.pb.h"
#include "collabcare/v1/goal_service.pb.h"
#include "collabcare/v1/hypothesis_service.pb.h"
#include "collabcare/v1/resources.pb.h"
#include "collabcare/v1/review_service.pb.h"
#include "plugin/common/clock.h"
#include "plugin/domain/thresholds.h"
#include "plugin/service/event_hub.h"
#include "plugin/store/store.h"

namespace collabcare::service {

namespace v1 = ::collabcare::v1;

// Events for WatchEpisode: those the caller may see, and how far the log was read.
struct EventBatch {
  std::vector<v1::EpisodeEvent> events;
  int64_t last_sequence = 0;  // the highest sequence examined, shown or skipped
};

// Every method takes the verified caller (a FHIR reference such as `Patient/123`); the caller
// is never read from the request. Thread-safe; methods block on the store, so call them from
// a worker pool, never from a gRPC callback thread.
//
// Status codes: INVALID_ARGUMENT naming the field; NOT_FOUND for anything the caller may not
// see (including whole episodes they are not part of); PERMISSION_DENIED for a participant
// who may see but not do; ABORTED for a stale etag; FAILED_PRECONDITION for a change the
// record's state does not allow; UNAVAILABLE / INTERNAL from the store.
class CollabService {
 public:
  struct Options {
    const domain::ThresholdTable* thresholds = &domain::DefaultThresholds();
    int default_page_size = 50;
    int max_page_size = 200;
    // Whether a read waits until its audit record is durable (kDurable) or returns once the
    // record is queued for the next group commit (kQueued: a crash may lose the audit of the
    // reads of the last few milliseconds; writes are always audited in their own transaction).
    enum class ReadAudit { kDurable, kQueued };
    ReadAudit read_audit = ReadAudit::kQueued;
  };

  // Collaborators are not owned and must outlive the service.
  CollabService(store::Store& store, const Clock& clock, IdGenerator& ids, EventHub& hub,
                Options options);
  CollabService(const CollabService&) = delete;
  CollabService& operator=(const CollabService&) = delete;

  // EpisodeService.
  absl::StatusOr<v1::Episode> CreateEpisode(const std::string& caller,
                                            const v1::CreateEpisodeRequest& request);
  absl::StatusOr<v1::Episode> GetEpisode(const std::string& caller,
                                         const v1::GetEpisodeRequest& request);
  absl::StatusOr<v1::ListEpisodesResponse> ListEpisodes(const std::string& caller,
                                                        const v1::ListEpisodesRequest& request);
  absl::StatusOr<v1::Episode> UpdateEpisode(const std::string& caller,
                                            const v1::UpdateEpisodeRequest& request);
  absl::StatusOr<v1::ListEpisodeRevisionsResponse> ListEpisodeRevisions(
      const std::string& caller, const v1::ListEpisodeRevisionsRequest& request);
  // Checks that the caller may watch; audits the watch. Returns the episode id.
  absl::StatusOr<std::string> StartWatch(const std::string& caller,
                                         const v1::WatchEpisodeRequest& request);
  // The next events after `after_sequence` (at most `limit`), skipping those the caller may
  // not see. NOT_FOUND once the caller is no longer a participant.
  absl::StatusOr<EventBatch> ReadEvents(const std::string& caller, const std::string& episode_id,
                                        int64_t after_sequence, int limit);

  // GoalService.
  absl::StatusOr<v1::Goal> CreateGoal(const std::string& caller,
                                      const v1::CreateGoalRequest& request);
  absl::StatusOr<v1::Goal> GetGoal(const std::string& caller, const v1::GetGoalRequest& request);
  absl::StatusOr<v1::ListGoalsResponse> ListGoals(const std::string& caller,
                                                  const v1::ListGoalsRequest& request);
  absl::StatusOr<v1::Goal> UpdateGoal(const std::string& caller,
                                      const v1::UpdateGoalRequest& request);
  absl::StatusOr<v1::Goal> RestateGoal(const std::string& caller,
                                       const v1::RestateGoalRequest& request);
  absl::StatusOr<v1::Goal> ConfirmUnderstanding(const std::string& caller,
                                                const v1::ConfirmUnderstandingRequest& request);
  absl::StatusOr<v1::ListGoalRevisionsResponse> ListGoalRevisions(
      const std::string& caller, const v1::ListGoalRevisionsRequest& request);

  // HypothesisService.
  absl::StatusOr<v1::Hypothesis> ShareHypothesis(const std::string& caller,
                                                 const v1::ShareHypothesisRequest& request);
  absl::StatusOr<v1::Hypothesis> GetHypothesis(const std::string& caller,
                                               const v1::GetHypothesisRequest& request);
  absl::StatusOr<v1::ListHypothesesResponse> ListHypotheses(
      const std::string& caller, const v1::ListHypothesesRequest& request);
  absl::StatusOr<v1::Hypothesis> ReviseHypothesis(const std::string& caller,
                                                  const v1::ReviseHypothesisRequest& request);
  absl::StatusOr<v1::Hypothesis> RespondToHypothesis(const std::string& caller,
                                                     const v1::RespondToHypothesisRequest& request);
  absl::StatusOr<v1::ListHypothesisRevisionsResponse> ListHypothesisRevisions(
      const std::string& caller, const v1::ListHypothesisRevisionsRequest& request);

  // ReviewService.
  absl::StatusOr<v1::Review> StartReview(const std::string& caller,
                                         const v1::StartReviewRequest& request);
  absl::StatusOr<v1::Review> GetReview(const std::string& caller,
                                       const v1::GetReviewRequest& request);
  absl::StatusOr<v1::ListReviewsResponse> ListReviews(const std::string& caller,
                                                      const v1::ListReviewsRequest& request);
  absl::StatusOr<v1::Review> SubmitRatings(const std::string& caller,
                                           const v1::SubmitRatingsRequest& request);
  absl::StatusOr<v1::Review> AddReflection(const std::string& caller,
                                           const v1::AddReflectionRequest& request);
  absl::StatusOr<v1::Review> AddNextStep(const std::string& caller,
                                         const v1::AddNextStepRequest& request);
  absl::StatusOr<v1::Review> SignReview(const std::string& caller,
                                        const v1::SignReviewRequest& request);
  absl::StatusOr<v1::Progress> GetProgress(const std::string& caller,
                                           const v1::GetProgressRequest& request);
  absl::StatusOr<v1::ListReviewRevisionsResponse> ListReviewRevisions(
      const std::string& caller, const v1::ListReviewRevisionsRequest& request);

  // Host sync read-back (not an RPC): the status of `goal` changed in host EHR `host` by
  // `ehr_user` (a FHIR reference from the resource's meta.author or Provenance, or the
  // configured fallback such as Device/<host>) on top of revision `based_on_revision`, written
  // as a new revision by `ehr_user` (audited, event, outbox). domain::HostGoalStatusChange
  // decides; its PERMISSION_DENIED / ABORTED / FAILED_PRECONDITION mean a conflict the caller
  // keeps visible. `request_id` (derived from the EHR's resource id and version) makes a
  // repeated read of the same EHR version return the first result.
  absl::StatusOr<v1::Goal> RecordHostGoalChange(const std::string& ehr_user,
                                                const std::string& host, const std::string& goal,
                                                int64_t based_on_revision, v1::Goal::Status status,
                                                const std::string& request_id);

  // Audits a call refused before it reached a use case (e.g. an unverifiable token).
  void AuditRefusal(const std::string& actor, const std::string& action,
                    const absl::Status& status);

 private:
  struct Context;
  template <typename Record>
  struct Change;

  // Writes the change `fn` computes, with idempotency, retries after lost races and audit.
  // `existing` names the record being changed (empty for a new record): writers of one record
  // in this process queue on a lock instead of racing, so unconditional writes do not fail
  // under contention.
  template <typename Record, typename Fn>
  absl::StatusOr<Record> Mutate(Context& ctx, const google::protobuf::Message& request,
                                const std::string& request_id, const std::string& existing,
                                Fn&& fn);
  template <typename Record>
  absl::StatusOr<Record> Read(Context& ctx, absl::StatusOr<Record> result);
  absl::StatusOr<v1::Episode> LoadEpisodeFor(const std::string& caller,
                                             const std::string& episode_id);
  template <typename Record>
  absl::StatusOr<Record> LoadLatest(const std::string& name);
  template <typename Record>
  absl::StatusOr<std::vector<Record>> LoadAll(const std::string& episode_id,
                                              store::RecordKind kind);
  template <typename Record, typename Visible>
  absl::StatusOr<std::pair<std::vector<Record>, std::string>> ListVisible(
      const std::string& episode_id, store::RecordKind kind, int page_size,
      const std::string& page_token, Visible&& visible);
  template <typename Record>
  absl::StatusOr<std::pair<std::vector<Record>, std::string>> ListRevisionsOf(
      const std::string& name, int page_size, const std::string& page_token);
  // An episode's record as the caller may see it.
  template <typename Record>
  struct Loaded {
    std::string episode_id;
    v1::Episode episode;
    Record record;
  };
  // The latest revision of `name` with its episode; NOT_FOUND unless the caller may see it.
  template <typename Record>
  absl::StatusOr<Loaded<Record>> LoadVisible(const std::string& caller, const std::string& name,
                                             const std::string& field);
  // The shape of every change to an existing record: load what the caller may see, check the
  // etag, apply `rule(episode, current)`, write the result.
  template <typename Record, typename Rule>
  absl::StatusOr<Record> ChangeRecord(Context ctx, const google::protobuf::Message& request,
                                      const std::string& request_id, const std::string& name,
                                      const std::string& name_field, const std::string& etag,
                                      const std::string& etag_field, v1::EpisodeEvent::Kind event,
                                      Rule&& rule);
  template <typename Record, typename Response = Record>
  absl::StatusOr<Response> GetRecord(Context ctx, const std::string& name);
  template <typename Record>
  absl::StatusOr<std::pair<std::vector<Record>, std::string>> RevisionsOf(
      Context ctx, const std::string& name, int page_size, const std::string& page_token);
  absl::StatusOr<int> PageSize(int requested) const;
  void AuditOutcome(const Context& ctx, const absl::Status& status);

  static constexpr size_t kWriteLockStripes = 256;
  std::array<std::mutex, kWriteLockStripes> write_locks_;
  store::Store& store_;
  const Clock& clock_;
  IdGenerator& ids_;
  EventHub& hub_;
  Options options_;
};

}  // namespace collabcare::service

#endif  // COLLABCARE_PLUGIN_SERVICE_COLLAB_SERVICE_H_
