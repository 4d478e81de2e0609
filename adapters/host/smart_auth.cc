// SMART Backend Services: discovery, RS384/ES384 client assertions, cached access tokens.
#include "adapters/host/smart_auth.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/host/fhir_client.h"
#include "nlohmann/json.hpp"
#include "plugin/common/status_macros.h"
#include "plugin/identity/jose.h"

namespace collabcare::host {
namespace {

namespace jose = ::collabcare::identity::internal;

// SMART Backend Services: "exp … no more than five minutes in the future".
constexpr absl::Duration kMaxAssertionLifetime = absl::Minutes(5);
constexpr char kAssertionType[] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// The key, the algorithm SMART wants for it and its public JWK.
struct SigningKey {
  jose::EvpPkeyPtr key;
  jose::JwsAlg alg;
  std::string kid;
  nlohmann::json jwk;
};

absl::StatusOr<SigningKey> LoadSigningKey(const std::string& pem) {
  ASSIGN_OR_RETURN(jose::EvpPkeyPtr key, jose::ParsePrivateKeyPem(pem));
  ASSIGN_OR_RETURN(jose::JwsAlg alg, jose::SigningAlgForKey(key.get()));
  // SMART clients support RS384 and ES384 (client-confidential-asymmetric); the identity
  // module's choice for RSA is RS256, so RSA keys sign RS384 here. P-256 has no place.
  if (alg == jose::JwsAlg::kRs256) {
    alg = jose::JwsAlg::kRs384;
  } else if (alg != jose::JwsAlg::kEs384) {
    return absl::InvalidArgumentError(
        "SMART Backend Services needs an RSA (2048+) or EC P-384 key");
  }
  ASSIGN_OR_RETURN(jose::PublicJwk public_jwk, jose::MakePublicJwk(key.get()));
  nlohmann::json jwk = nlohmann::json::parse(public_jwk.json, nullptr, false);
  if (!jwk.is_object()) return absl::InternalError("public JWK is not JSON");
  jwk["alg"] = jose::JwsAlgName(alg);  // the thumbprint covers only kty and the key itself
  return SigningKey{std::move(key), alg, public_jwk.kid, std::move(jwk)};
}

absl::StatusOr<std::string> SignJws(const SigningKey& key, absl::string_view input) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, jose::JwsDigest(key.alg), nullptr, key.key.get()) !=
          1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("EVP_DigestSign failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("EVP_DigestSign failed");
  }
  signature.resize(size);
  if (jose::IsEcdsa(key.alg)) {
    return jose::EcdsaDerToRaw(signature, jose::EcCoordinateBytes(key.alg));
  }
  return signature;
}

// Printable ASCII without spaces at either end: what client ids and scopes are made of.
bool IsPrintableAscii(absl::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// An OAuth error code (RFC 6749 5.2) reduced to its allowed characters, bounded.
std::string OAuthErrorCode(const std::string& body) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return "";
  const auto it = json.find("error");
  if (it == json.end() || !it->is_string()) return "";
  std::string out;
  for (char c : it->get_ref<const std::string&>()) {
    if (out.size() >= 40) break;
    if ((c >= 'a' && c <= 'z') || c == '_') out.push_back(c);
  }
  return out;
}

class SmartBackendTokenSource final : public AccessTokenSource {
 public:
  SmartBackendTokenSource(SmartBackendOptions options, SigningKey key, HttpTransport* transport,
                          const Clock* clock)
      : options_(std::move(options)),
        key_(std::move(key)),
        status_map_(options_.status_overrides),
        transport_(transport),
        clock_(clock),
        token_endpoint_(options_.token_endpoint) {}

  absl::StatusOr<std::string> GetToken() override {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    if (!token_.empty() && now < refresh_at_) return token_;
    token_.clear();
    if (token_endpoint_.empty()) {
      ASSIGN_OR_RETURN(token_endpoint_, Discover(now));
    }
    return FetchToken(now);
  }

  void Invalidate(const std::string& token) override {
    absl::MutexLock lock(&mu_);
    if (token == token_) token_.clear();
  }

