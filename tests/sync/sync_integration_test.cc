// Every host profile against the real FHIR R4 test server (tests/fhir_server) on loopback: the
// demo session lands and is searchable, the epic-like server gets only notes and Conditions,
// and after injected faults every change is there exactly once. Also measures throughput and
// recovery after an outage (printed, not asserted).
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "adapters/host/fhir_client.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/sync/host_sink.h"
#include "adapters/host/sync/sync_worker.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fhir/golden_cases.h"
#include "tests/sync/sync_test_util.h"

namespace collabcare::host {
namespace {

using testutil::FhirTestServer;

class SyncIntegrationTest : public ::testing::Test {
 protected:
  void Connect(FhirTestServer& server) {
    ASSERT_TRUE(server.started());
    CurlTransportOptions options;
    options.total_timeout = absl::Seconds(5);
    transport_ = NewCurlTransport(options).value();
    FhirClientOptions client;
    client.base_url = server.base_url();
    client_ = NewFhirClient(client, transport_.get(), nullptr, system_clock_.get()).value();
  }

  // Every identifier of every type the server holds, and fails on duplicates.
  static void ExpectExactlyOnce(FhirTestServer& server) {
    nlohmann::json stats = server.Control(HttpMethod::kGet, "stats");
    EXPECT_TRUE(stats["duplicateIdentifiers"].empty()) << stats["duplicateIdentifiers"].dump();
  }

  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  testing::FakeClock clock_;
  testutil::FakeSleeper sleeper_{&clock_};
  std::unique_ptr<Clock> system_clock_ = NewSystemClock();
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<FhirClient> client_;
};

TEST_F(SyncIntegrationTest, DemoSessionLandsAndGoalsAreSearchableByPatient) {
  FhirTestServer server;
  Connect(server);
  testutil::CommitDemoSession(*store_);
  std::unique_ptr<HostSink> sink = NewFhirR4Sink(FhirR4SinkOptions(), client_.get());
  SyncWorker worker(SyncWorkerOptions(), store_.get(), sink.get(), &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  std::vector<store::ParkedChange> parked =
      store_->ListParked("ehr", 100).value_or(std::vector<store::ParkedChange>{});
  for (const store::ParkedChange& p : parked) {
    ADD_FAILURE() << "parked " << p.name << ": " << p.outcome;
  }
  EXPECT_EQ(worker.Status().lag, 0);

  absl::StatusOr<SearchResult> goals = client_->Search("Goal", {{"patient", "Patient/1"}});
  ASSERT_TRUE(goals.ok()) << goals.status();
  std::set<std::string> words;
  for (const nlohmann::json& e : goals->bundle["entry"]) {
    words.insert(e["resource"]["description"]["text"].get<std::string>());
  }
  EXPECT_TRUE(words.count(fhir::testing::FamilyGoals()[0].words()) == 1)
      << goals->bundle.dump().substr(0, 500);
  nlohmann::json stats = server.Control(HttpMethod::kGet, "stats");
  for (const char* type : {"CarePlan", "CareTeam", "Goal", "Provenance", "ClinicalImpression",
                           "Condition", "Observation", "QuestionnaireResponse", "Composition"}) {
    EXPECT_GT(stats["resources"].value(type, 0), 0) << type;
  }

  // Pushing everything again (a fresh cursor on another host name) changes nothing's count.
  const nlohmann::json before = stats["resources"];
  SyncWorkerOptions again_options;
  again_options.host = "ehr-again";
  SyncWorker again(again_options, store_.get(), sink.get(), &clock_, &sleeper_);
  ASSERT_TRUE(again.Drain().ok());
  EXPECT_EQ(server.Control(HttpMethod::kGet, "stats")["resources"], before);
  ExpectExactlyOnce(server);
}

TEST_F(SyncIntegrationTest, EpicLikeHostGetsOnlyNotesAndConditionsOnceDespiteLostAnswers) {
  FhirTestServer server({"--writable-types", "DocumentReference,Condition", "--no-bundles"});
  Connect(server);
  const int changes = testutil::CommitDemoSession(*store_);
  // The first create is applied but its answer cut off; then a 412 on the first update.
  server.Control(HttpMethod::kPost, "faults",
                 R"([{"mode":"hangup","method":"POST","count":1},
                     {"mode":"status","status":503,"count":2}])");
  std::unique_ptr<HostSink> sink =
      NewSingleWriteSink(SingleWriteSinkOptions(), client_.get(), store_.get(), &clock_);
  SyncWorker worker(SyncWorkerOptions(), store_.get(), sink.get(), &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  EXPECT_TRUE(store_->ListParked("ehr", 10).value().empty());
  EXPECT_GE(worker.Status().retried, 3);

  // Later revisions update in place (If-Match), also after the EHR changed the note.
  v1::Goal goal = fhir::testing::FamilyGoals()[0];
  goal.set_words("Go to school four days a week");
  testutil::CommitRecord(*store_, store::RecordKind::kGoal, goal.name(), goal);
  std::optional<store::RemoteRef> ref = store_->GetRemote("ehr", goal.name() + "/note").value();
  ASSERT_TRUE(ref.has_value() && !ref->remote_id.empty());
  FhirResult note = client_->Read("DocumentReference", ref->remote_id).value();
  ASSERT_TRUE(client_->Update(note.resource).ok());  // a new version made in the EHR
  ASSERT_TRUE(worker.Drain().ok());
  EXPECT_TRUE(store_->ListParked("ehr", 10).value().empty());

  nlohmann::json stats = server.Control(HttpMethod::kGet, "stats");
  std::set<std::string> written;
  for (auto it = stats["writes"].begin(); it != stats["writes"].end(); ++it) {
    written.insert(it.key());
  }
  EXPECT_EQ(written, (std::set<std::string>{"Condition", "DocumentReference"}));
  // One note per record (episode, goals, hypothesis, review) and the hypothesis's Condition.
  EXPECT_EQ(stats["resources"]["DocumentReference"], changes);
  EXPECT_EQ(stats["resources"]["Condition"], 1);
  ExpectExactlyOnce(server);
}

TEST_F(SyncIntegrationTest, AfterFaultsAndAnOutageEveryChangeIsThereExactlyOnce) {
  FhirTestServer server;
  Connect(server);
  testutil::CommitDemoSession(*store_);
  server.Control(HttpMethod::kPost, "faults", R"([
      {"mode":"status","status":500,"count":2},
      {"mode":"status","status":503,"count":1},
      {"mode":"status","status":429,"retryAfter":2,"count":1},
      {"mode":"hangup","method":"POST","count":2},
      {"mode":"reset","count":1}])");
  std::unique_ptr<HostSink> sink = NewFhirR4Sink(FhirR4SinkOptions(), client_.get());
  SyncWorker worker(SyncWorkerOptions(), store_.get(), sink.get(), &clock_, &sleeper_);
  // Half-way, the server goes down (connections closed) and comes back after 4 retries.
  int down_at = -1;
  sleeper_.on_sleep = [&](int calls) {
    if (calls == 7) {
      server.Control(HttpMethod::kPost, "down", R"({"style":"reset"})");
      down_at = calls;
    }
    if (down_at > 0 && calls == down_at + 4) server.Control(HttpMethod::kPost, "up");
  };
  ASSERT_TRUE(worker.Drain().ok());
  EXPECT_TRUE(store_->ListParked("ehr", 10).value().empty());
  SyncStatus status = worker.Status();
  EXPECT_EQ(status.lag, 0);
  EXPECT_GE(status.retried, 10);
  bool waited_for_retry_after = false;
  for (absl::Duration d : sleeper_.sleeps()) waited_for_retry_after |= d >= absl::Seconds(2);
  EXPECT_TRUE(waited_for_retry_after);
  nlohmann::json stats = server.Control(HttpMethod::kGet, "stats");
  EXPECT_GE(stats["faultsInjected"].size(), 3u) << stats["faultsInjected"].dump();
  ExpectExactlyOnce(server);

  // Same content as a run without faults.
  FhirTestServer clean;
  FhirClientOptions options;
  options.base_url = clean.base_url();
  std::unique_ptr<FhirClient> clean_client =
      NewFhirClient(options, transport_.get(), nullptr, system_clock_.get()).value();
  std::unique_ptr<HostSink> clean_sink = NewFhirR4Sink(FhirR4SinkOptions(), clean_client.get());
  SyncWorkerOptions clean_options;
  clean_options.host = "clean";
  SyncWorker reference(clean_options, store_.get(), clean_sink.get(), &clock_, &sleeper_);
  ASSERT_TRUE(reference.Drain().ok());
  EXPECT_EQ(stats["resources"], clean.Control(HttpMethod::kGet, "stats")["resources"]);
  // The same identifiers, each on exactly one resource (ids differ between servers).
  auto counts = [](const nlohmann::json& identifiers) {
    std::map<std::string, size_t> out;
    for (auto type = identifiers.begin(); type != identifiers.end(); ++type) {
      for (auto id = type.value().begin(); id != type.value().end(); ++id) {
        out[id.key()] = id.value().size();
      }
    }
    return out;
  };
  const std::map<std::string, size_t> faulty = counts(stats["identifiers"]);
  EXPECT_EQ(faulty, counts(clean.Control(HttpMethod::kGet, "stats")["identifiers"]));
  for (const auto& [identifier, copies] : faulty) EXPECT_EQ(copies, 1u) << identifier;
}

// Throughput (changes per second) and recovery after a 2 s outage, with the real sleeper.
TEST_F(SyncIntegrationTest, MeasuresThroughputAndRecovery) {
  FhirTestServer server;
  Connect(server);
  testutil::CommitDemoSession(*store_);
  std::vector<v1::Goal> goals = fhir::testing::FamilyGoals();
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    for (v1::Goal& goal : goals) {
      goal.mutable_meta()->set_revision(goal.meta().revision() + 1);
      testutil::CommitRecord(*store_, store::RecordKind::kGoal, goal.name(), goal);
    }
  }
  const int64_t changes = store_->CountOutboxAfter(0).value();
  std::unique_ptr<HostSink> sink = NewFhirR4Sink(FhirR4SinkOptions(), client_.get());
  std::unique_ptr<Sleeper> real = NewRealSleeper();
  std::unique_ptr<Clock> clock = NewSystemClock();
  SyncWorkerOptions options;
  options.initial_backoff = absl::Milliseconds(50);
  options.max_backoff = absl::Milliseconds(500);
  SyncWorker worker(options, store_.get(), sink.get(), clock.get(), real.get());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(worker.Drain().ok());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measure ] fhir-r4 sync: %lld changes in %.2f s = %.0f changes/s\n",
              static_cast<long long>(changes), seconds, changes / seconds);

  for (v1::Goal& goal : goals) {
    testutil::CommitRecord(*store_, store::RecordKind::kGoal, goal.name(), goal);
  }
  server.Control(HttpMethod::kPost, "down", R"({"style":"refuse","durationMs":2000})");
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(worker.Drain().ok());
  const double outage =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "[ measure ] 2.0 s outage (connections refused): drained %zu changes %.2f s after "
      "it began, %.2f s after it ended; %lld retries\n",
      goals.size(), outage, outage - 2.0, static_cast<long long>(worker.Status().retried));
  EXPECT_EQ(worker.Status().lag, 0);
  ExpectExactlyOnce(server);
}

}  // namespace
}  // namespace collabcare::host
