// The sync worker (see sync_worker.h).
#include "adapters/host/sync/sync_worker.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/host/status_map.h"
#include "collabcare/v1/resources.pb.h"
#include "nlohmann/json.hpp"
#include "plugin/common/log.h"
#include "plugin/common/status_macros.h"

namespace collabcare::host {
namespace {

class RealSleeper final : public Sleeper {
 public:
  bool SleepFor(absl::Duration d) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(d), [this] { return interrupted_ || woken_; });
    woken_ = false;
    return !interrupted_;
  }
  void Interrupt() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }
  void Wake() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
  bool woken_ = false;  // ends the current or next SleepFor
};

template <typename Message>
absl::StatusOr<Message> ParseRecord(const store::RecordRevision& revision) {
  Message message;
  if (!message.ParseFromString(revision.data)) {
    return absl::InvalidArgumentError(absl::StrCat("sync: revision ", revision.revision, " of ",
                                                   revision.name, " does not parse"));
  }
  return message;
}

template <typename Record>
absl::StatusOr<std::vector<fhir::FhirResource>> NoteOnly(const Record& record,
                                                         const fhir::MappingContext& ctx) {
  ASSIGN_OR_RETURN(fhir::FhirResource note, fhir::NoteToFhir(record, ctx));
  return std::vector<fhir::FhirResource>{std::move(note)};
}

// Whether a failure means "the host refuses this change as it is" (park it) rather than
// "try again later".
bool Parks(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

// What went wrong, for a log line. Only messages collabcare wrote itself (transport failures,
// answers it could not use) are logged; a host's own answer (an HTTP status with an
// OperationOutcome) may echo what was sent, so for those the code and HTTP status alone go to
// the log, and the outcome is kept only with the parked change.
std::string LoggableMessage(const absl::Status& status) {
  if (HttpStatusOf(status).has_value()) return "";
  return SanitizeDiagnostics(status.message(), 200);
}

// Store::Park keeps at most 64 KiB of outcome.
constexpr size_t kMaxOutcome = 16 << 10;

}  // namespace

std::unique_ptr<Sleeper> NewRealSleeper() { return std::make_unique<RealSleeper>(); }

absl::StatusOr<std::vector<fhir::FhirResource>> MapRevision(const store::RecordRevision& revision,
                                                            const fhir::MappingContext& ctx,
                                                            SinkContent sink_content) {
  if (sink_content == SinkContent::kFullAndNotes) {
    ASSIGN_OR_RETURN(std::vector<fhir::FhirResource> notes,
                     MapRevision(revision, ctx, SinkContent::kNotesAndConditions));
    ASSIGN_OR_RETURN(std::vector<fhir::FhirResource> all,
                     MapRevision(revision, ctx, SinkContent::kFull));
    std::vector<fhir::FhirResource> out;
    for (fhir::FhirResource& r : notes) {
      if (r.type == "DocumentReference") out.push_back(std::move(r));
    }
    for (fhir::FhirResource& r : all) out.push_back(std::move(r));
    return out;
  }
  const bool full = sink_content == SinkContent::kFull;
  switch (revision.kind) {
    case store::RecordKind::kEpisode: {
      ASSIGN_OR_RETURN(v1::Episode episode, ParseRecord<v1::Episode>(revision));
      fhir::MappingContext own = ctx;
      own.episode = &episode;
      if (full) return fhir::EpisodeToFhir(episode, own);
      return NoteOnly(episode, own);
    }
    case store::RecordKind::kGoal: {
      ASSIGN_OR_RETURN(v1::Goal goal, ParseRecord<v1::Goal>(revision));
      if (full) return fhir::GoalToFhir(goal, ctx);
      return NoteOnly(goal, ctx);
    }
    case store::RecordKind::kHypothesis: {
      ASSIGN_OR_RETURN(v1::Hypothesis hypothesis, ParseRecord<v1::Hypothesis>(revision));
      ASSIGN_OR_RETURN(std::vector<fhir::FhirResource> all,
                       fhir::HypothesisToFhir(hypothesis, ctx));
      if (full) return all;
      ASSIGN_OR_RETURN(std::vector<fhir::FhirResource> out, NoteOnly(hypothesis, ctx));
      for (fhir::FhirResource& r : all) {
        if (r.type == "Condition") out.push_back(std::move(r));
      }
      return out;
    }
    case store::RecordKind::kReview: {
      ASSIGN_OR_RETURN(v1::Review review, ParseRecord<v1::Review>(revision));
      if (full) return fhir::ReviewToFhir(review, ctx);
      return NoteOnly(review, ctx);
    }
  }
  return absl::InvalidArgumentError("sync: unknown record kind");
}

