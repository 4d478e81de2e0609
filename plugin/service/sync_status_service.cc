// SyncService.GetSyncStatus: operator-only view of each host connection's sync.
#include "plugin/service/sync_status_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "plugin/common/status_macros.h"

namespace collabcare::service {
namespace {

constexpr int kDefaultMaxParked = 20;
constexpr int kMaxMaxParked = 200;
// ListParked loads outcomes (up to 64 KiB each), so counting stops here: at most ~64 MiB read.
constexpr int kParkedCountCap = 1000;

std::string CodeName(absl::StatusCode code) {
  return code == absl::StatusCode::kOk ? std::string() : absl::StatusCodeToString(code);
}

}  // namespace

SyncStatusService::SyncStatusService(store::Store& store, const Clock& clock,
                                     SyncStatusProvider& provider, std::set<std::string> operators)
    : store_(store), clock_(clock), provider_(provider), operators_(std::move(operators)) {}

absl::StatusOr<v1::SyncStatus> SyncStatusService::GetSyncStatus(
    const std::string& caller, const v1::GetSyncStatusRequest& request) {
  absl::StatusOr<v1::SyncStatus> result =
      operators_.count(caller) == 0
          ? absl::PermissionDeniedError("GetSyncStatus is for the server's --operators only")
          : Collect(request);
  RETURN_IF_ERROR(Audit(caller, result.status()));
  return result;
}

void SyncStatusService::AuditRefusal(const std::string& actor, const absl::Status& status) {
  Audit(actor.empty() ? "anonymous" : actor, status).IgnoreError();  // the refusal stands
}

absl::StatusOr<v1::SyncStatus> SyncStatusService::Collect(const v1::GetSyncStatusRequest& request) {
  if (request.max_parked() < 0 || request.max_parked() > kMaxMaxParked) {
    return absl::InvalidArgumentError(absl::StrCat("max_parked: between 0 and ", kMaxMaxParked));
  }
  const int max_parked = request.max_parked() == 0 ? kDefaultMaxParked : request.max_parked();
  v1::SyncStatus status;
  for (const HostSyncCounters& counters : provider_.Hosts()) {
    v1::HostSyncStatus* host = status.add_hosts();
    host->set_host(counters.host);
    host->set_profile(counters.profile);
    host->set_worker_running(counters.worker_running);
    ASSIGN_OR_RETURN(int64_t cursor, store_.GetSyncCursor(counters.host));
    ASSIGN_OR_RETURN(int64_t lag, store_.CountOutboxAfter(cursor));
    host->set_cursor(cursor);
    host->set_lag(lag);
    host->set_pushed(counters.pushed);
    host->set_retried(counters.retried);
    host->set_parked_since_start(counters.parked);
    host->set_last_error(CodeName(counters.last_error));
    ASSIGN_OR_RETURN(std::vector<store::ParkedChange> parked,
                     store_.ListParked(counters.host, kParkedCountCap));
    host->set_parked(static_cast<int64_t>(parked.size()));
    host->set_parked_count_capped(parked.size() >= static_cast<size_t>(kParkedCountCap));
    for (size_t i = 0; i < parked.size() && i < static_cast<size_t>(max_parked); ++i) {
      const store::ParkedChange& p = parked[i];
      v1::ParkedSyncChange* change = host->add_parked_changes();
      change->set_outbox_id(p.outbox_id);
      change->set_name(p.name);
      change->set_revision(p.revision);
      *change->mutable_park_time() =
          google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(p.time));
      change->set_code(CodeName(static_cast<absl::StatusCode>(p.code)));
      if (request.include_outcomes()) change->set_outcome(p.outcome);
    }
  }
  return status;
}

absl::Status SyncStatusService::Audit(const std::string& actor, const absl::Status& outcome) {
  return store_.Audit(store::AuditRecord{clock_.Now(), actor, kMethod, "", "",
                                         static_cast<int>(outcome.code()), ""});
}

}  // namespace collabcare::service
