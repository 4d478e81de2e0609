// Bearer-token verification: compact JWS (RS256, RS384, ES256, ES384) against a JWK Set, with
// a cache of verified tokens because every RPC carries one.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "plugin/common/status_macros.h"
#include "plugin/identity/identity.h"
#include "plugin/identity/jose.h"

namespace collabcare::identity {
namespace {

using internal::Base64UrlDecode;
using internal::EvpPkeyPtr;
using internal::JwsAlg;
using Json = nlohmann::json;

// Bearer tokens from real identity providers stay well under 4 KiB; the cap bounds the work an
// unauthenticated caller can ask for before any signature check.
constexpr size_t kMaxTokenBytes = 16 * 1024;

// NumericDates beyond year 9999 are refused rather than risk overflow in time arithmetic.
constexpr int64_t kMaxNumericDate = 253402300799;

struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

absl::Status Unauthenticated(absl::string_view reason) {
  return absl::UnauthenticatedError(reason);
}

// What a JWK's key is, which decides the algorithms it can verify.
enum class KeyKind { kRsa, kP256, kP384 };

bool KindFitsAlg(KeyKind kind, JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kRs256:
    case JwsAlg::kRs384:
      return kind == KeyKind::kRsa;
    case JwsAlg::kEs256:
      return kind == KeyKind::kP256;
    case JwsAlg::kEs384:
      return kind == KeyKind::kP384;
  }
  return false;
}

struct VerificationKey {
  std::optional<std::string> kid;
  std::optional<JwsAlg> alg;  // the JWK's `alg`, when it names one
  KeyKind kind;
  EvpPkeyPtr key;

  bool Fits(JwsAlg token_alg) const {
    return KindFitsAlg(kind, token_alg) && (!alg.has_value() || *alg == token_alg);
  }
};

// Builds a public key from OSSL_PARAMs and checks it (EC points must lie on the curve).
absl::StatusOr<EvpPkeyPtr> KeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a valid public key");
  }
  EvpPkeyPtr key(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a valid public key");
  }
  return key;
}

// Decodes a base64url JWK member into bytes.
absl::StatusOr<std::string> JwkBytes(const Json& jwk, const char* member,
                                     const std::string& where) {
  const auto it = jwk.find(member);
  if (it == jwk.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".", member, " is missing"));
  }
  std::optional<std::string> bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes.has_value() || bytes->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".", member, " is not base64url"));
  }
  return *std::move(bytes);
}

absl::StatusOr<EvpPkeyPtr> RsaKeyFromJwk(const Json& jwk, const std::string& where) {
  ASSIGN_OR_RETURN(const std::string n, JwkBytes(jwk, "n", where));
  ASSIGN_OR_RETURN(const std::string e, JwkBytes(jwk, "e", where));
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()),
                       nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()),
                       nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("OSSL_PARAM_BLD failed");
  }
  absl::StatusOr<EvpPkeyPtr> key = KeyFromParams("RSA", bld.get());
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(where, " is not an RSA key"));
  if (EVP_PKEY_get_bits(key->get()) < internal::kMinRsaBits) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is shorter than 2048 bits"));
  }
  return key;
}

absl::StatusOr<EvpPkeyPtr> EcKeyFromJwk(const Json& jwk, KeyKind kind, const std::string& where) {
  const size_t width = kind == KeyKind::kP256 ? 32 : 48;
  ASSIGN_OR_RETURN(const std::string x, JwkBytes(jwk, "x", where));
  ASSIGN_OR_RETURN(const std::string y, JwkBytes(jwk, "y", where));
  // RFC 7518 section 6.2.1.2: coordinates are full width, leading zeros kept.
  if (x.size() != width || y.size() != width) {
    return absl::InvalidArgumentError(absl::StrCat(where, " has coordinates of the wrong size"));
  }
  std::string point = absl::StrCat("\x04", x, y);  // SEC 1 uncompressed point
  const char* group = kind == KeyKind::kP256 ? SN_X9_62_prime256v1 : SN_secp384r1;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("OSSL_PARAM_BLD failed");
  }
  absl::StatusOr<EvpPkeyPtr> key = KeyFromParams("EC", bld.get());
  if (!key.ok())
    return absl::InvalidArgumentError(absl::StrCat(where, " is not a point on its curve"));
  return key;
}

