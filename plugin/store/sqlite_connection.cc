// SQLite connections, cached statements and SQLite result codes as absl::Status.
#include "plugin/store/sqlite_connection.h"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "plugin/common/status_macros.h"

namespace collabcare::store::sqlite {
namespace {

// SQLite treats a null pointer as SQL NULL, and an empty absl::string_view may have one.
const char* NonNull(absl::string_view value) { return value.data() == nullptr ? "" : value.data(); }

}  // namespace

absl::Status SqliteError(sqlite3* db, int code, absl::string_view operation) {
  // sqlite3_errmsg describes the most recent failure on `db`; fall back to the generic text
  // when the connection has since moved on (or there is none).
  const bool current = db != nullptr && (sqlite3_errcode(db) & 0xff) == (code & 0xff);
  const int extended = current ? sqlite3_extended_errcode(db) : code;
  const std::string message =
      absl::StrCat("sqlite: ", operation, ": ", current ? sqlite3_errmsg(db) : sqlite3_errstr(code),
                   " (", sqlite3_errstr(extended), ", code ", extended, ")");
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      operation_(other.operation_),
      bind_error_(other.bind_error_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::BindInt(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindText(int index, absl::string_view value) {
  const int rc = sqlite3_bind_text64(stmt_, index, NonNull(value), value.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view value) {
  const int rc = sqlite3_bind_blob64(stmt_, index, NonNull(value), value.size(), SQLITE_TRANSIENT);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) {
    return SqliteError(db_, bind_error_, absl::StrCat(operation_, " (bind)"));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, operation_);
}

absl::Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(const bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::string Statement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (blob == nullptr) return std::string();
  return std::string(static_cast<const char*>(blob), static_cast<size_t>(size));
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path, Role role,
                                                             absl::Duration busy_timeout) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time, so SQLite's own lock is waste.
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(db, rc, "open database");
    sqlite3_close_v2(db);  // A no-op for null.
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<Connection> connection(new Connection(db));

  RETURN_IF_ERROR(connection->Exec(
      "set busy_timeout",
      absl::StrCat("PRAGMA busy_timeout = ", absl::ToInt64Milliseconds(busy_timeout)).c_str()));
  RETURN_IF_ERROR(connection->Exec("enable foreign keys", "PRAGMA foreign_keys = ON"));
  // Statement and savepoint journals in memory: the group-commit writer opens a savepoint per
  // mutation, and a temporary file per batch costs a create, writes and an unlink.
  RETURN_IF_ERROR(connection->Exec("set temp_store", "PRAGMA temp_store = MEMORY"));
  // Read the database file through a memory map instead of a read() per page.
  RETURN_IF_ERROR(connection->Exec("set mmap_size", "PRAGMA mmap_size = 268435456"));
  if (role == Role::kReader) {
    RETURN_IF_ERROR(connection->Exec("set query_only", "PRAGMA query_only = ON"));
    return connection;
  }

  // The journal mode is stored in the file; the pragma reports the mode now in force, which
  // is not WAL when the file system cannot support it.
  static constexpr Query kJournalMode = {"set journal_mode", "PRAGMA journal_mode = WAL"};
  {
    ASSIGN_OR_RETURN(Statement statement, connection->Prepare(kJournalMode));
    ASSIGN_OR_RETURN(const bool row, statement.Step());
    if (!row || statement.ColumnText(0) != "wal") {
      return absl::FailedPreconditionError("sqlite: set journal_mode: WAL is not available");
    }
  }
  // FULL: in WAL mode each COMMIT syncs the log, so an acknowledged write survives power loss.
  RETURN_IF_ERROR(connection->Exec("set synchronous", "PRAGMA synchronous = FULL"));
  return connection;
}

Connection::~Connection() {
  for (auto& [query, statement] : statements_) sqlite3_finalize(statement);
  sqlite3_close_v2(db_);
}

absl::StatusOr<Statement> Connection::Prepare(const Query& query) {
  auto it = statements_.find(&query);
  if (it == statements_.end()) {
    sqlite3_stmt* statement = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, query.sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) {
      return SqliteError(db_, rc, absl::StrCat(query.operation, " (prepare)"));
    }
    it = statements_.emplace(&query, statement).first;
  }
  return Statement(db_, it->second, query.operation);
}

absl::Status Connection::Exec(absl::string_view operation, const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, operation);
  return absl::OkStatus();
}

}  // namespace collabcare::store::sqlite
