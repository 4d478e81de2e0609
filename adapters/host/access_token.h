// Where the FHIR client's bearer tokens come from (SMART Backend Services, or a fixed token).
#ifndef COLLABCARE_ADAPTERS_HOST_ACCESS_TOKEN_H_
#define COLLABCARE_ADAPTERS_HOST_ACCESS_TOKEN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace collabcare::host {

// Supplies OAuth access tokens. Thread-safe.
class AccessTokenSource {
 public:
  AccessTokenSource() = default;
  AccessTokenSource(const AccessTokenSource&) = delete;
  AccessTokenSource& operator=(const AccessTokenSource&) = delete;
  virtual ~AccessTokenSource() = default;

  // A token (without "Bearer ") valid for a while yet. Errors are those of getting one:
  // UNAVAILABLE / DEADLINE_EXCEEDED when the authorization server is unreachable,
  // UNAUTHENTICATED or PERMISSION_DENIED when it refuses collabcare's credentials or scopes.
  virtual absl::StatusOr<std::string> GetToken() = 0;

  // Forgets `token` if it is the cached one (the host answered 401 to it), so the next
  // GetToken fetches a fresh one.
  virtual void Invalidate(const std::string& token) = 0;
};

// Always the same token; for hosts that issue long-lived tokens out of band, and for tests.
std::unique_ptr<AccessTokenSource> NewStaticTokenSource(std::string token);

}  // namespace collabcare::host

#endif  // COLLABCARE_ADAPTERS_HOST_ACCESS_TOKEN_H_
