// JOSE building blocks shared by the token verifier and the development identity.
#include "plugin/identity/jose.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cstdint>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "plugin/common/status_macros.h"

namespace collabcare::identity::internal {
namespace {

struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Maps each byte to its base64url value, or -1.
constexpr std::array<int8_t, 256> MakeBase64UrlTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kBase64UrlTable = MakeBase64UrlTable();

// True for a FHIR id: [A-Za-z0-9\-\.]{1,64}.
bool IsFhirId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsAllowedFhirUserType(absl::string_view type) {
  return type == "Patient" || type == "RelatedPerson" || type == "Practitioner" ||
         type == "PractitionerRole" || type == "Person";
}

// True for the base of an absolute fhirUser URL: http(s)://host[/path], printable ASCII, no
// query or fragment.
bool IsServiceBaseUrl(absl::string_view base) {
  absl::string_view rest = base;
  if (absl::StartsWith(rest, "https://")) {
    rest.remove_prefix(8);
  } else if (absl::StartsWith(rest, "http://")) {
    rest.remove_prefix(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/') return false;  // no host
  for (char c : rest) {
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') return false;
  }
  return true;
}

// Reads one big-number parameter of `key` as big-endian bytes; `width` 0 means minimal.
absl::StatusOr<std::string> GetBnParam(EVP_PKEY* key, const char* name, int width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("key has no ", name));
  }
  BnPtr bn(raw);
  const int size = width > 0 ? width : BN_num_bytes(bn.get());
  if (BN_num_bytes(bn.get()) > size) return absl::InvalidArgumentError("key parameter too large");
  std::string out(static_cast<size_t>(size), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), size) != size) {
    return absl::InternalError("BN_bn2binpad failed");
  }
  return out;
}

}  // namespace

void EvpPkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

std::optional<JwsAlg> JwsAlgFromName(absl::string_view name) {
  if (name == "RS256") return JwsAlg::kRs256;
  if (name == "RS384") return JwsAlg::kRs384;
  if (name == "ES256") return JwsAlg::kEs256;
  if (name == "ES384") return JwsAlg::kEs384;
  return std::nullopt;
}

const char* JwsAlgName(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kRs256:
      return "RS256";
    case JwsAlg::kRs384:
      return "RS384";
    case JwsAlg::kEs256:
      return "ES256";
    case JwsAlg::kEs384:
      return "ES384";
  }
  return "";
}

bool IsEcdsa(JwsAlg alg) { return alg == JwsAlg::kEs256 || alg == JwsAlg::kEs384; }

size_t EcCoordinateBytes(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kEs256:
      return 32;
    case JwsAlg::kEs384:
      return 48;
    default:
      return 0;
  }
}

const EVP_MD* JwsDigest(JwsAlg alg) {
  return alg == JwsAlg::kRs256 || alg == JwsAlg::kEs256 ? EVP_sha256() : EVP_sha384();
}

std::string Base64UrlEncode(absl::string_view data) { return absl::WebSafeBase64Escape(data); }

std::optional<std::string> Base64UrlDecode(absl::string_view encoded) {
  if (encoded.size() % 4 == 1) return std::nullopt;  // no byte string encodes to this length
  std::string out;
  out.reserve(encoded.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : encoded) {
    const int8_t v = kBase64UrlTable[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;  // non-zero trailing bits: a second spelling of the bytes
  return out;
}

std::string Sha256(absl::string_view data) {
  std::string digest(32, '\0');
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(digest.data()), &size,
                 EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    std::abort();  // SHA-256 cannot fail short of a broken OpenSSL.
  }
  return digest;
}

absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw) {
  if (raw.empty() || raw.size() % 2 != 0) {
    return absl::InvalidArgumentError("ECDSA signature length");
  }
  const int half = static_cast<int>(raw.size() / 2);
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BnPtr r(BN_bin2bn(bytes, half, nullptr));
  BnPtr s(BN_bin2bn(bytes + half, half, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("ECDSA_SIG allocation failed");
  }
  r.release();  // owned by sig now
  s.release();
  const int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return absl::InternalError("i2d_ECDSA_SIG failed");
  std::string der(static_cast<size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return absl::InternalError("i2d_ECDSA_SIG failed");
  return der;
}

absl::StatusOr<std::string> EcdsaDerToRaw(absl::string_view der, size_t coordinate_bytes) {
  const auto* in = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!sig || in != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError("DER ECDSA signature");
  }
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  const int width = static_cast<int>(coordinate_bytes);
  if (BN_num_bytes(r) > width || BN_num_bytes(s) > width) {
    return absl::InvalidArgumentError("ECDSA signature too wide");
  }
  std::string raw(2 * coordinate_bytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, width) != width || BN_bn2binpad(s, out + width, width) != width) {
    return absl::InternalError("BN_bn2binpad failed");
  }
  return raw;
}

