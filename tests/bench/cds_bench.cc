// cds_bench: latency of the CDS Hooks `patient-view` service under concurrent calls (issue 5:
// "cards answer fast enough for an EHR's short timeout: measure p99 under 20 concurrent calls").
//
// In one process: the use cases on a SQLite store (durable, as deployed; or the in-memory store)
// holding a realistic episode — a client, a family member and a therapist, several goals and
// hypotheses with answers, 10 reviews rated on goals, ORS and SRS and signed by everyone — plus
// the therapist's other episodes; the CDS service on a cpp-httplib server on loopback; and C
// client threads, each keeping one call in flight with a freshly signed ES384 JWT per call
// (minted outside the timed part, as an EHR would). Reports QPS and p50/p90/p99/max latency.
// The exit status is non-zero only when the benchmark could not run or a call failed.
#include <httplib.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "plugin/cds/cds_routes.h"
#include "plugin/cds/cds_service.h"
#include "plugin/common/clock.h"
#include "plugin/common/status_macros.h"
#include "plugin/identity/identity.h"
#include "plugin/service/collab_service.h"
#include "plugin/store/store.h"
#include "tests/identity/identity_test_util.h"

ABSL_FLAG(int, concurrency, 20, "calls in flight");
ABSL_FLAG(double, seconds, 5, "measured seconds");
ABSL_FLAG(double, warmup_seconds, 1, "warm-up seconds, before measuring");
ABSL_FLAG(std::string, store, "sqlite", "sqlite (a file in a temporary folder) or memory");
ABSL_FLAG(int, reviews, 10, "reviews in the episode, all but the last signed by everyone");
ABSL_FLAG(int, caseload, 30, "the therapist's other episodes (with other patients)");
ABSL_FLAG(int, server_threads, 32, "worker threads of the HTTP server");
ABSL_FLAG(std::string, alg, "ES384",
          "the EHR's signing algorithm: ES384 (CDS Hooks 2.0 requires services to accept it) or "
          "ES256 (P-256 has OpenSSL's optimised code; P-384 does not)");
ABSL_FLAG(bool, tcp_nodelay, true, "set TCP_NODELAY on the server's and clients' sockets");
ABSL_FLAG(bool, smoke, false, "a quick functional run for CI: 0.3 s; timings mean nothing");