// A RetryParked call waiting for the Run thread.
struct SyncWorker::RetryRequest {
  int64_t outbox_id = 0;
  bool taken = false;      // the Run thread began it
  bool abandoned = false;  // the caller stopped waiting before it began
  bool done = false;
  absl::StatusOr<ParkedRetry> result = absl::UnknownError("not served");
};

struct SyncWorker::Metrics {
  Metrics(MetricsRegistry& r, const std::string& host)
      : labels{host},
        pushed(r.Counter("collabcare_sync_pushed_total",
                         "Changes pushed to the host EHR since the server started.", {"host"})),
        retried(r.Counter("collabcare_sync_retried_total",
                          "Push attempts that failed and were retried, by status code.",
                          {"host", "code"})),
        parked(r.Counter("collabcare_sync_parked_total",
                         "Changes the host refused and that were parked for an operator.",
                         {"host"})),
        lag(r.Gauge("collabcare_sync_lag",
                    "Outbox entries after the host's cursor: changes not yet pushed.", {"host"})),
        cursor(r.Gauge("collabcare_sync_cursor",
                       "Outbox id up to which every change was pushed to or parked for the host.",
                       {"host"})),
        push_seconds(r.Histogram("collabcare_sync_push_seconds",
                                 "Time to push one change to the host EHR (one attempt).",
                                 {"host"})) {}
  const std::vector<std::string> labels;
  MetricFamily& pushed;
  MetricFamily& retried;
  MetricFamily& parked;
  MetricFamily& lag;
  MetricFamily& cursor;
  MetricFamily& push_seconds;
};

SyncWorker::SyncWorker(SyncWorkerOptions options, store::Store* store, HostSink* sink,
                       const Clock* clock, Sleeper* sleeper, uint64_t seed)
    : options_(std::move(options)),
      store_(store),
      sink_(sink),
      clock_(clock),
      sleeper_(sleeper),
      metrics_(options_.metrics != nullptr
                   ? std::make_unique<Metrics>(*options_.metrics, options_.host)
                   : nullptr),
      rng_(seed) {}

SyncWorker::~SyncWorker() {
  // Whoever still waits gets an answer rather than a dangling worker.
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::shared_ptr<RetryRequest>& r : requests_) {
    r->done = true;
    r->result = absl::CancelledError("sync: stopping");
  }
  requests_.clear();
  request_done_.notify_all();
}

void SyncWorker::Run() {
  Log(LogLevel::kInfo, "sync_started",
      {{"host", options_.host},
       {"parallelism", absl::StrCat(sink_->concurrent() ? std::max(options_.parallelism, 1) : 1)}});
  bool busy = false;
  while (!stopping_.load()) {
    ServeRequests();
    absl::StatusOr<int> handled = RunOnce();
    if (!handled.ok()) break;  // CANCELLED: stopping
    if (*handled > 0) {
      busy = true;
      continue;
    }
    if (busy) {
      // Once per burst: scripts (deploy/quickstart.sh) wait for this line with lag 0.
      busy = false;
      SyncStatus status = Status();
      Log(LogLevel::kInfo, "sync_caught_up",
          {{"host", options_.host},
           {"cursor", absl::StrCat(status.cursor)},
           {"lag", absl::StrCat(status.lag)},
           {"pushed", absl::StrCat(status.pushed)},
           {"parked", absl::StrCat(status.parked)}});
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!requests_.empty()) continue;
      idle_ = true;
    }
    const bool slept = sleeper_->SleepFor(options_.idle_poll);
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle_ = false;
    }
    if (!slept) break;
  }
  {
    // Requests nobody will serve now.
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::shared_ptr<RetryRequest>& r : requests_) {
      r->done = true;
      r->result = absl::CancelledError("sync: stopping");
    }
    requests_.clear();
    request_done_.notify_all();
  }
  SyncStatus status = Status();
  Log(LogLevel::kInfo, "sync_stopped",
      {{"host", options_.host},
       {"pushed", absl::StrCat(status.pushed)},
       {"parked", absl::StrCat(status.parked)},
       {"lag", absl::StrCat(status.lag)}});
}

