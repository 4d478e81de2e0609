// SQLite-only store tests: what survives a reopen and a kill -9, and how migrations guard the
// schema.
#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "plugin/store/sqlite_schema.h"
#include "plugin/store/store.h"
#include "tests/store/store_test_util.h"

namespace collabcare::store {
namespace {

using test::At;
using test::IsOk;
using test::MakeMutation;
using test::TempDir;

// Runs `sql` on a separate raw connection, returning the first column of each row.
std::vector<std::string> RawQuery(const std::string& path, const std::string& sql) {
  std::vector<std::string> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "open: " << sqlite3_errmsg(db);
    sqlite3_close_v2(db);
    return rows;
  }
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "prepare: " << sqlite3_errmsg(db);
  } else {
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(statement, 0);
      rows.push_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
    }
    if (rc != SQLITE_DONE) ADD_FAILURE() << "step: " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(statement);
  sqlite3_close_v2(db);
  return rows;
}

TEST(SqliteStoreTest, ReopenKeepsEverything) {
  TempDir dir;
  const SqliteOptions options = {.path = dir.path() + "/store.db"};
  Mutation episode = MakeMutation("e1", "episodes/e1", RecordKind::kEpisode, 1);
  episode.participants = std::vector<std::string>{"Patient/a", "Practitioner/t"};
  episode.request_key = "Practitioner/t:req-1";
  episode.response = {.fingerprint = "fp", .response = "resp"};
  Mutation goal = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  const AuditRecord read = {.time = At(100),
                            .actor = "Patient/a",
                            .action = "collabcare.v1.GoalService/GetGoal",
                            .resource = "episodes/e1/goals/g1",
                            .episode_id = "e1",
                            .outcome = 0,
                            .request_id = ""};
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(options));
    ASSERT_TRUE(IsOk(store->Commit(episode)));
    ASSERT_TRUE(IsOk(store->Commit(goal)));
    ASSERT_TRUE(IsOk(store->Audit(read)));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(options));
  ASSERT_OK_AND_ASSIGN(RecordRevision latest, store->GetLatest("episodes/e1/goals/g1"));
  EXPECT_EQ(latest.data, goal.record.data);
  EXPECT_EQ(latest.time, goal.record.time);
  ASSERT_OK_AND_ASSIGN(auto episodes, store->ListEpisodesOf("Patient/a", {}));
  ASSERT_EQ(episodes.size(), 1u);
  EXPECT_EQ(episodes[0].name, "episodes/e1");
  ASSERT_OK_AND_ASSIGN(auto events, store->ReadEvents("e1", 0, 10));
  EXPECT_EQ(events.size(), 2u);
  ASSERT_OK_AND_ASSIGN(auto audit, store->ReadAudit(At(0), At(1000), 10));
  EXPECT_EQ(audit.size(), 3u);
  ASSERT_OK_AND_ASSIGN(auto outbox, store->ReadOutbox(0, 10));
  EXPECT_EQ(outbox.size(), 2u);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredResponse> response,
                       store->FindResponse("Practitioner/t:req-1"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->response, "resp");
  // Counters carry on where they stopped.
  ASSERT_OK_AND_ASSIGN(CommitResult next, store->Commit(MakeMutation("e1", "episodes/e1/goals/g1",
                                                                     RecordKind::kGoal, 2)));
  EXPECT_EQ(next.sequence, 3);
  ASSERT_OK_AND_ASSIGN(auto more, store->ReadOutbox(outbox.back().id, 10));
  ASSERT_EQ(more.size(), 1u);
  EXPECT_GT(more[0].id, outbox.back().id);
}

TEST(SqliteStoreTest, SchemaVersionIsRecorded) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  { ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore({.path = path})); }
  std::vector<std::string> expected;
  for (int v = 1; v <= sqlite::LatestSchemaVersion(); ++v) expected.push_back(absl::StrCat(v));
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version ORDER BY version"), expected);
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  // Opening again applies nothing twice.
  { ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore({.path = path})); }
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version ORDER BY version"), expected);
}

