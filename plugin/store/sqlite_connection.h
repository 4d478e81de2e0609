// A thin RAII layer over one SQLite connection: opening with the store's pragmas, cached
// prepared statements, and SQLite result codes turned into absl::Status.
#ifndef COLLABCARE_PLUGIN_STORE_SQLITE_CONNECTION_H_
#define COLLABCARE_PLUGIN_STORE_SQLITE_CONNECTION_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace collabcare::store::sqlite {

// One SQL statement and the operation it performs, named in errors. Define each as a
// namespace-scope constant: a connection caches its prepared form by the constant's address.
struct Query {
  const char* operation;  // e.g. "insert revision"
  const char* sql;
};

// A status for SQLite result `code` during `operation`: UNAVAILABLE for conditions a retry may
// cure (busy, locked, I/O error, disk full, out of memory), INTERNAL otherwise. The message holds
// the operation, SQLite's message and its extended code, never a bound value.
absl::Status SqliteError(sqlite3* db, int code, absl::string_view operation);

// A prepared statement borrowed from a Connection's cache. Resets the statement and clears its
// bindings when destroyed, so no read transaction stays open and no binding outlives its value.
// The Connection must outlive it, and a query has at most one live Statement at a time.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, const char* operation)
      : db_(db), stmt_(stmt), operation_(operation) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are numbered from 1. Text and blobs are copied.
  Statement& BindInt(int index, int64_t value);
  Statement& BindText(int index, absl::string_view value);
  Statement& BindBlob(int index, absl::string_view value);

  // Advances; true when a row is ready, false when done. Reports the first bind error.
  absl::StatusOr<bool> Step();
  // Steps a statement that returns no rows to completion.
  absl::Status Run();

  // Columns of the current row, numbered from 0.
  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const char* operation_;
  int bind_error_ = SQLITE_OK;
};

// One connection and its prepared statements. Not thread-safe: one thread at a time.
class Connection {
 public:
  enum class Role {
    kWriter,  // sets WAL and synchronous=FULL
    kReader,  // query_only: a bug cannot write through it
  };

  // Opens (creating if needed) the database at `path` with foreign keys on and `busy_timeout`.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, Role role,
                                                          absl::Duration busy_timeout);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // The cached prepared statement for `query`, prepared on first use.
  absl::StatusOr<Statement> Prepare(const Query& query);

  // Runs `sql` (one or more statements, no parameters, results ignored) uncached.
  absl::Status Exec(absl::string_view operation, const char* sql);

  // Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
  int64_t Changes() const { return sqlite3_changes64(db_); }

  // True while a transaction is open. SQLite rolls a transaction back by itself after some
  // errors (I/O, disk full, out of memory), which this reveals.
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  absl::flat_hash_map<const Query*, sqlite3_stmt*> statements_;
};

}  // namespace collabcare::store::sqlite

#endif  // COLLABCARE_PLUGIN_STORE_SQLITE_CONNECTION_H_
