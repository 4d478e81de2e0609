// The SQLite Store: WAL, synchronous=FULL, one writer thread that group-commits concurrent
// writes (one transaction and one fsync per batch, one SAVEPOINT per write), and a pool of
// reader connections that read beside it.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "plugin/common/log.h"
#include "plugin/common/status_macros.h"
#include "plugin/store/sqlite_connection.h"
#include "plugin/store/sqlite_schema.h"
#include "plugin/store/store.h"
#include "plugin/store/store_checks.h"

namespace collabcare::store {
namespace {

using sqlite::Connection;
using sqlite::Query;
using sqlite::Statement;

// --- Writer statements (run inside the writer's transaction) ---

constexpr Query kBegin = {"begin transaction", "BEGIN IMMEDIATE"};
constexpr Query kCommit = {"commit transaction", "COMMIT"};
constexpr Query kRollback = {"roll back transaction", "ROLLBACK"};
constexpr Query kSavepoint = {"open savepoint", "SAVEPOINT item"};
constexpr Query kRelease = {"release savepoint", "RELEASE item"};
constexpr Query kRollbackTo = {"roll back savepoint", "ROLLBACK TO item"};

constexpr Query kRequestExists = {"look up request key",
                                  "SELECT 1 FROM requests WHERE request_key = ?1"};
constexpr Query kLatestRevision = {"read latest revision",
                                   "SELECT revision FROM latest WHERE name = ?1"};
constexpr Query kInsertRevision = {
    "insert revision",
    "INSERT INTO revisions (name, revision, episode_id, kind, time_micros, actor, data)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};
constexpr Query kUpsertLatest = {
    "update latest",
    "INSERT INTO latest (name, revision, episode_id, kind) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (name) DO UPDATE SET revision = excluded.revision,"
    " episode_id = excluded.episode_id, kind = excluded.kind"};
constexpr Query kLastSequence = {
    "read last sequence",
    "SELECT sequence FROM events WHERE episode_id = ?1 ORDER BY sequence DESC LIMIT 1"};
constexpr Query kInsertEvent = {
    "insert event",
    "INSERT INTO events (episode_id, sequence, time_micros, actor, kind, name, revision)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};
constexpr Query kInsertAudit = {
    "insert audit",
    "INSERT INTO audit (time_micros, actor, action, resource, episode_id, outcome, request_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};
constexpr Query kInsertOutbox = {"insert outbox",
                                 "INSERT INTO outbox (episode_id, sequence, name, revision, kind)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5)"};
constexpr Query kDeleteParticipants = {"delete participants",
                                       "DELETE FROM participants WHERE episode_name = ?1"};
// OR IGNORE: a person listed twice is indexed once.
constexpr Query kInsertParticipant = {
    "insert participant",
    "INSERT OR IGNORE INTO participants (person, episode_name) VALUES (?1, ?2)"};
constexpr Query kInsertRequest = {
    "insert request",
    "INSERT INTO requests (request_key, fingerprint, response) VALUES (?1, ?2, ?3)"};
// MAX on both paths: a cursor never moves back, and a missing cursor counts as 0.
constexpr Query kAdvanceCursor = {
    "advance sync cursor",
    "INSERT INTO sync_cursors (host, outbox_id) VALUES (?1, MAX(?2, 0))"
    " ON CONFLICT (host) DO UPDATE SET outbox_id = MAX(outbox_id, excluded.outbox_id)"};
constexpr Query kUpsertRemote = {
    "put remote ref",
    "INSERT INTO remote_refs (host, key, resource_type, remote_id, version, time_micros)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (host, key) DO UPDATE SET resource_type = excluded.resource_type,"
    " remote_id = excluded.remote_id, version = excluded.version,"
    " time_micros = excluded.time_micros"};
constexpr Query kUpsertParked = {
    "park change",
    "INSERT INTO parked (host, outbox_id, name, revision, time_micros, code, outcome)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (host, outbox_id) DO UPDATE SET name = excluded.name,"
    " revision = excluded.revision, time_micros = excluded.time_micros, code = excluded.code,"
    " outcome = excluded.outcome"};
constexpr Query kDeleteParked = {"unpark change",
                                 "DELETE FROM parked WHERE host = ?1 AND outbox_id = ?2"};

// --- Reader statements (each one statement, so each reads one consistent snapshot) ---

// The columns ReadRevision expects, from revisions aliased r.
#define COLLABCARE_REVISION_COLUMNS \
  "r.name, r.revision, r.episode_id, r.kind, r.time_micros, r.actor, r.data"

constexpr Query kFindResponse = {
    "read request", "SELECT fingerprint, response FROM requests WHERE request_key = ?1"};
constexpr Query kGetLatest = {
    "read latest", "SELECT " COLLABCARE_REVISION_COLUMNS
                   " FROM latest l JOIN revisions r ON r.name = l.name AND r.revision = l.revision"
                   " WHERE l.name = ?1"};
constexpr Query kGetRevision = {"read revision",
                                "SELECT " COLLABCARE_REVISION_COLUMNS
                                " FROM revisions r WHERE r.name = ?1 AND r.revision = ?2"};
constexpr Query kListLatestNames = {
    "list latest names",
    "SELECT l.name, l.revision FROM latest l INDEXED BY latest_by_episode_kind"
    " WHERE l.episode_id = ?1 AND l.kind = ?2 AND l.name > ?3 ORDER BY l.name LIMIT ?4"};
constexpr Query kListRevisions = {"list revisions",
                                  "SELECT " COLLABCARE_REVISION_COLUMNS
                                  " FROM revisions r WHERE r.name = ?1 AND r.revision > ?2"
                                  " ORDER BY r.revision LIMIT ?3"};
constexpr Query kListEpisodesOf = {
    "list episodes of person",
    "SELECT " COLLABCARE_REVISION_COLUMNS
    " FROM participants p JOIN latest l ON l.name = p.episode_name"
    " JOIN revisions r ON r.name = l.name AND r.revision = l.revision"
    " WHERE p.person = ?1 AND p.episode_name > ?2 ORDER BY p.episode_name LIMIT ?3"};
constexpr Query kReadEvents = {
    "read events", "SELECT " COLLABCARE_REVISION_COLUMNS
                   ", e.sequence, e.time_micros, e.actor, e.kind"
                   " FROM events e JOIN revisions r ON r.name = e.name AND r.revision = e.revision"
                   " WHERE e.episode_id = ?1 AND e.sequence > ?2 ORDER BY e.sequence LIMIT ?3"};
constexpr Query kReadAudit = {
    "read audit",
    "SELECT time_micros, actor, action, resource, episode_id, outcome, request_id FROM audit"
    " WHERE time_micros >= ?1 AND time_micros < ?2 ORDER BY time_micros, id LIMIT ?3"};
constexpr Query kReadOutbox = {"read outbox",
                               "SELECT id, episode_id, sequence, name, revision, kind FROM outbox"
                               " WHERE id > ?1 ORDER BY id LIMIT ?2"};
constexpr Query kGetCursor = {"read sync cursor",
                              "SELECT outbox_id FROM sync_cursors WHERE host = ?1"};
constexpr Query kGetRemote = {
    "read remote ref",
    "SELECT resource_type, remote_id, version, time_micros FROM remote_refs"
    " WHERE host = ?1 AND key = ?2"};
constexpr Query kListParked = {
    "list parked changes",
    "SELECT outbox_id, name, revision, time_micros, code, outcome FROM parked"
    " WHERE host = ?1 ORDER BY outbox_id LIMIT ?2"};
// A range over the outbox's integer primary key.
constexpr Query kCountOutboxAfter = {"count outbox", "SELECT count(*) FROM outbox WHERE id > ?1"};

#undef COLLABCARE_REVISION_COLUMNS

// Reads COLLABCARE_REVISION_COLUMNS, which start at column 0.
RecordRevision ReadRevision(const Statement& row) {
  return {.name = row.ColumnText(0),
          .episode_id = row.ColumnText(2),
          .kind = static_cast<RecordKind>(row.ColumnInt(3)),
          .revision = row.ColumnInt(1),
          .time = absl::FromUnixMicros(row.ColumnInt(4)),
          .actor = row.ColumnText(5),
          .data = row.ColumnBlob(6)};
}

absl::Status InsertAudit(Connection& connection, const AuditRecord& record) {
  ASSIGN_OR_RETURN(Statement insert, connection.Prepare(kInsertAudit));
  return insert.BindInt(1, absl::ToUnixMicros(record.time))
      .BindText(2, record.actor)
      .BindText(3, record.action)
      .BindText(4, record.resource)
      .BindText(5, record.episode_id)
      .BindInt(6, record.outcome)
      .BindText(7, record.request_id)
      .Run();
}

// The writes the writer thread runs, each in its own savepoint of a group-commit transaction.
// The pointers are to the caller's arguments, which outlive the write because the caller waits
// for it (AuditLater's record is owned by its WriteItem).
struct CommitOp {
  const Mutation* mutation;
};
struct AuditOp {
  const AuditRecord* record;
};
struct SetCursorOp {
  const std::string* host;
  int64_t outbox_id;
};
struct PutRemoteOp {
  const RemoteRef* ref;
};
struct ParkOp {
  const ParkedChange* change;
};
struct UnparkOp {
  const std::string* host;
  int64_t outbox_id;
};
using WriteOp = std::variant<CommitOp, AuditOp, SetCursorOp, PutRemoteOp, ParkOp, UnparkOp>;

// Writes every part of `mutation` on the writer's connection, inside the caller's savepoint.
// The revision check and the sequence run here, inside the transaction, after every earlier
// item of the batch, so concurrent commits are serialized.
absl::StatusOr<CommitResult> ApplyMutation(Connection& connection, const Mutation& mutation) {
  const RecordRevision& record = mutation.record;
  const int kind = static_cast<int>(record.kind);
  // Before the revision check: see MemoryStore::Commit.
  if (!mutation.request_key.empty()) {
    ASSIGN_OR_RETURN(Statement lookup, connection.Prepare(kRequestExists));
    ASSIGN_OR_RETURN(const bool found, lookup.BindText(1, mutation.request_key).Step());
    if (found) return absl::AlreadyExistsError("Mutation.request_key is already stored");
  }
  int64_t latest = 0;
  {
    ASSIGN_OR_RETURN(Statement lookup, connection.Prepare(kLatestRevision));
    ASSIGN_OR_RETURN(const bool found, lookup.BindText(1, record.name).Step());
    if (found) latest = lookup.ColumnInt(0);
  }
  if (record.revision != latest + 1) {
    return absl::AbortedError(absl::StrCat("Mutation.record.revision is ", record.revision,
                                           ", the next revision is ", latest + 1));
  }
  const int64_t time = absl::ToUnixMicros(record.time);
  {
    ASSIGN_OR_RETURN(Statement insert, connection.Prepare(kInsertRevision));
    RETURN_IF_ERROR(insert.BindText(1, record.name)
                        .BindInt(2, record.revision)
                        .BindText(3, record.episode_id)
                        .BindInt(4, kind)
                        .BindInt(5, time)
                        .BindText(6, record.actor)
                        .BindBlob(7, record.data)
                        .Run());
  }
  {
    ASSIGN_OR_RETURN(Statement upsert, connection.Prepare(kUpsertLatest));
    RETURN_IF_ERROR(upsert.BindText(1, record.name)
                        .BindInt(2, record.revision)
                        .BindText(3, record.episode_id)
                        .BindInt(4, kind)
                        .Run());
  }
  int64_t sequence = 1;
  {
    ASSIGN_OR_RETURN(Statement last, connection.Prepare(kLastSequence));
    ASSIGN_OR_RETURN(const bool found, last.BindText(1, record.episode_id).Step());
    if (found) sequence = last.ColumnInt(0) + 1;
  }
  {
    ASSIGN_OR_RETURN(Statement insert, connection.Prepare(kInsertEvent));
    RETURN_IF_ERROR(insert.BindText(1, record.episode_id)
                        .BindInt(2, sequence)
                        .BindInt(3, time)
                        .BindText(4, record.actor)
                        .BindInt(5, mutation.event_kind)
                        .BindText(6, record.name)
                        .BindInt(7, record.revision)
                        .Run());
  }
  RETURN_IF_ERROR(InsertAudit(connection, mutation.audit));
  {
    ASSIGN_OR_RETURN(Statement insert, connection.Prepare(kInsertOutbox));
    RETURN_IF_ERROR(insert.BindText(1, record.episode_id)
                        .BindInt(2, sequence)
                        .BindText(3, record.name)
                        .BindInt(4, record.revision)
                        .BindInt(5, kind)
                        .Run());
  }
  if (mutation.participants.has_value()) {
    {
      ASSIGN_OR_RETURN(Statement remove, connection.Prepare(kDeleteParticipants));
      RETURN_IF_ERROR(remove.BindText(1, record.name).Run());
    }
    for (const std::string& person : *mutation.participants) {
      ASSIGN_OR_RETURN(Statement insert, connection.Prepare(kInsertParticipant));
      RETURN_IF_ERROR(insert.BindText(1, person).BindText(2, record.name).Run());
    }
  }
  if (!mutation.request_key.empty()) {
    ASSIGN_OR_RETURN(Statement insert, connection.Prepare(kInsertRequest));
    RETURN_IF_ERROR(insert.BindText(1, mutation.request_key)
                        .BindBlob(2, mutation.response.fingerprint)
                        .BindBlob(3, mutation.response.response)
                        .Run());
  }
  return CommitResult{.sequence = sequence};
}

// Runs one WriteOp on the writer's connection, inside the caller's savepoint. Writes other
// than a commit have no sequence and return an empty CommitResult.
absl::StatusOr<CommitResult> Apply(Connection& connection, const CommitOp& op) {
  return ApplyMutation(connection, *op.mutation);
}

absl::StatusOr<CommitResult> Apply(Connection& connection, const AuditOp& op) {
  RETURN_IF_ERROR(InsertAudit(connection, *op.record));
  return CommitResult{};
}

absl::StatusOr<CommitResult> Apply(Connection& connection, const SetCursorOp& op) {
  ASSIGN_OR_RETURN(Statement upsert, connection.Prepare(kAdvanceCursor));
  RETURN_IF_ERROR(upsert.BindText(1, *op.host).BindInt(2, op.outbox_id).Run());
  return CommitResult{};
}

absl::StatusOr<CommitResult> Apply(Connection& connection, const PutRemoteOp& op) {
  const RemoteRef& ref = *op.ref;
  ASSIGN_OR_RETURN(Statement upsert, connection.Prepare(kUpsertRemote));
  RETURN_IF_ERROR(upsert.BindText(1, ref.host)
                      .BindText(2, ref.key)
                      .BindText(3, ref.resource_type)
                      .BindText(4, ref.remote_id)
                      .BindText(5, ref.version)
                      .BindInt(6, absl::ToUnixMicros(ref.time))
                      .Run());
  return CommitResult{};
}

absl::StatusOr<CommitResult> Apply(Connection& connection, const ParkOp& op) {
  const ParkedChange& change = *op.change;
  ASSIGN_OR_RETURN(Statement upsert, connection.Prepare(kUpsertParked));
  RETURN_IF_ERROR(upsert.BindText(1, change.host)
                      .BindInt(2, change.outbox_id)
                      .BindText(3, change.name)
                      .BindInt(4, change.revision)
                      .BindInt(5, absl::ToUnixMicros(change.time))
                      .BindInt(6, change.code)
                      .BindText(7, change.outcome)
                      .Run());
  return CommitResult{};
}

absl::StatusOr<CommitResult> Apply(Connection& connection, const UnparkOp& op) {
  ASSIGN_OR_RETURN(Statement remove, connection.Prepare(kDeleteParked));
  RETURN_IF_ERROR(remove.BindText(1, *op.host).BindInt(2, op.outbox_id).Run());
  if (connection.Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("no parked change with outbox id ", op.outbox_id));
  }
  return CommitResult{};
}

// The latest revision of recently used records, so the reads that every call makes (its
// episode, the record it changes) do not go to SQLite. Correct because this process is the
// only writer of the file (OpenSqliteStore holds an exclusive lock): the writer publishes each
// revision once it is committed, a reader's fill never replaces a newer revision, and a fill
// read before the cache was last cleared is dropped (it might predate a publication that the
// clearing removed). Thread-safe.
class LatestCache {
 public:
  explicit LatestCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  std::optional<RecordRevision> Get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  // Taken by a reader before it reads the database, and handed back to Fill.
  uint64_t Generation() {
    std::lock_guard<std::mutex> lock(mu_);
    return generation_;
  }

  // A reader's fill with what it read from the database.
  void Fill(const RecordRevision& revision, uint64_t generation) {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == generation_) Keep(revision);
  }

  // The writer's publication of a committed revision.
  void Publish(const RecordRevision& revision) {
    std::lock_guard<std::mutex> lock(mu_);
    Keep(revision);
  }

 private:
  void Keep(const RecordRevision& revision) {
    auto it = entries_.find(revision.name);
    if (it != entries_.end()) {
      if (it->second.revision >= revision.revision) return;
      bytes_ -= Size(it->second);
      it->second = revision;
    } else {
      if (bytes_ + Size(revision) > max_bytes_) {
        entries_.clear();  // crude but bounded; the working set refills it
        bytes_ = 0;
        ++generation_;
      }
      entries_.emplace(revision.name, revision);
    }
    bytes_ += Size(revision);
  }

  static size_t Size(const RecordRevision& r) {
    return r.name.size() * 2 + r.episode_id.size() + r.actor.size() + r.data.size() + 128;
  }

  const size_t max_bytes_;
  std::mutex mu_;
  std::unordered_map<std::string, RecordRevision> entries_;
  size_t bytes_ = 0;
  uint64_t generation_ = 0;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const SqliteOptions& options, std::unique_ptr<Connection> writer,
              std::vector<std::unique_ptr<Connection>> readers)
      : max_batch_(options.max_batch),
        cache_(options.cache_bytes),
        writer_(std::move(writer)),
        readers_(std::move(readers)) {
    for (const auto& reader : readers_) idle_readers_.push_back(reader.get());
    writer_thread_ = std::thread([this] { WriterLoop(); });
  }

  // Finishes every queued write, then closes the connections. No call may be in flight.
  ~SqliteStore() override {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_one();
    writer_thread_.join();
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  // Takes ownership of the file descriptor holding the database's exclusive lock.
  void HoldLock(int fd) { lock_fd_ = fd; }

  absl::StatusOr<CommitResult> Commit(const Mutation& mutation) override {
    RETURN_IF_ERROR(internal::CheckMutation(mutation));
    WriteItem item;
    item.op = CommitOp{&mutation};
    return Write(item);
  }

  absl::Status Audit(const AuditRecord& record) override {
    WriteItem item;
    item.op = AuditOp{&record};
    return Write(item).status();
  }

  void AuditLater(const AuditRecord& record) override {
    // Owned by the writer, which deletes it after its batch; nobody waits for it.
    auto* item = new WriteItem;
    item->owned_audit = record;
    item->op = AuditOp{&item->owned_audit};
    item->detached = true;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (!stopping_) {
        queue_.push_back(item);
        item = nullptr;
      }
    }
    if (item != nullptr) {
      delete item;  // closing: nothing can be queued any more
      return;
    }
    queue_cv_.notify_one();
  }

  absl::StatusOr<std::optional<StoredResponse>> FindResponse(
      const std::string& request_key) override {
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kFindResponse));
    ASSIGN_OR_RETURN(const bool found, query.BindText(1, request_key).Step());
    if (!found) return std::nullopt;
    return StoredResponse{.fingerprint = query.ColumnBlob(0), .response = query.ColumnBlob(1)};
  }

