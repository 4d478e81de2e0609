// Changes made in the EHR coming back, against the real FHIR test server: a Goal marked
// completed by a clinician becomes a new revision attributed to them, exactly once; changed
// words and edits of an outdated revision are parked as conflicts, never applied.
#include <memory>
#include <string>
#include <vector>

#include "adapters/host/fhir_client.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/sync/host_sink.h"
#include "adapters/host/sync/read_back.h"
#include "adapters/host/sync/sync_worker.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/service/collab_service.h"
#include "tests/sync/sync_test_util.h"
#include "tests/testing/fakes.h"

namespace collabcare::host {
namespace {

using testutil::FhirTestServer;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";

class ReadBackTest : public ::testing::Test {
 protected:
  void Connect(FhirTestServer& server) {
    ASSERT_TRUE(server.started());
    server_ = &server;
    CurlTransportOptions transport;
    transport.total_timeout = absl::Seconds(10);
    transport_ = NewCurlTransport(transport).value();
    FhirClientOptions options;
    options.base_url = server.base_url();
    client_ = NewFhirClient(options, transport_.get(), nullptr, clock_.get()).value();
    sink_ = NewFhirR4Sink(FhirR4SinkOptions(), client_.get());
    worker_ = std::make_unique<SyncWorker>(SyncWorkerOptions(), store_.get(), sink_.get(),
                                           &fake_clock_, &sleeper_);
  }

  ReadBackOptions Options() {
    ReadBackOptions options;
    options.host = "ehr";
    options.metrics = &metrics_;
    options.overlap = absl::Seconds(5);
    return options;
  }
  std::unique_ptr<ReadBackPoller> NewPoller() {
    return std::make_unique<ReadBackPoller>(
        Options(), client_.get(), store_.get(),
        [this](const HostGoalChange& c) {
          return service_.RecordHostGoalChange(c.ehr_user, c.host, c.goal, c.based_on_revision,
                                               c.status, c.request_id);
        },
        clock_.get(), &sleeper_);
  }

  v1::Goal StartEpisodeWithGoal() {
    v1::CreateEpisodeRequest episode;
    v1::Participant* therapist = episode.mutable_episode()->add_participants();
    therapist->set_person(kTherapist);
    therapist->set_role(v1::Participant::THERAPIST);
    v1::Participant* client = episode.mutable_episode()->add_participants();
    client->set_person(kClient);
    client->set_role(v1::Participant::CLIENT);
    episode.mutable_episode()->set_format(v1::Episode::CLIENT_LED);
    episode.mutable_episode()->set_modality(v1::Episode::INDIVIDUAL);
    v1::Episode e = service_.CreateEpisode(kTherapist, episode).value();
    v1::CreateGoalRequest goal;
    goal.set_parent(e.name());
    goal.mutable_goal()->set_words("Sleep through the night");
    return service_.CreateGoal(kClient, goal).value();
  }

  // The Goal in the EHR with collabcare's identifier `name`.
  nlohmann::json EhrGoal(const std::string& name) {
    SearchResult found =
        client_
            ->Search("Goal", {{"identifier", fhir::CanonicalUrls().record_identifier + "|" + name}})
            .value();
    EXPECT_EQ(found.bundle["entry"].size(), 1u);
    return found.bundle["entry"][0]["resource"];
  }

  // Writes `goal` to the EHR as `author` would in the chart (a PUT; meta.author is set).
  void EditInEhr(const nlohmann::json& goal, const std::string& author) {
    HttpRequest request;
    request.method = HttpMethod::kPut;
    request.url = server_->base_url() + "/Goal/" + goal["id"].get<std::string>();
    request.headers = {{"Content-Type", "application/fhir+json"}, {"X-Test-Author", author}};
    request.body = goal.dump();
    absl::StatusOr<HttpResponse> response = server_->transport()->Send(request);
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->status, 200) << response->body;
  }

  v1::Goal Latest(const std::string& name) {
    v1::GetGoalRequest get;
    get.set_name(name);
    return service_.GetGoal(kClient, get).value();
  }
  int Revisions(const std::string& name) {
    v1::ListGoalRevisionsRequest list;
    list.set_name(name);
    return service_.ListGoalRevisions(kClient, list).value().goals_size();
  }