TEST(SqliteStoreTest, SchemaIsAtVersionThree) {
  EXPECT_EQ(sqlite::LatestSchemaVersion(), 3);
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  { ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore({.path = path})); }
  EXPECT_EQ(RawQuery(path, "SELECT MAX(version) FROM schema_version"),
            std::vector<std::string>{"3"});
  EXPECT_EQ(RawQuery(path,
                     "SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN"
                     " ('sync_cursors', 'remote_refs', 'parked') ORDER BY name"),
            (std::vector<std::string>{"parked", "remote_refs", "sync_cursors"}));
}

TEST(SqliteStoreTest, SyncBookkeepingSurvivesReopen) {
  TempDir dir;
  const SqliteOptions options = {.path = dir.path() + "/store.db"};
  const RemoteRef ref = {.host = "ehr",
                         .key = "Goal|g1",
                         .resource_type = "Goal",
                         .remote_id = "abc",
                         .version = "3",
                         .time = At(7)};
  const ParkedChange parked = {.host = "ehr",
                               .outbox_id = 2,
                               .name = "episodes/e1/goals/g1",
                               .revision = 1,
                               .time = At(8),
                               .code = static_cast<int>(absl::StatusCode::kInvalidArgument),
                               .outcome = R"({"resourceType":"OperationOutcome"})"};
  ParkedChange unparked = parked;
  unparked.outbox_id = 3;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(options));
    for (int64_t revision = 1; revision <= 3; ++revision) {
      ASSERT_TRUE(IsOk(
          store->Commit(MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, revision))));
    }
    ASSERT_TRUE(IsOk(store->SetSyncCursor("ehr", 3)));
    ASSERT_TRUE(IsOk(store->SetSyncCursor("lab", 1)));
    ASSERT_TRUE(IsOk(store->PutRemote(ref)));
    ASSERT_TRUE(IsOk(store->Park(parked)));
    ASSERT_TRUE(IsOk(store->Park(unparked)));
    ASSERT_TRUE(IsOk(store->Unpark("ehr", 3)));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(options));
  ASSERT_OK_AND_ASSIGN(int64_t ehr, store->GetSyncCursor("ehr"));
  EXPECT_EQ(ehr, 3);
  ASSERT_OK_AND_ASSIGN(int64_t lab, store->GetSyncCursor("lab"));
  EXPECT_EQ(lab, 1);
  // Still never moves back after a reopen.
  ASSERT_TRUE(IsOk(store->SetSyncCursor("ehr", 1)));
  ASSERT_OK_AND_ASSIGN(int64_t still, store->GetSyncCursor("ehr"));
  EXPECT_EQ(still, 3);
  ASSERT_OK_AND_ASSIGN(std::optional<RemoteRef> got, store->GetRemote("ehr", "Goal|g1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->resource_type, ref.resource_type);
  EXPECT_EQ(got->remote_id, ref.remote_id);
  EXPECT_EQ(got->version, ref.version);
  EXPECT_EQ(got->time, ref.time);
  ASSERT_OK_AND_ASSIGN(auto list, store->ListParked("ehr", 10));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].outbox_id, 2);
  EXPECT_EQ(list[0].name, parked.name);
  EXPECT_EQ(list[0].revision, parked.revision);
  EXPECT_EQ(list[0].time, parked.time);
  EXPECT_EQ(list[0].code, parked.code);
  EXPECT_EQ(list[0].outcome, parked.outcome);
  ASSERT_OK_AND_ASSIGN(int64_t backlog, store->CountOutboxAfter(ehr - 1));
  EXPECT_EQ(backlog, 1);
}

