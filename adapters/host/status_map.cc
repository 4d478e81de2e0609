// The table from a host's HTTP status and OperationOutcome to absl status codes.
#include "adapters/host/status_map.h"

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace collabcare::host {
namespace {

using Code = absl::StatusCode;

constexpr char kHttpStatusPayload[] = "type.collabcare.dev/host.HttpStatus";
constexpr char kRetryAfterPayload[] = "type.collabcare.dev/host.RetryAfterMillis";

// ---------------------------------------------------------------------------------------------
// THE TABLE. Codes follow Abseil's guide (house style rule 10): UNAVAILABLE means "send the
// same request again later", ABORTED "re-read, then retry the read-modify-write",
// FAILED_PRECONDITION "someone must fix the state first", INVALID_ARGUMENT "this request will
// never succeed" (the sync worker parks it). Hosts override single rows (StatusMapOverrides).
// ---------------------------------------------------------------------------------------------
struct HttpRow {
  int http_status;
  Code code;
};
constexpr HttpRow kHttpTable[] = {
    {400, Code::kInvalidArgument},   // Bad Request: malformed or invalid resource
    {401, Code::kUnauthenticated},   // token missing, expired or revoked
    {403, Code::kPermissionDenied},  // scope or policy forbids the interaction
    {404, Code::kNotFound},          // no such resource (or type unknown at this endpoint)
    {405, Code::kUnimplemented},     // interaction not supported for this type
    {408, Code::kUnavailable},       // Request Timeout: the server gave up waiting; resend
    {409, Code::kAborted},           // version conflict: re-read and retry
    {410, Code::kNotFound},          // Gone: deleted
    {412, Code::kAborted},           // If-Match mismatch: re-read and retry; FHIR also uses it
                                     // for conditional create matching >1 (see issues below)
    {413, Code::kInvalidArgument},   // Payload Too Large: resending cannot help
    {415, Code::kInvalidArgument},   // Unsupported Media Type
    {422, Code::kInvalidArgument},   // Unprocessable Entity: fails the server's profiles/rules
    {429, Code::kUnavailable},       // Too Many Requests: back off (Retry-After)
    // 500: most FHIR servers answer 500 for transient faults (database locks, restarts) as well
    // as bugs. Retrying with bounded backoff costs little and loses nothing, while INTERNAL
    // would park a change forever after one hiccup; hosts whose 500s are deterministic
    // override this row to kInternal.
    {500, Code::kUnavailable},
    {501, Code::kUnimplemented},  // Not Implemented
    {502, Code::kUnavailable},    // Bad Gateway
    {503, Code::kUnavailable},    // Service Unavailable (Retry-After)
    {504, Code::kUnavailable},    // Gateway Timeout
};

// Issue codes (FHIR R4 IssueType) that say more than the HTTP status. Applied to 4xx only:
// when the server itself fails (5xx) the HTTP status decides. Other issue codes (invalid,
// structure, required, value, processing, …) add nothing to the HTTP row.
struct IssueRow {
  const char* issue_code;
  Code code;
};
constexpr IssueRow kIssueTable[] = {
    // Conditional create/update matched several resources: no retry can succeed until the
    // duplicates are resolved in the EHR (412 alone would say ABORTED).
    {"multiple-matches", Code::kFailedPrecondition},
    {"duplicate", Code::kAlreadyExists},      // a business identifier already in use
    {"not-supported", Code::kUnimplemented},  // type or interaction not offered
    {"conflict", Code::kAborted},             // version conflict sent as 400
    {"throttled", Code::kUnavailable},        // rate limit sent as 400/403
    {"transient", Code::kUnavailable},        // "may attempt to resend" (IssueType)
    {"lock-error", Code::kUnavailable},
    {"no-store", Code::kUnavailable},
    {"timeout", Code::kUnavailable},
    {"too-costly", Code::kResourceExhausted},  // search or operation too expensive
    {"login", Code::kUnauthenticated},
    {"expired", Code::kUnauthenticated},
    {"forbidden", Code::kPermissionDenied},
    {"not-found", Code::kNotFound},
    {"deleted", Code::kNotFound},
};

// Any status not in the table, by class.
Code CodeForClass(int http_status) {
  if (http_status >= 200 && http_status < 300) return Code::kOk;
  // Redirects are not followed: the base URL is wrong (moved) and must be fixed.
  if (http_status >= 300 && http_status < 400) return Code::kFailedPrecondition;
  if (http_status >= 400 && http_status < 500) return Code::kFailedPrecondition;
  if (http_status >= 500 && http_status < 600) return Code::kUnavailable;
  return Code::kUnknown;  // 1xx or not HTTP at all
}

bool IsFhirPathChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '[' || c == ']' ||
         c == '_' || c == '-' || c == ':' || c == '(' || c == ')';
}

// An expression path fit for a message: FHIRPath's name characters only (anything inside a
// where('…') literal is dropped with the rest), at most 100 characters.
std::string SanitizePath(absl::string_view path) {
  std::string out;
  for (char c : path) {
    if (out.size() >= 100) break;
    if (c == '\'' || c == '"') break;
    if (IsFhirPathChar(c)) out.push_back(c);
  }
  return out;
}

// An issue code is a FHIR code token: lowercase letters and '-' only, bounded.
std::string SanitizeCode(absl::string_view code) {
  std::string out;
  for (char c : code) {
    if (out.size() >= 40) break;
    if ((c >= 'a' && c <= 'z') || c == '-') out.push_back(c);
  }
  return out;
}

const OutcomeIssue* FirstError(const std::vector<OutcomeIssue>& issues) {
  for (const auto& issue : issues) {
    if (issue.severity == "error" || issue.severity == "fatal") return &issue;
  }
  return nullptr;
}

std::optional<absl::Time> ParseHttpDate(absl::string_view value) {
  // IMF-fixdate, then the two obsolete forms recipients must accept (RFC 9110 5.6.7).
  static constexpr const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT",
                                             "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  for (const char* format : kFormats) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(format, std::string(value), absl::UTCTimeZone(), &t, &err)) return t;
  }
  return std::nullopt;
}

}  // namespace