absl::StatusOr<int> SyncWorker::RunOnce() {
  if (stopping_.load()) return absl::CancelledError("sync: stopping");
  int64_t cursor = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cursor = cursor_;
  }
  if (cursor < 0) {
    RETURN_IF_ERROR(Retrying([&]() -> absl::Status {
      ASSIGN_OR_RETURN(cursor, store_->GetSyncCursor(options_.host));
      return absl::OkStatus();
    }));
    std::lock_guard<std::mutex> lock(mu_);
    cursor_ = cursor;
  }
  std::vector<store::OutboxEntry> entries;
  RETURN_IF_ERROR(Retrying([&]() -> absl::Status {
    ASSIGN_OR_RETURN(entries, store_->ReadOutbox(cursor, std::max(options_.batch, 1)));
    return absl::OkStatus();
  }));
  int handled = 0;
  if (sink_->concurrent() && options_.parallelism > 1) {
    ASSIGN_OR_RETURN(handled, RunLanes(entries));
  } else {
    for (const store::OutboxEntry& entry : entries) {
      RETURN_IF_ERROR(Handle(entry));
      RETURN_IF_ERROR(SaveCursor(entry.id));
      ++handled;
    }
  }
  if (metrics_ != nullptr) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cursor = cursor_;
    }
    if (absl::StatusOr<int64_t> lag = store_->CountOutboxAfter(cursor); lag.ok()) {
      metrics_->lag.Set(metrics_->labels, static_cast<double>(*lag));
    }
    metrics_->cursor.Set(metrics_->labels, static_cast<double>(cursor));
  }
  return handled;
}

absl::StatusOr<int> SyncWorker::RunLanes(const std::vector<store::OutboxEntry>& entries) {
  // Lanes in order of their first entry; each lane lists positions in `entries`.
  std::vector<std::vector<size_t>> lanes;
  {
    std::map<std::string, size_t> lane_of;
    for (size_t i = 0; i < entries.size(); ++i) {
      auto [it, added] = lane_of.emplace(entries[i].episode_id, lanes.size());
      if (added) lanes.emplace_back();
      lanes[it->second].push_back(i);
    }
  }
  std::mutex done_mu;
  std::vector<bool> done(entries.size(), false);
  size_t prefix = 0;  // entries [0, prefix) are all done; guarded by done_mu
  std::atomic<size_t> next_lane{0};
  std::atomic<int> handled{0};
  std::mutex failure_mu;
  absl::Status failure;  // the first lane failure (CANCELLED when stopping)

  const auto lane_worker = [&] {
    for (size_t lane = next_lane++; lane < lanes.size(); lane = next_lane++) {
      for (size_t pos : lanes[lane]) {
        absl::Status status = Handle(entries[pos]);
        if (status.ok()) {
          ++handled;
          int64_t advance_to = 0;
          {
            std::lock_guard<std::mutex> lock(done_mu);
            done[pos] = true;
            const size_t before = prefix;
            while (prefix < entries.size() && done[prefix]) ++prefix;
            if (prefix > before) advance_to = entries[prefix - 1].id;
          }
          // The cursor covers only a contiguous run of finished entries; SaveCursor never
          // moves it back, so lanes finishing out of order cannot undo each other.
          if (advance_to > 0) status = SaveCursor(advance_to);
        }
        if (!status.ok()) {
          std::lock_guard<std::mutex> lock(failure_mu);
          if (failure.ok()) failure = status;
          return;  // the rest of this lane waits for the next run
        }
      }
    }
  };
  const size_t threads =
      std::min(lanes.size(), static_cast<size_t>(std::max(options_.parallelism, 1)));
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < threads; ++i) helpers.emplace_back(lane_worker);
  lane_worker();
  for (std::thread& t : helpers) t.join();
  RETURN_IF_ERROR(failure);
  return handled.load();
}