// A database written by the previous build (schema version 2) gains the sync tables on open
// and keeps its records. Migration 3 only adds tables, so dropping them and its version row
// gives exactly a version 2 database.
TEST(SqliteStoreTest, VersionTwoDatabaseIsMigrated) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  Mutation goal = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore({.path = path}));
    ASSERT_TRUE(IsOk(store->Commit(goal)));
  }
  for (const char* sql : {"DROP TABLE sync_cursors", "DROP TABLE remote_refs", "DROP TABLE parked",
                          "DELETE FROM schema_version WHERE version = 3"}) {
    RawQuery(path, sql);
  }
  ASSERT_EQ(RawQuery(path, "SELECT MAX(version) FROM schema_version"),
            std::vector<std::string>{"2"});
  ASSERT_TRUE(RawQuery(path, "SELECT name FROM sqlite_schema WHERE name = 'parked'").empty());

  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore({.path = path}));
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version ORDER BY version"),
            (std::vector<std::string>{"1", "2", "3"}));
  ASSERT_OK_AND_ASSIGN(RecordRevision latest, store->GetLatest(goal.record.name));
  EXPECT_EQ(latest.data, goal.record.data);
  ASSERT_OK_AND_ASSIGN(int64_t backlog, store->CountOutboxAfter(0));
  EXPECT_EQ(backlog, 1);
  ASSERT_OK_AND_ASSIGN(int64_t cursor, store->GetSyncCursor("ehr"));
  EXPECT_EQ(cursor, 0);
  ASSERT_TRUE(IsOk(store->SetSyncCursor("ehr", 1)));
  ASSERT_TRUE(IsOk(store->PutRemote({.host = "ehr",
                                     .key = "Goal|g1",
                                     .resource_type = "Goal",
                                     .remote_id = "abc",
                                     .version = "",
                                     .time = At(1)})));
  ASSERT_TRUE(IsOk(store->Park({.host = "ehr",
                                .outbox_id = 1,
                                .name = goal.record.name,
                                .revision = 1,
                                .time = At(2),
                                .code = static_cast<int>(absl::StatusCode::kInvalidArgument),
                                .outcome = "{}"})));
  ASSERT_OK_AND_ASSIGN(auto parked, store->ListParked("ehr", 10));
  EXPECT_EQ(parked.size(), 1u);
}

TEST(SqliteStoreTest, NewerSchemaVersionRefusesToOpen) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  { ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore({.path = path})); }
  const std::string newer = absl::StrCat(sqlite::LatestSchemaVersion() + 1);
  RawQuery(path, absl::StrCat("INSERT INTO schema_version (version) VALUES (", newer, ")"));

  const absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore({.path = path});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_EQ(RawQuery(path, "SELECT MAX(version) FROM schema_version"),
            std::vector<std::string>{newer});
}

TEST(SqliteStoreTest, GarbageFileRefusesToOpen) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  FILE* file = fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  fputs("this is not a database, but it is long enough to hold a header of one......", file);
  fclose(file);
  const absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore({.path = path});
  EXPECT_FALSE(store.ok());
}