std::string SanitizeDiagnostics(absl::string_view text, size_t max_chars) {
  std::string out;
  char quote = 0;
  for (char c : text) {
    if (out.size() >= max_chars) break;
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += "'...'";
      continue;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || u >= 0x80) c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max_chars) out.resize(max_chars);
  return out;
}

std::optional<std::vector<OutcomeIssue>> ParseOperationOutcome(absl::string_view body,
                                                               size_t max_diagnostics_chars) {
  if (body.empty() || body.size() > kDefaultMaxResponseBytes) return std::nullopt;
  const nlohmann::json json = nlohmann::json::parse(body.begin(), body.end(), nullptr,
                                                    /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  const auto type = json.find("resourceType");
  if (type == json.end() || *type != "OperationOutcome") return std::nullopt;
  std::vector<OutcomeIssue> issues;
  const auto list = json.find("issue");
  if (list == json.end() || !list->is_array()) return issues;
  for (const auto& item : *list) {
    if (issues.size() >= 20) break;
    if (!item.is_object()) continue;
    OutcomeIssue issue;
    if (auto it = item.find("severity"); it != item.end() && it->is_string()) {
      issue.severity = SanitizeCode(it->get_ref<const std::string&>());
    }
    if (auto it = item.find("code"); it != item.end() && it->is_string()) {
      issue.code = SanitizeCode(it->get_ref<const std::string&>());
    }
    for (const char* key : {"expression", "location"}) {
      const auto paths = item.find(key);
      if (paths == item.end() || !paths->is_array()) continue;
      for (const auto& path : *paths) {
        if (issue.expressions.size() >= 5) break;
        if (!path.is_string()) continue;
        std::string clean = SanitizePath(path.get_ref<const std::string&>());
        if (!clean.empty()) issue.expressions.push_back(std::move(clean));
      }
      if (!issue.expressions.empty()) break;  // location is the R4-deprecated fallback
    }
    if (auto it = item.find("diagnostics"); it != item.end() && it->is_string()) {
      issue.diagnostics =
          SanitizeDiagnostics(it->get_ref<const std::string&>(), max_diagnostics_chars);
    }
    issues.push_back(std::move(issue));
  }
  return issues;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (absl::ascii_isdigit(static_cast<unsigned char>(value.front()))) {
    for (char c : value) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds)) return std::nullopt;  // overflow
    return absl::Seconds(seconds);
  }
  const std::optional<absl::Time> when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  return std::max(*when - now, absl::ZeroDuration());
}

