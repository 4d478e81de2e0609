// End to end: the real collabcare-server binary on a free loopback port, a family-therapy
// session over gRPC, SIGKILL mid-way, restart, and checks that every acknowledged write
// survived and WatchEpisode resumes from the last sequence seen.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "collabcare/v1/episode_service.grpc.pb.h"
#include "collabcare/v1/goal_service.grpc.pb.h"
#include "collabcare/v1/hypothesis_service.grpc.pb.h"
#include "collabcare/v1/review_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "plugin/identity/identity.h"
#include "tests/testing/server_process.h"

namespace collabcare {
namespace {

namespace v1 = ::collabcare::v1;
using ::testing::SizeIs;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kTeen[] = "Patient/1";
constexpr char kMother[] = "RelatedPerson/2";
constexpr char kFather[] = "RelatedPerson/3";

// One running collabcare-server process (--dev) and a gRPC channel to it.
class ServerProcess {
 public:
  explicit ServerProcess(
      const std::string& data_dir, std::vector<std::string> extra_args = {},
      std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials(),
      grpc::ChannelArguments channel_args = {})
      : process_(COLLABCARE_SERVER_BINARY, data_dir, WithDefaults(std::move(extra_args))),
        credentials_(std::move(credentials)),
        channel_args_(std::move(channel_args)) {}

  void Start() {
    ASSERT_NO_FATAL_FAILURE(process_.Start());
    channel_ = Connect(credentials_);
    ASSERT_TRUE(
        channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  }

  // Sends `signal` and reaps the process; returns its wait status.
  int Kill(int signal) { return process_.Kill(signal); }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // A new channel to the running server with other credentials.
  std::shared_ptr<grpc::Channel> Connect(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    return grpc::CreateCustomChannel(process_.address(), credentials, channel_args_);
  }

 private:
  static std::vector<std::string> WithDefaults(std::vector<std::string> args) {
    args.insert(args.begin(), {"--dev", "--log_level=warning"});
    return args;
  }

  testutil::ServerProcess process_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  grpc::ChannelArguments channel_args_;
  std::shared_ptr<grpc::Channel> channel_;
};

class FamilySessionE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/collabcare-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    server_ = std::make_unique<ServerProcess>(dir_);
    ASSERT_NO_FATAL_FAILURE(server_->Start());
    auto dev = identity::LoadDevIdentity(dir_);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *dev;
    Connect();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Connect() {
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

  std::string dir_;
  identity::DevIdentity dev_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::EpisodeService::Stub> episodes_;
  std::unique_ptr<v1::GoalService::Stub> goals_;
  std::unique_ptr<v1::HypothesisService::Stub> hypotheses_;
  std::unique_ptr<v1::ReviewService::Stub> reviews_;
};

TEST_F(FamilySessionE2eTest, SurvivesSigkillAndResumesWatching) {
  // The therapist opens a family episode with a teenager and both parents.
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
  create.set_request_id("open-episode");
  v1::Episode episode;
  ASSERT_TRUE(episodes_->CreateEpisode(As(kTherapist).get(), create, &episode).ok());

  // The therapist watches the episode from the start.
  std::mutex mu;
  int64_t last_seen = 0;
  std::vector<int64_t> seen;
  auto watch_ctx = As(kTherapist);
  watch_ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  v1::WatchEpisodeRequest watch;
  watch.set_name(episode.name());
  auto stream = episodes_->WatchEpisode(watch_ctx.get(), watch);
  std::thread watcher([&] {
    v1::EpisodeEvent event;
    while (stream->Read(&event)) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(event.sequence());
      last_seen = event.sequence();
    }
  });

