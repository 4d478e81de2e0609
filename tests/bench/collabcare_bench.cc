// collabcare_bench: measures collabcare-server's write and read RPCs side by side with a bare
// gRPC echo server on the same machine, as DESIGN.md's performance targets ask.
//
// Both servers run as child processes on loopback. Every cell keeps C calls in flight for a
// fixed time and reports QPS, p50/p99 latency and the ratio to the echo server at the same C.
// The targets are printed as information; the exit status is non-zero only when the benchmark
// could not run or an RPC failed (which is what the `bench_smoke` CTest checks).
#include <sys/vfs.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collabcare/bench/v1/echo.grpc.pb.h"
#include "collabcare/v1/episode_service.grpc.pb.h"
#include "collabcare/v1/goal_service.grpc.pb.h"
#include "collabcare/v1/review_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "plugin/common/status_macros.h"
#include "plugin/identity/identity.h"
#include "tests/bench/child_process.h"
#include "tests/bench/load.h"

#ifndef COLLABCARE_BENCH_SERVER_BINARY
#define COLLABCARE_BENCH_SERVER_BINARY "collabcare-server"
#endif
#ifndef COLLABCARE_BENCH_ECHO_BINARY
#define COLLABCARE_BENCH_ECHO_BINARY "bench_echo_server"
#endif

ABSL_FLAG(double, seconds, 4, "measured seconds per cell");
ABSL_FLAG(double, warmup_seconds, 1, "warm-up seconds per cell, before measuring");
ABSL_FLAG(std::vector<std::string>, concurrency, std::vector<std::string>({"1", "16", "64"}),
          "calls in flight, one cell per value");
ABSL_FLAG(bool, smoke, false,
          "a quick functional run for CI: 0.3 s per cell, C = 1 and 16; timings mean nothing");
ABSL_FLAG(std::vector<std::string>, workloads, {},
          "run only these of echo, create_goal, submit_ratings, get_goal, list_goals (echo, "
          "the baseline, always runs)");
ABSL_FLAG(int, polling_threads, 2, "completion-queue threads of the load generator");
ABSL_FLAG(int, payload_bytes, 300, "size of the echo payload and of a goal's text");
ABSL_FLAG(int, goals, 20, "goals in the episode that GetGoal and ListGoals read");
ABSL_FLAG(int, reviews, 64, "reviews that SubmitRatings spreads its calls over");
ABSL_FLAG(std::string, server_binary, COLLABCARE_BENCH_SERVER_BINARY, "collabcare-server");
ABSL_FLAG(std::string, echo_binary, COLLABCARE_BENCH_ECHO_BINARY, "bench_echo_server");
ABSL_FLAG(std::string, tmp_dir, "",
          "where the fresh data folder is made (default $TMPDIR or /tmp); put it on the disk "
          "you deploy on, since durable writes wait for fsync");
ABSL_FLAG(bool, keep_data, false, "keep the data folder and server logs after the run");