absl::Status SyncWorker::SaveCursor(int64_t id) {
  std::lock_guard<std::mutex> order(cursor_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (id <= cursor_) return absl::OkStatus();
  }
  RETURN_IF_ERROR(Retrying([&] { return store_->SetSyncCursor(options_.host, id); }));
  {
    std::lock_guard<std::mutex> lock(mu_);
    cursor_ = std::max(cursor_, id);
  }
  if (metrics_ != nullptr) metrics_->cursor.Set(metrics_->labels, static_cast<double>(id));
  return absl::OkStatus();
}

absl::Status SyncWorker::Drain() {
  for (;;) {
    ASSIGN_OR_RETURN(int handled, RunOnce());
    if (handled == 0) return absl::OkStatus();
  }
}

void SyncWorker::Stop() {
  stopping_.store(true);
  sleeper_->Interrupt();
}

SyncStatus SyncWorker::Status() {
  SyncStatus status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status.cursor = cursor_;
    status.pushed = pushed_;
    status.retried = retried_;
    status.parked = parked_;
    status.last_error = last_error_;
  }
  status.skipped = sink_->skipped();
  if (status.cursor < 0) status.cursor = store_->GetSyncCursor(options_.host).value_or(0);
  status.lag = store_->CountOutboxAfter(status.cursor).value_or(-1);
  return status;
}

absl::StatusOr<ParkedRetry> SyncWorker::RetryParked(int64_t outbox_id, absl::Duration timeout) {
  auto request = std::make_shared<RetryRequest>();
  request->outbox_id = outbox_id;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_.load()) return absl::CancelledError("sync: stopping");
  requests_.push_back(request);
  // Only an idle wait is cut short: a lane's backoff must run its course (Retry-After).
  if (idle_) sleeper_->Wake();
  const bool finished = request_done_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                                               [&] { return request->done; });
  if (finished) return request->result;
  if (!request->taken) {
    request->abandoned = true;
    return absl::DeadlineExceededError(
        "the sync worker did not get to the retry in time (it is busy pushing or backing off); "
        "try again later");
  }
  return absl::DeadlineExceededError(
      "the retry is under way but did not finish in time; the sync status will show its outcome");
}

void SyncWorker::ServeRequests() {
  for (;;) {
    std::shared_ptr<RetryRequest> request;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (!requests_.empty() && requests_.front()->abandoned) requests_.pop_front();
      if (requests_.empty()) return;
      request = requests_.front();
      requests_.pop_front();
      request->taken = true;
    }
    absl::StatusOr<ParkedRetry> result = ServeRetry(request->outbox_id);
    std::lock_guard<std::mutex> lock(mu_);
    request->result = std::move(result);
    request->done = true;
    request_done_.notify_all();
  }
}

