// The sync worker's lanes: entries of different episodes pushed at once through a concurrent
// sink, each episode's in outbox order, and a cursor that never passes an unfinished entry.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/host/sync/sync_worker.h"
#include "gtest/gtest.h"
#include "tests/sync/sync_test_util.h"

namespace collabcare::host {
namespace {

using testutil::ConcurrentSink;
using testutil::FakeSleeper;

class SyncLanesTest : public ::testing::Test {
 protected:
  std::vector<store::OutboxEntry> Outbox() { return store_->ReadOutbox(0, 10000).value(); }

  SyncWorkerOptions Options(int parallelism) {
    SyncWorkerOptions options;
    options.parallelism = parallelism;
    options.batch = 1000;
    return options;
  }

  testing::FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  FakeSleeper sleeper_{&clock_};
};

TEST_F(SyncLanesTest, EpisodesOverlapAndEachKeepsItsOrder) {
  const int changes = testutil::CommitEpisodes(*store_, 4, 2);
  ConcurrentSink sink;
  // Every push waits (bounded) until a push of every episode is in flight: the four lanes
  // must all be running at once for the pushes to go on without the timeout.
  std::atomic<int> started{0};
  std::mutex mu;
  std::condition_variable cv;
  sink.during_push = [&](const store::OutboxEntry&) {
    std::unique_lock<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return started.load() >= 4; });
    return absl::OkStatus();
  };
  SyncWorker worker(Options(4), store_.get(), &sink, &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  EXPECT_EQ(sink.max_in_flight(), 4);

  std::vector<int64_t> pushed = sink.pushed_ids();
  ASSERT_EQ(static_cast<int>(pushed.size()), changes);
  std::map<std::string, std::vector<int64_t>> expected;
  for (const store::OutboxEntry& e : Outbox()) expected[e.episode_id].push_back(e.id);
  EXPECT_EQ(sink.by_episode(), expected);  // per episode: every entry, in outbox order
  EXPECT_EQ(store_->GetSyncCursor("ehr").value(), Outbox().back().id);
  EXPECT_EQ(worker.Status().pushed, changes);
  EXPECT_EQ(worker.Status().lag, 0);
}

TEST_F(SyncLanesTest, ParallelismOneIsOneAtATimeInOutboxOrder) {
  testutil::CommitEpisodes(*store_, 3, 1);
  ConcurrentSink sink;
  SyncWorker worker(Options(1), store_.get(), &sink, &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  std::vector<int64_t> ids;
  for (const store::OutboxEntry& e : Outbox()) ids.push_back(e.id);
  EXPECT_EQ(sink.pushed_ids(), ids);
  EXPECT_EQ(sink.max_in_flight(), 1);
}

TEST_F(SyncLanesTest, ASinkThatIsNotConcurrentGetsOneAtATime) {
  testutil::CommitEpisodes(*store_, 3, 1);
  testutil::ScriptedSink sink;  // concurrent() is false
  SyncWorker worker(Options(8), store_.get(), &sink, &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  std::vector<int64_t> ids;
  for (const store::OutboxEntry& e : Outbox()) ids.push_back(e.id);
  EXPECT_EQ(sink.pushed_ids, ids);
}

TEST_F(SyncLanesTest, TheCursorNeverPassesAnEntryStillInFlight) {
  testutil::CommitEpisodes(*store_, 3, 1);
  const std::vector<store::OutboxEntry> outbox = Outbox();
  // Hold the first goal entry of episode p1; the other episodes' lanes finish meanwhile.
  int64_t held = 0;
  size_t others = 0;
  for (const store::OutboxEntry& e : outbox) {
    if (held == 0 && e.episode_id == "p1" && e.kind == store::RecordKind::kGoal) held = e.id;
    if (e.episode_id != "p1") ++others;
  }
  ASSERT_GT(held, 0);
  ConcurrentSink sink;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  sink.during_push = [&](const store::OutboxEntry& e) {
    if (e.id == held) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::seconds(20), [&] { return release; });
    }
    return absl::OkStatus();
  };
  SyncWorker worker(Options(4), store_.get(), &sink, &clock_, &sleeper_);
  absl::Status drained;
  std::thread run([&] { drained = worker.Drain(); });
  // The p1 entries before the held one, and every entry of the other episodes.
  size_t before_held = 0;
  for (const store::OutboxEntry& e : outbox) before_held += e.episode_id == "p1" && e.id < held;
  ASSERT_TRUE(sink.WaitForPushes(others + before_held, absl::Seconds(20)));
  // The lane that pushed last saves the cursor just after its push returned.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (store_->GetSyncCursor("ehr").value() < held - 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const int64_t cursor = store_->GetSyncCursor("ehr").value();
  EXPECT_LT(cursor, held);
  EXPECT_EQ(cursor, held - 1);  // everything before the held entry is done
  EXPECT_EQ(worker.Status().cursor, cursor);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  run.join();
  ASSERT_TRUE(drained.ok()) << drained;
  EXPECT_EQ(store_->GetSyncCursor("ehr").value(), outbox.back().id);
}

TEST_F(SyncLanesTest, StopAndRestartRepeatOnlyWhatIsAfterTheCursor) {
  testutil::CommitEpisodes(*store_, 4, 1);
  const std::vector<store::OutboxEntry> outbox = Outbox();
  // An entry of episode p2 fails until the worker stops; the other lanes finish.
  int64_t failing = 0;
  for (const store::OutboxEntry& e : outbox) {
    if (failing == 0 && e.episode_id == "p2" && e.kind == store::RecordKind::kGoal) failing = e.id;
  }
  ConcurrentSink sink;
  std::atomic<int> failures{0};
  sink.during_push = [&](const store::OutboxEntry& e) {
    if (e.id != failing) return absl::OkStatus();
    ++failures;
    return absl::UnavailableError("down");
  };
  std::unique_ptr<SyncWorker> worker =
      std::make_unique<SyncWorker>(Options(4), store_.get(), &sink, &clock_, &sleeper_);
  sleeper_.on_sleep = [&](int calls) {
    if (calls == 5) worker->Stop();
  };
  EXPECT_EQ(worker->Drain().code(), absl::StatusCode::kCancelled);
  EXPECT_GE(failures.load(), 5);
  const int64_t cursor = store_->GetSyncCursor("ehr").value();
  EXPECT_LT(cursor, failing);  // other lanes may have stopped early too
  const std::vector<int64_t> pushed = sink.pushed_ids();
  const std::set<int64_t> first_run(pushed.begin(), pushed.end());
  EXPECT_EQ(first_run.count(failing), 0u);

  // A restart (a new worker on the same store) pushes everything after the cursor again, in
  // order per episode, and never anything at or below it.
  ConcurrentSink again;
  FakeSleeper sleeper(&clock_);
  SyncWorker restarted(Options(4), store_.get(), &again, &clock_, &sleeper);
  ASSERT_TRUE(restarted.Drain().ok());
  std::map<std::string, std::vector<int64_t>> expected;
  for (const store::OutboxEntry& e : outbox) {
    if (e.id > cursor) expected[e.episode_id].push_back(e.id);
  }
  EXPECT_EQ(again.by_episode(), expected);
  EXPECT_EQ(store_->GetSyncCursor("ehr").value(), outbox.back().id);
}

TEST_F(SyncLanesTest, ParksInOneLaneWhileOthersGoOn) {
  testutil::CommitEpisodes(*store_, 3, 0);
  const std::vector<store::OutboxEntry> outbox = Outbox();
  int64_t refused = 0;
  for (const store::OutboxEntry& e : outbox) {
    if (refused == 0 && e.episode_id == "p3" && e.kind == store::RecordKind::kGoal) refused = e.id;
  }
  ConcurrentSink sink;
  sink.during_push = [&](const store::OutboxEntry& e) {
    return e.id == refused ? absl::InvalidArgumentError("refused") : absl::OkStatus();
  };
  MetricsRegistry metrics;
  SyncWorkerOptions options = Options(4);
  options.metrics = &metrics;
  SyncWorker worker(options, store_.get(), &sink, &clock_, &sleeper_);
  ASSERT_TRUE(worker.Drain().ok());
  std::vector<store::ParkedChange> parked = store_->ListParked("ehr", 10).value();
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].outbox_id, refused);
  EXPECT_EQ(sink.pushed_ids().size(), outbox.size() - 1);
  EXPECT_EQ(store_->GetSyncCursor("ehr").value(), outbox.back().id);
  const std::string text = metrics.Render();
  EXPECT_NE(text.find(absl::StrCat("collabcare_sync_pushed_total{host=\"ehr\"} ", outbox.size() - 1,
                                   "\n")),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("collabcare_sync_parked_total{host=\"ehr\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("collabcare_sync_lag{host=\"ehr\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find(absl::StrCat("collabcare_sync_cursor{host=\"ehr\"} ", outbox.back().id)),
            std::string::npos);
  EXPECT_NE(
      text.find(absl::StrCat("collabcare_sync_push_seconds_count{host=\"ehr\"} ", outbox.size())),
      std::string::npos);
}

}  // namespace
}  // namespace collabcare::host