 private:
  // Reads token_endpoint from the SMART configuration document.
  absl::StatusOr<std::string> Discover(absl::Time now) {
    const std::string what = "SMART discovery";
    std::string base = options_.fhir_base_url;
    while (absl::EndsWith(base, "/")) base.pop_back();
    HttpRequest request;
    request.url = absl::StrCat(base, "/.well-known/smart-configuration");
    request.headers = {{"Accept", "application/json"}};
    ASSIGN_OR_RETURN(HttpResponse response, transport_->Send(request));
    RETURN_IF_ERROR(status_map_.ToStatus(response, what, now));
    if (JsonTooDeep(response.body, 32)) return absl::InternalError(what + ": JSON too deep");
    const nlohmann::json config = nlohmann::json::parse(response.body, nullptr, false);
    if (!config.is_object()) return absl::InternalError(what + ": host sent a non-JSON answer");
    const auto endpoint = config.find("token_endpoint");
    if (endpoint == config.end() || !endpoint->is_string()) {
      return absl::FailedPreconditionError(what + ": no token_endpoint");
    }
    const std::string& url = endpoint->get_ref<const std::string&>();
    // Plain http only when the FHIR base itself is plain http (a loopback test server).
    const bool https = absl::StartsWithIgnoreCase(url, "https://");
    const bool http_allowed =
        absl::StartsWithIgnoreCase(base, "http://") && absl::StartsWithIgnoreCase(url, "http://");
    if ((!https && !http_allowed) || !IsPrintableAscii(url) || url.size() > 2048) {
      return absl::FailedPreconditionError(what + ": token_endpoint is not an https URL");
    }
    if (auto algs = config.find("token_endpoint_auth_signing_alg_values_supported");
        algs != config.end() && algs->is_array()) {
      const std::string ours = jose::JwsAlgName(key_.alg);
      if (std::find(algs->begin(), algs->end(), ours) == algs->end()) {
        return absl::FailedPreconditionError(
            absl::StrCat(what, ": token endpoint does not accept ", ours, " assertions"));
      }
    }
    return url;
  }