absl::StatusOr<ParkedRetry> SyncWorker::ServeRetry(int64_t outbox_id) {
  // Parkings hold up to 64 KiB of outcome each; the scan stops at the oldest 10000.
  constexpr int kParkedScan = 10000;
  ASSIGN_OR_RETURN(std::vector<store::ParkedChange> parked,
                   store_->ListParked(options_.host, kParkedScan));
  auto it = std::find_if(parked.begin(), parked.end(),
                         [&](const store::ParkedChange& p) { return p.outbox_id == outbox_id; });
  if (it == parked.end()) {
    return absl::NotFoundError(absl::StrCat("outbox_id: no parked change ", outbox_id));
  }
  ASSIGN_OR_RETURN(std::vector<store::OutboxEntry> found, store_->ReadOutbox(outbox_id - 1, 1));
  if (found.empty() || found[0].id != outbox_id) {
    return absl::NotFoundError(absl::StrCat("outbox_id: no outbox entry ", outbox_id));
  }
  const store::OutboxEntry& entry = found[0];
  ASSIGN_OR_RETURN(store::RecordRevision latest, store_->GetLatest(entry.name));
  if (latest.revision > entry.revision) {
    return absl::FailedPreconditionError(absl::StrCat(
        "outbox_id: the record has a newer revision (", latest.revision, ") than the parked one (",
        entry.revision, "); pushing the old one would overwrite it, discard the parking instead"));
  }
  ParkedRetry result;
  absl::Status pushed = Attempt(entry);
  if (pushed.ok()) {
    RETURN_IF_ERROR(store_->Unpark(options_.host, outbox_id));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++pushed_;
    }
    if (metrics_ != nullptr) metrics_->pushed.Add(metrics_->labels);
    Log(LogLevel::kInfo, "sync_retried_parked",
        {{"host", options_.host}, {"outbox_id", absl::StrCat(outbox_id)}, {"code", "OK"}});
    result.pushed = true;
    return result;
  }
  result.failure = pushed;
  if (Parks(pushed.code())) {
    RETURN_IF_ERROR(ParkEntry(entry, pushed, /*count=*/false));
  }
  Log(LogLevel::kInfo, "sync_retried_parked",
      {{"host", options_.host},
       {"outbox_id", absl::StrCat(outbox_id)},
       {"code", absl::StatusCodeToString(pushed.code())},
       {"error", LoggableMessage(pushed)}});
  ASSIGN_OR_RETURN(parked, store_->ListParked(options_.host, kParkedScan));
  for (const store::ParkedChange& p : parked) {
    if (p.outbox_id == outbox_id) result.parked = p;
  }
  return result;
}

absl::Status SyncWorker::Handle(const store::OutboxEntry& entry) {
  for (int attempt = 1;; ++attempt) {
    if (stopping_.load()) return absl::CancelledError("sync: stopping");
    absl::Status pushed = Attempt(entry);
    if (pushed.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++pushed_;
      }
      if (metrics_ != nullptr) metrics_->pushed.Add(metrics_->labels);
      return absl::OkStatus();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = pushed.code();
    }
    if (Parks(pushed.code())) return ParkEntry(entry, pushed, /*count=*/true);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++retried_;
    }
    if (metrics_ != nullptr) {
      metrics_->retried.Add({options_.host, absl::StatusCodeToString(pushed.code())});
    }
    if (!Backoff(attempt, pushed)) return absl::CancelledError("sync: stopping");
  }
}

absl::Status SyncWorker::Attempt(const store::OutboxEntry& entry) {
  ASSIGN_OR_RETURN(store::RecordRevision revision, store_->GetRevision(entry.name, entry.revision));
  fhir::MappingContext ctx;
  ctx.urls = options_.urls;
  std::optional<v1::Episode> episode;
  if (entry.kind != store::RecordKind::kEpisode) {
    ASSIGN_OR_RETURN(store::RecordRevision latest,
                     store_->GetLatest(absl::StrCat("episodes/", entry.episode_id)));
    ASSIGN_OR_RETURN(episode, ParseRecord<v1::Episode>(latest));
    ctx.episode = &*episode;
  }
  std::vector<v1::Goal> goals;
  if (entry.kind == store::RecordKind::kEpisode || entry.kind == store::RecordKind::kReview) {
    store::Page page;
    page.limit = 200;
    while (static_cast<int>(goals.size()) < options_.max_goals) {
      ASSIGN_OR_RETURN(std::vector<store::RecordRevision> listed,
                       store_->ListLatest(entry.episode_id, store::RecordKind::kGoal, page));
      for (const store::RecordRevision& g : listed) {
        ASSIGN_OR_RETURN(v1::Goal goal, ParseRecord<v1::Goal>(g));
        goals.push_back(std::move(goal));
      }
      if (static_cast<int>(listed.size()) < page.limit) break;
      page.after = listed.back().name;
    }
    ctx.goals = &goals;
  }
  ASSIGN_OR_RETURN(std::vector<fhir::FhirResource> resources,
                   MapRevision(revision, ctx, sink_->content()));
  const absl::Time start = clock_->Now();
  absl::Status pushed = sink_->Push(entry, resources);
  if (metrics_ != nullptr) {
    metrics_->push_seconds.Observe(metrics_->labels, absl::ToDoubleSeconds(clock_->Now() - start));
  }
  return pushed;
}