// Parses one JWK. nullopt for keys this verifier cannot use and that are not meant for it
// (encryption keys, other key types, curves or algorithms); INVALID_ARGUMENT for a usable key
// that is broken, so a typo in the configuration does not pass silently.
absl::StatusOr<std::optional<VerificationKey>> ParseJwk(const Json& jwk, const std::string& where) {
  if (!jwk.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, " is not an object"));
  if (const auto use = jwk.find("use"); use != jwk.end() && *use != "sig") return std::nullopt;
  if (const auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    if (!ops->is_array()) return std::nullopt;
    bool verify = false;
    for (const Json& op : *ops) verify = verify || op == "verify";
    if (!verify) return std::nullopt;
  }
  const auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".kty is missing"));
  }
  VerificationKey key;
  if (*kty == "RSA") {
    key.kind = KeyKind::kRsa;
  } else if (*kty == "EC") {
    const auto crv = jwk.find("crv");
    if (crv == jwk.end() || !crv->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".crv is missing"));
    }
    if (*crv == "P-256") {
      key.kind = KeyKind::kP256;
    } else if (*crv == "P-384") {
      key.kind = KeyKind::kP384;
    } else {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (const auto alg = jwk.find("alg"); alg != jwk.end()) {
    if (!alg->is_string()) return absl::InvalidArgumentError(absl::StrCat(where, ".alg"));
    key.alg = internal::JwsAlgFromName(alg->get_ref<const std::string&>());
    if (!key.alg.has_value()) return std::nullopt;  // e.g. PS256: not ours to use
    if (!KindFitsAlg(key.kind, *key.alg)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".alg does not fit the key"));
    }
  }
  if (const auto kid = jwk.find("kid"); kid != jwk.end()) {
    if (!kid->is_string()) return absl::InvalidArgumentError(absl::StrCat(where, ".kid"));
    key.kid = kid->get<std::string>();
  }
  if (jwk.contains("d")) {
    return absl::InvalidArgumentError(absl::StrCat(where, " holds a private key"));
  }
  if (key.kind == KeyKind::kRsa) {
    ASSIGN_OR_RETURN(key.key, RsaKeyFromJwk(jwk, where));
  } else {
    ASSIGN_OR_RETURN(key.key, EcKeyFromJwk(jwk, key.kind, where));
  }
  return std::optional<VerificationKey>(std::move(key));
}

absl::StatusOr<std::vector<VerificationKey>> ParseJwks(const std::string& jwks_json) {
  const Json jwks = Json::parse(jwks_json, nullptr, /*allow_exceptions=*/false);
  if (jwks.is_discarded() || !jwks.is_object()) {
    return absl::InvalidArgumentError("jwks_json is not a JSON object");
  }
  const auto keys = jwks.find("keys");
  if (keys == jwks.end() || !keys->is_array()) {
    return absl::InvalidArgumentError("jwks_json.keys is not an array");
  }
  std::vector<VerificationKey> out;
  for (size_t i = 0; i < keys->size(); ++i) {
    const std::string where = absl::StrCat("jwks_json.keys[", i, "]");
    ASSIGN_OR_RETURN(std::optional<VerificationKey> key, ParseJwk((*keys)[i], where));
    if (!key.has_value()) continue;
    for (const VerificationKey& other : out) {
      if (key->kid.has_value() && other.kid == key->kid) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".kid is a duplicate"));
      }
    }
    out.push_back(*std::move(key));
  }
  if (out.empty()) return absl::InvalidArgumentError("jwks_json has no RS/ES signature key");
  return out;
}

// A JWT NumericDate (RFC 7519 section 2): seconds since the epoch, possibly fractional.
std::optional<absl::Time> NumericDate(const Json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t seconds = value.get<uint64_t>();
    if (seconds > static_cast<uint64_t>(kMaxNumericDate)) return std::nullopt;
    return absl::FromUnixSeconds(static_cast<int64_t>(seconds));
  }
  if (value.is_number_integer()) {
    const int64_t seconds = value.get<int64_t>();
    if (seconds < -kMaxNumericDate || seconds > kMaxNumericDate) return std::nullopt;
    return absl::FromUnixSeconds(seconds);
  }
  if (value.is_number_float()) {
    const double seconds = value.get<double>();
    if (!std::isfinite(seconds) || std::fabs(seconds) > static_cast<double>(kMaxNumericDate)) {
      return std::nullopt;
    }
    return absl::FromUnixSeconds(static_cast<int64_t>(std::floor(seconds)));
  }
  return std::nullopt;
}