StatusMap::StatusMap(StatusMapOverrides overrides) : overrides_(std::move(overrides)) {}

absl::StatusCode StatusMap::CodeFor(int http_status, absl::string_view issue_code) const {
  if (http_status >= 200 && http_status < 300) return Code::kOk;
  if (!issue_code.empty()) {
    if (auto it = overrides_.issue_code.find(std::string(issue_code));
        it != overrides_.issue_code.end()) {
      return it->second;
    }
  }
  if (auto it = overrides_.http_status.find(http_status); it != overrides_.http_status.end()) {
    return it->second;
  }
  if (!issue_code.empty() && http_status >= 400 && http_status < 500) {
    for (const IssueRow& row : kIssueTable) {
      if (issue_code == row.issue_code) return row.code;
    }
  }
  for (const HttpRow& row : kHttpTable) {
    if (row.http_status == http_status) return row.code;
  }
  return CodeForClass(http_status);
}

absl::Status StatusMap::FromParts(int http_status, const std::vector<OutcomeIssue>& issues,
                                  std::optional<absl::Duration> retry_after,
                                  absl::string_view what) const {
  const OutcomeIssue* first = FirstError(issues);
  const Code code = CodeFor(http_status, first != nullptr ? first->code : "");
  if (code == Code::kOk) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": HTTP ", http_status);
  std::vector<std::string> described;
  std::string diagnostics;
  for (const auto& issue : issues) {
    if (issue.severity != "error" && issue.severity != "fatal") continue;
    if (described.size() >= 5) break;
    std::string one = issue.code.empty() ? "?" : issue.code;
    if (!issue.expressions.empty()) {
      absl::StrAppend(&one, " at ", absl::StrJoin(issue.expressions, ", "));
    }
    described.push_back(std::move(one));
    if (diagnostics.empty() && overrides_.max_diagnostics_chars > 0) {
      diagnostics = SanitizeDiagnostics(issue.diagnostics, overrides_.max_diagnostics_chars);
    }
  }
  if (!described.empty()) absl::StrAppend(&message, "; issues: ", absl::StrJoin(described, "; "));
  if (!diagnostics.empty()) absl::StrAppend(&message, "; diagnostics: ", diagnostics);
  if (retry_after) {
    absl::StrAppend(&message, "; retry after ", absl::FormatDuration(*retry_after));
  }
  absl::Status status(code, message);
  status.SetPayload(kHttpStatusPayload, absl::Cord(absl::StrCat(http_status)));
  if (retry_after) {
    status.SetPayload(kRetryAfterPayload,
                      absl::Cord(absl::StrCat(absl::ToInt64Milliseconds(*retry_after))));
  }
  return status;
}

absl::Status StatusMap::ToStatus(const HttpResponse& response, absl::string_view what,
                                 absl::Time now) const {
  if (response.status >= 200 && response.status < 300) return absl::OkStatus();
  std::vector<OutcomeIssue> issues;
  if (auto parsed = ParseOperationOutcome(response.body, overrides_.max_diagnostics_chars)) {
    issues = std::move(*parsed);
  }
  std::optional<absl::Duration> retry_after;
  if (auto header = response.Header("retry-after")) retry_after = ParseRetryAfter(*header, now);
  return FromParts(response.status, issues, retry_after, what);
}

std::optional<int> ParseEntryStatus(absl::string_view status) {
  status = absl::StripLeadingAsciiWhitespace(status);
  if (status.size() < 3) return std::nullopt;
  int code = 0;
  if (!absl::SimpleAtoi(status.substr(0, 3), &code) || code < 100 || code > 599) {
    return std::nullopt;
  }
  if (status.size() > 3 && status[3] != ' ') return std::nullopt;
  return code;
}

std::optional<int> HttpStatusOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kHttpStatusPayload);
  int code = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &code)) return std::nullopt;
  return code;
}

std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kRetryAfterPayload);
  int64_t millis = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &millis)) return std::nullopt;
  return absl::Milliseconds(millis);
}

}  // namespace collabcare::host