namespace collabcare::host {
namespace {

// RetryParked through a running worker: the Run thread serves the request between batches
// (woken from its idle wait), pushes the parked revision once and unparks it.
class RetryParkedTest : public ::testing::Test {
 protected:
  void StartWorker() {
    SyncWorkerOptions options;
    options.idle_poll = absl::Hours(1);  // only a Wake ends the idle wait in time
    options.metrics = &metrics_;
    worker_ =
        std::make_unique<SyncWorker>(options, store_.get(), &sink_, clock_.get(), sleeper_.get());
    thread_ = std::thread([this] { worker_->Run(); });
  }
  ~RetryParkedTest() override {
    if (worker_ != nullptr) {
      worker_->Stop();
      thread_.join();
    }
  }
  // Parks the first goal entry of the demo session by refusing it once.
  int64_t ParkFirstGoal() {
    testutil::CommitDemoSession(*store_);
    const std::vector<store::OutboxEntry> outbox = store_->ReadOutbox(0, 100).value();
    for (const store::OutboxEntry& e : outbox) {
      if (e.kind == store::RecordKind::kGoal) {
        sink_.FailNext(e.id, absl::InvalidArgumentError("Goal.target: refused"));
        return e.id;
      }
    }
    return 0;
  }

  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  std::unique_ptr<Clock> clock_ = NewSystemClock();
  std::unique_ptr<Sleeper> sleeper_ = NewRealSleeper();
  testutil::ScriptedSink sink_;
  MetricsRegistry metrics_;
  std::unique_ptr<SyncWorker> worker_;
  std::thread thread_;
};

TEST_F(RetryParkedTest, ARetryThatLandsUnparksAndPushesOnce) {
  const int64_t id = ParkFirstGoal();
  StartWorker();
  // The worker drains (parking the goal) before it serves the request: requests come between
  // batches, and this one may arrive before or after the first batch.
  absl::StatusOr<ParkedRetry> retried;
  for (int i = 0; i < 100; ++i) {
    retried = worker_->RetryParked(id, absl::Seconds(20));
    if (!absl::IsNotFound(retried.status())) break;  // not parked yet
  }
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->pushed);
  EXPECT_FALSE(retried->parked.has_value());
  EXPECT_TRUE(store_->ListParked("ehr", 10).value().empty());
  EXPECT_EQ(std::count(sink_.pushed_ids.begin(), sink_.pushed_ids.end(), id), 1);
  EXPECT_EQ(worker_->RetryParked(id, absl::Seconds(20)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(metrics_.Counter("collabcare_sync_parked_total", "", {"host"}).Value({"ehr"}), 1);
}

TEST_F(RetryParkedTest, ARefusalKeepsItParkedWithTheNewOutcome) {
  const int64_t id = ParkFirstGoal();
  sink_.FailNext(id, absl::FailedPreconditionError("Goal.subject: still refused"));
  StartWorker();
  absl::StatusOr<ParkedRetry> retried;
  for (int i = 0; i < 100; ++i) {
    retried = worker_->RetryParked(id, absl::Seconds(20));
    if (!absl::IsNotFound(retried.status())) break;
  }
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_FALSE(retried->pushed);
  EXPECT_EQ(retried->failure.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(retried->parked.has_value());
  EXPECT_EQ(retried->parked->code, static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_NE(retried->parked->outcome.find("Goal.subject"), std::string::npos);
  std::vector<store::ParkedChange> parked = store_->ListParked("ehr", 10).value();
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].outbox_id, id);
  EXPECT_EQ(std::count(sink_.pushed_ids.begin(), sink_.pushed_ids.end(), id), 0);

  // A transient failure leaves the parking as it was.
  sink_.FailNext(id, absl::UnavailableError("down"));
  retried = worker_->RetryParked(id, absl::Seconds(20));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->failure.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->ListParked("ehr", 10).value()[0].code,
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RetryParkedTest, ASupersededRevisionIsNotPushedOverTheNewerOne) {
  const int64_t id = ParkFirstGoal();
  StartWorker();
  absl::StatusOr<ParkedRetry> retried = absl::NotFoundError("");
  // Wait until it is parked, then commit a newer revision of the goal.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (store_->ListParked("ehr", 10).value().empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(store_->ListParked("ehr", 10).value().size(), 1u);
  const store::OutboxEntry entry = store_->ReadOutbox(id - 1, 1).value()[0];
  v1::Goal goal;
  ASSERT_TRUE(goal.ParseFromString(store_->GetLatest(entry.name).value().data));
  testutil::CommitRecord(*store_, store::RecordKind::kGoal, entry.name, goal);
  retried = worker_->RetryParked(id, absl::Seconds(20));
  EXPECT_EQ(retried.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->ListParked("ehr", 10).value().size(), 1u);
}

TEST_F(RetryParkedTest, AWorkerThatDoesNotGetToItInTimeSaysSo) {
  const int64_t id = ParkFirstGoal();
  // Without a running worker nobody serves the request.
  worker_ = nullptr;
  SyncWorker idle(SyncWorkerOptions(), store_.get(), &sink_, clock_.get(), sleeper_.get());
  ASSERT_TRUE(idle.Drain().ok());
  EXPECT_EQ(idle.RetryParked(id, absl::Milliseconds(20)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  idle.Stop();
  EXPECT_EQ(idle.RetryParked(id, absl::Milliseconds(20)).status().code(),
            absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace collabcare::host