// The values of `aud` (a string or an array of strings) that are among `accepted`; empty when
// none is.
std::vector<std::string> MatchingAudiences(const Json& aud,
                                           const std::vector<std::string>& accepted) {
  std::vector<std::string> out;
  auto consider = [&](const Json& entry) {
    if (!entry.is_string()) return;
    const std::string& value = entry.get_ref<const std::string&>();
    for (const std::string& candidate : accepted) {
      if (value == candidate) {
        out.push_back(value);
        return;
      }
    }
  };
  if (aud.is_array()) {
    for (const Json& entry : aud) consider(entry);
  } else {
    consider(aud);
  }
  return out;
}

// Splits a compact JWS into its three parts; false unless there are exactly three.
bool SplitCompact(absl::string_view token, absl::string_view* header, absl::string_view* payload,
                  absl::string_view* signature) {
  const size_t first_dot = token.find('.');
  if (first_dot == absl::string_view::npos) return false;
  const size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == absl::string_view::npos ||
      token.find('.', second_dot + 1) != absl::string_view::npos) {
    return false;
  }
  *header = token.substr(0, first_dot);
  *payload = token.substr(first_dot + 1, second_dot - first_dot - 1);
  *signature = token.substr(second_dot + 1);
  return true;
}

class JwksVerifier final : public TokenVerifier {
 public:
  JwksVerifier(const VerifierOptions& options, std::vector<VerificationKey> keys)
      : issuer_(options.issuer),
        audiences_(AcceptedAudiences(options)),
        require_fhir_user_(options.require_fhir_user),
        require_jti_(options.require_jti),
        leeway_(options.leeway),
        clock_(options.clock),
        cache_entries_(options.cache_entries),
        keys_(std::move(keys)) {}

  absl::StatusOr<Caller> Verify(absl::string_view token) override {
    if (token.size() > kMaxTokenBytes) return Unauthenticated("token too large");
    const absl::Time now = clock_->Now();
    const std::string digest = internal::Sha256(token);
    if (std::optional<Caller> cached = Lookup(digest, now); cached.has_value()) {
      return *std::move(cached);
    }
    ASSIGN_OR_RETURN(Caller caller, VerifyUncached(token, now));
    Remember(digest, caller, now);
    return caller;
  }

 private:
  static std::vector<std::string> AcceptedAudiences(const VerifierOptions& options) {
    std::vector<std::string> out = {options.audience};
    out.insert(out.end(), options.extra_audiences.begin(), options.extra_audiences.end());
    return out;
  }

  // A verified token stays good until `exp` plus the leeway, exactly as VerifyUncached judges.
  bool Live(const Caller& caller, absl::Time now) const { return now < caller.expiry + leeway_; }

  std::optional<Caller> Lookup(const std::string& digest, absl::Time now) const {
    std::shared_lock lock(mu_);
    const auto it = cache_.find(digest);
    if (it == cache_.end() || !Live(it->second, now)) return std::nullopt;
    return it->second;
  }

  void Remember(const std::string& digest, const Caller& caller, absl::Time now) {
    if (cache_entries_ == 0) return;
    std::unique_lock lock(mu_);
    if (cache_.size() >= cache_entries_) {
      // Drop expired entries; if every entry is live, start over. Each sweep follows at least
      // cache_entries_ insertions, so the cost per verification stays constant.
      absl::erase_if(cache_, [&](const auto& entry) { return !Live(entry.second, now); });
      if (cache_.size() >= cache_entries_) cache_.clear();
    }
    cache_.insert_or_assign(digest, caller);
  }

