// Every host profile against the real FHIR R4 test server (tests/fhir_server) on loopback: the
// demo session lands and is searchable, the epic-like server gets only notes and Conditions,
// and after injected faults every change is there exactly once. Also measures throughput and
// recovery after an outage (printed, not asserted).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/host/fhir_client.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/sync/host_sink.h"
#include "adapters/host/sync/sync_worker.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/fhir/golden_cases.h"
#include "tests/sync/sync_test_util.h"

namespace collabcare::host {
namespace {

using testutil::FhirTestServer;

// A hostile host: a cpp-httplib proxy in front of the real test server that forwards every
// request (so the writes do happen) and replaces the answers of the next `count` POSTs with
// what `mangle` makes of them.
class ManglingProxy final {
 public:
  explicit ManglingProxy(int upstream_port) : upstream_port_(upstream_port) {
    const auto forward = [this](const httplib::Request& req, httplib::Response& res) {
      httplib::Client upstream("127.0.0.1", upstream_port_);
      upstream.set_read_timeout(20, 0);
      httplib::Headers headers;
      for (const char* name : {"Accept", "Prefer", "If-None-Exist", "If-Match"}) {
        if (req.has_header(name)) headers.emplace(name, req.get_header_value(name));
      }
      httplib::Result answer = req.method == "POST"
                                   ? upstream.Post(req.target.c_str(), headers, req.body,
                                                   req.get_header_value("Content-Type").c_str())
                                   : upstream.Get(req.target.c_str(), headers);
      if (!answer) {
        res.status = 502;
        return;
      }
      res.status = answer->status;
      res.set_content(answer->body, answer->get_header_value("Content-Type").c_str());
      std::function<void(httplib::Response&)> mangle;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (req.method == "POST" && pending_ > 0) {
          --pending_;
          ++mangled_;
          mangle = mangle_;
        }
      }
      if (mangle) mangle(res);
    };
    server_.Post(".*", forward);
    server_.Get(".*", forward);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ManglingProxy(const ManglingProxy&) = delete;
  ManglingProxy& operator=(const ManglingProxy&) = delete;
  ~ManglingProxy() {
    server_.stop();
    thread_.join();
  }

  void Mangle(int count, std::function<void(httplib::Response&)> mangle) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = count;
    mangle_ = std::move(mangle);
  }
  int mangled() {
    std::lock_guard<std::mutex> lock(mu_);
    return mangled_;
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/fhir/R4"; }

 private:
  const int upstream_port_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  int pending_ = 0;
  int mangled_ = 0;
  std::function<void(httplib::Response&)> mangle_;
};

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

  // Provenance has no identifier: it is keyed by its meta.tag (a urn:uuid), which must reach
  // the server unchanged, and each tag must be on exactly one Provenance.
  void ExpectOneProvenancePerKey(FhirTestServer& server) {
    const int stored =
        server.Control(HttpMethod::kGet, "stats")["resources"].value("Provenance", 0);
    absl::StatusOr<SearchResult> found = client_->Search("Provenance", {{"_count", "500"}});
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_TRUE(found->complete);
    std::map<std::string, int> tags;
    for (const nlohmann::json& e : found->bundle["entry"]) {
      const nlohmann::json& tag = e["resource"]["meta"]["tag"];
      ASSERT_TRUE(tag.is_array() && tag.size() == 1) << e["resource"]["meta"].dump();
      const std::string code = tag[0].value("code", "");
      EXPECT_EQ(code.rfind("urn:uuid:", 0), 0u) << code;
      ++tags[code];
    }
    EXPECT_GT(stored, 0);
    EXPECT_EQ(static_cast<int>(found->bundle["entry"].size()), stored);
    for (const auto& [code, copies] : tags) EXPECT_EQ(copies, 1) << code;
  }

