// The durable store: every revision of every record, each episode's ordered event log, the
// audit trail, the sync outbox and the idempotency table, written together per change.
#ifndef COLLABCARE_PLUGIN_STORE_STORE_H_
#define COLLABCARE_PLUGIN_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace collabcare::store {

// The record types; the numbers are stored and must not change.
enum class RecordKind : int { kEpisode = 1, kGoal = 2, kHypothesis = 3, kReview = 4 };

// One revision of one record. `data` is the record's serialized form, opaque to the store.
struct RecordRevision {
  std::string name;        // e.g. "episodes/e1/goals/g1"
  std::string episode_id;  // e.g. "e1"
  RecordKind kind = RecordKind::kEpisode;
  int64_t revision = 0;  // 1, 2, …
  absl::Time time;       // when this revision was written
  std::string actor;     // FHIR reference of the writer
  std::string data;
};

// Who did what to which record, when, with what outcome. Never holds clinical free text.
struct AuditRecord {
  absl::Time time;
  std::string actor;       // FHIR reference, or "anonymous"
  std::string action;      // RPC method, e.g. "collabcare.v1.GoalService/GetGoal"
  std::string resource;    // resource name the action was on (may be empty)
  std::string episode_id;  // may be empty
  int outcome = 0;         // absl::StatusCode as int; 0 = OK
  std::string request_id;  // may be empty
};

// One entry of an episode's event log, joined with the record revision it announces.
struct StoredEvent {
  std::string episode_id;
  int64_t sequence = 0;  // 1, 2, … per episode, without gaps
  absl::Time time;
  std::string actor;
  int kind = 0;  // collabcare.v1.EpisodeEvent.Kind
  RecordRevision record;
};

// A change waiting to be pushed to the host EHR (consumed by the sync worker).
struct OutboxEntry {
  int64_t id = 0;  // increasing, store-wide
  std::string episode_id;
  int64_t sequence = 0;
  std::string name;
  int64_t revision = 0;
  RecordKind kind = RecordKind::kEpisode;
};

// Where a host's sync worker stands, and what it knows of the host (DESIGN.md "Host EHRs").
// `host` names one configured host EHR connection (e.g. "ehr").

// A resource collabcare wrote to a host, by its business key (fhir::FhirResource::key): the
// host's id and version, so that hosts without conditional create never get a duplicate.
struct RemoteRef {
  std::string host;
  std::string key;
  std::string resource_type;
  std::string remote_id;
  std::string version;  // the host's versionId after the last write; may be empty
  absl::Time time;      // when it was last written
};

// A change the host refused as invalid: kept, with what the host said, until an operator acts.
struct ParkedChange {
  std::string host;
  int64_t outbox_id = 0;
  std::string name;
  int64_t revision = 0;
  absl::Time time;
  int code = 0;         // absl::StatusCode
  std::string outcome;  // the host's OperationOutcome JSON (at most 64 KiB), never in logs
};

// The response remembered for an idempotent request.
struct StoredResponse {
  std::string fingerprint;  // digest of the request it answered
  std::string response;     // serialized response message
};

// One change, written atomically: the new revision, its event, its audit record, its outbox
// entry and (if `request_key` is set) the response to replay for a retry.
struct Mutation {
  // `record.revision` must be exactly one more than the stored latest revision of
  // `record.name` (1 for a new record).
  RecordRevision record;
  int event_kind = 0;
  // Episode writes only: the people now in the episode, indexed for ListEpisodesOf.
  std::optional<std::vector<std::string>> participants;
  AuditRecord audit;
  // Caller + request_id; empty when the request carried no request_id.
  std::string request_key;
  StoredResponse response;
};

struct CommitResult {
  int64_t sequence = 0;  // the event's sequence in its episode
};

struct Page {
  std::string after;  // exclusive lower bound on the name; "" = from the start
  int limit = 50;
};

