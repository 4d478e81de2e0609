// The use cases behind SyncService: where each host connection's sync stands, and retrying or
// discarding a parked change, for operators only.
#ifndef COLLABCARE_PLUGIN_SERVICE_SYNC_STATUS_SERVICE_H_
#define COLLABCARE_PLUGIN_SERVICE_SYNC_STATUS_SERVICE_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collabcare/v1/sync_service.pb.h"
#include "plugin/common/clock.h"
#include "plugin/store/store.h"

namespace collabcare::service {

namespace v1 = ::collabcare::v1;

// One configured host connection and, when a worker runs for it in this process, the worker's
// counters since it started.
struct HostSyncCounters {
  std::string host;     // the store's name for the host (cursor, parkings)
  std::string profile;  // --host_profile
  bool worker_running = false;
  int64_t pushed = 0;
  int64_t retried = 0;
  int64_t parked = 0;
  absl::StatusCode last_error = absl::StatusCode::kOk;
};

// What one retry of a parked change did (host::ParkedRetry, without the adapters' types).
struct ParkedRetryOutcome {
  bool pushed = false;                        // the host took it; the parking is gone
  absl::Status failure;                       // when not pushed: the attempt's failure
  std::optional<store::ParkedChange> parked;  // when not pushed: the parking as it now stands
};

// What the server knows of its host connections beyond the store (the workers' counters).
// Thread-safe; must not block on the network.
class SyncStatusProvider {
 public:
  SyncStatusProvider() = default;
  SyncStatusProvider(const SyncStatusProvider&) = delete;
  SyncStatusProvider& operator=(const SyncStatusProvider&) = delete;
  virtual ~SyncStatusProvider() = default;

  // Every configured host connection, in a stable order (empty when none is configured). A
  // host named "<host>#from-ehr" lists the conflicts read back from <host> (no cursor or lag).
  virtual std::vector<HostSyncCounters> Hosts() = 0;

  // Pushes parked change `outbox_id` of `host` again through the worker of that host in this
  // process (host::SyncWorker::RetryParked), waiting at most `timeout`; its errors pass
  // through. May block on the network. The default: FAILED_PRECONDITION, no worker here.
  virtual absl::StatusOr<ParkedRetryOutcome> RetryParked(const std::string& host, int64_t outbox_id,
                                                         absl::Duration timeout);
};

// Answers GetSyncStatus: the provider's counters joined with the store's cursor, backlog and
// parked changes. Default deny: only `operators` (FHIR references such as
// `Practitioner/ops1`) may call; anyone else gets PERMISSION_DENIED. Every call is audited
// durably (the audit record is written before the answer; a failed audit write fails the call
// with the store's status). Thread-safe; blocks on the store.
class SyncStatusService {
 public:
  // Collaborators are not owned and must outlive the service. `retry_timeout` bounds how
  // long RetryParkedChange waits for the worker.
  SyncStatusService(store::Store& store, const Clock& clock, SyncStatusProvider& provider,
                    std::set<std::string> operators,
                    absl::Duration retry_timeout = absl::Seconds(30));
  SyncStatusService(const SyncStatusService&) = delete;
  SyncStatusService& operator=(const SyncStatusService&) = delete;

  // INVALID_ARGUMENT naming `max_parked`; PERMISSION_DENIED for a non-operator; UNAVAILABLE /
  // INTERNAL from the store.
  absl::StatusOr<v1::SyncStatus> GetSyncStatus(const std::string& caller,
                                               const v1::GetSyncStatusRequest& request);

  // Pushes a parked change again through the provider (see the RPC in sync_service.proto).
  // Same default deny and durable audit (resource: the parked record's name when found);
  // INVALID_ARGUMENT naming `host` or `outbox_id`; the provider's errors.
  absl::StatusOr<v1::RetryParkedChangeResponse> RetryParkedChange(
      const std::string& caller, const v1::RetryParkedChangeRequest& request);

  // Removes a parking without pushing (Store::Unpark); returns it. Same deny and audit;
  // INVALID_ARGUMENT naming `host` or `outbox_id`; NOT_FOUND when there is no such parking
  // among the host's oldest 10000.
  absl::StatusOr<v1::ParkedSyncChange> DiscardParkedChange(
      const std::string& caller, const v1::DiscardParkedChangeRequest& request);

  // Audits a call refused before it reached a use case (e.g. an unverifiable token); `method`
  // defaults to GetSyncStatus's.
  void AuditRefusal(const std::string& actor, const absl::Status& status,
                    const char* method = kMethod);

  static constexpr char kMethod[] = "collabcare.v1.SyncService/GetSyncStatus";
  static constexpr char kRetryMethod[] = "collabcare.v1.SyncService/RetryParkedChange";
  static constexpr char kDiscardMethod[] = "collabcare.v1.SyncService/DiscardParkedChange";

 private:
  absl::StatusOr<v1::SyncStatus> Collect(const v1::GetSyncStatusRequest& request);
  absl::StatusOr<v1::RetryParkedChangeResponse> Retry(const v1::RetryParkedChangeRequest& request,
                                                      std::string* resource);
  absl::StatusOr<v1::ParkedSyncChange> Discard(const v1::DiscardParkedChangeRequest& request,
                                               std::string* resource);
  absl::Status Audit(const std::string& actor, const absl::Status& outcome,
                     const char* method = kMethod, const std::string& resource = "");

  store::Store& store_;
  const Clock& clock_;
  SyncStatusProvider& provider_;
  const std::set<std::string> operators_;
  const absl::Duration retry_timeout_;
};

}  // namespace collabcare::service

#endif  // COLLABCARE_PLUGIN_SERVICE_SYNC_STATUS_SERVICE_H_
