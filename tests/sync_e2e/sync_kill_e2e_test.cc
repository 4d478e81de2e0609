// End to end: the real collabcare-server (--host_profile=fhir-r4) pushing a family session to
// the real FHIR test server, which answers slowly; SIGKILL while a push is applied but not yet
// answered, restart on the same data dir, and check that every record is in the EHR exactly once.
// And the way back: a Goal edited in the EHR becomes a revision in the running server, and a
// conflicting edit is listed by SyncService.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/fhir/canonical.h"
#include "adapters/host/fhir_client.h"
#include "collabcare/v1/episode_service.grpc.pb.h"
#include "collabcare/v1/goal_service.grpc.pb.h"
#include "collabcare/v1/hypothesis_service.grpc.pb.h"
#include "collabcare/v1/review_service.grpc.pb.h"
#include "collabcare/v1/sync_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/common/clock.h"
#include "plugin/identity/identity.h"
#include "tests/sync/sync_test_util.h"
#include "tests/testing/server_process.h"

namespace collabcare {
namespace {

namespace v1 = ::collabcare::v1;
using host::HttpMethod;
using host::testutil::FhirTestServer;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kTeen[] = "Patient/1";
constexpr char kMother[] = "RelatedPerson/2";
constexpr char kFather[] = "RelatedPerson/3";

using testutil::WaitFor;

// One collabcare-server process (--dev) syncing to `fhir_base_url` (--host_profile=fhir-r4),
// logging (info) to <data_dir>/server.log, and a gRPC channel to it.
class ServerProcess {
 public:
  ServerProcess(const std::string& data_dir, const std::string& fhir_base_url,
                std::vector<std::string> extra_args = {})
      : process_(COLLABCARE_SERVER_BINARY, data_dir,
                 WithDefaults(fhir_base_url, std::move(extra_args))) {}

