// The use case behind SyncService.GetSyncStatus: where each host connection's sync stands, for
// operators only.
#ifndef COLLABCARE_PLUGIN_SERVICE_SYNC_STATUS_SERVICE_H_
#define COLLABCARE_PLUGIN_SERVICE_SYNC_STATUS_SERVICE_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// What the server knows of its host connections beyond the store (the workers' counters).
// Thread-safe; must not block on the network.
class SyncStatusProvider {
 public:
  SyncStatusProvider() = default;
  SyncStatusProvider(const SyncStatusProvider&) = delete;
  SyncStatusProvider& operator=(const SyncStatusProvider&) = delete;
  virtual ~SyncStatusProvider() = default;

  // Every configured host connection, in a stable order (empty when none is configured).
  virtual std::vector<HostSyncCounters> Hosts() = 0;
};

// Answers GetSyncStatus: the provider's counters joined with the store's cursor, backlog and
// parked changes. Default deny: only `operators` (FHIR references such as
// `Practitioner/ops1`) may call; anyone else gets PERMISSION_DENIED. Every call is audited
// durably (the audit record is written before the answer; a failed audit write fails the call
// with the store's status). Thread-safe; blocks on the store.
class SyncStatusService {
 public:
  // Collaborators are not owned and must outlive the service.
  SyncStatusService(store::Store& store, const Clock& clock, SyncStatusProvider& provider,
                    std::set<std::string> operators);
  SyncStatusService(const SyncStatusService&) = delete;
  SyncStatusService& operator=(const SyncStatusService&) = delete;

  // INVALID_ARGUMENT naming `max_parked`; PERMISSION_DENIED for a non-operator; UNAVAILABLE /
  // INTERNAL from the store.
  absl::StatusOr<v1::SyncStatus> GetSyncStatus(const std::string& caller,
                                               const v1::GetSyncStatusRequest& request);

  // Audits a call refused before it reached GetSyncStatus (e.g. an unverifiable token).
  void AuditRefusal(const std::string& actor, const absl::Status& status);

  static constexpr char kMethod[] = "collabcare.v1.SyncService/GetSyncStatus";

 private:
  absl::StatusOr<v1::SyncStatus> Collect(const v1::GetSyncStatusRequest& request);
  absl::Status Audit(const std::string& actor, const absl::Status& outcome);

  store::Store& store_;
  const Clock& clock_;
  SyncStatusProvider& provider_;
  const std::set<std::string> operators_;
};

}  // namespace collabcare::service

#endif  // COLLABCARE_PLUGIN_SERVICE_SYNC_STATUS_SERVICE_H_
