// Test doubles shared by the service, gRPC and end-to-end tests: a settable clock and
// predictable ids.
#ifndef COLLABCARE_TESTS_TESTING_FAKES_H_
#define COLLABCARE_TESTS_TESTING_FAKES_H_

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "plugin/common/clock.h"

namespace collabcare::testing {

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1790000000)) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

// Ids "id000001", "id000002", … Thread-safe.
class SequentialIds final : public IdGenerator {
 public:
  std::string NewId() override {
    char buf[16];
    std::snprintf(buf, sizeof buf, "id%06d", ++next_);
    return buf;
  }

 private:
  std::atomic<int> next_{0};
};

}  // namespace collabcare::testing

#endif  // COLLABCARE_TESTS_TESTING_FAKES_H_