namespace collabcare::bench {
namespace {

using Json = nlohmann::json;
namespace v1 = ::collabcare::v1;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";
constexpr char kFamily[] = "RelatedPerson/2";
constexpr char kBase[] = "https://apps.example.org/collabcare";
constexpr char kIssuer[] = "https://ehr.example.org";
constexpr char kKid[] = "ehr-es384";

std::string Words(int i) {
  return absl::StrCat("Goal ", i,
                      ": get through the school week without calling in sick, and feel a "
                      "little more at ease on Sunday evenings before it starts");
}

// The realistic episode and the therapist's caseload, written through the use cases.
absl::Status Populate(service::CollabService& service, int reviews, int caseload) {
  v1::CreateEpisodeRequest create;
  auto add = [&](const std::string& who, v1::Participant::Role role, const char* display) {
    v1::Participant* p = create.mutable_episode()->add_participants();
    p->set_person(who);
    p->set_role(role);
    p->set_display(display);
  };
  add(kTherapist, v1::Participant::THERAPIST, "Dr Lee");
  add(kClient, v1::Participant::CLIENT, "Sam");
  add(kFamily, v1::Participant::FAMILY_MEMBER, "Jo");
  create.mutable_episode()->set_format(v1::Episode::CLIENT_LED);
  create.mutable_episode()->set_modality(v1::Episode::FAMILY);
  ASSIGN_OR_RETURN(const v1::Episode episode, service.CreateEpisode(kTherapist, create));

  std::vector<std::pair<std::string, std::string>> goals;  // (owner, name)
  for (int i = 0; i < 6; ++i) {
    const std::string owner = i < 4 ? kClient : kFamily;
    v1::CreateGoalRequest goal;
    goal.set_parent(episode.name());
    goal.mutable_goal()->set_words(Words(i));
    goal.mutable_goal()->set_everyday_signs("I pack my bag on Sunday and sleep before midnight");
    ASSIGN_OR_RETURN(const v1::Goal g, service.CreateGoal(owner, goal));
    goals.emplace_back(owner, g.name());
  }
  for (int i = 0; i < 5; ++i) {
    v1::ShareHypothesisRequest share;
    share.set_parent(episode.name());
    share.mutable_hypothesis()->set_kind(v1::Hypothesis::PERSONAL);
    share.mutable_hypothesis()->set_text(absl::StrCat(
        "Hypothesis ", i, ": I wonder whether the quiet mornings make the week feel heavier"));
    share.mutable_hypothesis()->set_tentativeness(v1::Hypothesis::WONDERING);
    ASSIGN_OR_RETURN(const v1::Hypothesis h, service.ShareHypothesis(kTherapist, share));
    if (i < 3) {
      v1::RespondToHypothesisRequest respond;
      respond.set_name(h.name());
      respond.set_stance(i == 0 ? v1::HypothesisResponse::DOES_NOT_FIT
                                : v1::HypothesisResponse::PARTLY_FITS);
      respond.set_words("Mornings are fine; it is the evenings");
      RETURN_IF_ERROR(service.RespondToHypothesis(kClient, respond).status());
    }
  }
  for (int r = 0; r < reviews; ++r) {
    v1::StartReviewRequest start;
    start.set_parent(episode.name());
    ASSIGN_OR_RETURN(v1::Review review, service.StartReview(kClient, start));
    for (const std::string& rater :
         {std::string(kClient), std::string(kFamily), std::string(kTherapist)}) {
      v1::SubmitRatingsRequest rate;
      rate.set_name(review.name());
      for (const auto& [owner, goal] : goals) {
        if (rater != kTherapist && owner != rater) continue;
        v1::Rating* rating = rate.add_ratings();
        rating->set_goal(goal);
        rating->set_score(rater == kTherapist ? 7 : 2 + (r % 3));
      }
      if (rater != kTherapist) {
        v1::InstrumentScore* ors = rate.add_instrument_scores();
        ors->set_instrument("ORS");
        for (double item : {4.0, 5.5, 5.0, 4.5}) ors->add_items(item + 0.1 * (r % 2));
        v1::InstrumentScore* srs = rate.add_instrument_scores();
        srs->set_instrument("SRS");
        for (double item : {9.0, 9.5, 8.5, 9.0}) srs->add_items(item - (r == reviews - 1 ? 2 : 0));
      }
      ASSIGN_OR_RETURN(review, service.SubmitRatings(rater, rate));
    }
    if (r == reviews - 1) break;  // the latest review is still open
    for (const char* signer : {kClient, kFamily, kTherapist}) {
      v1::SignReviewRequest sign;
      sign.set_name(review.name());
      sign.set_etag(review.meta().etag());
      ASSIGN_OR_RETURN(review, service.SignReview(signer, sign));
    }
  }
  // Since the last signed review the client changed one goal and wrote another.
  v1::UpdateGoalRequest update;
  update.mutable_goal()->set_name(goals[0].second);
  update.mutable_goal()->set_words("Get through the week, and ask for help on Sunday evenings");
  update.mutable_update_mask()->add_paths("words");
  RETURN_IF_ERROR(service.UpdateGoal(kClient, update).status());
  v1::CreateGoalRequest fresh;
  fresh.set_parent(episode.name());
  fresh.mutable_goal()->set_words("Go to the football club once, even if only to watch");
  RETURN_IF_ERROR(service.CreateGoal(kClient, fresh).status());

  for (int i = 0; i < caseload; ++i) {
    v1::CreateEpisodeRequest other;
    v1::Participant* t = other.mutable_episode()->add_participants();
    t->set_person(kTherapist);
    t->set_role(v1::Participant::THERAPIST);
    v1::Participant* c = other.mutable_episode()->add_participants();
    c->set_person(absl::StrCat("Patient/", 100 + i));
    c->set_role(v1::Participant::CLIENT);
    other.mutable_episode()->set_format(v1::Episode::THERAPIST_LED);
    other.mutable_episode()->set_modality(v1::Episode::INDIVIDUAL);
    ASSIGN_OR_RETURN(const v1::Episode e, service.CreateEpisode(kTherapist, other));
    v1::CreateGoalRequest goal;
    goal.set_parent(e.name());
    goal.mutable_goal()->set_words(Words(100 + i));
    RETURN_IF_ERROR(service.CreateGoal(absl::StrCat("Patient/", 100 + i), goal).status());
  }
  return absl::OkStatus();
}

struct ThreadResult {
  std::vector<int64_t> latencies_ns;  // calls completed inside the measured window
  int64_t errors = 0;
  std::string first_error;
  size_t cards = 0;  // in the last response
};

double Percentile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return static_cast<double>(v[i]) / 1e6;
}

int Run() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const int concurrency = smoke ? 4 : absl::GetFlag(FLAGS_concurrency);
  const double seconds = smoke ? 0.3 : absl::GetFlag(FLAGS_seconds);
  const double warmup = smoke ? 0.1 : absl::GetFlag(FLAGS_warmup_seconds);

