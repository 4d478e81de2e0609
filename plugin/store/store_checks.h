// Argument checks and time truncation shared by every Store implementation, so that they all
// accept, refuse and round-trip exactly the same values.
#ifndef COLLABCARE_PLUGIN_STORE_STORE_CHECKS_H_
#define COLLABCARE_PLUGIN_STORE_STORE_CHECKS_H_

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

// Stores keep times to the microsecond, rounded toward the past (absl::ToUnixMicros).
inline absl::Time TruncateToMicros(absl::Time time) {
  return absl::FromUnixMicros(absl::ToUnixMicros(time));
}

}  // namespace collabcare::store::internal

#endif  // COLLABCARE_PLUGIN_STORE_STORE_CHECKS_H_
