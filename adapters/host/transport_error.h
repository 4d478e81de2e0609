// Marks statuses that come from transport failures; internal to adapters/host.
#ifndef COLLABCARE_ADAPTERS_HOST_TRANSPORT_ERROR_H_
#define COLLABCARE_ADAPTERS_HOST_TRANSPORT_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace collabcare::host::internal {

inline constexpr char kTransportErrorPayload[] = "type.collabcare.dev/host.TransportError";

// A status with `code` and `message` that IsTransportError() recognises.
absl::Status TransportError(absl::StatusCode code, absl::string_view message);

}  // namespace collabcare::host::internal

#endif  // COLLABCARE_ADAPTERS_HOST_TRANSPORT_ERROR_H_