  std::unique_ptr<Clock> clock_ = NewSystemClock();
  testing::FakeClock fake_clock_;
  testutil::FakeSleeper sleeper_{&fake_clock_};
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  testing::SequentialIds ids_;
  service::EventHub hub_;
  service::CollabService service_{*store_, *clock_, ids_, hub_, service::CollabService::Options{}};
  MetricsRegistry metrics_;
  FhirTestServer* server_ = nullptr;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<FhirClient> client_;
  std::unique_ptr<HostSink> sink_;
  std::unique_ptr<SyncWorker> worker_;
};

TEST_F(ReadBackTest, EhrEditsComeBackAsRevisionsOrConflicts) {
  FhirTestServer server;
  Connect(server);
  const v1::Goal goal = StartEpisodeWithGoal();
  ASSERT_TRUE(worker_->Drain().ok());
  std::unique_ptr<ReadBackPoller> poller = NewPoller();

  // collabcare's own write comes back unchanged: nothing to do.
  ReadBackCounts counts = poller->PollOnce().value();
  EXPECT_EQ(counts.read, 1);
  EXPECT_EQ(counts.unchanged, 1);
  EXPECT_EQ(Revisions(goal.name()), 1);

  // The therapist marks it completed in the chart: a new revision, theirs.
  nlohmann::json ehr = EhrGoal(goal.name());
  ehr["lifecycleStatus"] = "completed";
  EditInEhr(ehr, kTherapist);
  counts = poller->PollOnce().value();
  EXPECT_EQ(counts.applied, 1);
  v1::Goal latest = Latest(goal.name());
  EXPECT_EQ(latest.status(), v1::Goal::ACHIEVED);
  EXPECT_EQ(latest.meta().revision(), 2);
  EXPECT_EQ(latest.meta().updated_by(), kTherapist);
  EXPECT_EQ(latest.words(), goal.words());

  // Polling again, and a restarted poller reading the same version, change nothing.
  EXPECT_EQ(poller->PollOnce().value().applied, 0);
  store_->SetSyncCursor(ReadBackPoller::WatermarkKey("ehr"), 0).IgnoreError();
  std::unique_ptr<ReadBackPoller> restarted = NewPoller();
  ASSERT_TRUE(restarted->PollOnce().ok());
  EXPECT_EQ(Revisions(goal.name()), 2);

  // Revision 2 pushed back to the EHR is an echo.
  ASSERT_TRUE(worker_->Drain().ok());
  counts = poller->PollOnce().value();
  EXPECT_EQ(counts.applied + counts.conflicts, 0);
  EXPECT_EQ(Revisions(goal.name()), 2);

  // The therapist rewrites the client's words in the chart: a conflict, not applied.
  ehr = EhrGoal(goal.name());
  ehr["description"]["text"] = "Sleep better";
  EditInEhr(ehr, kTherapist);
  counts = poller->PollOnce().value();
  EXPECT_EQ(counts.conflicts, 1);
  EXPECT_EQ(Latest(goal.name()).words(), goal.words());
  EXPECT_EQ(Revisions(goal.name()), 2);
  const std::string conflicts = ReadBackPoller::ConflictHost("ehr");
  std::vector<store::ParkedChange> parked = store_->ListParked(conflicts, 10).value();
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].name, goal.name());
  EXPECT_EQ(parked[0].revision, 2);
  EXPECT_EQ(parked[0].code, static_cast<int>(absl::StatusCode::kPermissionDenied));
  nlohmann::json outcome = nlohmann::json::parse(parked[0].outcome);
  EXPECT_EQ(outcome["resourceType"], "OperationOutcome");
  EXPECT_EQ(outcome["contained"][0]["description"]["text"], "Sleep better");
  // Read again (a restarted poller): the same parking, not a second one.
  store_->SetSyncCursor(ReadBackPoller::WatermarkKey("ehr"), 0).IgnoreError();
  ASSERT_TRUE(NewPoller()->PollOnce().ok());
  EXPECT_EQ(store_->ListParked(conflicts, 10).value().size(), 1u);

  // The client changes the goal (revision 3, pushed: the EHR has the client's words again),
  // then again (revision 4, not yet pushed); the therapist's edit of revision 3 in the chart
  // is a conflict with the newer local change.
  v1::UpdateGoalRequest update;
  update.mutable_goal()->set_name(goal.name());
  update.mutable_goal()->set_priority(2);
  update.mutable_update_mask()->add_paths("priority");
  ASSERT_TRUE(service_.UpdateGoal(kClient, update).ok());
  ASSERT_TRUE(worker_->Drain().ok());
  update.mutable_goal()->set_priority(1);
  ASSERT_TRUE(service_.UpdateGoal(kClient, update).ok());
  ehr = EhrGoal(goal.name());
  ASSERT_EQ(ehr["description"]["text"], goal.words());
  ehr["lifecycleStatus"] = "active";
  EditInEhr(ehr, kTherapist);
  counts = poller->PollOnce().value();
  EXPECT_EQ(counts.applied, 0);
  EXPECT_EQ(counts.conflicts, 1);
  latest = Latest(goal.name());
  EXPECT_EQ(latest.meta().revision(), 4);
  EXPECT_EQ(latest.status(), v1::Goal::ACHIEVED);
  parked = store_->ListParked(conflicts, 10).value();
  ASSERT_EQ(parked.size(), 2u);
  bool aborted = false;
  for (const store::ParkedChange& p : parked) {
    aborted |= p.code == static_cast<int>(absl::StatusCode::kAborted) && p.revision == 4;
  }
  EXPECT_TRUE(aborted);
  EXPECT_EQ(
      metrics_.Counter("collabcare_sync_read_back_applied_total", "", {"host"}).Value({"ehr"}), 1);
  EXPECT_GE(
      metrics_.Counter("collabcare_sync_read_back_conflicts_total", "", {"host"}).Value({"ehr"}),
      2);
}

TEST_F(ReadBackTest, AClientInTheEhrCannotChangeAGoalsStatus) {
  FhirTestServer server;
  Connect(server);
  const v1::Goal goal = StartEpisodeWithGoal();
  ASSERT_TRUE(worker_->Drain().ok());
  nlohmann::json ehr = EhrGoal(goal.name());
  ehr["lifecycleStatus"] = "cancelled";
  EditInEhr(ehr, kClient);  // not a therapist of the episode
  ReadBackCounts counts = NewPoller()->PollOnce().value();
  EXPECT_EQ(counts.applied, 0);
  EXPECT_EQ(counts.conflicts, 1);
  EXPECT_EQ(Latest(goal.name()).status(), v1::Goal::ACTIVE);
  std::vector<store::ParkedChange> parked =
      store_->ListParked(ReadBackPoller::ConflictHost("ehr"), 10).value();
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].code, static_cast<int>(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace collabcare::host
