// End to end: the real collabcare-server (--host_profile=fhir-r4) pushing a family session to
// the real FHIR test server, which answers slowly; SIGKILL while a push is applied but not yet
// answered, restart on the same data dir, and check that every record is in the EHR exactly once.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/fhir/canonical.h"
#include "adapters/host/fhir_client.h"
#include "collabcare/v1/episode_service.grpc.pb.h"
#include "collabcare/v1/goal_service.grpc.pb.h"
#include "collabcare/v1/hypothesis_service.grpc.pb.h"
#include "collabcare/v1/review_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/common/clock.h"
#include "plugin/identity/identity.h"
#include "tests/sync/sync_test_util.h"

extern char** environ;

namespace collabcare {
namespace {

namespace v1 = ::collabcare::v1;
using host::HttpMethod;
using host::testutil::FhirTestServer;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kTeen[] = "Patient/1";
constexpr char kMother[] = "RelatedPerson/2";
constexpr char kFather[] = "RelatedPerson/3";

// Polls `done` every 20 ms for at most `limit`; whether it became true. Waits, never asserts.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// One collabcare-server process syncing to `fhir_base_url`, logging (info) to
// <data_dir>/server.log.
class ServerProcess {
 public:
  ServerProcess(std::string data_dir, std::string fhir_base_url)
      : data_dir_(std::move(data_dir)), fhir_base_url_(std::move(fhir_base_url)) {}
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { Kill(SIGKILL); }

  void Start() {
    const std::string port_file = data_dir_ + "/port";
    std::filesystem::remove(port_file);
    std::vector<std::string> args = {
        COLLABCARE_SERVER_BINARY,   "--dev",
        "--data_dir=" + data_dir_,  "--listen=127.0.0.1:0",
        "--port_file=" + port_file, "--log_level=info",
        "--host_profile=fhir-r4",   "--host_base_url=" + fhir_base_url_};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    WaitFor(
        [&] {
          std::ifstream in(port_file);
          if (!(in >> port_)) port_ = 0;
          return port_ != 0;
        },
        std::chrono::seconds(10));
    ASSERT_NE(port_, 0) << "server did not start; see " << log_path();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    ASSERT_TRUE(
        channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  }

  // Sends `signal` and reaps the process; returns its wait status.
  int Kill(int signal) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    port_ = 0;
    return status;
  }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string log_path() const { return data_dir_ + "/server.log"; }

  // The JSON log lines with event `event` after byte `offset` of the log.
  std::vector<nlohmann::json> LogEvents(std::streamoff offset, const std::string& event) const {
    std::ifstream in(log_path());
    in.seekg(offset);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("event", "") == event) out.push_back(std::move(j));
    }
    return out;
  }
  std::streamoff LogSize() const {
    std::error_code ec;
    const auto size = std::filesystem::file_size(log_path(), ec);
    return ec ? 0 : static_cast<std::streamoff>(size);
  }

 private:
  std::string data_dir_;
  std::string fhir_base_url_;
  pid_t pid_ = -1;
  int port_ = 0;
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

  void StartServer() {
    server_ = std::make_unique<ServerProcess>(dir_, fhir_.base_url());
    ASSERT_NO_FATAL_FAILURE(server_->Start());
    auto dev = identity::LoadDevIdentity(dir_);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *dev;
    episodes_ = v1::EpisodeService::NewStub(server_->channel());
    goals_ = v1::GoalService::NewStub(server_->channel());
    hypotheses_ = v1::HypothesisService::NewStub(server_->channel());
    reviews_ = v1::ReviewService::NewStub(server_->channel());
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

}  // namespace
}  // namespace collabcare