  void Start() {
    ASSERT_NO_FATAL_FAILURE(process_.Start());
    channel_ = grpc::CreateChannel(process_.address(), grpc::InsecureChannelCredentials());
    ASSERT_TRUE(
        channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  }
  // Sends `signal` and reaps the process; returns its wait status.
  int Kill(int signal) { return process_.Kill(signal); }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string log_path() const { return process_.log_path(); }
  std::vector<nlohmann::json> LogEvents(std::streamoff offset, const std::string& event) const {
    return process_.LogEvents(offset, event);
  }
  std::streamoff LogSize() const { return process_.LogSize(); }

 private:
  static std::vector<std::string> WithDefaults(const std::string& fhir_base_url,
                                               std::vector<std::string> args) {
    args.insert(args.begin(), {"--dev", "--log_level=info", "--host_profile=fhir-r4",
                               "--host_base_url=" + fhir_base_url});
    return args;
  }

  testutil::ServerProcess process_;
  std::shared_ptr<grpc::Channel> channel_;
};

class SyncKillE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fhir_.started());
    char tmpl[] = "/tmp/collabcare-sync-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    host::FhirClientOptions options;
    options.base_url = fhir_.base_url();
    client_ = host::NewFhirClient(options, fhir_.transport(), nullptr, clock_.get()).value();
  }
  void TearDown() override {
    server_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  void StartServer(std::vector<std::string> extra_args = {}) {
    server_ = std::make_unique<ServerProcess>(dir_, fhir_.base_url(), std::move(extra_args));
    ASSERT_NO_FATAL_FAILURE(server_->Start());
    auto dev = identity::LoadDevIdentity(dir_);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *dev;
    episodes_ = v1::EpisodeService::NewStub(server_->channel());
    goals_ = v1::GoalService::NewStub(server_->channel());
    hypotheses_ = v1::HypothesisService::NewStub(server_->channel());
    reviews_ = v1::ReviewService::NewStub(server_->channel());
    sync_ = v1::SyncService::NewStub(server_->channel());
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& who) {
    identity::TokenClaims claims;
    claims.fhir_user = who;
    auto token = identity::MintToken(dev_.private_key_pem, dev_.key_id, claims, absl::Now());
    EXPECT_TRUE(token.ok());
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + token.value_or(""));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  nlohmann::json Stats() { return fhir_.Control(HttpMethod::kGet, "stats"); }

  // How many resources of `type` carry the record identifier `value` (a FHIR search).
  size_t CountByIdentifier(const std::string& type, const std::string& value) {
    absl::StatusOr<host::SearchResult> found =
        client_->Search(type, {{"identifier", absl::StrCat(urls_.record_identifier, "|", value)}});
    EXPECT_TRUE(found.ok()) << type << " " << value << ": " << found.status();
    if (!found.ok()) return 0;
    return found->bundle.value("entry", nlohmann::json::array()).size();
  }

  // The resource of `type` with the record identifier `value`; null when there is none (yet).
  nlohmann::json EhrResource(const std::string& type, const std::string& value) {
    absl::StatusOr<host::SearchResult> found =
        client_->Search(type, {{"identifier", absl::StrCat(urls_.record_identifier, "|", value)}});
    if (!found.ok() || found->bundle.value("entry", nlohmann::json::array()).empty()) {
      return nullptr;
    }
    return found->bundle["entry"][0]["resource"];
  }

  FhirTestServer fhir_;
  fhir::CanonicalUrls urls_;
  std::unique_ptr<Clock> clock_ = NewSystemClock();
  std::unique_ptr<host::FhirClient> client_;
  std::string dir_;
  identity::DevIdentity dev_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::EpisodeService::Stub> episodes_;
  std::unique_ptr<v1::GoalService::Stub> goals_;
  std::unique_ptr<v1::HypothesisService::Stub> hypotheses_;
  std::unique_ptr<v1::ReviewService::Stub> reviews_;
  std::unique_ptr<v1::SyncService::Stub> sync_;
};

TEST_F(SyncKillE2eTest, SigkillMidPushLosesNothingAndDuplicatesNothing) {
  // Every FHIR call is applied at once but answered only 700 ms later: the worker is always
  // mid-push, and a kill lands while a write is in the EHR but not acknowledged to collabcare.
  fhir_.Control(HttpMethod::kPost, "faults",
                R"({"mode":"delay","phase":"after","delayMs":700,"durationMs":600000,
                    "path":"^/fhir/R4"})");
  ASSERT_NO_FATAL_FAILURE(StartServer());

  // What must reach the EHR: resource type → record identifier values.
  std::map<std::string, std::set<std::string>> expected;

  // The therapist opens a family episode.
  v1::CreateEpisodeRequest create;
  auto add = [&](const char* who, v1::Participant::Role role) {
    v1::Participant* p = create.mutable_episode()->add_participants();
    p->set_person(who);
    p->set_role(role);
  };
  add(kTherapist, v1::Participant::THERAPIST);
  add(kTeen, v1::Participant::CLIENT);
  add(kMother, v1::Participant::FAMILY_MEMBER);
  add(kFather, v1::Participant::FAMILY_MEMBER);
  create.mutable_episode()->set_format(v1::Episode::THERAPIST_LED);
  create.mutable_episode()->set_modality(v1::Episode::FAMILY);
  v1::Episode episode;
  ASSERT_TRUE(episodes_->CreateEpisode(As(kTherapist).get(), create, &episode).ok());
  expected["CarePlan"].insert(absl::StrCat(episode.name(), "/careplans/", kTeen));
  expected["CareTeam"].insert(absl::StrCat(episode.name(), "/careteam"));