absl::StatusOr<JwsAlg> SigningAlgForKey(EVP_PKEY* key) {
  if (key == nullptr) return absl::InvalidArgumentError("no key");
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
      return absl::InvalidArgumentError("RSA key shorter than 2048 bits");
    }
    return JwsAlg::kRs256;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t size = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &size) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError("EC key without a named curve");
    }
    const absl::string_view name(group, size);
    if (name == SN_X9_62_prime256v1 || name == "P-256") return JwsAlg::kEs256;
    if (name == SN_secp384r1 || name == "P-384") return JwsAlg::kEs384;
    return absl::InvalidArgumentError("EC curve is neither P-256 nor P-384");
  }
  return absl::InvalidArgumentError("key is neither RSA nor EC");
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem) {
  if (pem.empty() || pem.size() > 1 << 20) return absl::InvalidArgumentError("no PEM key");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError("BIO_new_mem_buf failed");
  // Refuses encrypted keys instead of prompting on the terminal.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return -1; };
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!key) return absl::InvalidArgumentError("not an unencrypted PEM private key");
  return key;
}

absl::StatusOr<PublicJwk> MakePublicJwk(EVP_PKEY* key) {
  ASSIGN_OR_RETURN(const JwsAlg alg, SigningAlgForKey(key));
  // The required members only, which RFC 7638 section 3.2 hashes for the thumbprint.
  nlohmann::json jwk;
  if (IsEcdsa(alg)) {
    const int width = static_cast<int>(EcCoordinateBytes(alg));
    ASSIGN_OR_RETURN(const std::string x, GetBnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, width));
    ASSIGN_OR_RETURN(const std::string y, GetBnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, width));
    jwk = {{"crv", alg == JwsAlg::kEs256 ? "P-256" : "P-384"},
           {"kty", "EC"},
           {"x", Base64UrlEncode(x)},
           {"y", Base64UrlEncode(y)}};
  } else {
    ASSIGN_OR_RETURN(const std::string n, GetBnParam(key, OSSL_PKEY_PARAM_RSA_N, 0));
    ASSIGN_OR_RETURN(const std::string e, GetBnParam(key, OSSL_PKEY_PARAM_RSA_E, 0));
    jwk = {{"e", Base64UrlEncode(e)}, {"kty", "RSA"}, {"n", Base64UrlEncode(n)}};
  }
  // nlohmann::json keeps object members in a std::map, so dump() without indentation is the
  // RFC 7638 canonical form: members sorted, no whitespace (the values are plain ASCII).
  PublicJwk out;
  out.kid = Base64UrlEncode(Sha256(jwk.dump()));
  out.alg = alg;
  jwk["kid"] = out.kid;
  jwk["alg"] = JwsAlgName(alg);
  jwk["use"] = "sig";
  out.json = jwk.dump();
  return out;
}

absl::StatusOr<std::string> ReduceFhirUser(absl::string_view fhir_user) {
  const absl::Status bad = absl::InvalidArgumentError("bad fhirUser");
  absl::string_view rest = fhir_user;
  if (const size_t history = rest.rfind("/_history/"); history != absl::string_view::npos) {
    if (!IsFhirId(rest.substr(history + 10))) return bad;
    rest = rest.substr(0, history);
  }
  const size_t id_slash = rest.rfind('/');
  if (id_slash == absl::string_view::npos) return bad;
  const absl::string_view id = rest.substr(id_slash + 1);
  rest = rest.substr(0, id_slash);
  const size_t type_slash = rest.rfind('/');
  absl::string_view type = rest;
  if (type_slash != absl::string_view::npos) {
    type = rest.substr(type_slash + 1);
    if (!IsServiceBaseUrl(rest.substr(0, type_slash))) return bad;
  }
  if (!IsFhirId(id)) return bad;
  if (!IsAllowedFhirUserType(type)) return absl::InvalidArgumentError("unsupported fhirUser type");
  return absl::StrCat(type, "/", id);
}

}  // namespace collabcare::identity::internal