namespace collabcare::bench {
namespace {

namespace v1 = ::collabcare::v1;
namespace echo = ::collabcare::bench::v1;

// The concurrency DESIGN.md's targets are stated at, and the targets themselves.
constexpr int kTargetConcurrency = 64;
constexpr double kWriteTarget = 0.50;
constexpr double kReadTarget = 0.70;
// No single call should take this long; a call that does counts as an error.
constexpr absl::Duration kCallDeadline = absl::Seconds(30);
constexpr absl::Duration kStartupTimeout = absl::Seconds(20);
// statfs(2) magic of tmpfs, where fsync costs nothing.
constexpr long kTmpfsMagic = 0x01021994;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";

enum class Kind { kBaseline, kWrite, kRead };
// In the order they run; MakeWorkloads builds them.
constexpr absl::string_view kWorkloadNames[] = {"echo", "create_goal", "submit_ratings", "get_goal",
                                                "list_goals"};

struct Workload {
  std::string name;
  Kind kind;
  const ChildProcess* server;  // whose CPU use is reported
  std::function<std::unique_ptr<Slot>()> new_slot;
};

struct Settings {
  absl::Duration warmup;
  absl::Duration measure;
  std::vector<int> concurrency;
  int polling_threads;
  int payload_bytes;
  int goals;
  int reviews;
  std::vector<std::string> only;  // workloads to run; empty runs all
};

absl::StatusOr<Settings> ReadSettings() {
  Settings s;
  s.polling_threads = absl::GetFlag(FLAGS_polling_threads);
  s.payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
  s.goals = absl::GetFlag(FLAGS_goals);
  s.reviews = std::max(1, absl::GetFlag(FLAGS_reviews));
  s.only = absl::GetFlag(FLAGS_workloads);
  for (const std::string& name : s.only) {
    if (std::find(std::begin(kWorkloadNames), std::end(kWorkloadNames), name) ==
        std::end(kWorkloadNames)) {
      return absl::InvalidArgumentError(absl::StrCat("--workloads: no workload named ", name));
    }
  }
  if (absl::GetFlag(FLAGS_smoke)) {
    s.warmup = absl::Milliseconds(100);
    s.measure = absl::Milliseconds(300);
    s.concurrency = {1, 16};
    return s;
  }
  s.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds));
  s.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  for (const std::string& value : absl::GetFlag(FLAGS_concurrency)) {
    int c = 0;
    if (!absl::SimpleAtoi(value, &c) || c < 1 || c > 10000) {
      return absl::InvalidArgumentError("--concurrency: want numbers between 1 and 10000");
    }
    s.concurrency.push_back(c);
  }
  if (s.concurrency.empty()) return absl::InvalidArgumentError("--concurrency: empty");
  if (s.measure <= absl::ZeroDuration() || s.warmup < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--seconds must be positive, --warmup_seconds not negative");
  }
  if (s.polling_threads < 1 || s.payload_bytes < 1 || s.goals < 1 || s.goals > 200) {
    return absl::InvalidArgumentError("--polling_threads, --payload_bytes, --goals out of range");
  }
  return s;
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

// Plain text of exactly `bytes` bytes, standing in for a person's words.
std::string Words(size_t bytes) {
  static constexpr absl::string_view kSentence =
      "I want to cook dinner with my kids on weekdays again and feel calm while we do it. ";
  std::string text;
  while (text.size() < bytes) absl::StrAppend(&text, kSentence);
  text.resize(bytes);
  return text;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& authorization) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", authorization);
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(kCallDeadline));
  return context;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(int port) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    return absl::UnavailableError(absl::StrCat("cannot connect to 127.0.0.1:", port));
  }
  return channel;
}

// The records the workloads act on.
struct Fixture {
  std::string read_episode;  // `goals` goals and one review: GetGoal, ListGoals, SubmitRatings
  std::vector<std::string> goals;
  // One review per in-flight call: concurrent ratings come from different people in different
  // episodes' reviews, not all into one review (those queue on the review's write lock).
  std::vector<std::string> reviews;
  std::vector<std::string> review_goals;
  // CreateGoal grows this episode, so the read episode keeps its size.
  std::string write_episode;
};

absl::StatusOr<std::string> CreateEpisode(v1::EpisodeService::Stub& episodes,
                                          const std::string& therapist_auth,
                                          const std::string& request_id) {
  v1::CreateEpisodeRequest request;
  v1::Episode* episode = request.mutable_episode();
  v1::Participant* therapist = episode->add_participants();
  therapist->set_person(kTherapist);
  therapist->set_role(v1::Participant::THERAPIST);
  therapist->set_display("Therapist");
  v1::Participant* client = episode->add_participants();
  client->set_person(kClient);
  client->set_role(v1::Participant::CLIENT);
  client->set_display("Client");
  episode->set_format(v1::Episode::CLIENT_LED);
  episode->set_modality(v1::Episode::INDIVIDUAL);
  request.set_request_id(request_id);
  v1::Episode response;
  RETURN_IF_ERROR(FromGrpc(
      episodes.CreateEpisode(Context(therapist_auth).get(), request, &response), "CreateEpisode"));
  return response.name();
}

