// Bearer-token verification against a JWKS published at a URL.
#include "plugin/server/remote_jwks.h"

#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "plugin/common/log.h"
#include "plugin/common/status_macros.h"

namespace collabcare::server {
namespace {

class RemoteJwksVerifierImpl final : public RemoteJwksVerifier {
 public:
  RemoteJwksVerifierImpl(RemoteJwksOptions options, host::HttpTransport& transport)
      : options_(std::move(options)), transport_(transport) {}

  absl::StatusOr<identity::Caller> Verify(absl::string_view token) override {
    absl::StatusOr<identity::Caller> caller = Current()->Verify(token);
    if (caller.ok() || !MayRefresh()) return caller;
    // Perhaps signed by a key published since the last fetch: look once more.
    if (!Refresh().ok()) return caller;
    return Current()->Verify(token);
  }

  absl::Status Refresh() override {
    host::HttpRequest request;
    request.url = options_.url;
    request.headers = {{"Accept", "application/json"}};
    absl::StatusOr<host::HttpResponse> response = transport_.Send(request);
    absl::Status status;
    if (!response.ok()) {
      status = response.status();
    } else if (response->status != 200) {
      status = absl::UnavailableError(absl::StrCat("--jwks_url answered HTTP ", response->status));
    } else {
      identity::VerifierOptions verifier = options_.verifier;
      verifier.jwks_json = response->body;
      absl::StatusOr<std::unique_ptr<identity::TokenVerifier>> next =
          identity::NewJwksVerifier(verifier);
      if (next.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        current_ = std::move(*next);
      }
      status = next.status();
    }
    if (!status.ok()) {
      Log(LogLevel::kWarning, "jwks_refresh_failed",
          {{"code", absl::StatusCodeToString(status.code())}});
    }
    return status;
  }

 private:
  std::shared_ptr<identity::TokenVerifier> Current() {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

  // Rate-limits refreshes caused by failing tokens, so bad tokens cannot flood the IdP.
  bool MayRefresh() {
    const absl::Time now = options_.verifier.clock->Now();
    std::lock_guard<std::mutex> lock(mu_);
    if (now - last_triggered_ < options_.min_refresh_interval) return false;
    last_triggered_ = now;
    return true;
  }

  const RemoteJwksOptions options_;
  host::HttpTransport& transport_;
  std::mutex mu_;
  std::shared_ptr<identity::TokenVerifier> current_;
  absl::Time last_triggered_ = absl::InfinitePast();
};

}  // namespace

absl::StatusOr<std::unique_ptr<RemoteJwksVerifier>> NewRemoteJwksVerifier(
    RemoteJwksOptions options, host::HttpTransport& transport) {
  if (options.url.empty()) return absl::InvalidArgumentError("--jwks_url is empty");
  if (options.verifier.clock == nullptr) {
    return absl::InvalidArgumentError("RemoteJwksOptions.verifier.clock is required");
  }
  auto verifier = std::make_unique<RemoteJwksVerifierImpl>(std::move(options), transport);
  RETURN_IF_ERROR(verifier->Refresh());
  return verifier;
}

}  // namespace collabcare::server