  char dir_template[] = "/tmp/cds_bench.XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) {
    std::fprintf(stderr, "mkdtemp failed\n");
    return 1;
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};

  std::unique_ptr<store::Store> store;
  if (absl::GetFlag(FLAGS_store) == "memory") {
    store = store::NewMemoryStore();
  } else {
    store::SqliteOptions options;
    options.path = absl::StrCat(dir, "/collabcare.db");
    auto opened = store::OpenSqliteStore(options);
    if (!opened.ok()) {
      std::fprintf(stderr, "open store: %s\n", opened.status().ToString().c_str());
      return 1;
    }
    store = std::move(*opened);
  }
  const std::unique_ptr<Clock> clock = NewSystemClock();
  const std::unique_ptr<IdGenerator> ids = NewRandomIdGenerator();
  service::EventHub hub;
  service::CollabService service(*store, *clock, *ids, hub, service::CollabService::Options{});
  const int reviews = absl::GetFlag(FLAGS_reviews);
  if (absl::Status s = Populate(service, reviews, smoke ? 3 : absl::GetFlag(FLAGS_caseload));
      !s.ok()) {
    std::fprintf(stderr, "populate: %s\n", s.ToString().c_str());
    return 1;
  }

  const std::string alg = absl::GetFlag(FLAGS_alg);
  if (alg != "ES384" && alg != "ES256") {
    std::fprintf(stderr, "--alg must be ES384 or ES256\n");
    return 1;
  }
  const identity::testutil::TestKey key = identity::testutil::TestKey::Generate(
      alg == "ES384" ? identity::testutil::KeyType::kP384 : identity::testutil::KeyType::kP256);
  cds::CdsOptions options;
  options.base_url = kBase;
  options.app_launch_url = absl::StrCat(kBase, "/launch.html");
  identity::VerifierOptions verifier_options = cds::VerifierOptionsFor(options, kIssuer, *clock);
  verifier_options.jwks_json = identity::testutil::Jwks({key.Jwk(kKid, alg)});
  auto verifier = identity::NewJwksVerifier(verifier_options);
  if (!verifier.ok()) {
    std::fprintf(stderr, "verifier: %s\n", verifier.status().ToString().c_str());
    return 1;
  }
  cds::TrustedClient client;
  client.issuer = kIssuer;
  client.verifier = std::move(*verifier);
  options.clients = {client};
  const std::unique_ptr<cds::UuidSource> uuids = cds::NewRandomUuidSource();
  auto cds = cds::NewCdsHooksService(service, *store, *clock, *uuids, options);
  if (!cds.ok()) {
    std::fprintf(stderr, "cds: %s\n", cds.status().ToString().c_str());
    return 1;
  }

  httplib::Server server;
  const int server_threads = absl::GetFlag(FLAGS_server_threads);
  server.new_task_queue = [server_threads] { return new httplib::ThreadPool(server_threads); };
  // Without TCP_NODELAY (httplib's default is off) a response written in two parts waits for
  // the client's delayed ACK: about 40 ms on Linux, twice per call.
  server.set_tcp_nodelay(absl::GetFlag(FLAGS_tcp_nodelay));
  cds::RegisterCdsHooks(server, **cds);
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::fprintf(stderr, "bind failed\n");
    return 1;
  }
  std::thread server_thread([&] { server.listen_after_bind(); });

  const std::string pem = key.PrivatePem();
  const std::string body =
      Json{{"hook", "patient-view"},
           {"hookInstance", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"},
           {"fhirServer", "https://ehr.example.org/fhir"},
           {"context", {{"userId", kTherapist}, {"patientId", "1"}}},
           {"prefetch", {{"patient", {{"resourceType", "Patient"}, {"id", "1"}}}}}}
          .dump();
  identity::TokenClaims claims;
  claims.issuer = kIssuer;
  claims.audience = absl::StrCat(kBase, "/cds-services/", cds::kPatientViewId);
  claims.fhir_user = kTherapist;  // not needed by CDS; MintToken always writes one
  claims.subject = "ehr-client";
  claims.lifetime = absl::Minutes(4);

  using SteadyClock = std::chrono::steady_clock;
  const SteadyClock::time_point window_start =
      SteadyClock::now() +
      std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(warmup));
  const SteadyClock::time_point window_end =
      window_start +
      std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
  std::vector<ThreadResult> results(static_cast<size_t>(concurrency));
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      ThreadResult& result = results[static_cast<size_t>(t)];
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(true);
      http.set_tcp_nodelay(absl::GetFlag(FLAGS_tcp_nodelay));
      http.set_read_timeout(30);
      while (true) {
        auto token = identity::MintToken(pem, kKid, claims, clock->Now());
        if (!token.ok()) {
          ++result.errors;
          result.first_error = token.status().ToString();
          return;
        }
        const httplib::Headers headers = {{"Authorization", "Bearer " + *token}};
        const SteadyClock::time_point start = SteadyClock::now();
        auto res =
            http.Post("/cds-services/collabcare-patient-view", headers, body, "application/json");
        const SteadyClock::time_point done = SteadyClock::now();
        if (start >= window_end) return;
        if (!res || res->status != 200) {
          ++result.errors;
          if (result.first_error.empty()) {
            result.first_error = res ? absl::StrCat("HTTP ", res->status, " ", res->body)
                                     : httplib::to_string(res.error());
          }
          continue;
        }
        if (start >= window_start && done <= window_end) {
          result.latencies_ns.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(done - start).count());
        }
        const Json json = Json::parse(res->body, nullptr, false);
        result.cards = json.is_object() && json.contains("cards") ? json["cards"].size() : 0;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  server.stop();
  server_thread.join();

  std::vector<int64_t> all;
  int64_t errors = 0;
  std::string first_error;
  size_t cards = 0;
  for (ThreadResult& r : results) {
    all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
    cards = std::max(cards, r.cards);
  }
  const size_t calls = all.size();
  const double p50 = Percentile(all, 0.50);
  const double p90 = Percentile(all, 0.90);
  const double p99 = Percentile(all, 0.99);
  const double max =
      all.empty() ? 0 : static_cast<double>(*std::max_element(all.begin(), all.end())) / 1e6;
  std::printf(
      "cds_bench: patient-view, %s, store=%s, %d reviews, caseload %d, %d concurrent "
      "calls, %.1f s, %u hardware threads\n",
      alg.c_str(), absl::GetFlag(FLAGS_store).c_str(), reviews,
      smoke ? 3 : absl::GetFlag(FLAGS_caseload), concurrency, seconds,
      std::thread::hardware_concurrency());
  std::printf("%8s %9s %8s %8s %8s %8s %6s %7s\n", "calls", "qps", "p50 ms", "p90 ms", "p99 ms",
              "max ms", "cards", "errors");
  std::printf("%8zu %9.1f %8.2f %8.2f %8.2f %8.2f %6zu %7lld\n", calls,
              static_cast<double>(calls) / seconds, p50, p90, p99, max, cards,
              static_cast<long long>(errors));
  if (errors > 0) {
    std::fprintf(stderr, "first error: %s\n", first_error.c_str());
    return 1;
  }
  if (calls == 0 || cards == 0) {
    std::fprintf(stderr, "no call completed with cards\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace collabcare::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Latency of the CDS Hooks patient-view service under load");
  absl::ParseCommandLine(argc, argv);
  return collabcare::bench::Run();
}