  absl::StatusOr<const VerificationKey*> FindKey(const Json& header, JwsAlg alg) const {
    const auto kid = header.find("kid");
    if (kid != header.end()) {
      if (!kid->is_string()) return Unauthenticated("malformed token");
      for (const VerificationKey& key : keys_) {
        if (key.kid != kid->get_ref<const std::string&>()) continue;
        if (!key.Fits(alg)) return Unauthenticated("alg does not match key");
        return &key;
      }
      return Unauthenticated("unknown key id");
    }
    const VerificationKey* found = nullptr;
    for (const VerificationKey& key : keys_) {
      if (!key.Fits(alg)) continue;
      if (found != nullptr) return Unauthenticated("ambiguous key");
      found = &key;
    }
    if (found == nullptr) return Unauthenticated("no key for alg");
    return found;
  }

  absl::Status CheckSignature(const VerificationKey& key, JwsAlg alg,
                              absl::string_view signing_input, const std::string& signature) const {
    std::string der;
    absl::string_view to_verify = signature;
    if (internal::IsEcdsa(alg)) {
      if (signature.size() != 2 * internal::EcCoordinateBytes(alg)) {
        return Unauthenticated("bad signature");
      }
      absl::StatusOr<std::string> converted = internal::EcdsaRawToDer(signature);
      if (!converted.ok()) return Unauthenticated("bad signature");
      der = *std::move(converted);
      to_verify = der;
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    const bool ok =
        ctx &&
        EVP_DigestVerifyInit(ctx.get(), nullptr, internal::JwsDigest(alg), nullptr,
                             key.key.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(to_verify.data()),
                         to_verify.size(),
                         reinterpret_cast<const unsigned char*>(signing_input.data()),
                         signing_input.size()) == 1;
    ERR_clear_error();
    return ok ? absl::OkStatus() : Unauthenticated("bad signature");
  }

  absl::StatusOr<Caller> VerifyUncached(absl::string_view token, absl::Time now) const {
    const absl::Status malformed = Unauthenticated("malformed token");
    absl::string_view header_part, payload_part, signature_part;
    if (!SplitCompact(token, &header_part, &payload_part, &signature_part)) return malformed;
    const size_t second_dot = header_part.size() + 1 + payload_part.size();
    const std::optional<std::string> header_bytes = Base64UrlDecode(header_part);
    const std::optional<std::string> payload_bytes = Base64UrlDecode(payload_part);
    const std::optional<std::string> signature = Base64UrlDecode(signature_part);
    if (!header_bytes || !payload_bytes || !signature || payload_bytes->empty()) return malformed;

    const Json header = Json::parse(*header_bytes, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded() || !header.is_object()) return malformed;
    const auto alg_name = header.find("alg");
    if (alg_name == header.end() || !alg_name->is_string()) return malformed;
    const std::optional<JwsAlg> alg =
        internal::JwsAlgFromName(alg_name->get_ref<const std::string&>());
    if (!alg.has_value()) return Unauthenticated("unsupported alg");
    // RFC 7515 section 4.1.11: extensions we do not understand make the token invalid.
    if (header.contains("crit")) return Unauthenticated("unsupported header");
    ASSIGN_OR_RETURN(const VerificationKey* key, FindKey(header, *alg));
    RETURN_IF_ERROR(CheckSignature(*key, *alg, token.substr(0, second_dot), *signature));

    // The payload is parsed only once its signature holds.
    const Json claims = Json::parse(*payload_bytes, nullptr, /*allow_exceptions=*/false);
    if (claims.is_discarded() || !claims.is_object()) return malformed;

    const auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() || *iss != issuer_) {
      return Unauthenticated("wrong issuer");
    }
    const auto aud = claims.find("aud");
    if (aud == claims.end()) return Unauthenticated("wrong audience");
    std::vector<std::string> audiences = MatchingAudiences(*aud, audiences_);
    if (audiences.empty()) return Unauthenticated("wrong audience");

    const auto exp_claim = claims.find("exp");
    if (exp_claim == claims.end()) return Unauthenticated("missing exp");
    const std::optional<absl::Time> exp = NumericDate(*exp_claim);
    if (!exp.has_value()) return malformed;
    if (now >= *exp + leeway_) return Unauthenticated("token expired");
    if (const auto nbf_claim = claims.find("nbf"); nbf_claim != claims.end()) {
      const std::optional<absl::Time> nbf = NumericDate(*nbf_claim);
      if (!nbf.has_value()) return malformed;
      if (*nbf > now + leeway_) return Unauthenticated("token not yet valid");
    }
    if (const auto iat_claim = claims.find("iat"); iat_claim != claims.end()) {
      const std::optional<absl::Time> iat = NumericDate(*iat_claim);
      if (!iat.has_value()) return malformed;
      if (*iat > now + leeway_) return Unauthenticated("token issued in the future");
    }

    Caller caller;
    caller.issuer = issuer_;
    caller.expiry = *exp;
    caller.audiences = std::move(audiences);
    if (const auto sub = claims.find("sub"); sub != claims.end()) {
      if (!sub->is_string()) return malformed;
      caller.subject = sub->get<std::string>();
    }
    if (const auto jti = claims.find("jti"); jti != claims.end()) {
      if (!jti->is_string() || jti->get_ref<const std::string&>().empty()) return malformed;
      caller.token_id = jti->get<std::string>();
    } else if (require_jti_) {
      return Unauthenticated("missing jti");
    }
    const auto fhir_user = claims.find("fhirUser");
    if (fhir_user == claims.end()) {
      if (!require_fhir_user_) return caller;
      return Unauthenticated("missing fhirUser");
    }
    if (!fhir_user->is_string()) return Unauthenticated("bad fhirUser");
    absl::StatusOr<std::string> person =
        internal::ReduceFhirUser(fhir_user->get_ref<const std::string&>());
    if (!person.ok()) return Unauthenticated(person.status().message());
    caller.person = *std::move(person);
    return caller;
  }

