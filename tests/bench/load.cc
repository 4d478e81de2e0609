// The closed-loop load runner: completion-queue polling threads, a preallocated latency buffer
// per cell, percentiles by nth_element.
#include "tests/bench/load.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/bench/child_process.h"

namespace collabcare::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Room for this many calls per second of measurement in the latency buffer; far above what
// one machine reaches, so every OK call is sampled in practice.
constexpr double kMaxExpectedQps = 250000;

// What the polling threads of one cell share. Counters are atomics; the latency buffer is
// preallocated and filled through an atomic index, so recording does not allocate or lock.
class Recorder {
 public:
  Recorder(SteadyClock::time_point window_start, SteadyClock::time_point window_end,
           size_t capacity)
      : window_start_(window_start), window_end_(window_end), latencies_ns_(capacity) {}

  void Record(const Slot& slot, SteadyClock::time_point done) {
    if (!slot.status.ok()) {
      if (errors_.fetch_add(1, std::memory_order_relaxed) == 0) {
        std::lock_guard<std::mutex> lock(first_error_mutex_);
        first_error_ = absl::StrCat(
            absl::StatusCodeToString(static_cast<absl::StatusCode>(slot.status.error_code())), ": ",
            slot.status.error_message());
      }
      return;
    }
    if (done < window_start_ || done >= window_end_) return;
    ok_calls_.fetch_add(1, std::memory_order_relaxed);
    const size_t index = next_.fetch_add(1, std::memory_order_relaxed);
    if (index < latencies_ns_.size()) latencies_ns_[index] = (done - slot.start).count();
  }

  SteadyClock::time_point window_end() const { return window_end_; }

  // Fills counts and percentiles; call after every polling thread has finished.
  void Summarize(CellResult& result) {
    result.ok_calls = ok_calls_.load();
    result.errors = errors_.load();
    result.first_error = first_error_;
    const double seconds = std::chrono::duration<double>(window_end_ - window_start_).count();
    result.qps = static_cast<double>(result.ok_calls) / seconds;
    const size_t n = std::min(next_.load(), latencies_ns_.size());
    result.samples = static_cast<int64_t>(n);
    if (n == 0) return;
    auto begin = latencies_ns_.begin();
    auto end = begin + static_cast<ptrdiff_t>(n);
    auto at = [&](double q) {
      return begin + static_cast<ptrdiff_t>(std::min(n - 1, static_cast<size_t>(q * n)));
    };
    // p99 first over the whole range; then p50 within the part below it.
    auto p99 = at(0.99);
    std::nth_element(begin, p99, end);
    auto p50 = at(0.50);
    std::nth_element(begin, p50, p99);
    result.p99_ms = static_cast<double>(*p99) / 1e6;
    result.p50_ms = static_cast<double>(*p50) / 1e6;
  }

 private:
  const SteadyClock::time_point window_start_;
  const SteadyClock::time_point window_end_;
  std::vector<int64_t> latencies_ns_;
  std::atomic<size_t> next_{0};
  std::atomic<int64_t> ok_calls_{0};
  std::atomic<int64_t> errors_{0};
  std::mutex first_error_mutex_;
  std::string first_error_;
};

// Issues each slot's first call, then re-issues every completed slot until the window ends.
void Poll(grpc::CompletionQueue* cq, const std::vector<Slot*>& slots, Recorder& recorder) {
  for (Slot* slot : slots) slot->Issue(cq);
  size_t in_flight = slots.size();
  void* tag = nullptr;
  bool ok = false;
  while (in_flight > 0 && cq->Next(&tag, &ok)) {
    Slot* slot = static_cast<Slot*>(tag);
    const SteadyClock::time_point done = SteadyClock::now();
    recorder.Record(*slot, done);
    if (done < recorder.window_end()) {
      slot->Issue(cq);
    } else {
      --in_flight;
    }
  }
  cq->Shutdown();
  while (cq->Next(&tag, &ok)) {
  }
}

}  // namespace

CellResult RunCell(const std::function<std::unique_ptr<Slot>()>& new_slot,
                   const CellOptions& options) {
  const int threads = std::max(1, std::min(options.concurrency, options.polling_threads));
  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<std::vector<Slot*>> per_thread(threads);
  for (int i = 0; i < options.concurrency; ++i) {
    slots.push_back(new_slot());
    per_thread[i % threads].push_back(slots.back().get());
  }
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (int t = 0; t < threads; ++t) queues.push_back(std::make_unique<grpc::CompletionQueue>());

  const double measure_seconds = absl::ToDoubleSeconds(options.measure);
  const size_t capacity = static_cast<size_t>(std::ceil(measure_seconds * kMaxExpectedQps)) + 1024;
  const SteadyClock::time_point begin = SteadyClock::now();
  const SteadyClock::time_point window_start = begin + absl::ToChronoNanoseconds(options.warmup);
  const SteadyClock::time_point window_end =
      window_start + absl::ToChronoNanoseconds(options.measure);
  Recorder recorder(window_start, window_end, capacity);

  std::vector<std::thread> pollers;
  for (int t = 0; t < threads; ++t) {
    pollers.emplace_back(Poll, queues[t].get(), std::cref(per_thread[t]), std::ref(recorder));
  }
  // CPU use over the measured window, sampled by this (otherwise sleeping) thread.
  std::this_thread::sleep_until(window_start);
  const absl::Duration client_cpu_start = SelfCpuTime();
  const absl::Duration server_cpu_start = options.server_cpu();
  std::this_thread::sleep_until(window_end);
  const absl::Duration client_cpu = SelfCpuTime() - client_cpu_start;
  const absl::Duration server_cpu = options.server_cpu() - server_cpu_start;
  for (std::thread& poller : pollers) poller.join();

  CellResult result;
  recorder.Summarize(result);
  result.client_cores = absl::ToDoubleSeconds(client_cpu) / measure_seconds;
  result.server_cores = absl::ToDoubleSeconds(server_cpu) / measure_seconds;
  return result;
}

}  // namespace collabcare::bench
