// Time and randomness come through these interfaces so tests control them.
#ifndef COLLABCARE_PLUGIN_COMMON_CLOCK_H_
#define COLLABCARE_PLUGIN_COMMON_CLOCK_H_

#include <memory>
#include <string>

#include "absl/time/time.h"

namespace collabcare {

// Tells the time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock.
std::unique_ptr<Clock> NewSystemClock();

// Makes ids for new records: 20 lowercase base-32 characters, a millisecond timestamp and 55
// random bits from a CSPRNG, so ids sort by creation, do not collide and do not reveal how
// many records exist. Thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewId() = 0;
};

// Ids from the wall clock and OpenSSL's RAND_bytes.
std::unique_ptr<IdGenerator> NewRandomIdGenerator();

}  // namespace collabcare

#endif  // COLLABCARE_PLUGIN_COMMON_CLOCK_H_