absl::Status SyncWorker::ParkEntry(const store::OutboxEntry& entry, const absl::Status& why,
                                   bool count) {
  nlohmann::json outcome = {
      {"resourceType", "OperationOutcome"},
      {"issue",
       {{{"severity", "error"},
         {"code", "processing"},
         {"diagnostics", std::string(why.message()).substr(0, kMaxOutcome)}}}}};
  store::ParkedChange change;
  change.host = options_.host;
  change.outbox_id = entry.id;
  change.name = entry.name;
  change.revision = entry.revision;
  change.time = clock_->Now();
  change.code = static_cast<int>(why.code());
  change.outcome = outcome.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  RETURN_IF_ERROR(Retrying([&] { return store_->Park(change); }));
  if (count) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++parked_;
    }
    if (metrics_ != nullptr) metrics_->parked.Add(metrics_->labels);
  }
  const std::optional<int> http = HttpStatusOf(why);
  Log(LogLevel::kWarning, "sync_parked",
      {{"host", options_.host},
       {"outbox_id", absl::StrCat(entry.id)},
       {"kind", absl::StrCat(static_cast<int>(entry.kind))},
       {"code", absl::StatusCodeToString(why.code())},
       {"http_status", http.has_value() ? absl::StrCat(*http) : ""},
       {"error", LoggableMessage(why)}});
  return absl::OkStatus();
}

bool SyncWorker::Backoff(int attempt, const absl::Status& failure) {
  // Exponential with "equal jitter": uniform in [d/2, d], d = initial * 2^(attempt-1) capped.
  absl::Duration delay = options_.initial_backoff;
  for (int i = 1; i < attempt && delay < options_.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, options_.max_backoff);
  const int64_t micros = absl::ToInt64Microseconds(delay);
  std::uniform_int_distribution<int64_t> jitter(micros / 2, std::max<int64_t>(micros, 1));
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    delay = absl::Microseconds(jitter(rng_));
  }
  if (std::optional<absl::Duration> asked = RetryAfterOf(failure); asked.has_value()) {
    delay = std::max(delay, std::min(*asked, options_.max_retry_after));
  }
  const std::optional<int> http = HttpStatusOf(failure);
  Log(attempt == 1 ? LogLevel::kInfo : LogLevel::kWarning, "sync_retry",
      {{"host", options_.host},
       {"attempt", absl::StrCat(attempt)},
       {"code", absl::StatusCodeToString(failure.code())},
       {"http_status", http.has_value() ? absl::StrCat(*http) : ""},
       {"error", LoggableMessage(failure)},
       {"delay_ms", absl::StrCat(absl::ToInt64Milliseconds(delay))}});
  return sleeper_->SleepFor(delay);
}

absl::Status SyncWorker::Retrying(const std::function<absl::Status()>& f) {
  for (int attempt = 1;; ++attempt) {
    if (stopping_.load()) return absl::CancelledError("sync: stopping");
    absl::Status status = f();
    if (status.ok()) return status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = status.code();
    }
    if (!Backoff(attempt, status)) return absl::CancelledError("sync: stopping");
  }
}

}  // namespace collabcare::host