// Durable storage of collabcare's records.
//
// Thread-safe: every method may be called from many threads at once. Methods block on I/O, so
// never call them on gRPC callback threads.
//
// Status codes: NOT_FOUND for a missing record; ABORTED when a Mutation's revision is not the
// next one (a concurrent writer won); ALREADY_EXISTS when a Mutation's request_key is already
// stored (the caller should replay FindResponse); UNAVAILABLE / INTERNAL for storage failures.
// When Commit returns OK, every part of the Mutation is durable (survives kill -9 and power
// loss); when it returns an error, no part of it was written.
//
// Commit checks the request_key before the revision, so a retry whose first attempt won gets
// ALREADY_EXISTS. INVALID_ARGUMENT for a Mutation without record.name or record.episode_id,
// with an unknown kind or with participants on a non-episode record, and for a limit below 1.
// Times are kept to the microsecond (rounded toward the past, as absl::ToUnixMicros does).
class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  virtual absl::StatusOr<CommitResult> Commit(const Mutation& mutation) = 0;

  // The remembered response for `request_key`, or nullopt.
  virtual absl::StatusOr<std::optional<StoredResponse>> FindResponse(
      const std::string& request_key) = 0;

  // Appends audit records for reads and refused calls. Durable on return.
  virtual absl::Status Audit(const AuditRecord& record) = 0;

  // Queues an audit record to be written with the next transaction and returns without
  // waiting for it to be durable (records keep their order). A crash can lose what was queued
  // in the last moments; use Audit where that is not acceptable.
  virtual void AuditLater(const AuditRecord& record) = 0;

  virtual absl::StatusOr<RecordRevision> GetLatest(const std::string& name) = 0;
  virtual absl::StatusOr<RecordRevision> GetRevision(const std::string& name, int64_t revision) = 0;

  // Latest revisions of an episode's records of one kind, ordered by name.
  virtual absl::StatusOr<std::vector<RecordRevision>> ListLatest(const std::string& episode_id,
                                                                 RecordKind kind,
                                                                 const Page& page) = 0;

  // Every revision of one record after `after_revision`, oldest first, at most `limit`.
  virtual absl::StatusOr<std::vector<RecordRevision>> ListRevisions(const std::string& name,
                                                                    int64_t after_revision,
                                                                    int limit) = 0;

  // Latest revisions of the episodes whose latest participant list holds `person`, by name.
  virtual absl::StatusOr<std::vector<RecordRevision>> ListEpisodesOf(const std::string& person,
                                                                     const Page& page) = 0;

  // Events of one episode with sequence > after_sequence, in order, at most `limit`.
  virtual absl::StatusOr<std::vector<StoredEvent>> ReadEvents(const std::string& episode_id,
                                                              int64_t after_sequence,
                                                              int limit) = 0;

  // Audit records with time in [from, to), oldest first, at most `limit` (for operators).
  virtual absl::StatusOr<std::vector<AuditRecord>> ReadAudit(absl::Time from, absl::Time to,
                                                             int limit) = 0;

  // Outbox entries with id > after_id, in id order, at most `limit`.
  virtual absl::StatusOr<std::vector<OutboxEntry>> ReadOutbox(int64_t after_id, int limit) = 0;

  // Sync bookkeeping. All writes are durable on return, and ordered with commits.
  // INVALID_ARGUMENT for an empty host or RemoteRef.key, a limit below 1, and a
  // ParkedChange.outcome longer than 64 KiB.
  //
  // The outbox id up to which every entry has been pushed to (or parked for) `host`; 0 when
  // nothing has been. SetSyncCursor never moves a cursor back (a smaller id is ignored).
  virtual absl::StatusOr<int64_t> GetSyncCursor(const std::string& host) = 0;
  virtual absl::Status SetSyncCursor(const std::string& host, int64_t outbox_id) = 0;

  // What collabcare wrote to `host` under `key`; nullopt when nothing yet.
  virtual absl::StatusOr<std::optional<RemoteRef>> GetRemote(const std::string& host,
                                                             const std::string& key) = 0;
  // Inserts or replaces the ref for (ref.host, ref.key).
  virtual absl::Status PutRemote(const RemoteRef& ref) = 0;

  // Parks a refused change (replacing an earlier parking of the same (host, outbox_id)).
  virtual absl::Status Park(const ParkedChange& change) = 0;
  // Parked changes of `host` in outbox order, at most `limit`.
  virtual absl::StatusOr<std::vector<ParkedChange>> ListParked(const std::string& host,
                                                               int limit) = 0;
  // Removes a parking (after a retry succeeded or an operator discarded it); NOT_FOUND if none.
  virtual absl::Status Unpark(const std::string& host, int64_t outbox_id) = 0;
  // How many outbox entries have an id above `after_id` (the host's backlog).
  virtual absl::StatusOr<int64_t> CountOutboxAfter(int64_t after_id) = 0;
};

// A store kept in memory, for tests. Same contract, nothing durable.
std::unique_ptr<Store> NewMemoryStore();

struct SqliteOptions {
  std::string path;  // database file; its folder must exist
  int reader_connections = 4;
  int max_batch = 256;  // at most this many mutations share one transaction (group commit)
  // How long a connection waits for another process's lock before UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(5);
  // Latest revisions kept in memory for GetLatest (bounded; cleared when full).
  size_t cache_bytes = 16 << 20;
};

// SQLite in WAL mode with synchronous=FULL. One writer thread batches concurrent mutations
// into one transaction and one fsync (group commit) and acknowledges each only after COMMIT.
// Applies schema migrations on open. Holds an exclusive lock on `<path>.lock` while open:
// a second store on the same file gets FAILED_PRECONDITION.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace collabcare::store

#endif  // COLLABCARE_PLUGIN_STORE_STORE_H_
