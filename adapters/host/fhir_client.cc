// FhirClient over an HttpTransport: FHIR R4 JSON, bearer tokens, the StatusMap for errors.
#include "adapters/host/fhir_client.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "plugin/common/status_macros.h"

namespace collabcare::host {
namespace {

constexpr char kFhirJson[] = "application/fhir+json";
constexpr char kFhirJsonUtf8[] = "application/fhir+json; charset=utf-8";

// FHIR resource type names: an upper-case letter, then letters (at most 64).
bool IsResourceType(absl::string_view type) {
  if (type.empty() || type.size() > 64 || !absl::ascii_isupper(static_cast<unsigned char>(type[0])))
    return false;
  for (char c : type) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// FHIR ids: [A-Za-z0-9\-\.]{1,64}.
bool IsFhirId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

// "scheme://authority" of an absolute URL, lowercased; empty if `url` is not one.
std::string Origin(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return "";
  const size_t path = url.find_first_of("/?#", scheme_end + 3);
  return absl::AsciiStrToLower(url.substr(0, path));
}

// The version in a weak or strong ETag: W/"3" -> 3.
std::string VersionFromEtag(absl::string_view etag) {
  absl::ConsumePrefix(&etag, "W/");
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return IsFhirId(etag) ? std::string(etag) : "";
}

const std::string* StringMember(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

// nlohmann's dump() throws on strings that are not UTF-8; no exception leaves this module.
absl::StatusOr<std::string> Dump(const nlohmann::json& json, absl::string_view what) {
  try {
    return json.dump();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": resource has a string that is not UTF-8"));
  }
}

absl::Status HostError(absl::string_view what, absl::string_view problem) {
  return absl::InternalError(absl::StrCat(what, ": host sent ", problem));
}

class HttpFhirClient final : public FhirClient {
 public:
  HttpFhirClient(FhirClientOptions options, std::string origin, HttpTransport* transport,
                 AccessTokenSource* tokens, const Clock* clock)
      : options_(std::move(options)),
        origin_(std::move(origin)),
        status_map_(options_.status_overrides),
        transport_(transport),
        tokens_(tokens),
        clock_(clock) {}

  absl::StatusOr<FhirResult> Read(absl::string_view type, absl::string_view id) override {
    if (!IsResourceType(type)) return absl::InvalidArgumentError("read: bad resource type");
    if (!IsFhirId(id)) return absl::InvalidArgumentError("read: bad id");
    const std::string what = absl::StrCat("read ", type);
    ASSIGN_OR_RETURN(
        HttpResponse response,
        Send(HttpMethod::kGet, absl::StrCat(options_.base_url, "/", type, "/", id), "", {}, what));
    return ToResult(std::move(response), what, type, /*allow_empty=*/false);
  }

  absl::StatusOr<SearchResult> Search(absl::string_view type, const SearchParams& params,
                                      int max_pages) override {
    if (!IsResourceType(type)) return absl::InvalidArgumentError("search: bad resource type");
    if (max_pages < 1) return absl::InvalidArgumentError("search: max_pages < 1");
    const std::string what = absl::StrCat("search ", type);
    std::string url = absl::StrCat(options_.base_url, "/", type);
    for (size_t i = 0; i < params.size(); ++i) {
      absl::StrAppend(&url, i == 0 ? "?" : "&", UrlEncode(params[i].first), "=",
                      UrlEncode(params[i].second));
    }
    SearchResult result;
    size_t entries = 0;
    while (true) {
      ASSIGN_OR_RETURN(HttpResponse response, Send(HttpMethod::kGet, url, "", {}, what));
      ASSIGN_OR_RETURN(nlohmann::json page, ParseBody(response, what, "Bundle", false));
      if (const std::string* bundle_type = StringMember(page, "type");
          bundle_type != nullptr && *bundle_type != "searchset") {
        return HostError(what, "a Bundle that is not a searchset");
      }
      ++result.pages;
      nlohmann::json page_entries = nlohmann::json::array();
      if (auto it = page.find("entry"); it != page.end()) {
        if (!it->is_array()) return HostError(what, "a Bundle whose entry is not an array");
        page_entries = std::move(*it);
        page.erase("entry");
      }
      std::string next;
      if (auto links = page.find("link"); links != page.end() && links->is_array()) {
        for (const auto& link : *links) {
          const std::string* relation = StringMember(link, "relation");
          const std::string* link_url = StringMember(link, "url");
          if (relation != nullptr && link_url != nullptr && *relation == "next") next = *link_url;
        }
      }
      bool truncated = false;
      if (result.pages == 1) {
        result.bundle = std::move(page);
        result.bundle["entry"] = nlohmann::json::array();
      } else if (auto links = page.find("link"); links != page.end()) {
        result.bundle["link"] = std::move(*links);  // the last page's links say what is left
      } else {
        result.bundle.erase("link");
      }
      nlohmann::json& merged = result.bundle["entry"];
      for (auto& entry : page_entries) {
        if (entries >= options_.max_search_entries) {
          truncated = true;
          break;
        }
        merged.push_back(std::move(entry));
        ++entries;
      }
      if (truncated) {
        result.complete = false;
        break;
      }
      if (next.empty()) break;
      if (result.pages >= max_pages) {
        result.complete = false;
        break;
      }
      // The next request carries the bearer token: never send it to another origin.
      if (Origin(next) != origin_) {
        return absl::FailedPreconditionError(
            absl::StrCat(what, ": host sent a next link outside its base URL's origin"));
      }
      url = std::move(next);
    }
    if (result.bundle["entry"].empty()) result.bundle.erase("entry");
    return result;
  }

