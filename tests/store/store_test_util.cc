// Helpers shared by the store tests.
#include "tests/store/store_test_util.h"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace collabcare::store::test {

::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status;
}

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::path(::testing::TempDir()) / "collabcare-store-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
    return;
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

absl::Time At(int64_t seconds) {
  // 2023-11-14T22:13:20.123456Z: microseconds set, so truncation bugs show.
  return absl::FromUnixMicros(1'700'000'000'123'456) + absl::Seconds(seconds);
}

Mutation MakeMutation(const std::string& episode_id, const std::string& name, RecordKind kind,
                      int64_t revision) {
  Mutation mutation;
  mutation.record = {.name = name,
                     .episode_id = episode_id,
                     .kind = kind,
                     .revision = revision,
                     .time = At(revision),
                     .actor = "Practitioner/p1",
                     .data = absl::StrCat("data of ", name, " r", revision)};
  mutation.event_kind = 2;
  mutation.audit = {.time = At(revision),
                    .actor = "Practitioner/p1",
                    .action = "collabcare.v1.GoalService/UpdateGoal",
                    .resource = name,
                    .episode_id = episode_id,
                    .outcome = 0,
                    .request_id = ""};
  return mutation;
}

}  // namespace collabcare::store::test
