// Test helpers for the identity module, built straight on OpenSSL.
#include "tests/identity/identity_test_util.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace collabcare::identity::testutil {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "identity_test_util: %s\n", what);
  std::abort();
}

std::string BnBytes(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) Die("EVP_PKEY_get_bn_param");
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

// x and y from the encoded (uncompressed) public point.
std::pair<std::string, std::string> EcCoordinates(EVP_PKEY* key) {
  unsigned char point[256];
  size_t size = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point),
                                      &size) != 1 ||
      size % 2 != 1 || point[0] != 0x04) {
    Die("EC public point");
  }
  const size_t half = size / 2;
  return {std::string(reinterpret_cast<char*>(point) + 1, half),
          std::string(reinterpret_cast<char*>(point) + 1 + half, half)};
}

std::string CurveName(EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  return bits == 256 ? "P-256" : bits == 384 ? "P-384" : "P-521";
}

const EVP_MD* Digest(absl::string_view alg) {
  if (alg == "RS256" || alg == "ES256") return EVP_sha256();
  if (alg == "RS384" || alg == "ES384") return EVP_sha384();
  Die("unknown alg");
}

bool IsEc(absl::string_view alg) { return alg[0] == 'E'; }

size_t Width(EVP_PKEY* key) { return (static_cast<size_t>(EVP_PKEY_get_bits(key)) + 7) / 8; }

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "identity_test.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TestKey TestKey::Generate(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::kRsa1024:
      key = EVP_RSA_gen(1024);
      break;
    case KeyType::kRsa2048:
      key = EVP_RSA_gen(2048);
      break;
    case KeyType::kP256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::kP384:
      key = EVP_EC_gen("P-384");
      break;
    case KeyType::kP521:
      key = EVP_EC_gen("P-521");
      break;
  }
  if (key == nullptr) Die("key generation");
  return TestKey(std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free));
}

TestKey TestKey::FromPem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) Die("PEM_read_bio_PrivateKey");
  return TestKey(std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free));
}

std::string TestKey::PrivatePem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Die("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

nlohmann::json TestKey::Jwk(absl::string_view kid, absl::string_view alg) const {
  nlohmann::json jwk;
  if (EVP_PKEY_is_a(get(), "RSA")) {
    jwk = {{"kty", "RSA"},
           {"n", B64(BnBytes(get(), OSSL_PKEY_PARAM_RSA_N))},
           {"e", B64(BnBytes(get(), OSSL_PKEY_PARAM_RSA_E))}};
  } else {
    const auto [x, y] = EcCoordinates(get());
    jwk = {{"kty", "EC"}, {"crv", CurveName(get())}, {"x", B64(x)}, {"y", B64(y)}};
  }
  if (!kid.empty()) jwk["kid"] = std::string(kid);
  if (!alg.empty()) jwk["alg"] = std::string(alg);
  return jwk;
}

std::string TestKey::Thumbprint() const {
  std::string canonical;
  if (EVP_PKEY_is_a(get(), "RSA")) {
    canonical =
        absl::StrCat(R"({"e":")", B64(BnBytes(get(), OSSL_PKEY_PARAM_RSA_E)),
                     R"(","kty":"RSA","n":")", B64(BnBytes(get(), OSSL_PKEY_PARAM_RSA_N)), R"("})");
  } else {
    const auto [x, y] = EcCoordinates(get());
    canonical = absl::StrCat(R"({"crv":")", CurveName(get()), R"(","kty":"EC","x":")", B64(x),
                             R"(","y":")", B64(y), R"("})");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(canonical.data(), canonical.size(), digest, &size, EVP_sha256(), nullptr);
  return B64(absl::string_view(reinterpret_cast<char*>(digest), size));
}

std::string TestKey::Sign(absl::string_view alg, absl::string_view input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSignInit(ctx, nullptr, Digest(alg), nullptr, get()) != 1 ||
      EVP_DigestSign(ctx, nullptr, &size, data, input.size()) != 1) {
    Die("EVP_DigestSign");
  }
  std::vector<unsigned char> signature(size);
  if (EVP_DigestSign(ctx, signature.data(), &size, data, input.size()) != 1) Die("EVP_DigestSign");
  EVP_MD_CTX_free(ctx);
  signature.resize(size);
  if (!IsEc(alg)) return std::string(signature.begin(), signature.end());

  const unsigned char* der = signature.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
  if (sig == nullptr) Die("d2i_ECDSA_SIG");
  const int width = static_cast<int>(Width(get()));
  std::string raw(2 * static_cast<size_t>(width), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, width);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + width, width);
  ECDSA_SIG_free(sig);
  return raw;
}

bool TestKey::VerifySignature(absl::string_view alg, absl::string_view input,
                              absl::string_view signature) const {
  std::string der(signature);
  if (IsEc(alg)) {
    const size_t width = Width(get());
    if (signature.size() != 2 * width) return false;
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, static_cast<int>(width), nullptr),
                   BN_bin2bn(raw + width, static_cast<int>(width), nullptr));
    unsigned char* out = nullptr;
    const int size = i2d_ECDSA_SIG(sig, &out);
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(size));
    OPENSSL_free(out);
    ECDSA_SIG_free(sig);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, Digest(alg), nullptr, get()) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

const TestKey& RsaKey() {
  static const TestKey* key = new TestKey(TestKey::Generate(KeyType::kRsa2048));
  return *key;
}
const TestKey& OtherRsaKey() {
  static const TestKey* key = new TestKey(TestKey::Generate(KeyType::kRsa2048));
  return *key;
}
const TestKey& P256Key() {
  static const TestKey* key = new TestKey(TestKey::Generate(KeyType::kP256));
  return *key;
}
const TestKey& OtherP256Key() {
  static const TestKey* key = new TestKey(TestKey::Generate(KeyType::kP256));
  return *key;
}
const TestKey& P384Key() {
  static const TestKey* key = new TestKey(TestKey::Generate(KeyType::kP384));
  return *key;
}

std::string B64(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string UnB64(absl::string_view encoded) {
  std::string out;
  if (!absl::WebSafeBase64Unescape(encoded, &out)) Die("WebSafeBase64Unescape");
  return out;
}

std::string SignRaw(const nlohmann::json& header, absl::string_view payload, const TestKey& key,
                    absl::string_view alg) {
  const std::string input = absl::StrCat(B64(header.dump()), ".", B64(payload));
  return absl::StrCat(input, ".", B64(key.Sign(alg, input)));
}

std::string SignJws(const nlohmann::json& header, const nlohmann::json& payload, const TestKey& key,
                    absl::string_view alg) {
  return SignRaw(header, payload.dump(), key, alg);
}

std::string Jwks(std::initializer_list<nlohmann::json> keys) {
  return nlohmann::json{{"keys", nlohmann::json::array_t(keys.begin(), keys.end())}}.dump();
}

}  // namespace collabcare::identity::testutil
