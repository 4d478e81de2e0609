// Changes coming back from the host EHR: a poller that reads the Goals collabcare wrote to a
// FHIR host and turns a status changed in the chart (e.g. marked completed) into a new
// revision, keeping every conflict visible as a parked change (DESIGN.md "Host EHRs").
#ifndef COLLABCARE_ADAPTERS_HOST_SYNC_READ_BACK_H_
#define COLLABCARE_ADAPTERS_HOST_SYNC_READ_BACK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/fhir/canonical.h"
#include "adapters/host/fhir_client.h"
#include "adapters/host/sync/sync_worker.h"
#include "collabcare/v1/resources.pb.h"
#include "nlohmann/json.hpp"
#include "plugin/common/clock.h"
#include "plugin/common/metrics.h"
#include "plugin/store/store.h"

namespace collabcare::host {

// A goal's status as changed in the host, for the use case that records it
// (service::CollabService::RecordHostGoalChange in the server).
struct HostGoalChange {
  std::string ehr_user;           // FHIR reference of who changed it (or the fallback)
  std::string host;               // the store's name for the host
  std::string goal;               // collabcare's record name, e.g. episodes/e1/goals/g1
  int64_t based_on_revision = 0;  // the record-revision the EHR's Goal carried
  v1::Goal::Status status = v1::Goal::STATUS_UNSPECIFIED;
  std::string request_id;  // from host + resource id + versionId: a re-read is the same request
};

// Records one change; PERMISSION_DENIED, ABORTED, FAILED_PRECONDITION, NOT_FOUND and
// INVALID_ARGUMENT mean "refused: a conflict", other errors "try again later".
using RecordHostGoalChangeFn = std::function<absl::StatusOr<v1::Goal>(const HostGoalChange&)>;

struct ReadBackOptions {
  std::string host = "ehr";  // the store's name for the host (as the sync worker's)
  fhir::CanonicalUrls urls;
  absl::Duration poll_interval = absl::Seconds(30);
  // _lastUpdated is not strictly monotonic (clock steps, concurrent commits): each search starts
  // this long before the watermark, and versions already handled are skipped.
  absl::Duration overlap = absl::Seconds(10);
  // Who a change is attributed to when the Goal has no meta.author (e.g. "Device/ehr").
  std::string fallback_author;
  // Narrow the search with identifier=<record system>| (servers that support system-only token
  // search); otherwise every changed Goal is read and those without collabcare's identifier
  // are skipped.
  bool filter_by_identifier = true;
  int page_size = 100;
  int max_pages = 20;  // per poll; the watermark carries on from where a poll stopped
  // collabcare_sync_read_back_applied_total{host} and _conflicts_total{host}; null: none.
  MetricsRegistry* metrics = nullptr;
};

// What one poll did.
struct ReadBackCounts {
  int read = 0;       // Goal versions looked at
  int unchanged = 0;  // collabcare's own writes echoed back, and versions handled before
  int applied = 0;    // new revisions written
  int conflicts = 0;  // parked under ConflictHost(host)
  int skipped = 0;    // not collabcare's Goals
};

// Polls one FHIR host for Goals changed since a durable watermark (Store sync cursor under
// WatermarkKey(host), epoch milliseconds of the last _lastUpdated handled):
// GET Goal?_lastUpdated=gt<watermark - overlap>&_sort=_lastUpdated[&identifier=<system>|], in
// pages. Each Goal is read with fhir::GoalFromFhir against its episode and compared with the
// revision named by its record-revision extension:
//  - same status and words: an echo of collabcare's own write (or nothing collabcare keeps),
//    ignored;
//  - changed words or everyday signs: a conflict (PERMISSION_DENIED; the client's words are not
//    rewritten by anyone else), never applied;
//  - a status collabcare's latest revision already has: nothing to do (read again, or reached
//    locally too);
//  - another changed status: `record` is called with the EHR user from meta.author (else
//    `fallback_author`); its refusals are conflicts.
// A conflict is parked (Store::Park) under ConflictHost(host) with outbox_id =
// ConflictId(resource id, versionId) (so reading the same version again replaces the same
// parking), the goal's name, its latest local revision, the refusal's code, and an
// OperationOutcome naming why with the EHR's Goal as a contained resource. A transient error
// ends the poll with the watermark before the Goal that failed, to be read again next time.
// Logs hold codes, counts and resource ids only.
//
// Run() on one thread, Stop() from any.
class ReadBackPoller final {
 public:
  // None of the pointers is owned; all must outlive the poller.
  ReadBackPoller(ReadBackOptions options, FhirClient* client, store::Store* store,
                 RecordHostGoalChangeFn record, const Clock* clock, Sleeper* sleeper);
  ReadBackPoller(const ReadBackPoller&) = delete;
  ReadBackPoller& operator=(const ReadBackPoller&) = delete;

  // PollOnce every poll_interval until Stop(); errors are logged ("read_back_failed").
  void Run();
  absl::StatusOr<ReadBackCounts> PollOnce();
  void Stop();

  static std::string WatermarkKey(const std::string& host) { return host + "#read-back:Goal"; }
  static std::string ConflictHost(const std::string& host) { return host + "#from-ehr"; }
  // A stable positive 53-bit id for one version of one EHR resource.
  static int64_t ConflictId(const std::string& resource_id, const std::string& version_id);

 private:
  enum class Outcome { kUnchanged, kApplied, kConflict, kSkipped };
  absl::StatusOr<Outcome> Handle(const nlohmann::json& goal);
  absl::Status Park(const std::string& name, const nlohmann::json& goal, const std::string& id,
                    const std::string& version, absl::StatusCode code, const std::string& why);

  const ReadBackOptions options_;
  FhirClient* const client_;
  store::Store* const store_;
  const RecordHostGoalChangeFn record_;
  const Clock* const clock_;
  Sleeper* const sleeper_;
  std::atomic<bool> stopping_{false};
  // Versions ("id|versionId") handled lately, with their _lastUpdated (epoch ms), so that the
  // overlap re-reads them without work; used by the polling thread only.
  std::map<std::string, int64_t> seen_;
  MetricFamily* applied_ = nullptr;
  MetricFamily* conflicts_ = nullptr;
};

}  // namespace collabcare::host

#endif  // COLLABCARE_ADAPTERS_HOST_SYNC_READ_BACK_H_
