// The production Clock and IdGenerator.
#include "plugin/common/clock.h"

#include <openssl/rand.h>

#include <array>
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
  std::string NewId() override {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    std::array<unsigned char, 20> bytes;
    if (RAND_bytes(bytes.data(), bytes.size()) != 1) std::abort();  // No entropy: cannot go on.
    std::string id(bytes.size(), 'a');
    for (size_t i = 0; i < bytes.size(); ++i) id[i] = kAlphabet[bytes[i] & 31];
    return id;
  }
};

}  // namespace

std::unique_ptr<Clock> NewSystemClock() { return std::make_unique<SystemClock>(); }
std::unique_ptr<IdGenerator> NewRandomIdGenerator() {
  return std::make_unique<RandomIdGenerator>();
}

}  // namespace collabcare