  // Each parent writes goals of their own, in their own words, continuously; every goal the
  // server acknowledged is remembered with the request id that wrote it.
  std::map<std::string, std::string> acked;  // request_id -> goal name
  std::mutex acked_mu;
  std::atomic<bool> stop{false};
  auto write_goals = [&](const char* who) {
    for (int i = 0; !stop.load() && i < 10000; ++i) {
      v1::CreateGoalRequest req;
      req.set_parent(episode.name());
      req.mutable_goal()->set_words(std::string(who) + " hopes for calmer evenings #" +
                                    std::to_string(i));
      req.set_request_id(std::string(who == kMother ? "m-" : "f-") + std::to_string(i));
      v1::Goal goal;
      if (goals_->CreateGoal(As(who).get(), req, &goal).ok()) {
        std::lock_guard<std::mutex> lock(acked_mu);
        acked[req.request_id()] = goal.name();
      }
    }
  };
  std::thread mother(write_goals, kMother);
  std::thread father(write_goals, kFather);
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard<std::mutex> lock(acked_mu);
    if (acked.size() >= 40) break;
  }
  // Kill the server mid-write: nothing acknowledged may be lost.
  EXPECT_TRUE(WIFSIGNALED(server_->Kill(SIGKILL)));
  stop = true;
  mother.join();
  father.join();
  watcher.join();
  const size_t acked_before_crash = acked.size();
  ASSERT_GE(acked_before_crash, 40u);

  ASSERT_NO_FATAL_FAILURE(server_->Start());
  Connect();
  v1::ListGoalsRequest list;
  list.set_parent(episode.name());
  list.set_page_size(200);
  std::map<std::string, v1::Goal> stored;
  do {
    v1::ListGoalsResponse page;
    ASSERT_TRUE(goals_->ListGoals(As(kTherapist).get(), list, &page).ok());
    for (const v1::Goal& g : page.goals()) stored[g.name()] = g;
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  for (const auto& [request_id, name] : acked) {
    EXPECT_TRUE(stored.count(name)) << "acknowledged goal lost: " << request_id;
  }
  // Retrying an acknowledged request returns the same goal and writes nothing new.
  const auto& [retry_id, retry_name] = *acked.begin();
  v1::CreateGoalRequest retry;
  retry.set_parent(episode.name());
  const bool mother_wrote = retry_id[0] == 'm';
  retry.mutable_goal()->set_words(std::string(mother_wrote ? kMother : kFather) +
                                  " hopes for calmer evenings #" + retry_id.substr(2));
  retry.set_request_id(retry_id);
  v1::Goal replayed;
  ASSERT_TRUE(
      goals_->CreateGoal(As(mother_wrote ? kMother : kFather).get(), retry, &replayed).ok());
  EXPECT_EQ(replayed.name(), retry_name);

  // The watcher resumes exactly after the last sequence it saw: no gap, no repeat.
  int64_t resume_from;
  {
    std::lock_guard<std::mutex> lock(mu);
    resume_from = last_seen;
    ASSERT_FALSE(seen.empty());
    for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<int64_t>(i + 1));
  }
  // At least one event after it: whatever the watcher missed while the server died, or this.
  v1::CreateGoalRequest after_restart;
  after_restart.set_parent(episode.name());
  after_restart.mutable_goal()->set_words("sleep in our own beds");
  v1::Goal written;
  ASSERT_TRUE(goals_->CreateGoal(As(kMother).get(), after_restart, &written).ok());
  auto resume_ctx = As(kTherapist);
  watch.set_after_sequence(resume_from);
  auto resumed = episodes_->WatchEpisode(resume_ctx.get(), watch);
  v1::EpisodeEvent next;
  ASSERT_TRUE(resumed->Read(&next));
  EXPECT_EQ(next.sequence(), resume_from + 1);
  resume_ctx->TryCancel();
  while (resumed->Read(&next)) {
  }