absl::StatusOr<Fixture> CreateFixture(const std::shared_ptr<grpc::Channel>& channel,
                                      const Settings& settings, const std::string& therapist_auth,
                                      const std::string& client_auth) {
  auto episodes = v1::EpisodeService::NewStub(channel);
  auto goals = v1::GoalService::NewStub(channel);
  auto reviews = v1::ReviewService::NewStub(channel);
  Fixture fixture;
  ASSIGN_OR_RETURN(fixture.read_episode, CreateEpisode(*episodes, therapist_auth, "setup-read"));
  ASSIGN_OR_RETURN(fixture.write_episode, CreateEpisode(*episodes, therapist_auth, "setup-write"));
  for (int i = 0; i < settings.goals; ++i) {
    v1::CreateGoalRequest request;
    request.set_parent(fixture.read_episode);
    request.mutable_goal()->set_words(Words(settings.payload_bytes * 2 / 3));
    request.mutable_goal()->set_everyday_signs(Words(settings.payload_bytes / 3));
    request.mutable_goal()->set_priority(i + 1);
    request.set_request_id(absl::StrCat("setup-goal-", i));
    v1::Goal goal;
    RETURN_IF_ERROR(FromGrpc(goals->CreateGoal(Context(client_auth).get(), request, &goal),
                             "CreateGoal (setup)"));
    fixture.goals.push_back(goal.name());
  }
  // Reviews of three goals, as with Goal-Based Outcomes (up to three goals rated 0–10).
  for (int i = 0; i < settings.reviews; ++i) {
    v1::StartReviewRequest start;
    start.set_parent(fixture.read_episode);
    for (size_t g = 0; g < fixture.goals.size() && g < 3; ++g) {
      start.mutable_review()->add_goals(fixture.goals[g]);
    }
    start.set_request_id(absl::StrCat("setup-review-", i));
    v1::Review review;
    RETURN_IF_ERROR(FromGrpc(reviews->StartReview(Context(therapist_auth).get(), start, &review),
                             "StartReview"));
    fixture.reviews.push_back(review.name());
    fixture.review_goals.assign(review.goals().begin(), review.goals().end());
  }
  if (fixture.review_goals.empty()) return absl::InternalError("StartReview: review has no goals");
  return fixture;
}

// Unique request ids for the whole run (the data folder is fresh, so unique within it).
std::string NextRequestId() {
  static std::atomic<uint64_t> next{0};
  return absl::StrCat("bench-", next.fetch_add(1, std::memory_order_relaxed));
}

template <typename Request, typename Response>
std::unique_ptr<Slot> MakeSlot(const std::string& authorization,
                               typename UnarySlot<Request, Response>::StartCall start_call,
                               typename UnarySlot<Request, Response>::Fill fill) {
  return std::make_unique<UnarySlot<Request, Response>>(authorization, kCallDeadline,
                                                        std::move(start_call), std::move(fill));
}

