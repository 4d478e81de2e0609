// HttpTransport over libcurl with OpenSSL: a small pool of easy handles, one per call in flight.
#include <curl/curl.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/transport_error.h"

namespace collabcare::host {
namespace {

// curl_global_init is process-wide and must run once before any handle exists.
void GlobalInitOnce() {
  static absl::once_flag once;
  absl::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) std::abort();
  });
}

struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// What the callbacks of one transfer write into.
struct Transfer {
  size_t max_body = 0;
  bool oversize = false;
  HttpResponse response;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (transfer->response.body.size() + n > transfer->max_body) {
    transfer->oversize = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line (after 100 Continue or a proxy's CONNECT reply): start over.
    transfer->response.headers.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;  // the blank line ending the block
  transfer->response.headers.emplace_back(
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

long Millis(absl::Duration d) { return static_cast<long>(absl::ToInt64Milliseconds(d)); }

// Maps a failed transfer to the contract's status codes (http_transport.h).
absl::Status FailureStatus(CURLcode code, const Transfer& transfer, const HttpRequest& request) {
  const std::string where =
      absl::StrCat(HttpMethodName(request.method), " ", RedactUrl(request.url));
  const std::string what = absl::StrCat(curl_easy_strerror(code), " (curl ", code, ")");
  absl::StatusCode status_code = absl::StatusCode::kUnavailable;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      status_code = absl::StatusCode::kDeadlineExceeded;
      break;
    case CURLE_FILESIZE_EXCEEDED:
      status_code = absl::StatusCode::kResourceExhausted;
      break;
    case CURLE_WRITE_ERROR:
      if (transfer.oversize) status_code = absl::StatusCode::kResourceExhausted;
      break;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CIPHER:
      status_code = absl::StatusCode::kFailedPrecondition;
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      status_code = absl::StatusCode::kInvalidArgument;
      break;
    default:
      // DNS, refused, reset, closed early, TLS handshake and peer verification, proxy: the
      // host (or the path to it) is not answering properly right now.
      break;
  }
  if (status_code == absl::StatusCode::kResourceExhausted) {
    return internal::TransportError(status_code, absl::StrCat(where, ": response body larger than ",
                                                              transfer.max_body, " bytes"));
  }
  return internal::TransportError(status_code, absl::StrCat(where, ": ", what));
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options) : options_(std::move(options)) {}

  ~CurlTransport() override = default;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    if (!absl::StartsWithIgnoreCase(request.url, "http://") &&
        !absl::StartsWithIgnoreCase(request.url, "https://")) {
      return internal::TransportError(absl::StatusCode::kInvalidArgument,
                                      absl::StrCat("not an http(s) URL: ", RedactUrl(request.url)));
    }
    EasyPtr curl = Acquire();
    if (!curl) return absl::InternalError("curl_easy_init failed");
    Transfer transfer;
    transfer.max_body = options_.max_response_bytes;
    SlistPtr headers;
    const CURLcode setup = Configure(curl.get(), request, &transfer, &headers);
    if (setup != CURLE_OK) {
      return internal::TransportError(
          absl::StatusCode::kInvalidArgument,
          absl::StrCat("curl option refused: ", curl_easy_strerror(setup)));
    }
    const CURLcode code = curl_easy_perform(curl.get());
    if (code != CURLE_OK) {
      // The handle is dropped, not pooled: it may hold a broken connection.
      return FailureStatus(code, transfer, request);
    }
    long http_status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &http_status);
    transfer.response.status = static_cast<int>(http_status);
    Release(std::move(curl));
    return std::move(transfer.response);
  }

