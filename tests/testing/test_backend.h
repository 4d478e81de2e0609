// What the in-process API tests (gRPC, HTTP, SyncService) start from: a temporary folder with
// the development identity, a verifier of its tokens, and the store under test.
#ifndef COLLABCARE_TESTS_TESTING_TEST_BACKEND_H_
#define COLLABCARE_TESTS_TESTING_TEST_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "plugin/common/clock.h"
#include "plugin/identity/identity.h"
#include "plugin/store/store.h"

namespace collabcare::testutil {

enum class StoreKind { kMemory, kSqlite };

struct TestBackend {
  std::string dir;  // /tmp/collabcare-<prefix>-XXXXXX; the caller removes it
  identity::DevIdentity dev;
  std::unique_ptr<identity::TokenVerifier> verifier;  // dev tokens, checked against `clock`
  std::unique_ptr<store::Store> store;                // SQLite in `dir`/test.db, or in memory
};

// `clock` is not owned and must outlive the verifier.
absl::StatusOr<TestBackend> NewTestBackend(const std::string& prefix, StoreKind kind,
                                           const Clock& clock);

}  // namespace collabcare::testutil

#endif  // COLLABCARE_TESTS_TESTING_TEST_BACKEND_H_