std::vector<Workload> MakeWorkloads(const std::shared_ptr<grpc::Channel>& echo_channel,
                                    const ChildProcess& echo_server,
                                    const std::shared_ptr<grpc::Channel>& channel,
                                    const ChildProcess& server, const Fixture& fixture,
                                    const Settings& settings, const std::string& client_auth) {
  std::shared_ptr<echo::EchoService::Stub> echo_stub = echo::EchoService::NewStub(echo_channel);
  std::shared_ptr<v1::GoalService::Stub> goals = v1::GoalService::NewStub(channel);
  std::shared_ptr<v1::ReviewService::Stub> reviews = v1::ReviewService::NewStub(channel);
  const std::string payload(static_cast<size_t>(settings.payload_bytes), 'x');
  const std::string words = Words(settings.payload_bytes * 2 / 3);
  const std::string signs = Words(settings.payload_bytes / 3);
  std::vector<Workload> workloads;

  workloads.push_back(
      {"echo", Kind::kBaseline, &echo_server, [=] {
         return MakeSlot<echo::EchoMessage, echo::EchoMessage>(
             client_auth,
             [echo_stub](grpc::ClientContext* c, const echo::EchoMessage& r,
                         grpc::CompletionQueue* cq) { return echo_stub->AsyncEcho(c, r, cq); },
             [payload](echo::EchoMessage& r) { r.set_payload(payload); });
       }});

  // The client writes a goal of their own; each call is a new goal (a fresh request_id).
  workloads.push_back(
      {"create_goal", Kind::kWrite, &server, [=, &fixture] {
         return MakeSlot<v1::CreateGoalRequest, v1::Goal>(
             client_auth,
             [goals](grpc::ClientContext* c, const v1::CreateGoalRequest& r,
                     grpc::CompletionQueue* cq) { return goals->AsyncCreateGoal(c, r, cq); },
             [&fixture, words, signs](v1::CreateGoalRequest& r) {
               r.set_parent(fixture.write_episode);
               r.mutable_goal()->set_words(words);
               r.mutable_goal()->set_everyday_signs(signs);
               r.set_request_id(NextRequestId());
             });
       }});

  // The client rates one goal of a review, cycling through the goals and scores; each call is
  // a new revision of that review. Each in-flight call has its own review.
  auto next_review = std::make_shared<std::atomic<size_t>>(0);
  workloads.push_back(
      {"submit_ratings", Kind::kWrite, &server, [=, &fixture] {
         const std::string review =
             fixture.reviews[next_review->fetch_add(1) % fixture.reviews.size()];
         return MakeSlot<v1::SubmitRatingsRequest, v1::Review>(
             client_auth,
             [reviews](grpc::ClientContext* c, const v1::SubmitRatingsRequest& r,
                       grpc::CompletionQueue* cq) { return reviews->AsyncSubmitRatings(c, r, cq); },
             [&fixture, review, n = uint64_t{0}](v1::SubmitRatingsRequest& r) mutable {
               r.set_name(review);
               r.clear_ratings();
               v1::Rating* rating = r.add_ratings();
               rating->set_goal(fixture.review_goals[n % fixture.review_goals.size()]);
               rating->set_score(static_cast<double>(n % 11));
               r.set_request_id(NextRequestId());
               ++n;
             });
       }});

  workloads.push_back(
      {"get_goal", Kind::kRead, &server, [=, &fixture] {
         return MakeSlot<v1::GetGoalRequest, v1::Goal>(
             client_auth,
             [goals](grpc::ClientContext* c, const v1::GetGoalRequest& r,
                     grpc::CompletionQueue* cq) { return goals->AsyncGetGoal(c, r, cq); },
             [&fixture, n = size_t{0}](v1::GetGoalRequest& r) mutable {
               r.set_name(fixture.goals[n++ % fixture.goals.size()]);
             });
       }});

  workloads.push_back(
      {"list_goals", Kind::kRead, &server, [=, &fixture] {
         return MakeSlot<v1::ListGoalsRequest, v1::ListGoalsResponse>(
             client_auth,
             [goals](grpc::ClientContext* c, const v1::ListGoalsRequest& r,
                     grpc::CompletionQueue* cq) { return goals->AsyncListGoals(c, r, cq); },
             [&fixture](v1::ListGoalsRequest& r) {
               r.set_parent(fixture.read_episode);
               r.set_page_size(20);
             });
       }});
  return workloads;
}

// The 1-minute load average: other work on the machine skews every cell.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  in >> first;
  return first.empty() ? "unknown" : first;
}

std::string DescribeFilesystem(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0) return "unknown filesystem";
  if (static_cast<long>(fs.f_type) == kTmpfsMagic) {
    return "tmpfs: fsync is free here, so durable-write numbers are optimistic";
  }
  return absl::StrCat("filesystem type 0x", absl::Hex(fs.f_type));
}