  const std::string issuer_;
  const std::vector<std::string> audiences_;  // `audience` first, then `extra_audiences`
  const bool require_fhir_user_;
  const bool require_jti_;
  const absl::Duration leeway_;
  const Clock* const clock_;
  const size_t cache_entries_;
  const std::vector<VerificationKey> keys_;

  // std::shared_mutex rather than absl::Mutex: Debian's Abseil is a prebuilt library that
  // ThreadSanitizer cannot see into, so absl::Mutex there yields false race reports.
  mutable std::shared_mutex mu_;
  // Guarded by mu_. SHA-256 of the token -> its caller, so tokens themselves are not kept.
  absl::flat_hash_map<std::string, Caller> cache_;
};

}  // namespace

absl::StatusOr<TokenRouting> PeekTokenRouting(absl::string_view token) {
  const absl::Status malformed = Unauthenticated("malformed token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token too large");
  absl::string_view header_part, payload_part, signature_part;
  if (!SplitCompact(token, &header_part, &payload_part, &signature_part)) return malformed;
  const std::optional<std::string> header_bytes = Base64UrlDecode(header_part);
  const std::optional<std::string> payload_bytes = Base64UrlDecode(payload_part);
  if (!header_bytes || !payload_bytes) return malformed;
  const Json header = Json::parse(*header_bytes, nullptr, /*allow_exceptions=*/false);
  const Json claims = Json::parse(*payload_bytes, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object() || claims.is_discarded() ||
      !claims.is_object()) {
    return malformed;
  }
  TokenRouting routing;
  if (const auto iss = claims.find("iss"); iss != claims.end() && iss->is_string()) {
    routing.issuer = iss->get<std::string>();
  }
  if (const auto jku = header.find("jku"); jku != header.end()) {
    if (!jku->is_string()) return malformed;
    routing.jku = jku->get<std::string>();
  }
  return routing;
}

absl::StatusOr<std::unique_ptr<TokenVerifier>> NewJwksVerifier(const VerifierOptions& options) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("options.clock is null");
  if (options.issuer.empty()) return absl::InvalidArgumentError("options.issuer is empty");
  if (options.audience.empty()) return absl::InvalidArgumentError("options.audience is empty");
  for (size_t i = 0; i < options.extra_audiences.size(); ++i) {
    if (options.extra_audiences[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("options.extra_audiences[", i, "] is empty"));
    }
  }
  if (options.leeway < absl::ZeroDuration() || options.leeway > absl::Hours(1)) {
    return absl::InvalidArgumentError("options.leeway is outside [0, 1h]");
  }
  ASSIGN_OR_RETURN(std::vector<VerificationKey> keys, ParseJwks(options.jwks_json));
  return std::make_unique<JwksVerifier>(options, std::move(keys));
}

}  // namespace collabcare::identity
