// The production Clock and IdGenerator.
#include "plugin/common/clock.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>

#include "absl/time/clock.h"

namespace collabcare {
namespace {

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

class RandomIdGenerator final : public IdGenerator {
 public:
  // 9 characters of milliseconds since 1970 (so names sort in creation order and lists come
  // out oldest first) and 11 random characters (55 bits).
  std::string NewId() override {
    // In ASCII order, so that the text of the ids sorts like the numbers they encode.
    static constexpr char kAlphabet[] = "234567abcdefghijklmnopqrstuvwxyz";
    std::string id(20, 'a');
    uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
    for (int i = 8; i >= 0; --i) {
      id[i] = kAlphabet[millis & 31];
      millis >>= 5;
    }
    std::array<unsigned char, 11> bytes;
    if (RAND_bytes(bytes.data(), bytes.size()) != 1) std::abort();  // No entropy: cannot go on.
    for (size_t i = 0; i < bytes.size(); ++i) id[9 + i] = kAlphabet[bytes[i] & 31];
    return id;
  }
};

}  // namespace

std::unique_ptr<Clock> NewSystemClock() { return std::make_unique<SystemClock>(); }
std::unique_ptr<IdGenerator> NewRandomIdGenerator() {
  return std::make_unique<RandomIdGenerator>();
}

}  // namespace collabcare