  absl::StatusOr<FhirResult> Create(const nlohmann::json& resource,
                                    absl::string_view if_none_exist) override {
    ASSIGN_OR_RETURN(const std::string type, TypeOf(resource, "create"));
    const std::string what = absl::StrCat("create ", type);
    ASSIGN_OR_RETURN(std::string body, Dump(resource, what));
    HttpHeaders headers = {{"Prefer", "return=representation"}};
    if (!if_none_exist.empty()) headers.emplace_back("If-None-Exist", std::string(if_none_exist));
    ASSIGN_OR_RETURN(HttpResponse response,
                     Send(HttpMethod::kPost, absl::StrCat(options_.base_url, "/", type),
                          std::move(body), std::move(headers), what));
    return ToResult(std::move(response), what, type, /*allow_empty=*/true);
  }

  absl::StatusOr<FhirResult> Update(const nlohmann::json& resource,
                                    absl::string_view if_match_version) override {
    ASSIGN_OR_RETURN(const std::string type, TypeOf(resource, "update"));
    const std::string* id = StringMember(resource, "id");
    if (id == nullptr || !IsFhirId(*id)) return absl::InvalidArgumentError("update: bad id");
    const std::string what = absl::StrCat("update ", type);
    ASSIGN_OR_RETURN(std::string body, Dump(resource, what));
    HttpHeaders headers = {{"Prefer", "return=representation"}};
    if (!if_match_version.empty()) {
      if (!IsFhirId(if_match_version)) {
        return absl::InvalidArgumentError("update: bad version for If-Match");
      }
      headers.emplace_back("If-Match", absl::StrCat("W/\"", if_match_version, "\""));
    }
    ASSIGN_OR_RETURN(HttpResponse response,
                     Send(HttpMethod::kPut, absl::StrCat(options_.base_url, "/", type, "/", *id),
                          std::move(body), std::move(headers), what));
    return ToResult(std::move(response), what, type, /*allow_empty=*/true);
  }

  absl::StatusOr<FhirResult> ConditionalUpdate(const nlohmann::json& resource,
                                               absl::string_view identifier_system,
                                               absl::string_view identifier_value) override {
    ASSIGN_OR_RETURN(const std::string type, TypeOf(resource, "conditional update"));
    if (identifier_value.empty()) {
      return absl::InvalidArgumentError("conditional update: empty identifier value");
    }
    const std::string what = absl::StrCat("conditional update ", type);
    ASSIGN_OR_RETURN(std::string body, Dump(resource, what));
    ASSIGN_OR_RETURN(HttpResponse response,
                     Send(HttpMethod::kPut,
                          absl::StrCat(options_.base_url, "/", type, "?",
                                       IdentifierQuery(identifier_system, identifier_value)),
                          std::move(body), {{"Prefer", "return=representation"}}, what));
    return ToResult(std::move(response), what, type, /*allow_empty=*/true);
  }

  absl::StatusOr<nlohmann::json> Transaction(const nlohmann::json& bundle) override {
    return PostBundle(bundle, "transaction");
  }

  absl::StatusOr<nlohmann::json> Batch(const nlohmann::json& bundle) override {
    return PostBundle(bundle, "batch");
  }

  absl::StatusOr<nlohmann::json> Transaction(absl::string_view bundle_json) override {
    return PostBundleText(bundle_json, "transaction");
  }

  absl::StatusOr<nlohmann::json> Batch(absl::string_view bundle_json) override {
    return PostBundleText(bundle_json, "batch");
  }