  // The session goes on: a hypothesis for the whole family, answered differently by each.
  v1::ShareHypothesisRequest share;
  share.set_parent(episode.name());
  share.mutable_hypothesis()->set_kind(v1::Hypothesis::THEORETICAL);
  share.mutable_hypothesis()->set_text(
      "I am wondering whether the evenings carry the worries of the whole day");
  share.mutable_hypothesis()->set_tentativeness(v1::Hypothesis::CONSIDERING);
  v1::Hypothesis h;
  ASSERT_TRUE(hypotheses_->ShareHypothesis(As(kTherapist).get(), share, &h).ok());
  auto respond = [&](const char* who, v1::HypothesisResponse::Stance stance) {
    v1::RespondToHypothesisRequest req;
    req.set_name(h.name());
    req.set_stance(stance);
    req.set_words("in my words");
    ASSERT_TRUE(hypotheses_->RespondToHypothesis(As(who).get(), req, &h).ok());
  };
  respond(kMother, v1::HypothesisResponse::FITS);
  respond(kFather, v1::HypothesisResponse::DOES_NOT_FIT);
  ASSERT_THAT(h.responses(), SizeIs(2));
  EXPECT_NE(h.responses(0).stance(), h.responses(1).stance());

  // A graceful stop (SIGTERM) exits cleanly.
  const int status = server_->Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(FamilySessionE2eTest, ServesHealthChecks) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, {}, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// Real TLS and mutual TLS with certificates made by the openssl command for this test.
class TlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/collabcare-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const std::string script = "cd " + dir_ + R"( && {
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=collabcare-test-ca -keyout ca.key -out ca.crt &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout server.key -out server.csr &&
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext &&
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile san.ext -out server.crt &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=sync-worker \
        -keyout client.key -out client.csr &&
      openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -out client.crt; } >/dev/null 2>&1)";
    ASSERT_EQ(std::system(script.c_str()), 0) << "openssl failed";
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Read(const std::string& file) {
    std::ifstream in(dir_ + "/" + file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  bool Healthy(const std::shared_ptr<grpc::Channel>& channel) {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse resp;
    return health->Check(&ctx, {}, &resp).ok() &&
           resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }

  // The certificate names `localhost`; the channel dials 127.0.0.1.
  static grpc::ChannelArguments LocalhostName() {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return args;
  }

  std::string dir_;
};

TEST_F(TlsE2eTest, ServesTlsAndRequiresClientCertificatesForMutualTls) {
  grpc::SslCredentialsOptions with_cert{Read("ca.crt"), Read("client.key"), Read("client.crt")};
  grpc::SslCredentialsOptions without_cert{Read("ca.crt"), "", ""};
  ServerProcess server(dir_,
                       {"--tls_cert=" + dir_ + "/server.crt", "--tls_key=" + dir_ + "/server.key",
                        "--tls_client_ca=" + dir_ + "/ca.crt"},
                       grpc::SslCredentials(with_cert), LocalhostName());
  ASSERT_NO_FATAL_FAILURE(server.Start());
  EXPECT_TRUE(Healthy(server.channel()));
  EXPECT_FALSE(Healthy(server.Connect(grpc::SslCredentials(without_cert))));
  EXPECT_FALSE(Healthy(server.Connect(grpc::InsecureChannelCredentials())));
  // A client that does not trust the server's CA refuses to talk to it.
  grpc::SslCredentialsOptions wrong_ca{Read("client.crt"), Read("client.key"), Read("client.crt")};
  EXPECT_FALSE(Healthy(server.Connect(grpc::SslCredentials(wrong_ca))));
}

TEST_F(TlsE2eTest, ServesTlsWithoutClientCertificates) {
  grpc::SslCredentialsOptions trust{Read("ca.crt"), "", ""};
  ServerProcess server(dir_,
                       {"--tls_cert=" + dir_ + "/server.crt", "--tls_key=" + dir_ + "/server.key"},
                       grpc::SslCredentials(trust), LocalhostName());
  ASSERT_NO_FATAL_FAILURE(server.Start());
  EXPECT_TRUE(Healthy(server.channel()));
  EXPECT_FALSE(Healthy(server.Connect(grpc::InsecureChannelCredentials())));
}

}  // namespace
}  // namespace collabcare
