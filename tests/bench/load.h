// Closed-loop load on gRPC's async API: keep C unary calls in flight for a fixed time and
// measure throughput, latency percentiles and errors.
#ifndef COLLABCARE_TESTS_BENCH_LOAD_H_
#define COLLABCARE_TESTS_BENCH_LOAD_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace collabcare::bench {

// One call kept in flight. Issue() starts a call whose completion arrives on `cq` tagged with
// the slot itself; the runner then reads `status` and `start` and issues the next call.
// A slot is used by one polling thread at a time.
class Slot {
 public:
  virtual ~Slot() = default;
  virtual void Issue(grpc::CompletionQueue* cq) = 0;

  grpc::Status status;
  std::chrono::steady_clock::time_point start;
};

// A slot for one unary method: `start_call` wraps the stub's Async<Method>, `fill` prepares
// each request (e.g. a fresh request_id), and every call carries `authorization`.
template <typename Request, typename Response>
class UnarySlot final : public Slot {
 public:
  using StartCall = std::function<std::unique_ptr<grpc::ClientAsyncResponseReader<Response>>(
      grpc::ClientContext*, const Request&, grpc::CompletionQueue*)>;
  using Fill = std::function<void(Request&)>;

  UnarySlot(std::string authorization, absl::Duration deadline, StartCall start_call, Fill fill)
      : authorization_(std::move(authorization)),
        deadline_(absl::ToChronoMilliseconds(deadline)),
        start_call_(std::move(start_call)),
        fill_(std::move(fill)) {}

  void Issue(grpc::CompletionQueue* cq) override {
    // The reader lives in the call's arena, which the context owns: drop the reader first.
    reader_.reset();
    context_.emplace();
    context_->AddMetadata("authorization", authorization_);
    context_->set_deadline(std::chrono::system_clock::now() + deadline_);
    fill_(request_);
    response_.Clear();
    status = grpc::Status();
    start = std::chrono::steady_clock::now();
    reader_ = start_call_(&*context_, request_, cq);
    reader_->Finish(&response_, &status, this);
  }

 private:
  const std::string authorization_;
  const std::chrono::milliseconds deadline_;
  const StartCall start_call_;
  Fill fill_;
  Request request_;
  Response response_;
  std::optional<grpc::ClientContext> context_;  // declared before reader_: destroyed after it
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader_;
};

struct CellOptions {
  int concurrency = 1;      // calls in flight
  int polling_threads = 2;  // completion-queue threads (at most `concurrency`)
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration measure = absl::Seconds(4);
  // Returns the CPU time the server under test has used so far (for the report).
  std::function<absl::Duration()> server_cpu;
};

struct CellResult {
  int64_t ok_calls = 0;  // OK calls that completed inside the measured window
  int64_t errors = 0;    // non-OK calls during warm-up and measurement
  std::string first_error;
  double qps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t samples = 0;      // latencies recorded (all OK calls unless the buffer filled)
  double client_cores = 0;  // this process's CPU time / measured wall time
  double server_cores = 0;  // the server's CPU time / measured wall time
};

// Keeps `options.concurrency` calls in flight, each slot made by `new_slot`, through the
// warm-up and the measured window; counts OK calls completed in the window.
CellResult RunCell(const std::function<std::unique_ptr<Slot>()>& new_slot,
                   const CellOptions& options);

}  // namespace collabcare::bench

#endif  // COLLABCARE_TESTS_BENCH_LOAD_H_