// Runs every cell and prints the table; returns the number of failed RPCs.
int64_t RunAll(const std::vector<Workload>& workloads, const Settings& settings) {
  std::printf("%-15s %4s %10s %9s %9s %8s %8s %8s %7s\n", "workload", "C", "QPS", "p50 ms",
              "p99 ms", "vs echo", "cli cpu", "srv cpu", "errors");
  std::map<int, double> echo_qps;
  std::map<std::pair<std::string, int>, double> ratios;
  int64_t total_errors = 0;
  for (const Workload& workload : workloads) {
    for (int c : settings.concurrency) {
      CellOptions options;
      options.concurrency = c;
      options.polling_threads = settings.polling_threads;
      options.warmup = settings.warmup;
      options.measure = settings.measure;
      options.server_cpu = [server = workload.server] {
        absl::StatusOr<absl::Duration> cpu = server->CpuTime();
        return cpu.ok() ? *cpu : absl::ZeroDuration();
      };
      const CellResult r = RunCell(workload.new_slot, options);
      if (workload.kind == Kind::kBaseline) echo_qps[c] = r.qps;
      const double echo = echo_qps.count(c) ? echo_qps[c] : 0;
      const double ratio = echo > 0 ? r.qps / echo : 0;
      ratios[{workload.name, c}] = ratio;
      total_errors += r.errors;
      std::printf("%-15s %4d %10.0f %9.3f %9.3f %8.2f %8.2f %8.2f %7lld%s\n", workload.name.c_str(),
                  c, r.qps, r.p50_ms, r.p99_ms, ratio, r.client_cores, r.server_cores,
                  static_cast<long long>(r.errors),
                  r.errors > 0 ? absl::StrCat("  << ERRORS, first: ", r.first_error).c_str() : "");
      std::fflush(stdout);
    }
  }

  // The targets, as information only.
  const int at =
      std::count(settings.concurrency.begin(), settings.concurrency.end(), kTargetConcurrency) > 0
          ? kTargetConcurrency
          : *std::max_element(settings.concurrency.begin(), settings.concurrency.end());
  std::vector<std::string> writes;
  std::vector<std::string> reads;
  for (const Workload& workload : workloads) {
    if (workload.kind == Kind::kBaseline) continue;
    std::string entry = absl::StrFormat("%s %.2f", workload.name, ratios[{workload.name, at}]);
    (workload.kind == Kind::kWrite ? writes : reads).push_back(std::move(entry));
  }
  std::printf(
      "DESIGN targets at C=%d (writes >= %.2f, reads >= %.2f of echo): writes %s; reads %s%s\n",
      kTargetConcurrency, kWriteTarget, kReadTarget, absl::StrJoin(writes, ", ").c_str(),
      absl::StrJoin(reads, ", ").c_str(),
      at == kTargetConcurrency ? "" : absl::StrCat(" (measured at C=", at, " only)").c_str());
  return total_errors;
}

