// Argument checks and time truncation shared by every Store implementation, so that they all
// accept, refuse and round-trip exactly the same values.
#ifndef COLLABCARE_PLUGIN_STORE_STORE_CHECKS_H_
#define COLLABCARE_PLUGIN_STORE_STORE_CHECKS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "plugin/store/store.h"

namespace collabcare::store::internal {

// INVALID_ARGUMENT when `mutation` cannot be stored whatever the store holds. Says which field
// is wrong, never what it holds.
absl::Status CheckMutation(const Mutation& mutation);

// INVALID_ARGUMENT when `limit` < 1; `field` names the argument, e.g. "Page.limit".
absl::Status CheckLimit(int limit, absl::string_view field);

// INVALID_ARGUMENT when `host` is empty; `field` names the argument, e.g. "RemoteRef.host".
absl::Status CheckHost(const std::string& host, absl::string_view field);

// INVALID_ARGUMENT for a RemoteRef without host or key.
absl::Status CheckRemoteRef(const RemoteRef& ref);

// The most bytes of ParkedChange::outcome a store keeps: a host's OperationOutcome is a few
// issues, and an operator reads it; anything larger is a host misbehaving, cut by the caller.
inline constexpr size_t kMaxParkedOutcomeBytes = 64 * 1024;

// INVALID_ARGUMENT for a ParkedChange without host, or with an outcome over
// kMaxParkedOutcomeBytes.
absl::Status CheckParkedChange(const ParkedChange& change);

// Stores keep times to the microsecond, rounded toward the past (absl::ToUnixMicros).
inline absl::Time TruncateToMicros(absl::Time time) {
  return absl::FromUnixMicros(absl::ToUnixMicros(time));
}

}  // namespace collabcare::store::internal

#endif  // COLLABCARE_PLUGIN_STORE_STORE_CHECKS_H_
