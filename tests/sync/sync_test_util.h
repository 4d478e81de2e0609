// Helpers for the sync tests: records committed to a store as the service would, a sleeper
// that never sleeps, a scripted sink, and a real FHIR test server started on loopback.
#ifndef COLLABCARE_TESTS_SYNC_SYNC_TEST_UTIL_H_
#define COLLABCARE_TESTS_SYNC_SYNC_TEST_UTIL_H_

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/sync/host_sink.h"
#include "adapters/host/sync/sync_worker.h"
#include "google/protobuf/message_lite.h"
#include "nlohmann/json.hpp"
#include "plugin/store/store.h"
#include "tests/testing/fakes.h"

namespace collabcare::host::testutil {

// Commits the next revision of `name` with `record` serialized as its data.
void CommitRecord(store::Store& store, store::RecordKind kind, const std::string& name,
                  const google::protobuf::MessageLite& record);

// A demo session from the golden records: the family episode (episodes/e1, clients Patient/1
// …), its goals, a professional hypothesis with responses and a signed review. Returns how many
// outbox entries it made.
int CommitDemoSession(store::Store& store);

// `episodes` copies of the demo family episode ("episodes/p1" … "episodes/pN", with the golden
// goals renamed into each), then `rounds` more revisions of every goal, committed round-robin
// across the episodes so that the outbox interleaves them. Returns how many outbox entries it
// made.
int CommitEpisodes(store::Store& store, int episodes, int rounds);

// A thread-safe sink that records each push with its episode and how many pushes were in
// flight at once. `during_push` (if set) runs inside Push, without the sink's lock held, and
// may block (a test holds an entry in flight with it) or return an error to fail the push.
class ConcurrentSink final : public HostSink {
 public:
  SinkContent content() const override { return SinkContent::kFull; }
  bool concurrent() const override { return true; }
  absl::Status Push(const store::OutboxEntry& entry,
                    const std::vector<fhir::FhirResource>& resources) override;

  std::function<absl::Status(const store::OutboxEntry&)> during_push;

  std::vector<int64_t> pushed_ids();                         // in completion order
  std::map<std::string, std::vector<int64_t>> by_episode();  // completion order per episode
  int max_in_flight();
  // Blocks until `n` pushes have succeeded or `timeout` passed; whether they had.
  bool WaitForPushes(size_t n, absl::Duration timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> pushed_;
  std::map<std::string, std::vector<int64_t>> by_episode_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
};

// Returns at once, advancing `clock` by the requested time and recording it. `on_sleep` (if
// set) runs on every call with the number of calls so far.
class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(testing::FakeClock* clock) : clock_(clock) {}
  bool SleepFor(absl::Duration d) override;
  void Interrupt() override;
  std::vector<absl::Duration> sleeps();
  std::function<void(int calls)> on_sleep;

 private:
  testing::FakeClock* clock_;
  std::mutex mu_;
  std::vector<absl::Duration> sleeps_;
  bool interrupted_ = false;
};

// Records pushes; fails them with the queued statuses first.
class ScriptedSink final : public HostSink {
 public:
  explicit ScriptedSink(SinkContent content = SinkContent::kFull) : content_(content) {}
  SinkContent content() const override { return content_; }
  absl::Status Push(const store::OutboxEntry& entry,
                    const std::vector<fhir::FhirResource>& resources) override;

  // Failures for the push of outbox entry `id` (in order), before it succeeds.
  void FailNext(int64_t id, absl::Status status) { failures_.emplace_back(id, std::move(status)); }
  std::vector<int64_t> pushed_ids;  // successful pushes, in order
  std::vector<std::vector<std::string>> pushed_types;
  int attempts = 0;

 private:
  SinkContent content_;
  std::deque<std::pair<int64_t, absl::Status>> failures_;
};

// The FHIR R4 test server (tests/fhir_server) as a child process on a free loopback port.
class FhirTestServer final {
 public:
  explicit FhirTestServer(std::vector<std::string> flags = {});
  FhirTestServer(const FhirTestServer&) = delete;
  FhirTestServer& operator=(const FhirTestServer&) = delete;
  ~FhirTestServer();

  bool started() const { return port_ > 0; }
  std::string base_url() const;  // http://127.0.0.1:<port>/fhir/R4
  // A call to the control API, e.g. Control(kPost, "faults", R"({"mode":…})"); the JSON answer
  // (null if none).
  nlohmann::json Control(HttpMethod method, const std::string& path, const std::string& body = "");
  HttpTransport* transport() { return transport_.get(); }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<HttpTransport> transport_;
};

}  // namespace collabcare::host::testutil

#endif  // COLLABCARE_TESTS_SYNC_SYNC_TEST_UTIL_H_