  // Both parents write goals in their own words.
  std::map<std::string, std::string> goal_words;  // goal name → words
  for (int i = 0; i < 3; ++i) {
    for (const char* who : {kMother, kFather}) {
      v1::CreateGoalRequest req;
      req.set_parent(episode.name());
      req.mutable_goal()->set_words(absl::StrCat(who, " hopes for calmer evenings #", i));
      v1::Goal goal;
      grpc::Status s = goals_->CreateGoal(As(who).get(), req, &goal);
      ASSERT_TRUE(s.ok()) << s.error_message();
      goal_words[goal.name()] = goal.words();
      expected["Goal"].insert(goal.name());
    }
  }
  // The worker is pushing (slowly) while the session goes on.
  ASSERT_TRUE(WaitFor([&] { return Stats().value("writeCount", 0) > 0; }, std::chrono::seconds(30)))
      << "the sync worker pushed nothing; see " << server_->log_path();

  // A hypothesis for the whole family, answered differently by each parent.
  v1::ShareHypothesisRequest share;
  share.set_parent(episode.name());
  share.mutable_hypothesis()->set_kind(v1::Hypothesis::THEORETICAL);
  share.mutable_hypothesis()->set_text(
      "I am wondering whether the evenings carry the worries of the whole day");
  share.mutable_hypothesis()->set_tentativeness(v1::Hypothesis::CONSIDERING);
  v1::Hypothesis hypothesis;
  ASSERT_TRUE(hypotheses_->ShareHypothesis(As(kTherapist).get(), share, &hypothesis).ok());
  expected["ClinicalImpression"].insert(absl::StrCat(hypothesis.name(), "/revisions/1"));
  for (auto [who, stance] : {std::pair{kMother, v1::HypothesisResponse::FITS},
                             std::pair{kFather, v1::HypothesisResponse::DOES_NOT_FIT}}) {
    v1::RespondToHypothesisRequest req;
    req.set_name(hypothesis.name());
    req.set_stance(stance);
    req.set_words("in my words");
    grpc::Status s = hypotheses_->RespondToHypothesis(As(who).get(), req, &hypothesis);
    ASSERT_TRUE(s.ok()) << s.error_message();
    expected["Observation"].insert(absl::StrCat(hypothesis.name(), "/responses/", who));
  }

