// Numbered migrations of the SQLite store's schema. Never edit a released migration; add one.
#include "plugin/store/sqlite_schema.h"

#include <cstdint>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "plugin/common/status_macros.h"
#include "plugin/store/sqlite_connection.h"

namespace collabcare::store::sqlite {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// Times are microseconds since the Unix epoch. Every read looks rows up through a primary key
// or an index, so reads stay O(log n) as the tables grow.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE revisions (
  name TEXT NOT NULL,
  revision INTEGER NOT NULL CHECK (revision >= 1),
  episode_id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  time_micros INTEGER NOT NULL,
  actor TEXT NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (name, revision)
);

-- The latest revision of each record; (episode_id, kind) mirror that revision for ListLatest.
CREATE TABLE latest (
  name TEXT NOT NULL PRIMARY KEY,
  revision INTEGER NOT NULL,
  episode_id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  FOREIGN KEY (name, revision) REFERENCES revisions (name, revision)
) WITHOUT ROWID;
CREATE INDEX latest_by_episode_kind ON latest (episode_id, kind, name);

CREATE TABLE events (
  episode_id TEXT NOT NULL,
  sequence INTEGER NOT NULL CHECK (sequence >= 1),
  time_micros INTEGER NOT NULL,
  actor TEXT NOT NULL,
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  PRIMARY KEY (episode_id, sequence),
  FOREIGN KEY (name, revision) REFERENCES revisions (name, revision)
) WITHOUT ROWID;

-- id orders records written in the same microsecond.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  time_micros INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  episode_id TEXT NOT NULL,
  outcome INTEGER NOT NULL,
  request_id TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit (time_micros);

-- AUTOINCREMENT: ids never go back, even if the newest entries are deleted once pushed.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  episode_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  FOREIGN KEY (episode_id, sequence) REFERENCES events (episode_id, sequence)
);

-- person -> episode (record name) for each episode's current participant list.
CREATE TABLE participants (
  person TEXT NOT NULL,
  episode_name TEXT NOT NULL REFERENCES latest (name),
  PRIMARY KEY (person, episode_name)
) WITHOUT ROWID;
CREATE INDEX participants_by_episode ON participants (episode_name);

CREATE TABLE requests (
  request_key TEXT NOT NULL PRIMARY KEY,
  fingerprint BLOB NOT NULL,
  response BLOB NOT NULL
);
)sql"},
    // ListLatest reads names and revisions from the index alone, then the records from the
    // in-process cache.
    {2, R"sql(
DROP INDEX latest_by_episode_kind;
CREATE INDEX latest_by_episode_kind ON latest (episode_id, kind, name, revision);
)sql"},
    // Sync bookkeeping per host EHR. No foreign keys to the outbox: its entries may be
    // deleted once every host has them, while cursors and parkings keep their ids.
    {3, R"sql(
-- The outbox id up to which every entry was pushed to (or parked for) the host.
CREATE TABLE sync_cursors (
  host TEXT NOT NULL PRIMARY KEY,
  outbox_id INTEGER NOT NULL
) WITHOUT ROWID;

-- What collabcare wrote to a host, by business key.
CREATE TABLE remote_refs (
  host TEXT NOT NULL,
  key TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  remote_id TEXT NOT NULL,
  version TEXT NOT NULL,
  time_micros INTEGER NOT NULL,
  PRIMARY KEY (host, key)
) WITHOUT ROWID;

-- Changes a host refused. A rowid table: outcome may hold up to 64 KiB, too large a row for
-- WITHOUT ROWID.
CREATE TABLE parked (
  host TEXT NOT NULL,
  outbox_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  time_micros INTEGER NOT NULL,
  code INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  PRIMARY KEY (host, outbox_id)
);
)sql"},
};

constexpr Query kCreateVersionTable = {"create schema_version",
                                       "CREATE TABLE IF NOT EXISTS schema_version ("
                                       " version INTEGER NOT NULL PRIMARY KEY,"
                                       " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"};
constexpr Query kCurrentVersion = {"read schema_version",
                                   "SELECT COALESCE(MAX(version), 0) FROM schema_version"};
constexpr Query kRecordVersion = {"record schema_version",
                                  "INSERT INTO schema_version (version) VALUES (?1)"};

absl::Status MigrateInTransaction(Connection& connection) {
  {
    ASSIGN_OR_RETURN(Statement create, connection.Prepare(kCreateVersionTable));
    RETURN_IF_ERROR(create.Run());
  }
  int64_t current = 0;
  {
    ASSIGN_OR_RETURN(Statement read, connection.Prepare(kCurrentVersion));
    ASSIGN_OR_RETURN(const bool row, read.Step());
    if (row) current = read.ColumnInt(0);
  }
  if (current > LatestSchemaVersion()) {
    return absl::FailedPreconditionError(
        absl::StrCat("sqlite: open: the database has schema version ", current,
                     ", newer than this build's ", LatestSchemaVersion()));
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version <= current) continue;
    RETURN_IF_ERROR(
        connection.Exec(absl::StrCat("apply migration ", migration.version), migration.sql));
    ASSIGN_OR_RETURN(Statement record, connection.Prepare(kRecordVersion));
    RETURN_IF_ERROR(record.BindInt(1, migration.version).Run());
  }
  return absl::OkStatus();
}

}  // namespace

int LatestSchemaVersion() { return std::end(kMigrations)[-1].version; }

absl::Status Migrate(Connection& connection) {
  RETURN_IF_ERROR(connection.Exec("begin migration", "BEGIN IMMEDIATE"));
  absl::Status status = MigrateInTransaction(connection);
  if (!status.ok()) {
    if (connection.InTransaction())
      connection.Exec("roll back migration", "ROLLBACK").IgnoreError();
    return status;
  }
  status = connection.Exec("commit migration", "COMMIT");
  if (!status.ok() && connection.InTransaction()) {
    connection.Exec("roll back migration", "ROLLBACK").IgnoreError();
  }
  return status;
}

}  // namespace collabcare::store::sqlite