  absl::StatusOr<RecordRevision> GetLatest(const std::string& name) override {
    if (std::optional<RecordRevision> cached = cache_.Get(name)) return *std::move(cached);
    const uint64_t generation = cache_.Generation();
    RecordRevision revision;
    {
      ReaderLease reader(*this);
      ASSIGN_OR_RETURN(Statement query, reader->Prepare(kGetLatest));
      ASSIGN_OR_RETURN(const bool found, query.BindText(1, name).Step());
      if (!found) return absl::NotFoundError("no record with that name");
      revision = ReadRevision(query);
    }
    cache_.Fill(revision, generation);
    return revision;
  }

  absl::StatusOr<RecordRevision> GetRevision(const std::string& name, int64_t revision) override {
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kGetRevision));
    ASSIGN_OR_RETURN(const bool found, query.BindText(1, name).BindInt(2, revision).Step());
    if (!found)
      return absl::NotFoundError(absl::StrCat("no revision ", revision, " of that record"));
    return ReadRevision(query);
  }

  absl::StatusOr<std::vector<RecordRevision>> ListLatest(const std::string& episode_id,
                                                         RecordKind kind,
                                                         const Page& page) override {
    RETURN_IF_ERROR(internal::CheckLimit(page.limit, "Page.limit"));
    const uint64_t generation = cache_.Generation();
    std::vector<RecordRevision> revisions;
    std::vector<size_t> misses;
    ReaderLease reader(*this);
    {
      // Names and revisions come from the covering index; the records mostly from the cache.
      ASSIGN_OR_RETURN(Statement query, reader->Prepare(kListLatestNames));
      query.BindText(1, episode_id)
          .BindInt(2, static_cast<int>(kind))
          .BindText(3, page.after)
          .BindInt(4, page.limit);
      while (true) {
        ASSIGN_OR_RETURN(const bool row, query.Step());
        if (!row) break;
        std::string name = query.ColumnText(0);
        const int64_t revision = query.ColumnInt(1);
        std::optional<RecordRevision> cached = cache_.Get(name);
        if (cached && cached->revision == revision) {
          revisions.push_back(*std::move(cached));
        } else {
          misses.push_back(revisions.size());
          RecordRevision pending;
          pending.name = std::move(name);
          pending.revision = revision;
          revisions.push_back(std::move(pending));
        }
      }
    }
    // The reader's snapshot ended with the statement above, so a miss may be read at a newer
    // revision than the index gave: take the record as of the listed revision.
    for (size_t i : misses) {
      ASSIGN_OR_RETURN(Statement query, reader->Prepare(kGetRevision));
      ASSIGN_OR_RETURN(
          const bool found,
          query.BindText(1, revisions[i].name).BindInt(2, revisions[i].revision).Step());
      if (!found) return absl::InternalError("sqlite: list latest: a listed revision is missing");
      revisions[i] = ReadRevision(query);
      cache_.Fill(revisions[i], generation);
    }
    return revisions;
  }

  absl::StatusOr<std::vector<RecordRevision>> ListRevisions(const std::string& name,
                                                            int64_t after_revision,
                                                            int limit) override {
    RETURN_IF_ERROR(internal::CheckLimit(limit, "limit"));
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kListRevisions));
    query.BindText(1, name).BindInt(2, after_revision).BindInt(3, limit);
    return ReadRevisions(query);
  }

  absl::StatusOr<std::vector<RecordRevision>> ListEpisodesOf(const std::string& person,
                                                             const Page& page) override {
    RETURN_IF_ERROR(internal::CheckLimit(page.limit, "Page.limit"));
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kListEpisodesOf));
    query.BindText(1, person).BindText(2, page.after).BindInt(3, page.limit);
    return ReadRevisions(query);
  }

  absl::StatusOr<std::vector<StoredEvent>> ReadEvents(const std::string& episode_id,
                                                      int64_t after_sequence, int limit) override {
    RETURN_IF_ERROR(internal::CheckLimit(limit, "limit"));
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kReadEvents));
    query.BindText(1, episode_id).BindInt(2, after_sequence).BindInt(3, limit);
    std::vector<StoredEvent> events;
    while (true) {
      ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) return events;
      events.push_back({.episode_id = episode_id,
                        .sequence = query.ColumnInt(7),
                        .time = absl::FromUnixMicros(query.ColumnInt(8)),
                        .actor = query.ColumnText(9),
                        .kind = static_cast<int>(query.ColumnInt(10)),
                        .record = ReadRevision(query)});
    }
  }

  absl::StatusOr<std::vector<AuditRecord>> ReadAudit(absl::Time from, absl::Time to,
                                                     int limit) override {
    RETURN_IF_ERROR(internal::CheckLimit(limit, "limit"));
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kReadAudit));
    query.BindInt(1, absl::ToUnixMicros(from)).BindInt(2, absl::ToUnixMicros(to)).BindInt(3, limit);
    std::vector<AuditRecord> records;
    while (true) {
      ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) return records;
      records.push_back({.time = absl::FromUnixMicros(query.ColumnInt(0)),
                         .actor = query.ColumnText(1),
                         .action = query.ColumnText(2),
                         .resource = query.ColumnText(3),
                         .episode_id = query.ColumnText(4),
                         .outcome = static_cast<int>(query.ColumnInt(5)),
                         .request_id = query.ColumnText(6)});
    }
  }

  absl::StatusOr<std::vector<OutboxEntry>> ReadOutbox(int64_t after_id, int limit) override {
    RETURN_IF_ERROR(internal::CheckLimit(limit, "limit"));
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kReadOutbox));
    query.BindInt(1, after_id).BindInt(2, limit);
    std::vector<OutboxEntry> entries;
    while (true) {
      ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) return entries;
      entries.push_back({.id = query.ColumnInt(0),
                         .episode_id = query.ColumnText(1),
                         .sequence = query.ColumnInt(2),
                         .name = query.ColumnText(3),
                         .revision = query.ColumnInt(4),
                         .kind = static_cast<RecordKind>(query.ColumnInt(5))});
    }
  }

  absl::StatusOr<int64_t> GetSyncCursor(const std::string& host) override {
    RETURN_IF_ERROR(internal::CheckHost(host, "host"));
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kGetCursor));
    ASSIGN_OR_RETURN(const bool found, query.BindText(1, host).Step());
    return found ? query.ColumnInt(0) : 0;
  }

  absl::Status SetSyncCursor(const std::string& host, int64_t outbox_id) override {
    RETURN_IF_ERROR(internal::CheckHost(host, "host"));
    WriteItem item;
    item.op = SetCursorOp{&host, outbox_id};
    return Write(item).status();
  }

  absl::StatusOr<std::optional<RemoteRef>> GetRemote(const std::string& host,
                                                     const std::string& key) override {
    RETURN_IF_ERROR(internal::CheckHost(host, "host"));
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kGetRemote));
    ASSIGN_OR_RETURN(const bool found, query.BindText(1, host).BindText(2, key).Step());
    if (!found) return std::nullopt;
    return RemoteRef{.host = host,
                     .key = key,
                     .resource_type = query.ColumnText(0),
                     .remote_id = query.ColumnText(1),
                     .version = query.ColumnText(2),
                     .time = absl::FromUnixMicros(query.ColumnInt(3))};
  }

  absl::Status PutRemote(const RemoteRef& ref) override {
    RETURN_IF_ERROR(internal::CheckRemoteRef(ref));
    WriteItem item;
    item.op = PutRemoteOp{&ref};
    return Write(item).status();
  }

  absl::Status Park(const ParkedChange& change) override {
    RETURN_IF_ERROR(internal::CheckParkedChange(change));
    WriteItem item;
    item.op = ParkOp{&change};
    return Write(item).status();
  }

  absl::StatusOr<std::vector<ParkedChange>> ListParked(const std::string& host,
                                                       int limit) override {
    RETURN_IF_ERROR(internal::CheckHost(host, "host"));
    RETURN_IF_ERROR(internal::CheckLimit(limit, "limit"));
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kListParked));
    query.BindText(1, host).BindInt(2, limit);
    std::vector<ParkedChange> changes;
    while (true) {
      ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) return changes;
      changes.push_back({.host = host,
                         .outbox_id = query.ColumnInt(0),
                         .name = query.ColumnText(1),
                         .revision = query.ColumnInt(2),
                         .time = absl::FromUnixMicros(query.ColumnInt(3)),
                         .code = static_cast<int>(query.ColumnInt(4)),
                         .outcome = query.ColumnText(5)});
    }
  }

  absl::Status Unpark(const std::string& host, int64_t outbox_id) override {
    RETURN_IF_ERROR(internal::CheckHost(host, "host"));
    WriteItem item;
    item.op = UnparkOp{&host, outbox_id};
    return Write(item).status();
  }

  absl::StatusOr<int64_t> CountOutboxAfter(int64_t after_id) override {
    ReaderLease reader(*this);
    ASSIGN_OR_RETURN(Statement query, reader->Prepare(kCountOutboxAfter));
    ASSIGN_OR_RETURN(const bool row, query.BindInt(1, after_id).Step());
    if (!row) return absl::InternalError("sqlite: count outbox: no row");
    return query.ColumnInt(0);
  }

 private:
  // One write waiting for the writer. Lives on the caller's stack: the writer sets `done` and
  // notifies `done_cv` holding done_mu_, and touches nothing of it afterwards.
  struct WriteItem {
    WriteOp op;  // set by whoever queues the item
    absl::StatusOr<CommitResult> result;
    bool failed_alone = false;  // its own error, its savepoint rolled back
    bool done = false;          // guarded by done_mu_
    std::condition_variable done_cv;
    bool detached = false;    // queued by AuditLater: the writer deletes it, nobody waits
    AuditRecord owned_audit;  // the record, when detached
  };

  // A reader connection held by one thread for one read.
  class ReaderLease {
   public:
    explicit ReaderLease(SqliteStore& store) : store_(store) {
      std::unique_lock<std::mutex> lock(store_.readers_mu_);
      store_.readers_cv_.wait(lock, [this] { return !store_.idle_readers_.empty(); });
      connection_ = store_.idle_readers_.back();
      store_.idle_readers_.pop_back();
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    ~ReaderLease() {
      {
        std::lock_guard<std::mutex> lock(store_.readers_mu_);
        store_.idle_readers_.push_back(connection_);
      }
      store_.readers_cv_.notify_one();
    }
    Connection* operator->() const { return connection_; }

   private:
    SqliteStore& store_;
    Connection* connection_;
  };

  static absl::StatusOr<std::vector<RecordRevision>> ReadRevisions(Statement& query) {
    std::vector<RecordRevision> revisions;
    while (true) {
      ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) return revisions;
      revisions.push_back(ReadRevision(query));
    }
  }

  // Queues `item` for the writer and waits until its transaction committed or failed.
  absl::StatusOr<CommitResult> Write(WriteItem& item) {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (stopping_) return absl::UnavailableError("sqlite: write: the store is closing");
      queue_.push_back(&item);
    }
    queue_cv_.notify_one();
    std::unique_lock<std::mutex> lock(done_mu_);
    item.done_cv.wait(lock, [&item] { return item.done; });
    return std::move(item.result);
  }

  void WriterLoop() {
    std::vector<WriteItem*> batch;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // Stopping, and every queued write is done.
        while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      RunBatch(batch);
      {
        // Notifying under the lock: once it is released the waiter may destroy its item.
        std::lock_guard<std::mutex> lock(done_mu_);
        for (WriteItem* item : batch) {
          if (item->detached) {
            if (!item->result.ok()) {
              Log(LogLevel::kError, "audit_write_failed",
                  {{"code", absl::StatusCodeToString(item->result.status().code())}});
            }
            delete item;
            continue;
          }
          item->done = true;
          item->done_cv.notify_one();
        }
      }
      batch.clear();
    }
  }

  // Runs `batch` in one transaction, each item in its own savepoint, and sets every item's
  // result. An item's OK stands only once COMMIT returned SQLITE_OK.
  void RunBatch(const std::vector<WriteItem*>& batch) {
    Connection& connection = *writer_;
    if (absl::Status begin = RunQuery(kBegin); !begin.ok()) {
      for (WriteItem* item : batch) item->result = begin;
      return;
    }
    for (WriteItem* item : batch) {
      if (absl::Status opened = RunQuery(kSavepoint); !opened.ok()) {
        return FailBatch(batch, opened);
      }
      absl::StatusOr<CommitResult> result = ApplyItem(*item);
      if (!connection.InTransaction()) {
        // SQLite rolled the whole transaction back (I/O error, disk full …): the items
        // applied before this one are gone too.
        return FailBatch(
            batch, result.ok() ? absl::UnavailableError("sqlite: write: transaction rolled back")
                               : result.status());
      }
      absl::Status closed = result.ok() ? RunQuery(kRelease) : RollBackSavepoint();
      if (!closed.ok()) return FailBatch(batch, closed);
      item->failed_alone = !result.ok();
      item->result = std::move(result);
    }
    if (absl::Status commit = RunQuery(kCommit); !commit.ok()) {
      // Items that failed on their own keep their more specific error: nothing of theirs
      // was written either way.
      return FailBatch(batch, commit);
    }
    for (WriteItem* item : batch) {
      const auto* commit = std::get_if<CommitOp>(&item->op);
      if (commit != nullptr && item->result.ok()) cache_.Publish(commit->mutation->record);
    }
  }

  absl::StatusOr<CommitResult> ApplyItem(const WriteItem& item) {
    return std::visit([this](const auto& op) { return Apply(*writer_, op); }, item.op);
  }

  absl::Status RollBackSavepoint() {
    RETURN_IF_ERROR(RunQuery(kRollbackTo));
    return RunQuery(kRelease);
  }

  // Rolls the open transaction back and fails every item not already failed with `status`.
  void FailBatch(const std::vector<WriteItem*>& batch, const absl::Status& status) {
    if (writer_->InTransaction()) RunQuery(kRollback).IgnoreError();
    for (WriteItem* item : batch) {
      if (!item->failed_alone) item->result = status;
    }
  }

  absl::Status RunQuery(const Query& query) {
    ASSIGN_OR_RETURN(Statement statement, writer_->Prepare(query));
    return statement.Run();
  }

  const int max_batch_;
  LatestCache cache_;
  std::unique_ptr<Connection> writer_;  // Used by the writer thread only.
  std::vector<std::unique_ptr<Connection>> readers_;
  int lock_fd_ = -1;

  // std::mutex rather than absl::Mutex: Debian's Abseil is a prebuilt library that
  // ThreadSanitizer cannot see into, so absl::Mutex there yields false race reports.
  std::mutex queue_mu_;  // Guards queue_ and stopping_.
  std::condition_variable queue_cv_;
  std::deque<WriteItem*> queue_;
  bool stopping_ = false;

  std::mutex done_mu_;  // Guards WriteItem::done.

  std::mutex readers_mu_;  // Guards idle_readers_.
  std::condition_variable readers_cv_;
  std::vector<Connection*> idle_readers_;

  std::thread writer_thread_;  // Last: starts after, and stops before, everything above.
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("SqliteOptions.path is empty");
  if (options.reader_connections < 1) {
    return absl::InvalidArgumentError("SqliteOptions.reader_connections must be at least 1");
  }
  if (options.max_batch < 1) {
    return absl::InvalidArgumentError("SqliteOptions.max_batch must be at least 1");
  }
  // One server per database file: the store caches what it wrote, so a second writer would
  // make that cache wrong. The lock is released when the process ends, however it ends.
  const std::string lock_path = options.path + ".lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return absl::UnavailableError("sqlite: cannot create the lock file");
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return absl::FailedPreconditionError(
        "sqlite: another collabcare-server is using this database");
  }
  auto release_lock = absl::MakeCleanup([lock_fd] { ::close(lock_fd); });
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                   Connection::Open(options.path, Connection::Role::kWriter, options.busy_timeout));
  RETURN_IF_ERROR(sqlite::Migrate(*writer));
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < options.reader_connections; ++i) {
    ASSIGN_OR_RETURN(
        std::unique_ptr<Connection> reader,
        Connection::Open(options.path, Connection::Role::kReader, options.busy_timeout));
    readers.push_back(std::move(reader));
  }
  auto store = std::make_unique<SqliteStore>(options, std::move(writer), std::move(readers));
  store->HoldLock(lock_fd);
  std::move(release_lock).Cancel();
  return store;
}

}  // namespace collabcare::store
