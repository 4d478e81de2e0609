// Turns a host's HTTP answer into an absl::Status: the one table of HTTP statuses and
// OperationOutcome issue codes, overridable per host EHR, and Retry-After handling.
#ifndef COLLABCARE_ADAPTERS_HOST_STATUS_MAP_H_
#define COLLABCARE_ADAPTERS_HOST_STATUS_MAP_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/host/http_transport.h"

namespace collabcare::host {

// One OperationOutcome.issue, reduced to what may be logged.
struct OutcomeIssue {
  std::string severity;                  // fatal | error | warning | information
  std::string code;                      // e.g. "invalid", "multiple-matches"
  std::vector<std::string> expressions;  // FHIRPath locations (expression, else location)
  std::string diagnostics;               // sanitized, bounded; see SanitizeDiagnostics
};

// The issues of an OperationOutcome in `body` (at most 20), or nullopt if `body` is not a JSON
// OperationOutcome. Never fails on garbage.
std::optional<std::vector<OutcomeIssue>> ParseOperationOutcome(absl::string_view body,
                                                               size_t max_diagnostics_chars = 120);

// Makes server diagnostics fit for a log line: printable ASCII only, whitespace collapsed, any
// quoted span ('…' or "…", where servers echo submitted values) replaced by `'...'`, cut to
// `max_chars`. Servers can still put clinical text outside quotes, so hosts known to do so
// should set StatusMapOverrides::max_diagnostics_chars to 0.
std::string SanitizeDiagnostics(absl::string_view text, size_t max_chars);

// The delay a Retry-After value asks for: delta-seconds or an HTTP-date (IMF-fixdate, RFC 850
// or asctime, RFC 9110 section 5.6.7). Dates in the past give zero; nullopt if unparseable.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

// Per-host changes to the default table. Precedence: issue_code, then http_status, then the
// defaults (status_map.cc).
struct StatusMapOverrides {
  absl::flat_hash_map<int, absl::StatusCode> http_status;
  absl::flat_hash_map<std::string, absl::StatusCode> issue_code;
  size_t max_diagnostics_chars = 120;  // 0: no server diagnostics in messages at all
};

class StatusMap final {
 public:
  explicit StatusMap(StatusMapOverrides overrides = {});

  // The code for `http_status` whose first error or fatal issue has code `issue_code` ("" when
  // there is no OperationOutcome). kOk for 2xx.
  absl::StatusCode CodeFor(int http_status, absl::string_view issue_code) const;

  // OK for 2xx. Otherwise a status with CodeFor's code and the message
  //   "<what>: HTTP 412; issues: multiple-matches at Goal.identifier; diagnostics: …"
  // carrying HttpStatusOf() and, when the response had a usable Retry-After, RetryAfterOf().
  // `what` names the interaction, e.g. "create Goal"; never put values in it.
  absl::Status ToStatus(const HttpResponse& response, absl::string_view what, absl::Time now) const;

  // The same from parts, for Bundle response entries ("412 Precondition Failed" + outcome).
  absl::Status FromParts(int http_status, const std::vector<OutcomeIssue>& issues,
                         std::optional<absl::Duration> retry_after, absl::string_view what) const;

  size_t max_diagnostics_chars() const { return overrides_.max_diagnostics_chars; }

 private:
  StatusMapOverrides overrides_;
};

// The HTTP status code at the start of a Bundle entry's response.status ("201 Created"), or
// nullopt.
std::optional<int> ParseEntryStatus(absl::string_view status);

// What StatusMap put into a status; nullopt for statuses from elsewhere.
std::optional<int> HttpStatusOf(const absl::Status& status);
std::optional<absl::Duration> RetryAfterOf(const absl::Status& status);

}  // namespace collabcare::host

#endif  // COLLABCARE_ADAPTERS_HOST_STATUS_MAP_H_
