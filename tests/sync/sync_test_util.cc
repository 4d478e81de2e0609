// Helpers for the sync tests (see sync_test_util.h).
#include "tests/sync/sync_test_util.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/fhir/golden_cases.h"

namespace collabcare::host::testutil {

void CommitRecord(store::Store& store, store::RecordKind kind, const std::string& name,
                  const google::protobuf::MessageLite& record) {
  absl::StatusOr<store::RecordRevision> latest = store.GetLatest(name);
  const int64_t revision = latest.ok() ? latest->revision + 1 : 1;
  // "episodes/e1/…" → "e1".
  std::string episode_id = name.substr(sizeof("episodes/") - 1);
  episode_id = episode_id.substr(0, episode_id.find('/'));
  store::Mutation m;
  m.record = {.name = name,
              .episode_id = episode_id,
              .kind = kind,
              .revision = revision,
              .time = absl::FromUnixSeconds(1790000000 + revision),
              .actor = "Practitioner/9",
              .data = record.SerializeAsString()};
  m.event_kind = 2;
  m.audit = {.time = m.record.time,
             .actor = "Practitioner/9",
             .action = "collabcare.v1.Test/Write",
             .resource = name,
             .episode_id = episode_id,
             .outcome = 0,
             .request_id = ""};
  ASSERT_TRUE(store.Commit(m).ok()) << name;
}

int CommitDemoSession(store::Store& store) {
  using store::RecordKind;
  int n = 0;
  v1::Episode episode = fhir::testing::FamilyEpisode();
  CommitRecord(store, RecordKind::kEpisode, episode.name(), episode);
  ++n;
  for (const v1::Goal& goal : fhir::testing::FamilyGoals()) {
    CommitRecord(store, RecordKind::kGoal, goal.name(), goal);
    ++n;
  }
  v1::Hypothesis hypothesis = fhir::testing::ProfessionalHypothesis();
  CommitRecord(store, RecordKind::kHypothesis, hypothesis.name(), hypothesis);
  ++n;
  v1::Review review = fhir::testing::SignedReview();
  CommitRecord(store, RecordKind::kReview, review.name(), review);
  ++n;
  return n;
}

int CommitEpisodes(store::Store& store, int episodes, int rounds) {
  using store::RecordKind;
  const v1::Episode family = fhir::testing::FamilyEpisode();
  const std::string old_prefix = family.name() + "/";
  std::vector<std::vector<v1::Goal>> goals(episodes);
  int n = 0;
  for (int e = 0; e < episodes; ++e) {
    v1::Episode episode = family;
    episode.set_name(absl::StrCat("episodes/p", e + 1));
    CommitRecord(store, RecordKind::kEpisode, episode.name(), episode);
    ++n;
    for (v1::Goal goal : fhir::testing::FamilyGoals()) {
      goal.set_name(absl::StrCat(episode.name(), "/", goal.name().substr(old_prefix.size())));
      goals[e].push_back(goal);
    }
  }
  for (int round = 0; round <= rounds; ++round) {
    for (size_t g = 0; g < goals[0].size(); ++g) {
      for (int e = 0; e < episodes; ++e) {
        v1::Goal& goal = goals[e][g];
        if (round > 0) goal.mutable_meta()->set_revision(goal.meta().revision() + 1);
        CommitRecord(store, RecordKind::kGoal, goal.name(), goal);
        ++n;
      }
    }
  }
  return n;
}

absl::Status ConcurrentSink::Push(const store::OutboxEntry& entry,
                                  const std::vector<fhir::FhirResource>& resources) {
  (void)resources;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
  }
  cv_.notify_all();
  absl::Status status = during_push ? during_push(entry) : absl::OkStatus();
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (status.ok()) {
      pushed_.push_back(entry.id);
      by_episode_[entry.episode_id].push_back(entry.id);
    }
  }
  cv_.notify_all();
  return status;
}

std::vector<int64_t> ConcurrentSink::pushed_ids() {
  std::lock_guard<std::mutex> lock(mu_);
  return pushed_;
}

std::map<std::string, std::vector<int64_t>> ConcurrentSink::by_episode() {
  std::lock_guard<std::mutex> lock(mu_);
  return by_episode_;
}

int ConcurrentSink::max_in_flight() {
  std::lock_guard<std::mutex> lock(mu_);
  return max_in_flight_;
}

bool ConcurrentSink::WaitForPushes(size_t n, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return pushed_.size() >= n; });
}

bool FakeSleeper::SleepFor(absl::Duration d) {
  int calls = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (interrupted_) return false;
    sleeps_.push_back(d);
    calls = static_cast<int>(sleeps_.size());
  }
  clock_->Advance(d);
  if (on_sleep) on_sleep(calls);
  std::lock_guard<std::mutex> lock(mu_);
  return !interrupted_;
}

void FakeSleeper::Interrupt() {
  std::lock_guard<std::mutex> lock(mu_);
  interrupted_ = true;
}

std::vector<absl::Duration> FakeSleeper::sleeps() {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeps_;
}

absl::Status ScriptedSink::Push(const store::OutboxEntry& entry,
                                const std::vector<fhir::FhirResource>& resources) {
  ++attempts;
  if (!failures_.empty() && failures_.front().first == entry.id) {
    absl::Status status = failures_.front().second;
    failures_.pop_front();
    return status;
  }
  pushed_ids.push_back(entry.id);
  std::vector<std::string> types;
  for (const fhir::FhirResource& r : resources) types.push_back(r.type);
  pushed_types.push_back(std::move(types));
  return absl::OkStatus();
}

FhirTestServer::FhirTestServer(std::vector<std::string> flags) {
  char tmpl[] = "/tmp/collabcare-fhir-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  const std::string port_file = dir_ + "/port";
  const std::string log_file = dir_ + "/server.log";
  std::vector<std::string> args = {std::string(FHIR_TEST_SERVER_DIR) + "/node.sh", "server.mjs",
                                   "--port-file", port_file};
  args.insert(args.end(), flags.begin(), flags.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::chdir(FHIR_TEST_SERVER_DIR) != 0) ::_exit(127);
    FILE* log = std::fopen(log_file.c_str(), "w");
    if (log != nullptr) {
      ::dup2(fileno(log), 1);
      ::dup2(fileno(log), 2);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // The server needs 1-2 s to load the FHIR definitions; poll for its port file (30 s at most).
  for (int i = 0; i < 600 && port_ == 0; ++i) {
    std::ifstream in(port_file);
    if (!(in >> port_)) port_ = 0;
    if (port_ != 0) break;
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port_ == 0) {
    std::ifstream log(log_file);
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    ADD_FAILURE() << "FHIR test server did not start:\n" << text;
  }
  CurlTransportOptions options;
  options.total_timeout = absl::Seconds(20);
  transport_ = NewCurlTransport(options).value();
}

FhirTestServer::~FhirTestServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int wstatus = 0;
    ::waitpid(pid_, &wstatus, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string FhirTestServer::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_, "/fhir/R4");
}

nlohmann::json FhirTestServer::Control(HttpMethod method, const std::string& path,
                                       const std::string& body) {
  HttpRequest request;
  request.method = method;
  request.url = absl::StrCat("http://127.0.0.1:", port_, "/_control/", path);
  request.body = body;
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  absl::StatusOr<HttpResponse> response = transport_->Send(request);
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return nullptr;
  EXPECT_LT(response->status, 300) << path << ": " << response->body;
  return nlohmann::json::parse(response->body, nullptr, false);
}

}  // namespace collabcare::host::testutil
