#include "tests/testing/test_backend.h"

#include <stdlib.h>

#include <utility>

#include "plugin/common/status_macros.h"

namespace collabcare::testutil {

absl::StatusOr<TestBackend> NewTestBackend(const std::string& prefix, StoreKind kind,
                                           const Clock& clock) {
  TestBackend backend;
  std::string tmpl = "/tmp/collabcare-" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  backend.dir = tmpl;
  ASSIGN_OR_RETURN(backend.dev, identity::EnsureDevIdentity(backend.dir));
  identity::VerifierOptions options;
  options.jwks_json = backend.dev.jwks_json;
  options.issuer = identity::kDevIssuer;
  options.audience = identity::kDevAudience;
  options.clock = &clock;
  ASSIGN_OR_RETURN(backend.verifier, identity::NewJwksVerifier(options));
  if (kind == StoreKind::kMemory) {
    backend.store = store::NewMemoryStore();
  } else {
    ASSIGN_OR_RETURN(backend.store, store::OpenSqliteStore({backend.dir + "/test.db"}));
  }
  return backend;
}

}  // namespace collabcare::testutil