  absl::StatusOr<nlohmann::json> Capabilities() override {
    const std::string what = "capabilities";
    ASSIGN_OR_RETURN(
        HttpResponse response,
        Send(HttpMethod::kGet, absl::StrCat(options_.base_url, "/metadata"), "", {}, what));
    return ParseBody(response, what, "CapabilityStatement", false);
  }

 private:
  absl::StatusOr<std::string> TypeOf(const nlohmann::json& resource, absl::string_view what) {
    const std::string* type = StringMember(resource, "resourceType");
    if (type == nullptr || !IsResourceType(*type)) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": resource without a resourceType"));
    }
    return *type;
  }

  static absl::Status CheckBundleKind(const nlohmann::json& bundle, const std::string& kind) {
    const std::string* type = StringMember(bundle, "resourceType");
    const std::string* bundle_kind = StringMember(bundle, "type");
    if (type == nullptr || *type != "Bundle" || bundle_kind == nullptr || *bundle_kind != kind) {
      return absl::InvalidArgumentError(absl::StrCat(kind, ": not a ", kind, " Bundle"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<nlohmann::json> PostBundle(const nlohmann::json& bundle,
                                            const std::string& bundle_type) {
    RETURN_IF_ERROR(CheckBundleKind(bundle, bundle_type));
    ASSIGN_OR_RETURN(std::string body, Dump(bundle, bundle_type));
    return SendBundle(std::move(body), bundle_type);
  }

  // The text is parsed only to check it; the bytes sent are the caller's.
  absl::StatusOr<nlohmann::json> PostBundleText(absl::string_view bundle_json,
                                                const std::string& bundle_type) {
    if (JsonTooDeep(bundle_json, options_.max_json_depth)) {
      return absl::InvalidArgumentError(
          absl::StrCat(bundle_type, ": Bundle nested deeper than ", options_.max_json_depth));
    }
    // Without exceptions: invalid JSON, and strings that are not UTF-8, come back discarded.
    const nlohmann::json parsed =
        nlohmann::json::parse(bundle_json.begin(), bundle_json.end(), nullptr, false);
    if (parsed.is_discarded()) {
      return absl::InvalidArgumentError(
          absl::StrCat(bundle_type, ": Bundle text is not UTF-8 JSON"));
    }
    RETURN_IF_ERROR(CheckBundleKind(parsed, bundle_type));
    return SendBundle(std::string(bundle_json), bundle_type);
  }

  absl::StatusOr<nlohmann::json> SendBundle(std::string body, const std::string& bundle_type) {
    const std::string& what = bundle_type;
    ASSIGN_OR_RETURN(HttpResponse response,
                     Send(HttpMethod::kPost, options_.base_url, std::move(body),
                          {{"Prefer", "return=representation"}}, what));
    ASSIGN_OR_RETURN(nlohmann::json reply, ParseBody(response, what, "Bundle", false));
    const std::string* reply_kind = StringMember(reply, "type");
    if (reply_kind == nullptr || *reply_kind != bundle_type + "-response") {
      return HostError(what, absl::StrCat("a Bundle that is not a ", bundle_type, "-response"));
    }
    return reply;
  }

  // Sends with the FHIR headers and a bearer token; maps non-2xx through the StatusMap.
  absl::StatusOr<HttpResponse> Send(HttpMethod method, std::string url, std::string body,
                                    HttpHeaders extra, absl::string_view what) {
    HttpRequest request;
    request.method = method;
    request.url = std::move(url);
    request.body = std::move(body);
    request.headers = {{"Accept", kFhirJson}};
    if (!request.body.empty()) request.headers.emplace_back("Content-Type", kFhirJsonUtf8);
    for (auto& header : extra) request.headers.push_back(std::move(header));
    absl::StatusOr<HttpResponse> response;
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::string token;
      if (tokens_ != nullptr) {
        ASSIGN_OR_RETURN(token, tokens_->GetToken());
        if (attempt > 0) request.headers.pop_back();
        request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", token));
      }
      response = transport_->Send(request);
      if (!response.ok()) return response.status();
      // A 401 means the request was not processed: retrying once with a new token is safe.
      if (response->status != 401 || tokens_ == nullptr) break;
      tokens_->Invalidate(token);
    }
    RETURN_IF_ERROR(status_map_.ToStatus(*response, what, clock_->Now()));
    return response;
  }

  absl::StatusOr<nlohmann::json> ParseBody(const HttpResponse& response, absl::string_view what,
                                           absl::string_view expected_type, bool allow_empty) {
    if (response.body.empty()) {
      if (allow_empty) return nlohmann::json();
      return HostError(what, absl::StrCat("an empty body (HTTP ", response.status, ")"));
    }
    if (JsonTooDeep(response.body, options_.max_json_depth)) {
      return HostError(what, absl::StrCat("JSON nested deeper than ", options_.max_json_depth));
    }
    nlohmann::json json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      return HostError(what, absl::StrCat("a body that is not JSON (HTTP ", response.status, ", ",
                                          response.body.size(), " bytes)"));
    }
    const std::string* type = StringMember(json, "resourceType");
    if (type == nullptr) return HostError(what, "JSON that is not a FHIR resource");
    if (!expected_type.empty() && *type != expected_type) {
      // The type name is a FHIR code, safe to log, but bounded all the same.
      return HostError(what, absl::StrCat("a ", IsResourceType(*type) ? *type : "?", " where a ",
                                          expected_type, " was expected"));
    }
    return json;
  }

  absl::StatusOr<FhirResult> ToResult(HttpResponse response, absl::string_view what,
                                      absl::string_view type, bool allow_empty) {
    FhirResult result;
    result.http_status = response.status;
    ASSIGN_OR_RETURN(nlohmann::json json, ParseBody(response, what, "", allow_empty));
    if (!json.is_null()) {
      const std::string& actual = json["resourceType"].get_ref<const std::string&>();
      if (actual == "OperationOutcome" && allow_empty) {
        json = nullptr;  // return=OperationOutcome honoured instead of representation
      } else if (actual != type) {
        return HostError(what, absl::StrCat("a ", IsResourceType(actual) ? actual : "?",
                                            " where a ", type, " was expected"));
      }
    }
    result.resource = std::move(json);
    if (!result.resource.is_null()) result.body = std::move(response.body);
    result.etag = response.Header("etag").value_or("");
    result.location =
        response.Header("location").value_or(response.Header("content-location").value_or(""));
    result.version_id = VersionFromEtag(result.etag);
    if (result.version_id.empty() && result.resource.is_object()) {
      if (auto meta = result.resource.find("meta"); meta != result.resource.end()) {
        if (const std::string* v = StringMember(*meta, "versionId"); v != nullptr) {
          result.version_id = *v;
        }
      }
    }
    if (const std::string* id = StringMember(result.resource, "id"); id != nullptr) {
      result.id = *id;
    } else if (!result.location.empty()) {
      // [base]/Type/id[/_history/v]
      absl::string_view rest = result.location;
      if (size_t history = rest.find("/_history/"); history != absl::string_view::npos) {
        rest = rest.substr(0, history);
      }
      const size_t slash = rest.rfind('/');
      const absl::string_view id = rest.substr(slash + 1);
      if (slash != absl::string_view::npos && IsFhirId(id) &&
          absl::EndsWith(rest.substr(0, slash), absl::StrCat("/", type))) {
        result.id = std::string(id);
      }
    }
    return result;
  }

  const FhirClientOptions options_;
  const std::string origin_;
  const StatusMap status_map_;
  HttpTransport* const transport_;
  AccessTokenSource* const tokens_;
  const Clock* const clock_;
};

std::string EscapeSearchValue(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '|' || c == ',' || c == '$') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string UrlEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string IdentifierQuery(absl::string_view system, absl::string_view value) {
  const std::string token =
      system.empty() ? EscapeSearchValue(value)
                     : absl::StrCat(EscapeSearchValue(system), "|", EscapeSearchValue(value));
  return absl::StrCat("identifier=", UrlEncode(token));
}

bool JsonTooDeep(absl::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

absl::StatusOr<std::unique_ptr<FhirClient>> NewFhirClient(FhirClientOptions options,
                                                          HttpTransport* transport,
                                                          AccessTokenSource* tokens,
                                                          const Clock* clock) {
  if (transport == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("FHIR client needs a transport and a clock");
  }
  while (absl::EndsWith(options.base_url, "/")) options.base_url.pop_back();
  const std::string origin = Origin(options.base_url);
  if ((!absl::StartsWith(origin, "http://") && !absl::StartsWith(origin, "https://")) ||
      origin.size() <= 8 || options.base_url.find_first_of("?# ") != std::string::npos) {
    return absl::InvalidArgumentError("FHIR base URL must be an absolute http(s) URL");
  }
  if (options.max_json_depth < 1) return absl::InvalidArgumentError("max_json_depth < 1");
  return std::make_unique<HttpFhirClient>(std::move(options), origin, transport, tokens, clock);
}

}  // namespace collabcare::host
