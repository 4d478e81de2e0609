// Test helpers for the identity module: a fake clock, temporary folders, and keys, JWKs and
// JWS signatures built straight on OpenSSL, independent of the module's own JOSE code.
#ifndef COLLABCARE_TESTS_IDENTITY_IDENTITY_TEST_UTIL_H_
#define COLLABCARE_TESTS_IDENTITY_IDENTITY_TEST_UTIL_H_

#include <openssl/types.h>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "plugin/common/clock.h"

namespace collabcare::identity::testutil {

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    std::lock_guard lock(mu_);
    now_ += by;
  }

 private:
  // std::mutex: ThreadSanitizer cannot see into Debian's prebuilt absl::Mutex.
  mutable std::mutex mu_;
  absl::Time now_;  // guarded by mu_
};

// A fresh folder from mkdtemp, removed with its contents on destruction.
class TempDir final {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

enum class KeyType { kRsa1024, kRsa2048, kP256, kP384, kP521 };

// A key pair generated with OpenSSL. Copies share the key. Generation failures abort.
class TestKey final {
 public:
  static TestKey Generate(KeyType type);
  // Parses an unencrypted PEM private key.
  static TestKey FromPem(const std::string& pem);

  EVP_PKEY* get() const { return key_.get(); }
  // PKCS#8 PEM of the private key.
  std::string PrivatePem() const;
  // The public JWK; `kid` and `alg` are left out when empty.
  nlohmann::json Jwk(absl::string_view kid, absl::string_view alg = "") const;
  // The RFC 7638 thumbprint, built by hand from the canonical member string.
  std::string Thumbprint() const;
  // The JWS signature of `input` for `alg` (RS256/RS384/ES256/ES384); ECDSA as raw r || s.
  std::string Sign(absl::string_view alg, absl::string_view input) const;
  // Checks a JWS signature (ECDSA as raw r || s) with this key.
  bool VerifySignature(absl::string_view alg, absl::string_view input,
                       absl::string_view signature) const;

 private:
  explicit TestKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

// Keys shared by all tests (RSA generation is slow); never modified.
const TestKey& RsaKey();
const TestKey& OtherRsaKey();
const TestKey& P256Key();
const TestKey& OtherP256Key();
const TestKey& P384Key();

std::string B64(absl::string_view bytes);
// Decodes base64url without padding; aborts on bad input (test data only).
std::string UnB64(absl::string_view encoded);

// `header.payload.signature` with the payload given as raw bytes.
std::string SignRaw(const nlohmann::json& header, absl::string_view payload, const TestKey& key,
                    absl::string_view alg);
// A compact JWS signed by `key` with the digest and format of `alg`.
std::string SignJws(const nlohmann::json& header, const nlohmann::json& payload, const TestKey& key,
                    absl::string_view alg);
// {"keys": [...]}.
std::string Jwks(std::initializer_list<nlohmann::json> keys);

}  // namespace collabcare::identity::testutil

#endif  // COLLABCARE_TESTS_IDENTITY_IDENTITY_TEST_UTIL_H_