TEST(SqliteStoreTest, BadOptionsAreInvalidArgument) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  EXPECT_EQ(OpenSqliteStore({.path = ""}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenSqliteStore({.path = path, .reader_connections = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenSqliteStore({.path = path, .max_batch = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenSqliteStore({.path = dir.path() + "/missing/store.db"}).status().code(),
            absl::StatusCode::kUnavailable);
}

// The child of AcknowledgedCommitsSurviveKill: commits from several threads until killed and
// writes "name revision sequence\n" to `ack_fd` after each Commit returned OK. Never returns.
[[noreturn]] void CommitUntilKilled(const std::string& path, int ack_fd) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore({.path = path});
  if (!store.ok()) _exit(3);
  constexpr int kThreads = 8;
  constexpr int kRounds = 100000;  // Ends the child if the parent never kills it.
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string episode = absl::StrCat("e", t % 3);
      for (int i = 0; i < kRounds && !failed; ++i) {
        // Each round creates a record and updates it, so revisions 1 and 2 are acknowledged.
        const std::string name = absl::StrCat("episodes/", episode, "/goals/t", t, "-", i);
        for (int64_t revision = 1; revision <= 2; ++revision) {
          absl::StatusOr<CommitResult> result =
              (*store)->Commit(MakeMutation(episode, name, RecordKind::kGoal, revision));
          if (!result.ok()) {
            failed = true;
            return;
          }
          const std::string line = absl::StrCat(name, " ", revision, " ", result->sequence, "\n");
          // Shorter than PIPE_BUF, so each line arrives whole.
          if (write(ack_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            failed = true;
            return;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  _exit(failed ? 4 : 0);
}

// Reads whole lines from `fd` into `lines` until `want` lines are there or end of file.
void ReadLines(int fd, size_t want, std::string& partial, std::vector<std::string>& lines) {
  char buffer[4096];
  while (lines.size() < want) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    partial.append(buffer, static_cast<size_t>(n));
    size_t newline;
    while ((newline = partial.find('\n')) != std::string::npos) {
      lines.push_back(partial.substr(0, newline));
      partial.erase(0, newline + 1);
    }
  }
}

TEST(SqliteStoreTest, AcknowledgedCommitsSurviveKill) {
  TempDir dir;
  const std::string path = dir.path() + "/store.db";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // gtest runs tests on one thread and every earlier store has joined its writer, so this
  // process has no other thread to lose in the fork.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    CommitUntilKilled(path, fds[1]);
  }
  close(fds[1]);

  std::string partial;
  std::vector<std::string> acks;
  ReadLines(fds[0], 300, partial, acks);
  kill(child, SIGKILL);
  // Acknowledgements already in the pipe (or written before the kill landed) count too.
  ReadLines(fds[0], SIZE_MAX, partial, acks);
  close(fds[0]);
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
      << "the child stopped by itself, status " << wait_status << ", after " << acks.size()
      << " acknowledgements";
  ASSERT_GE(acks.size(), 300u);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore({.path = path}));
  std::map<std::string, int64_t> last_sequence;  // episode -> highest acknowledged sequence
  for (const std::string& ack : acks) {
    const std::vector<std::string> fields = absl::StrSplit(ack, ' ');
    ASSERT_EQ(fields.size(), 3u) << ack;
    int64_t revision = 0;
    int64_t sequence = 0;
    ASSERT_TRUE(absl::SimpleAtoi(fields[1], &revision)) << ack;
    ASSERT_TRUE(absl::SimpleAtoi(fields[2], &sequence)) << ack;
    const absl::StatusOr<RecordRevision> stored = store->GetRevision(fields[0], revision);
    ASSERT_TRUE(IsOk(stored)) << "lost acknowledged " << ack;
    EXPECT_EQ(stored->data, MakeMutation("", fields[0], RecordKind::kGoal, revision).record.data);
    const std::string episode = stored->episode_id;
    ASSERT_OK_AND_ASSIGN(auto events, store->ReadEvents(episode, sequence - 1, 1));
    ASSERT_EQ(events.size(), 1u) << "lost event of " << ack;
    EXPECT_EQ(events[0].record.name, fields[0]);
    EXPECT_EQ(events[0].record.revision, revision);
    int64_t& last = last_sequence[episode];
    last = std::max(last, sequence);
  }
  // Each episode's log has no gaps up to (at least) its last acknowledged event.
  for (const auto& [episode, last] : last_sequence) {
    ASSERT_OK_AND_ASSIGN(auto events, store->ReadEvents(episode, 0, static_cast<int>(last)));
    ASSERT_EQ(events.size(), static_cast<size_t>(last)) << episode;
    for (int64_t i = 0; i < last; ++i) EXPECT_EQ(events[i].sequence, i + 1);
  }
}

}  // namespace
}  // namespace collabcare::store
