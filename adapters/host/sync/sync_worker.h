// The sync worker: consumes the store's outbox for one host, maps each change to FHIR and
// pushes it through the host's profile (HostSink), with retries, backoff and parking.
#ifndef COLLABCARE_ADAPTERS_HOST_SYNC_SYNC_WORKER_H_
#define COLLABCARE_ADAPTERS_HOST_SYNC_SYNC_WORKER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/mapping.h"
#include "adapters/host/sync/host_sink.h"
#include "plugin/common/clock.h"
#include "plugin/common/metrics.h"
#include "plugin/store/store.h"

namespace collabcare::host {

// Waits between attempts. Tests inject one that returns at once (and moves a fake clock).
class Sleeper {
 public:
  Sleeper() = default;
  Sleeper(const Sleeper&) = delete;
  Sleeper& operator=(const Sleeper&) = delete;
  virtual ~Sleeper() = default;

  // Blocks for `d` or until Interrupt(); false once interrupted (and ever after).
  virtual bool SleepFor(absl::Duration d) = 0;
  // Wakes every sleeper now and makes later SleepFor calls return false at once. Thread-safe.
  virtual void Interrupt() = 0;
  // Ends the current SleepFor early (it returns true), or the next one if none is in progress.
  // Thread-safe. The default does nothing (the sleep runs its course).
  virtual void Wake() {}
};

// A real sleeper on a condition variable.
std::unique_ptr<Sleeper> NewRealSleeper();

// The resources `sink_content` asks for, mapped from one record revision (`data` is the
// serialized collabcare.v1 record of `kind`). `episode` and `goals` give the context
// (mapping.h); INVALID_ARGUMENT for data that does not parse.
absl::StatusOr<std::vector<fhir::FhirResource>> MapRevision(const store::RecordRevision& revision,
                                                            const fhir::MappingContext& ctx,
                                                            SinkContent sink_content);

struct SyncWorkerOptions {
  std::string host = "ehr";  // the store's name for this host (cursor, refs, parkings)
  fhir::CanonicalUrls urls;
  int batch = 100;                              // outbox entries read at once
  absl::Duration idle_poll = absl::Seconds(1);  // wait when the outbox is drained
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(60);
  // A host's Retry-After above this is capped (a bogus date must not stall sync for days).
  absl::Duration max_retry_after = absl::Minutes(10);
  int max_goals = 1000;  // goals of an episode loaded as mapping context
  // Episodes pushed at once when the sink is concurrent(); 1 pushes one entry at a time in
  // outbox order (also what a sink that is not concurrent gets).
  int parallelism = 4;
  // Where the collabcare_sync_* metrics go (label host = `host`); null: none. Not owned.
  MetricsRegistry* metrics = nullptr;
};

// What RetryParked did.
struct ParkedRetry {
  bool pushed = false;  // the host took it and the parking is gone
  // When not pushed: the attempt's failure. A refusal (a code that parks) replaced the
  // parking's outcome; a transient failure (UNAVAILABLE, …) left the parking as it was.
  absl::Status failure;
  std::optional<store::ParkedChange> parked;  // the parking as it now stands, when not pushed
};

struct SyncStatus {
  int64_t cursor = 0;   // outbox id up to which every change was pushed or parked
  int64_t lag = 0;      // outbox entries after the cursor
  int64_t pushed = 0;   // changes pushed since start
  int64_t retried = 0;  // attempts that failed and were retried
  int64_t parked = 0;   // changes parked since start
  int64_t skipped = 0;  // resources the host cannot take and no note covers (HostSink::skipped)
  absl::StatusCode last_error = absl::StatusCode::kOk;  // of the last failed attempt
};

// Pushes outbox entries in lanes, one lane per episode: a lane's entries are pushed one at a
// time in outbox order (a review's resources refer to its episode's goals, so order within an
// episode matters; order per record follows), and up to `parallelism` lanes are pushed at once
// when the sink is concurrent(). Each batch of `batch` entries is finished before the next is
// read, so per-episode order also holds across batches.
//
// For each entry: load the revision (GetRevision) and its episode (GetLatest; goals via
// ListLatest for episodes and reviews), map (MapRevision), Push. The durable cursor moves to
// the highest id up to which every entry was pushed or parked (never past an entry still in
// flight in another lane), so a crash repeats at most the entries after the cursor (sinks are
// idempotent per entry). Failures with UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED,
// RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN, UNAUTHENTICATED, PERMISSION_DENIED or CANCELLED
// (also from the store) are retried forever with exponential backoff and full jitter, waiting
// at least the host's Retry-After, per lane; INVALID_ARGUMENT, FAILED_PRECONDITION,
// UNIMPLEMENTED, NOT_FOUND, OUT_OF_RANGE and ALREADY_EXISTS park the change (Store::Park) with
// an OperationOutcome made from the status. Logs hold codes, HTTP statuses, counts, types and
// outbox ids, and the failure's message only when collabcare wrote it (a transport failure, an
// answer it could not use): a host's own words may echo clinical text and stay out of logs.
//
// Metrics (options.metrics): collabcare_sync_pushed_total{host}, _retried_total{host,code},
// _parked_total{host}, _lag{host}, _cursor{host}, _push_seconds{host} (histogram of Push).
//
// Run() on one thread, Stop(), Status() and RetryParked() from any.
class SyncWorker final {
 public:
  // None of the pointers is owned; all must outlive the worker. `seed` seeds the jitter.
  SyncWorker(SyncWorkerOptions options, store::Store* store, HostSink* sink, const Clock* clock,
             Sleeper* sleeper, uint64_t seed = 0x5eed);
  SyncWorker(const SyncWorker&) = delete;
  SyncWorker& operator=(const SyncWorker&) = delete;
  ~SyncWorker();