  // Drains the demo session through `client` with the real sleeper; the worker's log.
  std::string DrainLogged(FhirClient* client, SyncStatus* status) {
    std::unique_ptr<HostSink> sink = NewFhirR4Sink(FhirR4SinkOptions(), client);
    SyncWorker worker(SyncWorkerOptions(), store_.get(), sink.get(), &clock_, &sleeper_);
    ::testing::internal::CaptureStderr();
    const absl::Status drained = worker.Drain();
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(drained.ok()) << drained;
    EXPECT_TRUE(store_->ListParked("ehr", 10).value().empty());
    *status = worker.Status();
    return log;
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
  ExpectOneProvenancePerKey(server);
}

// A host that answers after the client gave up (the write happened): DEADLINE_EXCEEDED, logged
// and retried; the retry's conditional writes find what the first attempt wrote.
TEST_F(SyncIntegrationTest, HostThatTimesOutGetsEachChangeOnce) {
  FhirTestServer server;
  Connect(server);
  CurlTransportOptions impatient;
  impatient.total_timeout = absl::Milliseconds(700);
  std::unique_ptr<HttpTransport> transport = NewCurlTransport(impatient).value();
  FhirClientOptions options;
  options.base_url = server.base_url();
  std::unique_ptr<FhirClient> client =
      NewFhirClient(options, transport.get(), nullptr, system_clock_.get()).value();
  testutil::CommitDemoSession(*store_);
  server.Control(HttpMethod::kPost, "faults",
                 R"({"mode":"delay","delayMs":1500,"phase":"after","method":"POST","count":2})");
  SyncStatus status;
  const std::string log = DrainLogged(client.get(), &status);
  EXPECT_GE(status.retried, 2);
  EXPECT_NE(log.find(R"("code":"DEADLINE_EXCEEDED")"), std::string::npos) << log;
  EXPECT_NE(log.find("sync_retry"), std::string::npos) << log;
  EXPECT_EQ(server.Control(HttpMethod::kGet, "stats")["faultsInjected"].value("delay", 0), 2);
  ExpectExactlyOnce(server);
  ExpectOneProvenancePerKey(server);
}

// 412 on a transaction (fhir-r4 sends no If-Match, so it is a passing conflict): ABORTED with
// the HTTP status in the log line, retried until it lands.
TEST_F(SyncIntegrationTest, HostThatAnswers412IsRetriedUntilItLands) {
  FhirTestServer server;
  Connect(server);
  testutil::CommitDemoSession(*store_);
  server.Control(HttpMethod::kPost, "faults",
                 R"({"mode":"status","status":412,"method":"POST","count":3})");
  SyncStatus status;
  const std::string log = DrainLogged(client_.get(), &status);
  EXPECT_EQ(status.retried, 3);
  EXPECT_NE(log.find(R"("code":"ABORTED","http_status":"412")"), std::string::npos) << log;
  ExpectExactlyOnce(server);
  ExpectOneProvenancePerKey(server);
}

// Answers that are not JSON, or too large to read, after the write was applied: INTERNAL /
// RESOURCE_EXHAUSTED, each logged with what was wrong, retried, and every change lands once.
TEST_F(SyncIntegrationTest, HostWithGarbledOrOversizedAnswersGetsEachChangeOnce) {
  FhirTestServer server;
  ASSERT_TRUE(server.started());
  const int port = std::stoi(server.base_url().substr(std::string("http://127.0.0.1:").size()));
  ManglingProxy proxy(port);
  CurlTransportOptions small;
  small.total_timeout = absl::Seconds(5);
  small.max_response_bytes = 256 << 10;
  std::unique_ptr<HttpTransport> transport = NewCurlTransport(small).value();
  FhirClientOptions options;
  options.base_url = proxy.base_url();
  client_ = NewFhirClient(options, transport.get(), nullptr, system_clock_.get()).value();
  testutil::CommitDemoSession(*store_);

  proxy.Mangle(2, [](httplib::Response& res) {
    res.status = 200;
    res.set_content("<html><body>502 Bad Gateway</body></html>", "text/html");
  });
  SyncStatus status;
  std::string log = DrainLogged(client_.get(), &status);
  EXPECT_EQ(proxy.mangled(), 2);
  EXPECT_EQ(status.retried, 2);
  EXPECT_NE(log.find(R"("code":"INTERNAL")"), std::string::npos) << log;
  EXPECT_NE(log.find("host sent a body that is not JSON"), std::string::npos) << log;
  ExpectExactlyOnce(server);

  // Everything again under another host name: the first answers are 1 MiB.
  proxy.Mangle(2, [](httplib::Response& res) {
    res.set_content(std::string(1 << 20, ' ') + res.body, "application/fhir+json");
  });
  const nlohmann::json before = server.Control(HttpMethod::kGet, "stats")["resources"];
  std::unique_ptr<HostSink> sink = NewFhirR4Sink(FhirR4SinkOptions(), client_.get());
  SyncWorkerOptions again;
  again.host = "ehr-again";
  SyncWorker worker(again, store_.get(), sink.get(), &clock_, &sleeper_);
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(worker.Drain().ok());
  log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(proxy.mangled(), 4);
  EXPECT_EQ(worker.Status().retried, 2);
  EXPECT_TRUE(store_->ListParked("ehr-again", 10).value().empty());
  EXPECT_NE(log.find(R"("code":"RESOURCE_EXHAUSTED")"), std::string::npos) << log;
  EXPECT_NE(log.find("response body larger than"), std::string::npos) << log;
  EXPECT_EQ(server.Control(HttpMethod::kGet, "stats")["resources"], before);
  ExpectExactlyOnce(server);
  ExpectOneProvenancePerKey(server);
}

// Profile auto: the sink NewAutoSink chose, drained over the demo session with its own host
// name (cursor and remote ids), and its log.
struct AutoRun {
  SinkContent content = SinkContent::kFull;
  SyncStatus status;
  std::string log;
};

AutoRun DrainAuto(FhirClient* client, store::Store* store, const Clock* clock, Sleeper* sleeper) {
  AutoRun run;
  AutoSinkOptions options;
  options.host = "auto";
  ::testing::internal::CaptureStderr();
  absl::StatusOr<std::unique_ptr<HostSink>> sink = NewAutoSink(options, client, store, clock);
  run.log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(sink.ok()) << sink.status();
  if (!sink.ok()) return run;
  run.content = (*sink)->content();
  SyncWorkerOptions worker_options;
  worker_options.host = "auto";
  SyncWorker worker(worker_options, store, sink->get(), clock, sleeper);
  EXPECT_TRUE(worker.Drain().ok());
  EXPECT_TRUE(store->ListParked("auto", 10).value().empty());
  run.status = worker.Status();
  return run;
}

bool Chose(const std::string& log, const std::string& type, const std::string& choice) {
  return log.find("\"type\":\"" + type + "\",\"choice\":\"" + choice + "\"") != std::string::npos;
}

TEST_F(SyncIntegrationTest, AutoPicksTransactionsOnAFullServer) {
  FhirTestServer server;
  Connect(server);
  testutil::CommitDemoSession(*store_);
  const AutoRun run = DrainAuto(client_.get(), store_.get(), &clock_, &sleeper_);
  EXPECT_EQ(run.content, SinkContent::kFull);
  for (const std::string& type : FullMappingTypes()) {
    EXPECT_TRUE(Chose(run.log, type, "transaction")) << type << "\n" << run.log;
  }
  EXPECT_TRUE(Chose(run.log, "DocumentReference", "unused")) << run.log;
  EXPECT_EQ(run.status.skipped, 0);

  // The same resources as the fhir-r4 profile on a server of its own.
  FhirTestServer r4;
  ASSERT_TRUE(r4.started());
  FhirClientOptions r4_client_options;
  r4_client_options.base_url = r4.base_url();
  std::unique_ptr<FhirClient> r4_client =
      NewFhirClient(r4_client_options, transport_.get(), nullptr, system_clock_.get()).value();
  SyncStatus r4_status;
  DrainLogged(r4_client.get(), &r4_status);
  nlohmann::json stats = server.Control(HttpMethod::kGet, "stats");
  EXPECT_EQ(stats["resources"], r4.Control(HttpMethod::kGet, "stats")["resources"]);
  EXPECT_EQ(stats["writes"], r4.Control(HttpMethod::kGet, "stats")["writes"]);
  EXPECT_EQ(stats["resources"].value("DocumentReference", 0), 0);
  ExpectExactlyOnce(server);
}

TEST_F(SyncIntegrationTest, AutoOnAnEpicLikeHostWritesWhatEpicWrites) {
  const std::vector<std::string> flags = {"--writable-types", "DocumentReference,Condition",
                                          "--no-bundles"};
  FhirTestServer server(flags);
  Connect(server);
  const int changes = testutil::CommitDemoSession(*store_);
  const AutoRun run = DrainAuto(client_.get(), store_.get(), &clock_, &sleeper_);
  EXPECT_EQ(run.content, SinkContent::kFullAndNotes);
  EXPECT_TRUE(Chose(run.log, "Condition", "single-write")) << run.log;
  EXPECT_TRUE(Chose(run.log, "DocumentReference", "note")) << run.log;
  for (const std::string& type : FullMappingTypes()) {
    if (type != "Condition") {
      EXPECT_TRUE(Chose(run.log, type, "note")) << type << "\n" << run.log;
    }
  }
  EXPECT_EQ(run.status.skipped, 0);
  EXPECT_EQ(run.status.pushed, changes);

  // The epic profile against its own restricted server: the same resources and writes.
  FhirTestServer epic(flags);
  ASSERT_TRUE(epic.started());
  FhirClientOptions epic_client_options;
  epic_client_options.base_url = epic.base_url();
  std::unique_ptr<FhirClient> epic_client =
      NewFhirClient(epic_client_options, transport_.get(), nullptr, system_clock_.get()).value();
  SingleWriteSinkOptions single;
  single.host = "epic";
  std::unique_ptr<HostSink> sink =
      NewSingleWriteSink(single, epic_client.get(), store_.get(), &clock_);
  SyncWorkerOptions epic_options;
  epic_options.host = "epic";
  SyncWorker worker(epic_options, store_.get(), sink.get(), &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  EXPECT_EQ(worker.Status().pushed, run.status.pushed);

  nlohmann::json stats = server.Control(HttpMethod::kGet, "stats");
  nlohmann::json epic_stats = epic.Control(HttpMethod::kGet, "stats");
  EXPECT_EQ(stats["resources"], epic_stats["resources"]);
  EXPECT_EQ(stats["writes"], epic_stats["writes"]);
  EXPECT_EQ(stats["identifiersWritten"], epic_stats["identifiersWritten"]);
  EXPECT_EQ(stats["resources"]["DocumentReference"], changes);
  EXPECT_EQ(stats["resources"]["Condition"], 1);
  ExpectExactlyOnce(server);
}

TEST_F(SyncIntegrationTest, AutoWithoutNotesWritesWhatItCanAndCountsTheRest) {
  FhirTestServer server({"--writable-types", "Goal", "--no-bundles"});
  Connect(server);
  testutil::CommitDemoSession(*store_);
  const AutoRun run = DrainAuto(client_.get(), store_.get(), &clock_, &sleeper_);
  EXPECT_TRUE(Chose(run.log, "Goal", "single-write")) << run.log;
  EXPECT_TRUE(Chose(run.log, "CarePlan", "skip")) << run.log;
  EXPECT_TRUE(Chose(run.log, "DocumentReference", "skip")) << run.log;
  EXPECT_GT(run.status.skipped, 0);
  nlohmann::json stats = server.Control(HttpMethod::kGet, "stats");
  std::set<std::string> written;
  for (auto it = stats["writes"].begin(); it != stats["writes"].end(); ++it) {
    written.insert(it.key());
  }
  EXPECT_EQ(written, std::set<std::string>{"Goal"});
  EXPECT_EQ(stats["resources"].value("Goal", 0),
            static_cast<int>(fhir::testing::FamilyGoals().size()));
  ExpectExactlyOnce(server);
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

// Changes per second with one lane and with four, over 8 episodes (lanes are per episode).
TEST_F(SyncIntegrationTest, MeasuresThroughputByParallelism) {
  for (int parallelism : {1, 4}) {
    FhirTestServer server;
    Connect(server);
    store_ = store::NewMemoryStore();
    const int changes = testutil::CommitEpisodes(*store_, 8, 1);
    std::unique_ptr<HostSink> sink = NewFhirR4Sink(FhirR4SinkOptions(), client_.get());
    std::unique_ptr<Sleeper> real = NewRealSleeper();
    SyncWorkerOptions options;
    options.parallelism = parallelism;
    options.initial_backoff = absl::Milliseconds(50);
    SyncWorker worker(options, store_.get(), sink.get(), system_clock_.get(), real.get());
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(worker.Drain().ok());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ measure ] fhir-r4 sync, parallelism %d: %d changes in %.2f s = %.0f changes/s\n",
                parallelism, changes, seconds, changes / seconds);
    EXPECT_EQ(worker.Status().lag, 0);
    EXPECT_TRUE(store_->ListParked("ehr", 10).value().empty());
    ExpectExactlyOnce(server);
    // Every episode's goals, each with the words of its last revision.
    EXPECT_EQ(server.Control(HttpMethod::kGet, "stats")["resources"].value("Goal", 0),
              8 * static_cast<int>(fhir::testing::FamilyGoals().size()));
  }
}

// A change the host refuses is parked; once the host accepts that type again an operator's
// retry (through the running worker) lands it, exactly once.
TEST_F(SyncIntegrationTest, AParkedChangeRetriedAfterTheHostAcceptsAgainLandsOnce) {
  FhirTestServer server;
  Connect(server);
  testutil::CommitDemoSession(*store_);
  std::unique_ptr<HostSink> sink = NewFhirR4Sink(FhirR4SinkOptions(), client_.get());
  std::unique_ptr<Sleeper> real = NewRealSleeper();
  SyncWorkerOptions options;
  options.idle_poll = absl::Hours(1);
  SyncWorker worker(options, store_.get(), sink.get(), system_clock_.get(), real.get());
  ASSERT_TRUE(worker.Drain().ok());

  // The host stops taking Goals; a new revision of one is refused and parked.
  std::vector<std::string> writable;
  for (const std::string& type : FullMappingTypes()) {
    if (type != "Goal") writable.push_back(type);
  }
  server.Control(HttpMethod::kPost, "config", nlohmann::json{{"writableTypes", writable}}.dump());
  v1::Goal goal = fhir::testing::FamilyGoals()[0];
  goal.set_words("Walk the dog before school");
  testutil::CommitRecord(*store_, store::RecordKind::kGoal, goal.name(), goal);
  ASSERT_TRUE(worker.Drain().ok());
  std::vector<store::ParkedChange> parked = store_->ListParked("ehr", 10).value();
  ASSERT_EQ(parked.size(), 1u);
  const int64_t id = parked[0].outbox_id;

  std::thread run([&] { worker.Run(); });
  // Still refused: stays parked, with the new outcome.
  absl::StatusOr<ParkedRetry> retried = worker.RetryParked(id, absl::Seconds(30));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_FALSE(retried->pushed);
  EXPECT_TRUE(retried->parked.has_value());
  // Accepting again: the retry lands.
  server.Control(HttpMethod::kPost, "config", R"({"writableTypes":null})");
  retried = worker.RetryParked(id, absl::Seconds(30));
  worker.Stop();
  run.join();
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->pushed);
  EXPECT_TRUE(store_->ListParked("ehr", 10).value().empty());
  absl::StatusOr<SearchResult> found = client_->Search(
      "Goal", {{"identifier", fhir::CanonicalUrls().record_identifier + "|" + goal.name()}});
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->bundle["entry"].size(), 1u);
  EXPECT_EQ(found->bundle["entry"][0]["resource"]["description"]["text"], goal.words());
  ExpectExactlyOnce(server);
}

}  // namespace
}  // namespace collabcare::host
