// SyncService: operator-only view of each host connection's sync, and what operators do about
// parked changes.
#include "plugin/service/sync_status_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "plugin/common/status_macros.h"

namespace collabcare::service {
namespace {

constexpr int kDefaultMaxParked = 20;
constexpr int kMaxMaxParked = 200;
// ListParked loads outcomes (up to 64 KiB each), so counting stops here: at most ~64 MiB read.
constexpr int kParkedCountCap = 1000;

// The suffix of the pseudo-host under which changes read back from a host are parked as
// conflicts (host::ReadBackPoller::ConflictHost).
constexpr char kFromEhrSuffix[] = "#from-ehr";

// Store::ListParked loads whole parkings; Discard looks for one among the oldest this many.
constexpr int kParkedScan = 10000;

std::string CodeName(absl::StatusCode code) {
  return code == absl::StatusCode::kOk ? std::string() : absl::StatusCodeToString(code);
}

void ToProto(const store::ParkedChange& p, bool include_outcome, v1::ParkedSyncChange* change) {
  change->set_outbox_id(p.outbox_id);
  change->set_name(p.name);
  change->set_revision(p.revision);
  *change->mutable_park_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(p.time));
  change->set_code(CodeName(static_cast<absl::StatusCode>(p.code)));
  if (include_outcome) change->set_outcome(p.outcome);
}

absl::Status CheckTarget(const std::string& host, int64_t outbox_id) {
  if (host.empty() || host.size() > 1024) {
    return absl::InvalidArgumentError("host: a host connection as GetSyncStatus names it");
  }
  if (outbox_id < 1)
    return absl::InvalidArgumentError("outbox_id: a parked change's id, 1 or more");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParkedRetryOutcome> SyncStatusProvider::RetryParked(const std::string& host,
                                                                   int64_t outbox_id,
                                                                   absl::Duration timeout) {
  (void)host;
  (void)outbox_id;
  (void)timeout;
  return absl::FailedPreconditionError("host: no sync worker for it runs in this server");
}

SyncStatusService::SyncStatusService(store::Store& store, const Clock& clock,
                                     SyncStatusProvider& provider, std::set<std::string> operators,
                                     absl::Duration retry_timeout)
    : store_(store),
      clock_(clock),
      provider_(provider),
      operators_(std::move(operators)),
      retry_timeout_(retry_timeout) {}

absl::StatusOr<v1::RetryParkedChangeResponse> SyncStatusService::RetryParkedChange(
    const std::string& caller, const v1::RetryParkedChangeRequest& request) {
  std::string resource;
  absl::StatusOr<v1::RetryParkedChangeResponse> result =
      operators_.count(caller) == 0
          ? absl::PermissionDeniedError("RetryParkedChange is for the server's --operators only")
          : Retry(request, &resource);
  RETURN_IF_ERROR(Audit(caller, result.status(), kRetryMethod, resource));
  return result;
}

absl::StatusOr<v1::ParkedSyncChange> SyncStatusService::DiscardParkedChange(
    const std::string& caller, const v1::DiscardParkedChangeRequest& request) {
  std::string resource;
  absl::StatusOr<v1::ParkedSyncChange> result =
      operators_.count(caller) == 0
          ? absl::PermissionDeniedError("DiscardParkedChange is for the server's --operators only")
          : Discard(request, &resource);
  RETURN_IF_ERROR(Audit(caller, result.status(), kDiscardMethod, resource));
  return result;
}

absl::StatusOr<v1::RetryParkedChangeResponse> SyncStatusService::Retry(
    const v1::RetryParkedChangeRequest& request, std::string* resource) {
  RETURN_IF_ERROR(CheckTarget(request.host(), request.outbox_id()));
  const std::vector<HostSyncCounters> hosts = provider_.Hosts();
  if (std::none_of(hosts.begin(), hosts.end(),
                   [&](const HostSyncCounters& h) { return h.host == request.host(); })) {
    return absl::NotFoundError("host: no such host connection");
  }
  ASSIGN_OR_RETURN(ParkedRetryOutcome outcome,
                   provider_.RetryParked(request.host(), request.outbox_id(), retry_timeout_));
  v1::RetryParkedChangeResponse response;
  response.set_pushed(outcome.pushed);
  response.set_code(outcome.pushed ? "OK" : absl::StatusCodeToString(outcome.failure.code()));
  if (outcome.parked.has_value()) {
    *resource = outcome.parked->name;
    ToProto(*outcome.parked, request.include_outcome(), response.mutable_parked());
  }
  return response;
}

absl::StatusOr<v1::ParkedSyncChange> SyncStatusService::Discard(
    const v1::DiscardParkedChangeRequest& request, std::string* resource) {
  RETURN_IF_ERROR(CheckTarget(request.host(), request.outbox_id()));
  ASSIGN_OR_RETURN(std::vector<store::ParkedChange> parked,
                   store_.ListParked(request.host(), kParkedScan));
  auto it = std::find_if(parked.begin(), parked.end(), [&](const store::ParkedChange& p) {
    return p.outbox_id == request.outbox_id();
  });
  if (it == parked.end()) return absl::NotFoundError("outbox_id: no such parked change");
  *resource = it->name;
  RETURN_IF_ERROR(store_.Unpark(request.host(), request.outbox_id()));
  v1::ParkedSyncChange change;
  ToProto(*it, request.include_outcome(), &change);
  return change;
}

absl::StatusOr<v1::SyncStatus> SyncStatusService::GetSyncStatus(
    const std::string& caller, const v1::GetSyncStatusRequest& request) {
  absl::StatusOr<v1::SyncStatus> result =
      operators_.count(caller) == 0
          ? absl::PermissionDeniedError("GetSyncStatus is for the server's --operators only")
          : Collect(request);
  RETURN_IF_ERROR(Audit(caller, result.status()));
  return result;
}

void SyncStatusService::AuditRefusal(const std::string& actor, const absl::Status& status,
                                     const char* method) {
  Audit(actor.empty() ? "anonymous" : actor, status, method).IgnoreError();  // the refusal stands
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
    // A read-back pseudo-host ("<host>#from-ehr") only holds conflicts: it has no outbox
    // cursor, and the whole outbox is not its backlog.
    if (!absl::EndsWith(counters.host, kFromEhrSuffix)) {
      ASSIGN_OR_RETURN(int64_t cursor, store_.GetSyncCursor(counters.host));
      ASSIGN_OR_RETURN(int64_t lag, store_.CountOutboxAfter(cursor));
      host->set_cursor(cursor);
      host->set_lag(lag);
    }
    host->set_pushed(counters.pushed);
    host->set_retried(counters.retried);
    host->set_parked_since_start(counters.parked);
    host->set_last_error(CodeName(counters.last_error));
    ASSIGN_OR_RETURN(std::vector<store::ParkedChange> parked,
                     store_.ListParked(counters.host, kParkedCountCap));
    host->set_parked(static_cast<int64_t>(parked.size()));
    host->set_parked_count_capped(parked.size() >= static_cast<size_t>(kParkedCountCap));
    for (size_t i = 0; i < parked.size() && i < static_cast<size_t>(max_parked); ++i) {
      ToProto(parked[i], request.include_outcomes(), host->add_parked_changes());
    }
  }
  return status;
}

absl::Status SyncStatusService::Audit(const std::string& actor, const absl::Status& outcome,
                                      const char* method, const std::string& resource) {
  return store_.Audit(store::AuditRecord{clock_.Now(), actor, method, resource, "",
                                         static_cast<int>(outcome.code()), ""});
}

}  // namespace collabcare::service
