// The SQLite store's schema as numbered migrations, applied at open.
#ifndef COLLABCARE_PLUGIN_STORE_SQLITE_SCHEMA_H_
#define COLLABCARE_PLUGIN_STORE_SQLITE_SCHEMA_H_

#include "absl/status/status.h"
#include "plugin/store/sqlite_connection.h"

namespace collabcare::store::sqlite {

// The newest schema version this build knows.
int LatestSchemaVersion();

// Brings the database to LatestSchemaVersion() in one IMMEDIATE transaction, recording each
// applied migration in `schema_version`. FAILED_PRECONDITION (and nothing changed) when the
// database has a newer version than this build knows.
absl::Status Migrate(Connection& connection);

}  // namespace collabcare::store::sqlite

#endif  // COLLABCARE_PLUGIN_STORE_SQLITE_SCHEMA_H_