absl::StatusOr<int64_t> Run() {
  ASSIGN_OR_RETURN(Settings settings, ReadSettings());
  std::string base = absl::GetFlag(FLAGS_tmp_dir);
  if (base.empty()) base = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
  ASSIGN_OR_RETURN(std::unique_ptr<TempDir> dir, TempDir::Create(base));
  const std::string data_dir = absl::StrCat(dir->path(), "/data");

  // Children first, while this process has no threads (fork copies only the caller).
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> echo_server,
                   ChildProcess::Start(absl::GetFlag(FLAGS_echo_binary),
                                       {"--listen=127.0.0.1:0",
                                        absl::StrCat("--port_file=", dir->path(), "/echo.port")},
                                       absl::StrCat(dir->path(), "/echo.port"),
                                       absl::StrCat(dir->path(), "/echo.log"), kStartupTimeout));
  ASSIGN_OR_RETURN(
      std::unique_ptr<ChildProcess> server,
      ChildProcess::Start(absl::GetFlag(FLAGS_server_binary),
                          {"--dev", absl::StrCat("--data_dir=", data_dir), "--listen=127.0.0.1:0",
                           absl::StrCat("--port_file=", dir->path(), "/server.port")},
                          absl::StrCat(dir->path(), "/server.port"),
                          absl::StrCat(dir->path(), "/server.log"), kStartupTimeout));

  ASSIGN_OR_RETURN(identity::DevIdentity dev, identity::LoadDevIdentity(data_dir));
  identity::TokenClaims claims;
  claims.fhir_user = kTherapist;
  ASSIGN_OR_RETURN(std::string therapist_token,
                   identity::MintToken(dev.private_key_pem, dev.key_id, claims, absl::Now()));
  claims.fhir_user = kClient;
  ASSIGN_OR_RETURN(std::string client_token,
                   identity::MintToken(dev.private_key_pem, dev.key_id, claims, absl::Now()));
  const std::string therapist_auth = absl::StrCat("Bearer ", therapist_token);
  const std::string client_auth = absl::StrCat("Bearer ", client_token);

  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> echo_channel, Connect(echo_server->port()));
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(server->port()));
  ASSIGN_OR_RETURN(Fixture fixture, CreateFixture(channel, settings, therapist_auth, client_auth));

  std::printf(
      "collabcare_bench: %s s per cell after %s s warm-up; %u cores (load average %s) shared "
      "by the load generator (%d polling threads) and the servers; data in %s (%s)\n",
      absl::StrCat(absl::ToDoubleSeconds(settings.measure)).c_str(),
      absl::StrCat(absl::ToDoubleSeconds(settings.warmup)).c_str(),
      std::thread::hardware_concurrency(), LoadAverage().c_str(), settings.polling_threads,
      data_dir.c_str(), DescribeFilesystem(data_dir).c_str());
  std::vector<Workload> workloads =
      MakeWorkloads(echo_channel, *echo_server, channel, *server, fixture, settings, client_auth);
  if (!settings.only.empty()) {
    std::erase_if(workloads, [&settings](const Workload& w) {
      return w.kind != Kind::kBaseline &&
             std::find(settings.only.begin(), settings.only.end(), w.name) == settings.only.end();
    });
  }
  const int64_t errors = RunAll(workloads, settings);
  std::fflush(stdout);

  // Close the connections first: a server's graceful shutdown waits for them.
  workloads.clear();
  echo_channel.reset();
  channel.reset();
  const absl::Time stop_start = absl::Now();
  absl::Status stopped = server->Stop();
  absl::Status echo_stopped = echo_server->Stop();
  if (!stopped.ok() || !echo_stopped.ok()) {
    std::fprintf(stderr, "collabcare_bench: stopping the servers: %s; %s\n",
                 stopped.ToString().c_str(), echo_stopped.ToString().c_str());
  }
  std::printf("servers stopped in %s\n", absl::FormatDuration(absl::Now() - stop_start).c_str());
  if (errors > 0 || absl::GetFlag(FLAGS_keep_data)) {
    dir->Keep();
    std::printf("kept %s (server.log, echo.log, data/)\n", dir->path().c_str());
  }
  return errors;
}

}  // namespace
}  // namespace collabcare::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "collabcare_bench: collabcare-server against a bare gRPC echo server, side by side.\n"
      "  collabcare_bench            # 1 s warm-up + 4 s per cell, C = 1, 16, 64\n"
      "  collabcare_bench --smoke    # CI: does every workload still run without errors?\n"
      "Exit status 0 unless the benchmark could not run or an RPC failed; the performance\n"
      "targets are reported, never enforced.");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<int64_t> errors = collabcare::bench::Run();
  if (!errors.ok()) {
    std::fprintf(stderr, "collabcare_bench: %s\n", errors.status().ToString().c_str());
    return 2;
  }
  if (*errors > 0) {
    std::fprintf(stderr, "collabcare_bench: %lld RPCs failed\n", static_cast<long long>(*errors));
    return 1;
  }
  return 0;
}