  absl::StatusOr<std::string> MakeAssertion(absl::Time now) {
    unsigned char random[16];
    if (RAND_bytes(random, sizeof random) != 1) return absl::InternalError("RAND_bytes failed");
    const nlohmann::json header = {
        {"alg", jose::JwsAlgName(key_.alg)}, {"kid", options_.key_id}, {"typ", "JWT"}};
    const nlohmann::json claims = {
        {"iss", options_.client_id},
        {"sub", options_.client_id},
        {"aud", token_endpoint_},
        {"jti",
         jose::Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(random), sizeof random))},
        {"iat", absl::ToUnixSeconds(now)},
        {"exp", absl::ToUnixSeconds(now + options_.assertion_lifetime)},
    };
    // Every string here is printable ASCII (checked at construction), so dump() cannot throw.
    const std::string input = absl::StrCat(jose::Base64UrlEncode(header.dump()), ".",
                                           jose::Base64UrlEncode(claims.dump()));
    ASSIGN_OR_RETURN(const std::string signature, SignJws(key_, input));
    return absl::StrCat(input, ".", jose::Base64UrlEncode(signature));
  }

  absl::StatusOr<std::string> FetchToken(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string what = "token request";
    ASSIGN_OR_RETURN(const std::string assertion, MakeAssertion(now));
    HttpRequest request;
    request.method = HttpMethod::kPost;
    request.url = token_endpoint_;
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"Accept", "application/json"}};
    request.body = absl::StrCat("grant_type=client_credentials&scope=", UrlEncode(options_.scope),
                                "&client_assertion_type=", UrlEncode(kAssertionType),
                                "&client_assertion=", UrlEncode(assertion));
    ASSIGN_OR_RETURN(HttpResponse response, transport_->Send(request));
    if (absl::Status status = status_map_.ToStatus(response, what, now); !status.ok()) {
      return WithOAuthError(std::move(status), OAuthErrorCode(response.body));
    }
    if (JsonTooDeep(response.body, 32)) return absl::InternalError(what + ": JSON too deep");
    const nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
    if (!json.is_object()) return absl::InternalError(what + ": host sent a non-JSON answer");
    const auto token = json.find("access_token");
    if (token == json.end() || !token->is_string() ||
        token->get_ref<const std::string&>().empty() ||
        !IsPrintableAscii(token->get_ref<const std::string&>()) ||
        absl::StrContains(token->get_ref<const std::string&>(), ' ')) {
      return absl::InternalError(what + ": no usable access_token");
    }
    if (auto type = json.find("token_type");
        type != json.end() &&
        (!type->is_string() ||
         !absl::EqualsIgnoreCase(type->get_ref<const std::string&>(), "bearer"))) {
      return absl::InternalError(what + ": token_type is not bearer");
    }
    absl::Duration lifetime = options_.default_token_lifetime;
    if (auto expires = json.find("expires_in"); expires != json.end()) {
      if (!expires->is_number() || expires->get<double>() <= 0 ||
          expires->get<double>() > 366.0 * 86400) {
        return absl::InternalError(what + ": bad expires_in");
      }
      lifetime = absl::Seconds(expires->get<double>());
    }
    const absl::Duration margin = std::min(options_.refresh_margin, lifetime / 2);
    token_ = token->get<std::string>();
    refresh_at_ = now + lifetime - margin;
    return token_;
  }

  // RFC 6749 5.2 error codes that say more than the HTTP status.
  static absl::Status WithOAuthError(absl::Status status, const std::string& error) {
    if (error.empty()) return status;
    absl::StatusCode code = status.code();
    if (error == "invalid_client" || error == "invalid_grant" || error == "unauthorized_client") {
      code = absl::StatusCode::kUnauthenticated;  // registration, key or client id is wrong
    } else if (error == "invalid_scope") {
      code = absl::StatusCode::kPermissionDenied;
    }
    absl::Status out(code, absl::StrCat(status.message(), "; oauth error ", error));
    status.ForEachPayload(
        [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
    return out;
  }

  const SmartBackendOptions options_;
  const SigningKey key_;
  const StatusMap status_map_;
  HttpTransport* const transport_;
  const Clock* const clock_;

  absl::Mutex mu_;
  std::string token_endpoint_ ABSL_GUARDED_BY(mu_);
  std::string token_ ABSL_GUARDED_BY(mu_);  // empty: none cached
  absl::Time refresh_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<AccessTokenSource>> NewSmartBackendTokenSource(
    SmartBackendOptions options, HttpTransport* transport, const Clock* clock) {
  if (transport == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("SMART token source needs a transport and a clock");
  }
  if (options.client_id.empty() || !IsPrintableAscii(options.client_id) ||
      !IsPrintableAscii(options.scope) || !IsPrintableAscii(options.key_id) ||
      !IsPrintableAscii(options.token_endpoint) || !IsPrintableAscii(options.fhir_base_url)) {
    return absl::InvalidArgumentError(
        "SMART options: client_id, scope, key_id and URLs must be "
        "printable ASCII, client_id non-empty");
  }
  if (options.token_endpoint.empty() && options.fhir_base_url.empty()) {
    return absl::InvalidArgumentError("SMART options: need fhir_base_url or token_endpoint");
  }
  if (options.assertion_lifetime <= absl::ZeroDuration() ||
      options.assertion_lifetime > kMaxAssertionLifetime) {
    return absl::InvalidArgumentError("SMART options: assertion lifetime must be (0, 5 min]");
  }
  if (options.default_token_lifetime <= absl::ZeroDuration() ||
      options.refresh_margin < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("SMART options: bad token lifetime or refresh margin");
  }
  ASSIGN_OR_RETURN(SigningKey key, LoadSigningKey(options.private_key_pem));
  if (options.key_id.empty()) options.key_id = key.kid;
  return std::make_unique<SmartBackendTokenSource>(std::move(options), std::move(key), transport,
                                                   clock);
}

absl::StatusOr<std::string> PublicJwksFromPrivateKey(const std::string& private_key_pem) {
  ASSIGN_OR_RETURN(const SigningKey key, LoadSigningKey(private_key_pem));
  return nlohmann::json{{"keys", nlohmann::json::array({key.jwk})}}.dump();
}

}  // namespace collabcare::host
