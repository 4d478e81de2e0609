// The sync worker with the memory store and a scripted sink: order, cursor, retries with
// backoff and Retry-After, parking, resuming from the cursor, stopping.
#include "adapters/host/sync/sync_worker.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/host/status_map.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fhir/golden_cases.h"
#include "tests/sync/sync_test_util.h"

namespace collabcare::host {
namespace {

using testutil::CommitDemoSession;
using testutil::FakeSleeper;
using testutil::ScriptedSink;

class SyncWorkerTest : public ::testing::Test {
 protected:
  SyncWorkerTest() : store_(store::NewMemoryStore()), sleeper_(&clock_) {}

  std::vector<int64_t> OutboxIds() {
    std::vector<int64_t> ids;
    absl::StatusOr<std::vector<store::OutboxEntry>> entries = store_->ReadOutbox(0, 1000);
    EXPECT_TRUE(entries.ok());
    if (entries.ok()) {
      for (const store::OutboxEntry& e : *entries) ids.push_back(e.id);
    }
    return ids;
  }
  SyncWorker NewWorker(HostSink* sink) {
    return SyncWorker(SyncWorkerOptions(), store_.get(), sink, &clock_, &sleeper_);
  }

  testing::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  FakeSleeper sleeper_;
};

TEST_F(SyncWorkerTest, PushesEveryChangeInOutboxOrderAndAdvancesTheCursor) {
  const int changes = CommitDemoSession(*store_);
  ScriptedSink sink;
  SyncWorkerOptions options;
  options.batch = 3;
  SyncWorker worker(options, store_.get(), &sink, &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  EXPECT_EQ(sink.pushed_ids, OutboxIds());
  ASSERT_EQ(static_cast<int>(sink.pushed_ids.size()), changes);
  EXPECT_EQ(sink.pushed_types[0],  // a CarePlan per client (Maya, Jonah, Lia)
            (std::vector<std::string>{"CarePlan", "CarePlan", "CarePlan", "CareTeam"}));
  EXPECT_EQ(sink.pushed_types[1], (std::vector<std::string>{"Goal", "Provenance"}));
  EXPECT_EQ(store_->GetSyncCursor("ehr").value(), sink.pushed_ids.back());
  SyncStatus status = worker.Status();
  EXPECT_EQ(status.pushed, changes);
  EXPECT_EQ(status.lag, 0);
  EXPECT_EQ(status.retried, 0);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(SyncWorkerTest, RetriesUnavailableWithBackoffAndHonoursRetryAfter) {
  CommitDemoSession(*store_);
  const int64_t first = OutboxIds()[0];
  ScriptedSink sink;
  StatusMap map;
  sink.FailNext(first, map.FromParts(429, {}, absl::Seconds(7), "transaction"));
  sink.FailNext(first, absl::UnavailableError("connection refused"));
  sink.FailNext(first, absl::DeadlineExceededError("timeout"));
  SyncWorker worker = NewWorker(&sink);
  ASSERT_TRUE(worker.Drain().ok());
  std::vector<absl::Duration> sleeps = sleeper_.sleeps();
  ASSERT_EQ(sleeps.size(), 3u);
  EXPECT_GE(sleeps[0], absl::Seconds(7));  // Retry-After wins over the 200 ms backoff
  // Exponential with jitter: attempt n waits in [d/2, d] with d = 200 ms * 2^(n-1).
  EXPECT_GE(sleeps[1], absl::Milliseconds(200));
  EXPECT_LE(sleeps[1], absl::Milliseconds(400));
  EXPECT_GE(sleeps[2], absl::Milliseconds(400));
  EXPECT_LE(sleeps[2], absl::Milliseconds(800));
  EXPECT_EQ(sink.pushed_ids, OutboxIds());  // nothing skipped, still in order
  SyncStatus status = worker.Status();
  EXPECT_EQ(status.retried, 3);
  EXPECT_EQ(status.last_error, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.lag, 0);
}

TEST_F(SyncWorkerTest, BackoffIsCappedAtTheMaximum) {
  CommitDemoSession(*store_);
  ScriptedSink sink;
  for (int i = 0; i < 12; ++i) sink.FailNext(OutboxIds()[0], absl::UnavailableError("down"));
  SyncWorkerOptions options;
  options.max_backoff = absl::Seconds(5);
  SyncWorker worker(options, store_.get(), &sink, &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  for (absl::Duration d : sleeper_.sleeps()) EXPECT_LE(d, absl::Seconds(5));
  EXPECT_GE(sleeper_.sleeps().back(), absl::Milliseconds(2500));
}

TEST_F(SyncWorkerTest, ParksARejectedChangeWithItsOutcomeAndMovesOn) {
  CommitDemoSession(*store_);
  const std::vector<int64_t> ids = OutboxIds();
  ScriptedSink sink;
  StatusMap map;
  absl::Status rejected = map.FromParts(
      422,
      {{.severity = "error", .code = "invalid", .expressions = {"Goal.target"}, .diagnostics = ""}},
      std::nullopt, "transaction");
  ASSERT_EQ(rejected.code(), absl::StatusCode::kInvalidArgument);
  sink.FailNext(ids[1], rejected);
  SyncWorker worker = NewWorker(&sink);
  ASSERT_TRUE(worker.Drain().ok());
  std::vector<store::ParkedChange> parked = store_->ListParked("ehr", 10).value();
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].outbox_id, ids[1]);
  EXPECT_EQ(parked[0].code, static_cast<int>(absl::StatusCode::kInvalidArgument));
  nlohmann::json outcome = nlohmann::json::parse(parked[0].outcome);
  EXPECT_EQ(outcome["resourceType"], "OperationOutcome");
  EXPECT_NE(outcome["issue"][0]["diagnostics"].get<std::string>().find("Goal.target"),
            std::string::npos);
  EXPECT_EQ(sink.pushed_ids.size(), ids.size() - 1);  // every other change went through
  EXPECT_EQ(store_->GetSyncCursor("ehr").value(), ids.back());
  SyncStatus status = worker.Status();
  EXPECT_EQ(status.parked, 1);
  EXPECT_EQ(status.retried, 0);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(SyncWorkerTest, ParksARecordThatDoesNotMap) {
  v1::Episode episode = fhir::testing::FamilyEpisode();
  episode.clear_participants();  // no client who is a Patient: FAILED_PRECONDITION
  testutil::CommitRecord(*store_, store::RecordKind::kEpisode, episode.name(), episode);
  ScriptedSink sink;
  SyncWorker worker = NewWorker(&sink);
  ASSERT_TRUE(worker.Drain().ok());
  EXPECT_TRUE(sink.pushed_ids.empty());
  EXPECT_EQ(store_->ListParked("ehr", 10).value().size(), 1u);
  EXPECT_EQ(worker.Status().lag, 0);
}

TEST_F(SyncWorkerTest, ANewWorkerResumesFromTheCursor) {
  CommitDemoSession(*store_);
  const std::vector<int64_t> before = OutboxIds();
  {
    ScriptedSink sink;
    SyncWorker worker = NewWorker(&sink);
    ASSERT_TRUE(worker.Drain().ok());
    EXPECT_EQ(sink.pushed_ids, before);
  }
  v1::Goal goal = fhir::testing::FamilyGoals()[0];
  goal.set_words("Changed after the restart");
  testutil::CommitRecord(*store_, store::RecordKind::kGoal, goal.name(), goal);
  ScriptedSink sink;
  SyncWorker worker = NewWorker(&sink);
  EXPECT_EQ(worker.Status().lag, 1);
  ASSERT_TRUE(worker.Drain().ok());
  ASSERT_EQ(sink.pushed_ids.size(), 1u);
  EXPECT_GT(sink.pushed_ids[0], before.back());
}

TEST_F(SyncWorkerTest, StopEndsRetryingWithoutMovingTheCursor) {
  CommitDemoSession(*store_);
  ScriptedSink sink;
  for (int i = 0; i < 100; ++i) sink.FailNext(OutboxIds()[0], absl::UnavailableError("down"));
  SyncWorker worker = NewWorker(&sink);
  sleeper_.on_sleep = [&](int calls) {
    if (calls == 3) worker.Stop();
  };
  EXPECT_EQ(worker.Drain().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.attempts, 3);
  EXPECT_EQ(store_->GetSyncCursor("ehr").value(), 0);
  EXPECT_EQ(worker.Status().last_error, absl::StatusCode::kUnavailable);
}

TEST_F(SyncWorkerTest, RunReturnsAfterStop) {
  CommitDemoSession(*store_);
  ScriptedSink sink;
  SyncWorker worker = NewWorker(&sink);
  // The first idle poll (outbox drained) stops the worker.
  sleeper_.on_sleep = [&](int) { worker.Stop(); };
  worker.Run();
  EXPECT_EQ(worker.Status().lag, 0);
  EXPECT_EQ(sleeper_.sleeps(), std::vector<absl::Duration>{absl::Seconds(1)});
}

TEST(MapRevisionTest, NotesProfileGetsNotesAndTheHypothesisCondition) {
  fhir::MappingContext ctx;
  v1::Episode episode = fhir::testing::FamilyEpisode();
  ctx.episode = &episode;
  store::RecordRevision revision;
  revision.kind = store::RecordKind::kHypothesis;
  revision.data = fhir::testing::ProfessionalHypothesis().SerializeAsString();
  std::vector<fhir::FhirResource> notes =
      MapRevision(revision, ctx, SinkContent::kNotesAndConditions).value();
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].type, "DocumentReference");
  EXPECT_EQ(notes[1].type, "Condition");
  revision.kind = store::RecordKind::kGoal;
  revision.data = fhir::testing::FamilyGoals()[0].SerializeAsString();
  notes = MapRevision(revision, ctx, SinkContent::kNotesAndConditions).value();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].type, "DocumentReference");
  revision.data = "\xff not a goal";
  EXPECT_EQ(MapRevision(revision, ctx, SinkContent::kFull).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MapRevisionTest, FullAndNotesIsTheNoteThenEveryMappedResource) {
  fhir::MappingContext ctx;
  v1::Episode episode = fhir::testing::FamilyEpisode();
  ctx.episode = &episode;
  store::RecordRevision revision;
  revision.kind = store::RecordKind::kHypothesis;
  revision.data = fhir::testing::ProfessionalHypothesis().SerializeAsString();
  std::vector<fhir::FhirResource> both =
      MapRevision(revision, ctx, SinkContent::kFullAndNotes).value();
  std::vector<fhir::FhirResource> full = MapRevision(revision, ctx, SinkContent::kFull).value();
  ASSERT_EQ(both.size(), full.size() + 1);
  EXPECT_EQ(both[0].type, "DocumentReference");
  for (size_t i = 0; i < full.size(); ++i) EXPECT_EQ(both[i + 1].json, full[i].json);
}

// A CapabilityStatement with `writable` types (create + update) and maybe transactions.
nlohmann::json Capabilities(const std::vector<std::string>& writable, bool transaction) {
  nlohmann::json resources = nlohmann::json::array();
  for (const char* type :
       {"CarePlan", "CareTeam", "ClinicalImpression", "Composition", "Condition", "Goal",
        "Observation", "Provenance", "QuestionnaireResponse", "DocumentReference", "Patient"}) {
    nlohmann::json interaction = nlohmann::json::array({{{"code", "read"}}});
    if (std::find(writable.begin(), writable.end(), type) != writable.end()) {
      interaction.push_back({{"code", "create"}});
      interaction.push_back({{"code", "update"}});
    }
    resources.push_back({{"type", type}, {"interaction", interaction}});
  }
  nlohmann::json interaction = nlohmann::json::array({{{"code", "search-system"}}});
  if (transaction) interaction.push_back({{"code", "transaction"}});
  return {{"resourceType", "CapabilityStatement"},
          {"rest", {{{"mode", "server"}, {"resource", resources}, {"interaction", interaction}}}}};
}

TEST(AutoPlanTest, ChoosesFromTheCapabilityStatement) {
  std::vector<std::string> all = FullMappingTypes();
  all.push_back("DocumentReference");
  AutoPlan plan = PlanFromCapabilities(Capabilities(all, true)).value();
  EXPECT_TRUE(plan.transactions);
  EXPECT_TRUE(plan.single_types.empty());

  // Transactions but one type read-only: per type.
  std::vector<std::string> no_goal;
  for (const std::string& t : all) {
    if (t != "Goal") no_goal.push_back(t);
  }
  plan = PlanFromCapabilities(Capabilities(no_goal, true)).value();
  EXPECT_FALSE(plan.transactions);
  EXPECT_EQ(plan.single_types.size(), FullMappingTypes().size() - 1);
  EXPECT_TRUE(plan.notes);

  // Every type writable but no transactions: single writes of everything.
  plan = PlanFromCapabilities(Capabilities(all, false)).value();
  EXPECT_FALSE(plan.transactions);
  EXPECT_EQ(plan.single_types, FullMappingTypes());

  plan = PlanFromCapabilities(Capabilities({"DocumentReference", "Condition"}, false)).value();
  EXPECT_FALSE(plan.transactions);
  EXPECT_EQ(plan.single_types, std::vector<std::string>{"Condition"});
  EXPECT_TRUE(plan.notes);
  std::map<std::string, std::string> described;
  for (const auto& [type, choice] : DescribePlan(plan)) described[type] = choice;
  EXPECT_EQ(described["Condition"], "single-write");
  EXPECT_EQ(described["Goal"], "note");
  EXPECT_EQ(described["DocumentReference"], "note");

  plan = PlanFromCapabilities(Capabilities({"Goal"}, true)).value();
  EXPECT_FALSE(plan.notes);
  described.clear();
  for (const auto& [type, choice] : DescribePlan(plan)) described[type] = choice;
  EXPECT_EQ(described["Goal"], "single-write");
  EXPECT_EQ(described["CarePlan"], "skip");
  EXPECT_EQ(described["DocumentReference"], "skip");

  EXPECT_EQ(PlanFromCapabilities(nlohmann::json{{"resourceType", "Patient"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanFromCapabilities(nlohmann::json("garbage")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace collabcare::host