  // Loops until Stop(): drains the outbox, then polls every idle_poll. Logs "sync_caught_up"
  // (cursor, lag, counts) each time it has pushed a burst and found the outbox empty.
  void Run();

  // Handles one batch after the cursor; the number of entries pushed or parked (0 when the
  // outbox is drained). CANCELLED after Stop(). Store errors are retried inside.
  absl::StatusOr<int> RunOnce();

  // RunOnce until the outbox is drained (for --sync_once and tests).
  absl::Status Drain();

  // Makes Run / RunOnce return soon (the entry in flight finishes its current attempt).
  void Stop();

  SyncStatus Status();

  // Pushes parked change `outbox_id` of this host again, now: the Run thread takes the request
  // between batches (never while its own pushes are in flight), makes one attempt with the
  // entry's record revision and unparks it if the host takes it. Waits at most `timeout` for
  // the outcome. NOT_FOUND if no such parking (among the oldest 10000) or outbox entry;
  // FAILED_PRECONDITION if a newer revision of the record exists (pushing the old one would
  // overwrite it in the host; discard the parking instead); DEADLINE_EXCEEDED if the worker
  // did not finish it in time (it may still finish it; the request is dropped if not begun);
  // CANCELLED once stopping; store errors.
  absl::StatusOr<ParkedRetry> RetryParked(int64_t outbox_id, absl::Duration timeout);

 private:
  struct RetryRequest;
  struct Metrics;
  // Pushes the entries of one batch, one lane per episode, up to `parallelism` lanes at once.
  absl::StatusOr<int> RunLanes(const std::vector<store::OutboxEntry>& entries);
  // Persists the cursor (never backwards) and updates the gauge.
  absl::Status SaveCursor(int64_t id);
  // Serves queued RetryParked requests (Run thread, between batches).
  void ServeRequests();
  absl::StatusOr<ParkedRetry> ServeRetry(int64_t outbox_id);
  // Pushes or parks one entry, retrying until done or stopped (CANCELLED).
  absl::Status Handle(const store::OutboxEntry& entry);
  absl::Status Attempt(const store::OutboxEntry& entry);
  // Parks (or re-parks, replacing the outcome) one entry; `count` for a new parking.
  absl::Status ParkEntry(const store::OutboxEntry& entry, const absl::Status& why, bool count);
  // Sleeps the backoff for attempt `attempt` (1, 2, …) after `failure`; false when stopped.
  bool Backoff(int attempt, const absl::Status& failure);
  // Runs `f` until it succeeds (backing off between failures) or the worker stops.
  absl::Status Retrying(const std::function<absl::Status()>& f);

  const SyncWorkerOptions options_;
  store::Store* const store_;
  HostSink* const sink_;
  const Clock* const clock_;
  Sleeper* const sleeper_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<Metrics> metrics_;  // null without options.metrics

  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_ (lanes back off concurrently)

  std::mutex cursor_mu_;  // held while the cursor is written, so writes go in order

  std::mutex mu_;
  int64_t cursor_ = -1;  // -1: not read yet; guarded by mu_ (written by the Run thread)
  int64_t pushed_ = 0;
  int64_t retried_ = 0;
  int64_t parked_ = 0;
  absl::StatusCode last_error_ = absl::StatusCode::kOk;
  bool idle_ = false;  // the Run thread waits for new entries (a request may wake it)
  std::deque<std::shared_ptr<RetryRequest>> requests_;
  std::condition_variable request_done_;  // with mu_
};

}  // namespace collabcare::host

#endif  // COLLABCARE_ADAPTERS_HOST_SYNC_SYNC_WORKER_H_