 private:
  EasyPtr Acquire() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        EasyPtr curl = std::move(idle_.back());
        idle_.pop_back();
        curl_easy_reset(curl.get());  // keeps the connection cache, drops all options
        return curl;
      }
    }
    return EasyPtr(curl_easy_init());
  }

  void Release(EasyPtr curl) {
    absl::MutexLock lock(&mu_);
    if (idle_.size() < options_.max_idle_handles) idle_.push_back(std::move(curl));
  }

  CURLcode Configure(CURL* curl, const HttpRequest& request, Transfer* transfer,
                     SlistPtr* headers) const {
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(curl, option, value);
    };
    set(CURLOPT_URL, request.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we are multi-threaded
    set(CURLOPT_CONNECTTIMEOUT_MS, Millis(options_.connect_timeout));
    set(CURLOPT_TIMEOUT_MS, Millis(options_.total_timeout));
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_bundle_path.empty()) set(CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
    if (!options_.client_cert_path.empty()) {
      set(CURLOPT_SSLCERT, options_.client_cert_path.c_str());
      set(CURLOPT_SSLCERTTYPE, "PEM");
      set(CURLOPT_SSLKEY, options_.client_key_path.c_str());
      set(CURLOPT_SSLKEYTYPE, "PEM");
    }
    // An empty string disables proxies, including those named by environment variables.
    set(CURLOPT_PROXY, options_.proxy.c_str());
    if (!options_.no_proxy.empty()) set(CURLOPT_NOPROXY, options_.no_proxy.c_str());
    if (!options_.ca_bundle_path.empty() && !options_.proxy.empty()) {
      set(CURLOPT_PROXY_CAINFO, options_.ca_bundle_path.c_str());
    }
    set(CURLOPT_USERAGENT, options_.user_agent.c_str());
    // Decoded bytes still pass through OnBody, so compression cannot bypass the size bound.
    set(CURLOPT_ACCEPT_ENCODING, "");
    set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
    set(CURLOPT_WRITEFUNCTION, &OnBody);
    set(CURLOPT_WRITEDATA, transfer);
    set(CURLOPT_HEADERFUNCTION, &OnHeader);
    set(CURLOPT_HEADERDATA, transfer);

    const bool has_body = request.method != HttpMethod::kGet && request.method != HttpMethod::kHead;
    switch (request.method) {
      case HttpMethod::kGet:
        set(CURLOPT_HTTPGET, 1L);
        break;
      case HttpMethod::kHead:
        set(CURLOPT_NOBODY, 1L);
        break;
      case HttpMethod::kPost:
        set(CURLOPT_POST, 1L);
        break;
      default:
        set(CURLOPT_POST, 1L);  // body handling of POST, with the method replaced below
        set(CURLOPT_CUSTOMREQUEST, HttpMethodName(request.method));
        break;
    }
    if (has_body) {
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      set(CURLOPT_POSTFIELDS, request.body.data());
    }

    curl_slist* list = nullptr;
    bool ok = true;
    auto append = [&](const std::string& line) {
      curl_slist* next = curl_slist_append(list, line.c_str());
      if (next == nullptr) {
        ok = false;
        return;
      }
      list = next;
    };
    for (const auto& [name, value] : request.headers) {
      // Refuses header injection: CR or LF in a name or value would start a new header.
      if (name.find_first_of("\r\n:") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        headers->reset(list);
        return CURLE_BAD_FUNCTION_ARGUMENT;
      }
      append(value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value));
    }
    append("Expect:");  // no 100-continue round trip
    headers->reset(list);
    if (!ok) return CURLE_OUT_OF_MEMORY;
    set(CURLOPT_HTTPHEADER, list);
    return rc;
  }

  const CurlTransportOptions options_;
  absl::Mutex mu_;
  std::vector<EasyPtr> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTransport>> NewCurlTransport(
    const CurlTransportOptions& options) {
  if (options.client_cert_path.empty() != options.client_key_path.empty()) {
    return absl::InvalidArgumentError("client certificate and key come together");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.total_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeouts must be positive");
  }
  if (options.max_response_bytes == 0) {
    return absl::InvalidArgumentError("max_response_bytes must be positive");
  }
  GlobalInitOnce();
  curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || info->ssl_version == nullptr ||
      !absl::StartsWith(info->ssl_version, "OpenSSL")) {
    return absl::FailedPreconditionError("libcurl is not built with OpenSSL");
  }
  return std::make_unique<CurlTransport>(options);
}

}  // namespace collabcare::host
