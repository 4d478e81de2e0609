// Helpers shared by the store tests: status assertions, temporary folders, sample mutations.
#ifndef COLLABCARE_TESTS_STORE_STORE_TEST_UTIL_H_
#define COLLABCARE_TESTS_STORE_STORE_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "plugin/store/store.h"

namespace collabcare::store::test {

::testing::AssertionResult IsOk(const absl::Status& status);
template <typename T>
::testing::AssertionResult IsOk(const absl::StatusOr<T>& status_or) {
  return IsOk(status_or.status());
}

#define COLLABCARE_TEST_CONCAT_INNER_(a, b) a##b
#define COLLABCARE_TEST_CONCAT_(a, b) COLLABCARE_TEST_CONCAT_INNER_(a, b)

// `ASSERT_OK_AND_ASSIGN(auto x, F())`: fails the test unless F() is OK, else declares x.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(COLLABCARE_TEST_CONCAT_(status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(status_or, lhs, expr)   \
  auto status_or = (expr);                                 \
  ASSERT_TRUE(::collabcare::store::test::IsOk(status_or)); \
  lhs = std::move(status_or).value()

// A fresh folder made with mkdtemp under the test temp folder; removed with its contents.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A fixed instant plus `seconds`: tests never read the wall clock.
absl::Time At(int64_t seconds);

// A mutation writing `revision` of record `name` in `episode_id`, with an audit record and no
// request key; its data and time derive from the arguments so tests can check them.
Mutation MakeMutation(const std::string& episode_id, const std::string& name, RecordKind kind,
                      int64_t revision);

}  // namespace collabcare::store::test

#endif  // COLLABCARE_TESTS_STORE_STORE_TEST_UTIL_H_
