// The ndjson profile: one file per resource type, one valid resource per line, and no
// duplicate line when a push is repeated after a crash.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/host/sync/host_sink.h"
#include "adapters/host/sync/sync_worker.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/sync/sync_test_util.h"

namespace collabcare::host {
namespace {

class NdjsonSinkTest : public ::testing::Test {
 protected:
  NdjsonSinkTest() {
    char tmpl[] = "/tmp/collabcare-ndjson-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~NdjsonSinkTest() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::vector<std::string> Lines(const std::string& file) {
    std::ifstream in(dir_ + "/" + file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::string Content(const std::string& file) {
    std::ifstream in(dir_ + "/" + file);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static store::OutboxEntry Entry(int64_t id) {
    store::OutboxEntry entry;
    entry.id = id;
    return entry;
  }
  static fhir::FhirResource Goal(const std::string& key) {
    return {.type = "Goal",
            .key = key,
            .key_is_tag = false,
            .json = R"({"resourceType":"Goal","id":")" + key + R"("})"};
  }
  static fhir::FhirResource Provenance(const std::string& key) {
    return {.type = "Provenance",
            .key = key,
            .key_is_tag = true,
            .json = R"({"resourceType":"Provenance","id":")" + key + R"("})"};
  }

  std::string dir_;
};

TEST_F(NdjsonSinkTest, DemoSessionGivesOneFilePerTypeWithValidJsonLines) {
  std::unique_ptr<store::Store> store = store::NewMemoryStore();
  testutil::CommitDemoSession(*store);
  testing::FakeClock clock;
  testutil::FakeSleeper sleeper(&clock);
  std::unique_ptr<HostSink> sink = NewNdjsonSink(dir_).value();
  SyncWorker worker(SyncWorkerOptions(), store.get(), sink.get(), &clock, &sleeper);
  ASSERT_TRUE(worker.Drain().ok());
  EXPECT_EQ(worker.Status().parked, 0);

  std::map<std::string, int> lines_by_file;
  for (const auto& file : std::filesystem::directory_iterator(dir_)) {
    const std::string name = file.path().filename().string();
    if (name[0] == '.') continue;  // the journal
    ASSERT_TRUE(name.ends_with(".ndjson")) << name;
    const std::string type = name.substr(0, name.size() - sizeof(".ndjson") + 1);
    for (const std::string& line : Lines(name)) {
      nlohmann::json resource = nlohmann::json::parse(line, nullptr, false);
      ASSERT_TRUE(resource.is_object()) << name;
      EXPECT_EQ(resource["resourceType"], type);
      ++lines_by_file[name];
    }
  }
  for (const char* file : {"CarePlan.ndjson", "CareTeam.ndjson", "Goal.ndjson", "Provenance.ndjson",
                           "ClinicalImpression.ndjson", "Condition.ndjson", "Observation.ndjson",
                           "QuestionnaireResponse.ndjson", "Composition.ndjson"}) {
    EXPECT_GT(lines_by_file[file], 0) << file;
  }
  const std::string goals = Content("Goal.ndjson");
  EXPECT_NE(goals.find("I want to go back to school"), std::string::npos);
}

TEST_F(NdjsonSinkTest, RepeatingAPushAfterACrashDoesNotDuplicate) {
  std::unique_ptr<HostSink> sink = NewNdjsonSink(dir_).value();
  store::OutboxEntry first = Entry(1);
  store::OutboxEntry second = Entry(2);
  ASSERT_TRUE(sink->Push(first, {Goal("a"), Provenance("a1")}).ok());
  ASSERT_TRUE(sink->Push(second, {Goal("b"), Goal("c"), Provenance("b1")}).ok());
  const std::string goals = Content("Goal.ndjson");
  const std::string provenances = Content("Provenance.ndjson");
  ASSERT_EQ(Lines("Goal.ndjson").size(), 3u);

  // Crash after the appends, before the cursor moved: the worker pushes entry 2 again.
  ASSERT_TRUE(sink->Push(second, {Goal("b"), Goal("c"), Provenance("b1")}).ok());
  EXPECT_EQ(Content("Goal.ndjson"), goals);
  EXPECT_EQ(Content("Provenance.ndjson"), provenances);

  // Crash in the middle of an append: half a line reached Goal.ndjson, Provenance nothing.
  std::unique_ptr<HostSink> restarted = NewNdjsonSink(dir_).value();
  {
    std::ofstream torn(dir_ + "/Goal.ndjson", std::ios::app);
    torn << R"({"resourceType":"Goal","id":"b")";
  }
  ASSERT_TRUE(restarted->Push(second, {Goal("b"), Goal("c"), Provenance("b1")}).ok());
  EXPECT_EQ(Content("Goal.ndjson"), goals);
  EXPECT_EQ(Content("Provenance.ndjson"), provenances);

  // An entry below the journal's is already written.
  ASSERT_TRUE(restarted->Push(first, {Goal("a"), Provenance("a1")}).ok());
  EXPECT_EQ(Content("Goal.ndjson"), goals);

  ASSERT_TRUE(restarted->Push(Entry(3), {Goal("d")}).ok());
  EXPECT_EQ(Lines("Goal.ndjson").size(), 4u);
}

TEST_F(NdjsonSinkTest, RefusesTypesThatAreNotFileNames) {
  std::unique_ptr<HostSink> sink = NewNdjsonSink(dir_).value();
  fhir::FhirResource bad = Goal("x");
  bad.type = "../Goal";
  EXPECT_EQ(sink->Push(Entry(1), {bad}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace collabcare::host