  // A review: everyone rates every goal (the family also the ORS), then everyone signs.
  v1::StartReviewRequest start;
  start.set_parent(episode.name());
  v1::Review review;
  ASSERT_TRUE(reviews_->StartReview(As(kTherapist).get(), start, &review).ok());
  ASSERT_EQ(static_cast<size_t>(review.goals_size()), goal_words.size());
  double score = 3;
  for (const char* who : {kTeen, kMother, kFather, kTherapist}) {
    v1::SubmitRatingsRequest req;
    req.set_name(review.name());
    for (const auto& [goal, words] : goal_words) {
      v1::Rating* r = req.add_ratings();
      r->set_goal(goal);
      r->set_score(score);
      expected["Observation"].insert(absl::StrCat(review.name(), "/ratings/", who, "/goals/",
                                                  goal.substr(goal.rfind('/') + 1)));
    }
    score += 1.5;
    if (std::string(who) != kTherapist) {  // the ORS is the client's and family's own view
      v1::InstrumentScore* ors = req.add_instrument_scores();
      ors->set_instrument("ORS");
      for (double item : {5.0, 6.5, 7.0, 4.2}) ors->add_items(item);
      expected["QuestionnaireResponse"].insert(
          absl::StrCat(review.name(), "/instruments/", who, "/ORS"));
    }
    grpc::Status s = reviews_->SubmitRatings(As(who).get(), req, &review);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  for (const char* who : {kTeen, kMother, kFather, kTherapist}) {
    v1::SignReviewRequest req;
    req.set_name(review.name());
    req.set_etag(review.meta().etag());
    grpc::Status s = reviews_->SignReview(As(who).get(), req, &review);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_EQ(review.status(), v1::Review::SIGNED);
  expected["Composition"].insert(absl::StrCat(review.name(), "/composition"));

  // Kill the moment the EHR applies the next transaction: its answer is still held back, so
  // collabcare has not recorded it as pushed.
  const int64_t before = Stats().value("writeCount", 0);
  ASSERT_TRUE(
      WaitFor([&] { return Stats().value("writeCount", 0) > before; }, std::chrono::seconds(30)));
  EXPECT_TRUE(WIFSIGNALED(server_->Kill(SIGKILL)));
  const nlohmann::json at_kill = Stats();
  // The signed review, written last, had not reached the EHR yet: the worker was mid-way.
  EXPECT_EQ(at_kill["identifiers"].value("Composition", nlohmann::json::object()).size(), 0u)
      << "everything was pushed before the kill; the test proves nothing";
  // The identifiers of the transaction that was applied but unanswered at the kill (the worker
  // pushes one transaction at a time, so everything after `before`).
  const nlohmann::json writes_at_kill = fhir_.Control(HttpMethod::kGet, "writes");
  ASSERT_TRUE(writes_at_kill.is_array());
  std::set<std::string> unanswered;
  for (size_t i = static_cast<size_t>(before); i < writes_at_kill.size(); ++i) {
    for (const nlohmann::json& id : writes_at_kill[i]["identifiers"]) {
      unanswered.insert(id.get<std::string>());
    }
  }

  // The EHR answers promptly again; restart on the same data dir and wait until caught up.
  fhir_.Control(HttpMethod::kDelete, "faults");
  const std::streamoff mark = server_->LogSize();
  ASSERT_NO_FATAL_FAILURE(StartServer());
  nlohmann::json caught_up;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const nlohmann::json& e : server_->LogEvents(mark, "sync_caught_up")) {
          if (e.value("lag", "") == "0") caught_up = e;
        }
        return !caught_up.is_null();
      },
      std::chrono::seconds(60)))
      << "no sync_caught_up with lag 0 after the restart; see " << server_->log_path();
  EXPECT_EQ(caught_up.value("parked", ""), "0") << caught_up.dump();
  // Nothing more arrives: the counts stay put.
  int64_t settled = -1;
  ASSERT_TRUE(WaitFor(
      [&] {
        const int64_t now = Stats().value("writeCount", 0);
        const bool same = now == settled;
        settled = now;
        return same;
      },
      std::chrono::seconds(30)));

  // Nothing lost: every record written before the kill is in the EHR, found by its identifier.
  for (const auto& [type, values] : expected) {
    for (const std::string& value : values) {
      EXPECT_EQ(CountByIdentifier(type, value), 1u) << type << "?identifier=…|" << value;
    }
  }
  for (const auto& [name, words] : goal_words) {
    absl::StatusOr<host::SearchResult> found =
        client_->Search("Goal", {{"identifier", absl::StrCat(urls_.record_identifier, "|", name)}});
    ASSERT_TRUE(found.ok() && !found->bundle["entry"].empty()) << name;
    EXPECT_EQ(found->bundle["entry"][0]["resource"]["description"]["text"], words) << name;
  }
  // Nothing duplicated, although the write in flight at the kill was pushed again.
  const nlohmann::json stats = Stats();
  EXPECT_TRUE(stats["duplicateIdentifiers"].empty()) << stats["duplicateIdentifiers"].dump();
  ASSERT_FALSE(unanswered.empty());
  for (const std::string& id : unanswered) {
    int64_t written = 0;
    for (auto type = stats["identifiersWritten"].begin(); type != stats["identifiersWritten"].end();
         ++type) {
      written += type.value().value(id, 0);
    }
    EXPECT_GE(written, 2) << "not pushed again after the restart: " << id;
  }

  // A graceful stop (SIGTERM) exits cleanly.
  const int status = server_->Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(SyncKillE2eTest, GoalEditedInTheEhrComesBackAsARevision) {
  ASSERT_NO_FATAL_FAILURE(
      StartServer({"--host_read_back_interval=200ms", "--operators=Practitioner/ops"}));
  v1::CreateEpisodeRequest create;
  for (auto [who, role] : {std::pair{kTherapist, v1::Participant::THERAPIST},
                           std::pair{kTeen, v1::Participant::CLIENT}}) {
    v1::Participant* p = create.mutable_episode()->add_participants();
    p->set_person(who);
    p->set_role(role);
  }
  create.mutable_episode()->set_format(v1::Episode::CLIENT_LED);
  create.mutable_episode()->set_modality(v1::Episode::INDIVIDUAL);
  v1::Episode episode;
  ASSERT_TRUE(episodes_->CreateEpisode(As(kTherapist).get(), create, &episode).ok());
  v1::CreateGoalRequest create_goal;
  create_goal.set_parent(episode.name());
  create_goal.mutable_goal()->set_words("Go to school on Mondays");
  v1::Goal goal;
  ASSERT_TRUE(goals_->CreateGoal(As(kTeen).get(), create_goal, &goal).ok());
  nlohmann::json ehr;
  ASSERT_TRUE(WaitFor(
      [&] {
        ehr = EhrResource("Goal", goal.name());
        return !ehr.is_null();
      },
      std::chrono::seconds(30)))
      << "the goal never reached the EHR; see " << server_->log_path();

  // The therapist marks it completed in the chart (the FHIR server records them as author).
  auto edit_in_ehr = [&](const nlohmann::json& resource) {
    host::HttpRequest request;
    request.method = HttpMethod::kPut;
    request.url = fhir_.base_url() + "/Goal/" + resource["id"].get<std::string>();
    request.headers = {{"Content-Type", "application/fhir+json"}, {"X-Test-Author", kTherapist}};
    request.body = resource.dump();
    absl::StatusOr<host::HttpResponse> response = fhir_.transport()->Send(request);
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->status, 200) << response->body;
  };
  ehr["lifecycleStatus"] = "completed";
  ASSERT_NO_FATAL_FAILURE(edit_in_ehr(ehr));
  auto latest = [&] {
    v1::GetGoalRequest get;
    get.set_name(goal.name());
    v1::Goal g;
    EXPECT_TRUE(goals_->GetGoal(As(kTeen).get(), get, &g).ok());
    return g;
  };
  ASSERT_TRUE(
      WaitFor([&] { return latest().status() == v1::Goal::ACHIEVED; }, std::chrono::seconds(30)))
      << "the EHR's change never came back; see " << server_->log_path();
  v1::Goal back = latest();
  EXPECT_EQ(back.meta().revision(), 2);
  EXPECT_EQ(back.meta().updated_by(), kTherapist);
  EXPECT_EQ(back.words(), goal.words());

  // The therapist rewrites the client's words in the chart: never applied, listed as a
  // conflict for IT.
  ASSERT_TRUE(WaitFor(
      [&] {
        ehr = EhrResource("Goal", goal.name());
        return !ehr.is_null() && ehr.value("lifecycleStatus", "") == "completed" &&
               ehr.value("achievementStatus", nlohmann::json::object()).dump().find("achieved") !=
                   std::string::npos;
      },
      std::chrono::seconds(30)));
  ehr["description"]["text"] = "Go to school";
  ASSERT_NO_FATAL_FAILURE(edit_in_ehr(ehr));
  v1::SyncStatus status;
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::Status s = sync_->GetSyncStatus(As("Practitioner/ops").get(), {}, &status);
        if (!s.ok()) return false;
        for (const v1::HostSyncStatus& h : status.hosts()) {
          if (absl::EndsWith(h.host(), "#from-ehr") && h.parked() == 1) return true;
        }
        return false;
      },
      std::chrono::seconds(30)))
      << status.DebugString();
  for (const v1::HostSyncStatus& h : status.hosts()) {
    if (!absl::EndsWith(h.host(), "#from-ehr")) continue;
    ASSERT_EQ(h.parked_changes_size(), 1);
    EXPECT_EQ(h.parked_changes(0).name(), goal.name());
    EXPECT_EQ(h.parked_changes(0).code(), "PERMISSION_DENIED");
  }
  EXPECT_EQ(latest().words(), goal.words());
  EXPECT_EQ(latest().meta().revision(), 2);
}

}  // namespace
}  // namespace collabcare
