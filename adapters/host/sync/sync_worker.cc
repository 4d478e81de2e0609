// The sync worker (see sync_worker.h).
#include "adapters/host/sync/sync_worker.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <optional>
#include <string>
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
    cv_.wait_for(lock, absl::ToChronoNanoseconds(d), [this] { return interrupted_; });
    return !interrupted_;
  }
  void Interrupt() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
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

SyncWorker::SyncWorker(SyncWorkerOptions options, store::Store* store, HostSink* sink,
                       const Clock* clock, Sleeper* sleeper, uint64_t seed)
    : options_(std::move(options)),
      store_(store),
      sink_(sink),
      clock_(clock),
      sleeper_(sleeper),
      rng_(seed) {}

void SyncWorker::Run() {
  Log(LogLevel::kInfo, "sync_started", {{"host", options_.host}});
  bool busy = false;
  while (!stopping_.load()) {
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
    if (!sleeper_->SleepFor(options_.idle_poll)) break;
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
  for (const store::OutboxEntry& entry : entries) {
    RETURN_IF_ERROR(Handle(entry));
    RETURN_IF_ERROR(Retrying([&] { return store_->SetSyncCursor(options_.host, entry.id); }));
    std::lock_guard<std::mutex> lock(mu_);
    cursor_ = entry.id;
    ++handled;
  }
  return handled;
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

absl::Status SyncWorker::Handle(const store::OutboxEntry& entry) {
  for (int attempt = 1;; ++attempt) {
    if (stopping_.load()) return absl::CancelledError("sync: stopping");
    absl::Status pushed = Attempt(entry);
    if (pushed.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++pushed_;
      return absl::OkStatus();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = pushed.code();
    }
    if (Parks(pushed.code())) return ParkEntry(entry, pushed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++retried_;
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
  return sink_->Push(entry, resources);
}

absl::Status SyncWorker::ParkEntry(const store::OutboxEntry& entry, const absl::Status& why) {
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++parked_;
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
  delay = absl::Microseconds(jitter(rng_));
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
