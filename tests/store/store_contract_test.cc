// The Store contract, written once and run against every implementation (memory, SQLite, and
// SQLite with batches of one), so they cannot drift apart.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "plugin/store/store.h"
#include "tests/store/store_test_util.h"

namespace collabcare::store {
namespace {

using test::At;
using test::IsOk;
using test::MakeMutation;
using test::TempDir;

struct StoreFactory {
  std::string name;
  // Opens a fresh store whose files, if any, live in `dir`.
  std::function<absl::StatusOr<std::unique_ptr<Store>>(const std::string& dir)> open;
};

class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    absl::StatusOr<std::unique_ptr<Store>> store = GetParam().open(dir_.path());
    ASSERT_TRUE(IsOk(store));
    store_ = std::move(store).value();
  }

  // Commits and returns the event sequence, failing the test on error.
  int64_t MustCommit(const Mutation& mutation) {
    absl::StatusOr<CommitResult> result = store_->Commit(mutation);
    EXPECT_TRUE(IsOk(result)) << mutation.record.name << " r" << mutation.record.revision;
    return result.ok() ? result->sequence : -1;
  }

  std::vector<std::string> Names(const absl::StatusOr<std::vector<RecordRevision>>& revisions) {
    EXPECT_TRUE(IsOk(revisions));
    std::vector<std::string> names;
    if (revisions.ok()) {
      for (const RecordRevision& revision : *revisions) names.push_back(revision.name);
    }
    return names;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

void ExpectSameRevision(const RecordRevision& actual, const RecordRevision& expected) {
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.episode_id, expected.episode_id);
  EXPECT_EQ(actual.kind, expected.kind);
  EXPECT_EQ(actual.revision, expected.revision);
  EXPECT_EQ(actual.time, expected.time);
  EXPECT_EQ(actual.actor, expected.actor);
  EXPECT_EQ(actual.data, expected.data);
}

TEST_P(StoreContractTest, CommitThenGetLatestAndRevision) {
  Mutation first = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  first.record.data = std::string("bytes\0with a nul\xff", 18);
  Mutation second = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 2);
  EXPECT_EQ(MustCommit(first), 1);
  EXPECT_EQ(MustCommit(second), 2);

  ASSERT_OK_AND_ASSIGN(RecordRevision latest, store_->GetLatest("episodes/e1/goals/g1"));
  ExpectSameRevision(latest, second.record);
  ASSERT_OK_AND_ASSIGN(RecordRevision old, store_->GetRevision("episodes/e1/goals/g1", 1));
  ExpectSameRevision(old, first.record);
}

TEST_P(StoreContractTest, MissingRecordIsNotFound) {
  EXPECT_EQ(store_->GetLatest("episodes/e1/goals/none").status().code(),
            absl::StatusCode::kNotFound);
  MustCommit(MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1));
  EXPECT_EQ(store_->GetRevision("episodes/e1/goals/g1", 2).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetRevision("episodes/e1/goals/g1", 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetRevision("episodes/e1/goals/none", 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, RevisionConflictIsAborted) {
  const std::string name = "episodes/e1/goals/g1";
  EXPECT_EQ(store_->Commit(MakeMutation("e1", name, RecordKind::kGoal, 2)).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store_->Commit(MakeMutation("e1", name, RecordKind::kGoal, 0)).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store_->GetLatest(name).status().code(), absl::StatusCode::kNotFound);

  MustCommit(MakeMutation("e1", name, RecordKind::kGoal, 1));
  EXPECT_EQ(store_->Commit(MakeMutation("e1", name, RecordKind::kGoal, 1)).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store_->Commit(MakeMutation("e1", name, RecordKind::kGoal, 3)).status().code(),
            absl::StatusCode::kAborted);

  // The refused mutations left nothing behind.
  ASSERT_OK_AND_ASSIGN(auto events, store_->ReadEvents("e1", 0, 100));
  EXPECT_EQ(events.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto outbox, store_->ReadOutbox(0, 100));
  EXPECT_EQ(outbox.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto audit,
                       store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100));
  EXPECT_EQ(audit.size(), 1u);
  ASSERT_OK_AND_ASSIGN(RecordRevision latest, store_->GetLatest(name));
  EXPECT_EQ(latest.revision, 1);
  // The next revision still goes through, with the next sequence.
  EXPECT_EQ(MustCommit(MakeMutation("e1", name, RecordKind::kGoal, 2)), 2);
}

TEST_P(StoreContractTest, ReusedRequestKeyIsAlreadyExistsAndWritesNothing) {
  Mutation first = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  first.request_key = "Practitioner/p1:req-1";
  first.response = {.fingerprint = "fp-1", .response = "response-1"};
  MustCommit(first);

  // A retry of the same request: ALREADY_EXISTS rather than ABORTED, so the caller replays.
  EXPECT_EQ(store_->Commit(first).status().code(), absl::StatusCode::kAlreadyExists);
  // Another mutation under the same key.
  Mutation other = MakeMutation("e2", "episodes/e2/goals/g2", RecordKind::kGoal, 1);
  other.request_key = first.request_key;
  other.response = {.fingerprint = "fp-2", .response = "response-2"};
  other.participants = std::nullopt;
  EXPECT_EQ(store_->Commit(other).status().code(), absl::StatusCode::kAlreadyExists);

  EXPECT_EQ(store_->GetLatest("episodes/e2/goals/g2").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto events1, store_->ReadEvents("e1", 0, 100));
  EXPECT_EQ(events1.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto events2, store_->ReadEvents("e2", 0, 100));
  EXPECT_TRUE(events2.empty());
  ASSERT_OK_AND_ASSIGN(auto revisions, store_->ListRevisions("episodes/e1/goals/g1", 0, 100));
  EXPECT_EQ(revisions.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto outbox, store_->ReadOutbox(0, 100));
  EXPECT_EQ(outbox.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto audit,
                       store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100));
  EXPECT_EQ(audit.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredResponse> stored,
                       store_->FindResponse(first.request_key));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->fingerprint, "fp-1");
  EXPECT_EQ(stored->response, "response-1");
}

TEST_P(StoreContractTest, FindResponseReturnsStoredResponse) {
  ASSERT_OK_AND_ASSIGN(std::optional<StoredResponse> missing, store_->FindResponse("nobody:r"));
  EXPECT_FALSE(missing.has_value());

  Mutation mutation = MakeMutation("e1", "episodes/e1", RecordKind::kEpisode, 1);
  mutation.request_key = "Patient/a:req-7";
  mutation.response = {.fingerprint = std::string("\x00\x01\xfe\xff", 4),
                       .response = std::string("serialized\0response", 19)};
  MustCommit(mutation);

  ASSERT_OK_AND_ASSIGN(std::optional<StoredResponse> stored,
                       store_->FindResponse("Patient/a:req-7"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->fingerprint, mutation.response.fingerprint);
  EXPECT_EQ(stored->response, mutation.response.response);

  // Without a request key nothing is remembered.
  MustCommit(MakeMutation("e1", "episodes/e1", RecordKind::kEpisode, 2));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredResponse> none, store_->FindResponse(""));
  EXPECT_FALSE(none.has_value());
}

TEST_P(StoreContractTest, EventSequencesArePerEpisode) {
  EXPECT_EQ(MustCommit(MakeMutation("e1", "episodes/e1", RecordKind::kEpisode, 1)), 1);
  EXPECT_EQ(MustCommit(MakeMutation("e2", "episodes/e2", RecordKind::kEpisode, 1)), 1);
  EXPECT_EQ(MustCommit(MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1)), 2);
  EXPECT_EQ(MustCommit(MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 2)), 3);
  EXPECT_EQ(MustCommit(MakeMutation("e2", "episodes/e2/goals/g1", RecordKind::kGoal, 1)), 2);
  EXPECT_EQ(MustCommit(MakeMutation("e1", "episodes/e1/reviews/r1", RecordKind::kReview, 1)), 4);

  ASSERT_OK_AND_ASSIGN(auto events1, store_->ReadEvents("e1", 0, 100));
  ASSERT_EQ(events1.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(events1[i].sequence, i + 1);
  ASSERT_OK_AND_ASSIGN(auto events2, store_->ReadEvents("e2", 0, 100));
  ASSERT_EQ(events2.size(), 2u);
  EXPECT_EQ(events2[0].sequence, 1);
  EXPECT_EQ(events2[1].sequence, 2);
  ASSERT_OK_AND_ASSIGN(auto none, store_->ReadEvents("e3", 0, 100));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreContractTest, ReadEventsAfterSequenceJoinsTheRevision) {
  std::vector<Mutation> mutations;
  for (int i = 1; i <= 5; ++i) {
    Mutation mutation = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, i);
    mutation.event_kind = 10 + i;
    mutation.record.actor = absl::StrCat("Patient/a", i);
    MustCommit(mutation);
    mutations.push_back(mutation);
  }
  ASSERT_OK_AND_ASSIGN(auto events, store_->ReadEvents("e1", 2, 2));
  ASSERT_EQ(events.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const Mutation& mutation = mutations[2 + i];
    EXPECT_EQ(events[i].episode_id, "e1");
    EXPECT_EQ(events[i].sequence, 3 + i);
    EXPECT_EQ(events[i].kind, mutation.event_kind);
    EXPECT_EQ(events[i].time, mutation.record.time);
    EXPECT_EQ(events[i].actor, mutation.record.actor);
    ExpectSameRevision(events[i].record, mutation.record);
  }
  ASSERT_OK_AND_ASSIGN(auto tail, store_->ReadEvents("e1", 4, 100));
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].sequence, 5);
  ASSERT_OK_AND_ASSIGN(auto past_end, store_->ReadEvents("e1", 5, 100));
  EXPECT_TRUE(past_end.empty());
}

TEST_P(StoreContractTest, ListLatestPagesByNameAndFiltersKind) {
  // Committed out of name order on purpose.
  MustCommit(MakeMutation("e1", "episodes/e1/goals/g3", RecordKind::kGoal, 1));
  MustCommit(MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1));
  MustCommit(MakeMutation("e1", "episodes/e1/goals/g2", RecordKind::kGoal, 1));
  MustCommit(MakeMutation("e1", "episodes/e1/goals/g2", RecordKind::kGoal, 2));
  MustCommit(MakeMutation("e1", "episodes/e1/hypotheses/h1", RecordKind::kHypothesis, 1));
  MustCommit(MakeMutation("e2", "episodes/e2/goals/g9", RecordKind::kGoal, 1));

  ASSERT_OK_AND_ASSIGN(auto first,
                       store_->ListLatest("e1", RecordKind::kGoal, {.after = "", .limit = 2}));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].name, "episodes/e1/goals/g1");
  EXPECT_EQ(first[1].name, "episodes/e1/goals/g2");
  EXPECT_EQ(first[1].revision, 2);
  EXPECT_EQ(first[1].data, "data of episodes/e1/goals/g2 r2");
  EXPECT_EQ(Names(store_->ListLatest("e1", RecordKind::kGoal,
                                     {.after = "episodes/e1/goals/g2", .limit = 2})),
            std::vector<std::string>{"episodes/e1/goals/g3"});
  EXPECT_TRUE(Names(store_->ListLatest("e1", RecordKind::kGoal,
                                       {.after = "episodes/e1/goals/g3", .limit = 2}))
                  .empty());
  EXPECT_EQ(Names(store_->ListLatest("e1", RecordKind::kHypothesis, {})),
            std::vector<std::string>{"episodes/e1/hypotheses/h1"});
  EXPECT_EQ(Names(store_->ListLatest("e2", RecordKind::kGoal, {})),
            std::vector<std::string>{"episodes/e2/goals/g9"});
  EXPECT_TRUE(Names(store_->ListLatest("e1", RecordKind::kReview, {})).empty());
  EXPECT_TRUE(Names(store_->ListLatest("e3", RecordKind::kGoal, {})).empty());
}

TEST_P(StoreContractTest, ListRevisionsIsAscending) {
  const std::string name = "episodes/e1/goals/g1";
  for (int i = 1; i <= 5; ++i) MustCommit(MakeMutation("e1", name, RecordKind::kGoal, i));
  MustCommit(MakeMutation("e1", "episodes/e1/goals/g2", RecordKind::kGoal, 1));

  ASSERT_OK_AND_ASSIGN(auto all, store_->ListRevisions(name, 0, 100));
  ASSERT_EQ(all.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(all[i].name, name);
    EXPECT_EQ(all[i].revision, i + 1);
    EXPECT_EQ(all[i].data, absl::StrCat("data of ", name, " r", i + 1));
  }
  ASSERT_OK_AND_ASSIGN(auto page, store_->ListRevisions(name, 2, 2));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].revision, 3);
  EXPECT_EQ(page[1].revision, 4);
  ASSERT_OK_AND_ASSIGN(auto none, store_->ListRevisions("episodes/e1/goals/none", 0, 100));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreContractTest, ListEpisodesOfFollowsParticipantChanges) {
  auto episode = [](const std::string& id, int64_t revision,
                    std::optional<std::vector<std::string>> participants) {
    Mutation mutation = MakeMutation(id, "episodes/" + id, RecordKind::kEpisode, revision);
    mutation.participants = std::move(participants);
    return mutation;
  };
  MustCommit(episode("e1", 1, std::vector<std::string>{"Patient/a", "Practitioner/t"}));
  MustCommit(episode("e2", 1, std::vector<std::string>{"Patient/b", "Practitioner/t"}));
  // A person listed twice is listed once.
  MustCommit(episode("e3", 1, std::vector<std::string>{"Practitioner/t", "Practitioner/t"}));

  EXPECT_EQ(Names(store_->ListEpisodesOf("Practitioner/t", {})),
            (std::vector<std::string>{"episodes/e1", "episodes/e2", "episodes/e3"}));
  EXPECT_EQ(Names(store_->ListEpisodesOf("Practitioner/t", {.after = "episodes/e1", .limit = 1})),
            std::vector<std::string>{"episodes/e2"});
  EXPECT_EQ(Names(store_->ListEpisodesOf("Patient/a", {})),
            std::vector<std::string>{"episodes/e1"});
  EXPECT_TRUE(Names(store_->ListEpisodesOf("Patient/nobody", {})).empty());

  // Patient/a leaves e1, Patient/c joins.
  MustCommit(episode("e1", 2, std::vector<std::string>{"Practitioner/t", "Patient/c"}));
  EXPECT_TRUE(Names(store_->ListEpisodesOf("Patient/a", {})).empty());
  ASSERT_OK_AND_ASSIGN(auto of_c, store_->ListEpisodesOf("Patient/c", {}));
  ASSERT_EQ(of_c.size(), 1u);
  EXPECT_EQ(of_c[0].name, "episodes/e1");
  EXPECT_EQ(of_c[0].revision, 2);

  // An episode write without participants keeps the index; results are latest revisions.
  MustCommit(episode("e1", 3, std::nullopt));
  ASSERT_OK_AND_ASSIGN(auto still_c, store_->ListEpisodesOf("Patient/c", {}));
  ASSERT_EQ(still_c.size(), 1u);
  EXPECT_EQ(still_c[0].revision, 3);
  EXPECT_EQ(still_c[0].data, "data of episodes/e1 r3");

  // An empty list removes everyone.
  MustCommit(episode("e2", 2, std::vector<std::string>{}));
  EXPECT_TRUE(Names(store_->ListEpisodesOf("Patient/b", {})).empty());
  EXPECT_EQ(Names(store_->ListEpisodesOf("Practitioner/t", {})),
            (std::vector<std::string>{"episodes/e1", "episodes/e3"}));
}

TEST_P(StoreContractTest, QueuedAuditIsDurableOnceALaterCommitReturns) {
  AuditRecord read = {.time = At(10),
                      .actor = "Patient/a",
                      .action = "collabcare.v1.GoalService/GetGoal",
                      .resource = "episodes/e1/goals/g1",
                      .episode_id = "e1",
                      .outcome = 0,
                      .request_id = ""};
  store_->AuditLater(read);
  Mutation mutation = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  mutation.audit.time = At(20);
  MustCommit(mutation);
  ASSERT_OK_AND_ASSIGN(auto records, store_->ReadAudit(At(0), At(100), 100));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].actor, "Patient/a");
  EXPECT_EQ(records[0].action, "collabcare.v1.GoalService/GetGoal");
}

TEST_P(StoreContractTest, AuditAndReadAuditByTimeRange) {
  AuditRecord read = {.time = At(10),
                      .actor = "Patient/a",
                      .action = "collabcare.v1.GoalService/GetGoal",
                      .resource = "episodes/e1/goals/g1",
                      .episode_id = "e1",
                      .outcome = 0,
                      .request_id = "req-1"};
  AuditRecord refused = {.time = At(20),
                         .actor = "anonymous",
                         .action = "collabcare.v1.GoalService/ListGoals",
                         .resource = "",
                         .episode_id = "",
                         .outcome = static_cast<int>(absl::StatusCode::kUnauthenticated),
                         .request_id = ""};
  AuditRecord same_time = refused;
  same_time.actor = "Patient/b";
  AuditRecord late = read;
  late.time = At(30);
  ASSERT_TRUE(IsOk(store_->Audit(read)));
  ASSERT_TRUE(IsOk(store_->Audit(late)));
  ASSERT_TRUE(IsOk(store_->Audit(refused)));
  ASSERT_TRUE(IsOk(store_->Audit(same_time)));
  Mutation mutation = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  mutation.audit.time = At(15);
  MustCommit(mutation);

  ASSERT_OK_AND_ASSIGN(auto records, store_->ReadAudit(At(10), At(30), 100));
  ASSERT_EQ(records.size(), 4u);  // [from, to): the record at At(30) is out.
  EXPECT_EQ(records[0].time, read.time);
  EXPECT_EQ(records[0].actor, read.actor);
  EXPECT_EQ(records[0].action, read.action);
  EXPECT_EQ(records[0].resource, read.resource);
  EXPECT_EQ(records[0].episode_id, read.episode_id);
  EXPECT_EQ(records[0].outcome, read.outcome);
  EXPECT_EQ(records[0].request_id, read.request_id);
  EXPECT_EQ(records[1].time, At(15));
  EXPECT_EQ(records[1].action, mutation.audit.action);
  EXPECT_EQ(records[2].actor, "anonymous");  // Equal times keep their order.
  EXPECT_EQ(records[2].outcome, static_cast<int>(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(records[3].actor, "Patient/b");

  ASSERT_OK_AND_ASSIGN(auto limited, store_->ReadAudit(At(11), At(31), 2));
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[0].time, At(15));
  EXPECT_EQ(limited[1].time, At(20));
  ASSERT_OK_AND_ASSIGN(auto empty, store_->ReadAudit(At(31), At(40), 100));
  EXPECT_TRUE(empty.empty());
}

TEST_P(StoreContractTest, ReadOutboxInIdOrder) {
  MustCommit(MakeMutation("e1", "episodes/e1", RecordKind::kEpisode, 1));
  MustCommit(MakeMutation("e2", "episodes/e2/goals/g1", RecordKind::kGoal, 1));
  MustCommit(MakeMutation("e1", "episodes/e1/hypotheses/h1", RecordKind::kHypothesis, 1));
  ASSERT_TRUE(IsOk(store_->Audit(MakeMutation("e1", "x", RecordKind::kGoal, 1).audit)));
  MustCommit(MakeMutation("e1", "episodes/e1/hypotheses/h1", RecordKind::kHypothesis, 2));

  ASSERT_OK_AND_ASSIGN(auto entries, store_->ReadOutbox(0, 100));
  ASSERT_EQ(entries.size(), 4u);
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_GT(entries[i].id, entries[i - 1].id);
  EXPECT_EQ(entries[0].episode_id, "e1");
  EXPECT_EQ(entries[0].sequence, 1);
  EXPECT_EQ(entries[0].name, "episodes/e1");
  EXPECT_EQ(entries[0].revision, 1);
  EXPECT_EQ(entries[0].kind, RecordKind::kEpisode);
  EXPECT_EQ(entries[1].episode_id, "e2");
  EXPECT_EQ(entries[1].sequence, 1);
  EXPECT_EQ(entries[1].kind, RecordKind::kGoal);
  EXPECT_EQ(entries[2].sequence, 2);
  EXPECT_EQ(entries[3].name, "episodes/e1/hypotheses/h1");
  EXPECT_EQ(entries[3].sequence, 3);
  EXPECT_EQ(entries[3].revision, 2);
  EXPECT_EQ(entries[3].kind, RecordKind::kHypothesis);

  ASSERT_OK_AND_ASSIGN(auto after_first, store_->ReadOutbox(entries[0].id, 2));
  ASSERT_EQ(after_first.size(), 2u);
  EXPECT_EQ(after_first[0].id, entries[1].id);
  EXPECT_EQ(after_first[1].id, entries[2].id);
  ASSERT_OK_AND_ASSIGN(auto after_last, store_->ReadOutbox(entries[3].id, 100));
  EXPECT_TRUE(after_last.empty());
}

TEST_P(StoreContractTest, TimesRoundTripToTheMicrosecond) {
  const absl::Time exact = absl::FromUnixMicros(1'700'000'000'654'321);
  const absl::Time before_epoch = absl::FromUnixMicros(-86'400'000'001);
  Mutation first = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  first.record.time = exact;
  first.audit.time = exact + absl::Nanoseconds(999);  // Kept to the microsecond.
  Mutation second = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 2);
  second.record.time = before_epoch - absl::Nanoseconds(1);  // Rounds toward the past.
  MustCommit(first);
  MustCommit(second);

  ASSERT_OK_AND_ASSIGN(RecordRevision r1, store_->GetRevision("episodes/e1/goals/g1", 1));
  EXPECT_EQ(r1.time, exact);
  ASSERT_OK_AND_ASSIGN(RecordRevision r2, store_->GetRevision("episodes/e1/goals/g1", 2));
  EXPECT_EQ(r2.time, before_epoch - absl::Microseconds(1));
  ASSERT_OK_AND_ASSIGN(auto events, store_->ReadEvents("e1", 0, 10));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].time, exact);
  EXPECT_EQ(events[1].time, before_epoch - absl::Microseconds(1));
  ASSERT_OK_AND_ASSIGN(auto audit, store_->ReadAudit(exact, exact + absl::Microseconds(1), 10));
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].time, exact);
}

TEST_P(StoreContractTest, InvalidArgumentsAreRefused) {
  Mutation unnamed = MakeMutation("e1", "", RecordKind::kGoal, 1);
  EXPECT_EQ(store_->Commit(unnamed).status().code(), absl::StatusCode::kInvalidArgument);
  Mutation no_episode = MakeMutation("", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  EXPECT_EQ(store_->Commit(no_episode).status().code(), absl::StatusCode::kInvalidArgument);
  Mutation unknown_kind = MakeMutation("e1", "episodes/e1/goals/g1", static_cast<RecordKind>(9), 1);
  EXPECT_EQ(store_->Commit(unknown_kind).status().code(), absl::StatusCode::kInvalidArgument);
  Mutation goal_with_participants =
      MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  goal_with_participants.participants = std::vector<std::string>{"Patient/a"};
  EXPECT_EQ(store_->Commit(goal_with_participants).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto outbox, store_->ReadOutbox(0, 100));
  EXPECT_TRUE(outbox.empty());

  EXPECT_EQ(store_->ListLatest("e1", RecordKind::kGoal, {.after = "", .limit = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ListRevisions("n", 0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ListEpisodesOf("p", {.after = "", .limit = -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadEvents("e1", 0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadAudit(At(0), At(1), 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadOutbox(0, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, ErrorsHoldNoRecordData) {
  Mutation mutation = MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1);
  mutation.record.data = "SECRET words of the client";
  mutation.request_key = "Patient/a:req-1";
  MustCommit(mutation);
  const absl::Status again = store_->Commit(mutation).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  mutation.request_key.clear();
  const absl::Status conflict = store_->Commit(mutation).status();
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAborted);
  for (const absl::Status& status : {again, conflict}) {
    EXPECT_EQ(status.ToString().find("SECRET"), std::string::npos) << status;
  }
}

// Read-modify-write loops on one record from several threads, as the service does: each reads
// the latest revision and commits the next one, re-reading after a lost race. Every loop must
// make progress, so reads may never keep returning an outdated revision.
TEST_P(StoreContractTest, ReadModifyWriteLoopsOnOneRecordAllLand) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  const std::string name = "episodes/e1/goals/g1";
  MustCommit(MakeMutation("e1", name, RecordKind::kGoal, 1));
  std::atomic<int> failures{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        bool done = false;
        for (int attempt = 0; attempt < 1000 && !done; ++attempt) {
          absl::StatusOr<RecordRevision> latest = store_->GetLatest(name);
          if (!latest.ok()) break;
          absl::StatusOr<CommitResult> result =
              store_->Commit(MakeMutation("e1", name, RecordKind::kGoal, latest->revision + 1));
          done = result.ok();
          if (!result.ok() && !absl::IsAborted(result.status())) break;
        }
        if (!done) ++failures;
        // Other records change meanwhile (in a store with a cache, they push this one out).
        store_
            ->Commit(MakeMutation("e2", absl::StrCat("episodes/e2/goals/t", t, "-", i),
                                  RecordKind::kGoal, 1))
            .IgnoreError();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(RecordRevision latest, store_->GetLatest(name));
  EXPECT_EQ(latest.revision, 1 + kThreads * kPerThread);
}

TEST_P(StoreContractTest, ConcurrentCommitsToOneEpisodeHaveGaplessSequences) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 20;
  std::mutex mu;
  std::vector<int64_t> sequences;
  std::vector<absl::Status> errors;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<CommitResult> result = store_->Commit(MakeMutation(
            "e1", absl::StrCat("episodes/e1/goals/t", t, "-", i), RecordKind::kGoal, 1));
        std::lock_guard<std::mutex> lock(mu);
        if (result.ok()) {
          sequences.push_back(result->sequence);
        } else {
          errors.push_back(result.status());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (const absl::Status& error : errors) ADD_FAILURE() << error;
  std::sort(sequences.begin(), sequences.end());
  ASSERT_EQ(sequences.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < sequences.size(); ++i)
    EXPECT_EQ(sequences[i], static_cast<int64_t>(i + 1));

  ASSERT_OK_AND_ASSIGN(auto events, store_->ReadEvents("e1", 0, kThreads * kPerThread + 10));
  ASSERT_EQ(events.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i].sequence, static_cast<int64_t>(i + 1));
  ASSERT_OK_AND_ASSIGN(auto goals,
                       store_->ListLatest("e1", RecordKind::kGoal, {.after = "", .limit = 1000}));
  EXPECT_EQ(goals.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_P(StoreContractTest, RacingCommitsOnOneRecordHaveOneWinnerPerRevision) {
  constexpr int kThreads = 16;
  constexpr int64_t kRevisions = 30;
  const std::string name = "episodes/e1/goals/contested";
  std::mutex mu;
  std::map<int64_t, int> winners;          // revision -> how many commits of it returned OK
  std::map<int64_t, int64_t> sequence_of;  // revision -> the winner's sequence
  std::vector<absl::Status> unexpected;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      while (true) {
        absl::StatusOr<RecordRevision> latest = store_->GetLatest(name);
        const int64_t next = latest.ok() ? latest->revision + 1 : 1;
        if (next > kRevisions) return;
        Mutation mutation = MakeMutation("e1", name, RecordKind::kGoal, next);
        mutation.record.actor = absl::StrCat("Practitioner/t", t);
        absl::StatusOr<CommitResult> result = store_->Commit(mutation);
        std::lock_guard<std::mutex> lock(mu);
        if (result.ok()) {
          ++winners[next];
          sequence_of[next] = result->sequence;
        } else if (result.status().code() != absl::StatusCode::kAborted) {
          unexpected.push_back(result.status());
          return;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (const absl::Status& error : unexpected) ADD_FAILURE() << error;
  ASSERT_EQ(winners.size(), static_cast<size_t>(kRevisions));
  for (const auto& [revision, count] : winners) EXPECT_EQ(count, 1) << "revision " << revision;

  // Losers wrote nothing: one event per revision, in revision order, without gaps.
  ASSERT_OK_AND_ASSIGN(auto events, store_->ReadEvents("e1", 0, 1000));
  ASSERT_EQ(events.size(), static_cast<size_t>(kRevisions));
  for (int64_t i = 0; i < kRevisions; ++i) {
    EXPECT_EQ(events[i].sequence, i + 1);
    EXPECT_EQ(events[i].record.revision, i + 1);
    EXPECT_EQ(sequence_of[i + 1], i + 1);
  }
  ASSERT_OK_AND_ASSIGN(auto revisions, store_->ListRevisions(name, 0, 1000));
  EXPECT_EQ(revisions.size(), static_cast<size_t>(kRevisions));
  ASSERT_OK_AND_ASSIGN(auto outbox, store_->ReadOutbox(0, 1000));
  EXPECT_EQ(outbox.size(), static_cast<size_t>(kRevisions));
}

TEST_P(StoreContractTest, SyncCursorStartsAtZeroAndOnlyMovesForward) {
  ASSERT_OK_AND_ASSIGN(int64_t start, store_->GetSyncCursor("ehr"));
  EXPECT_EQ(start, 0);
  ASSERT_TRUE(IsOk(store_->SetSyncCursor("ehr", 5)));
  ASSERT_OK_AND_ASSIGN(int64_t moved, store_->GetSyncCursor("ehr"));
  EXPECT_EQ(moved, 5);
  ASSERT_TRUE(IsOk(store_->SetSyncCursor("ehr", 9)));
  ASSERT_OK_AND_ASSIGN(int64_t forward, store_->GetSyncCursor("ehr"));
  EXPECT_EQ(forward, 9);
  // A smaller id is ignored without error, and so is the same one again.
  ASSERT_TRUE(IsOk(store_->SetSyncCursor("ehr", 3)));
  ASSERT_OK_AND_ASSIGN(int64_t kept, store_->GetSyncCursor("ehr"));
  EXPECT_EQ(kept, 9);
  ASSERT_TRUE(IsOk(store_->SetSyncCursor("ehr", 0)));
  ASSERT_TRUE(IsOk(store_->SetSyncCursor("ehr", 9)));
  ASSERT_OK_AND_ASSIGN(int64_t same, store_->GetSyncCursor("ehr"));
  EXPECT_EQ(same, 9);
}

TEST_P(StoreContractTest, SyncCursorsArePerHost) {
  ASSERT_TRUE(IsOk(store_->SetSyncCursor("ehr", 7)));
  ASSERT_TRUE(IsOk(store_->SetSyncCursor("lab", 2)));
  ASSERT_OK_AND_ASSIGN(int64_t ehr, store_->GetSyncCursor("ehr"));
  EXPECT_EQ(ehr, 7);
  ASSERT_OK_AND_ASSIGN(int64_t lab, store_->GetSyncCursor("lab"));
  EXPECT_EQ(lab, 2);
  ASSERT_OK_AND_ASSIGN(int64_t other, store_->GetSyncCursor("ehr2"));
  EXPECT_EQ(other, 0);
  // A first cursor below zero stays at zero: it never goes back from where it started.
  ASSERT_TRUE(IsOk(store_->SetSyncCursor("new", -4)));
  ASSERT_OK_AND_ASSIGN(int64_t fresh, store_->GetSyncCursor("new"));
  EXPECT_EQ(fresh, 0);
}

// Sync workers race to advance one cursor; whatever the order the writes land in, the cursor
// ends at the largest id.
TEST_P(StoreContractTest, ConcurrentSyncCursorWritesKeepTheLargest) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  std::vector<absl::Status> errors(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      // Thread t writes t+1+i*kThreads from the largest i down, so most writes move back.
      for (int i = kPerThread - 1; i >= 0 && errors[t].ok(); --i) {
        errors[t] = store_->SetSyncCursor("ehr", 1 + t + i * kThreads);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& error : errors) EXPECT_TRUE(IsOk(error));
  ASSERT_OK_AND_ASSIGN(int64_t cursor, store_->GetSyncCursor("ehr"));
  EXPECT_EQ(cursor, kThreads * kPerThread);
}

TEST_P(StoreContractTest, RemoteRefsArePutAndReplacedPerHostAndKey) {
  ASSERT_OK_AND_ASSIGN(std::optional<RemoteRef> missing, store_->GetRemote("ehr", "Goal|g1"));
  EXPECT_FALSE(missing.has_value());

  const RemoteRef first = {.host = "ehr",
                           .key = "Goal|g1",
                           .resource_type = "Goal",
                           .remote_id = "abc-1",
                           .version = "1",
                           .time = At(10) + absl::Nanoseconds(999)};  // Kept to the µs.
  ASSERT_TRUE(IsOk(store_->PutRemote(first)));
  ASSERT_OK_AND_ASSIGN(std::optional<RemoteRef> got, store_->GetRemote("ehr", "Goal|g1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->host, "ehr");
  EXPECT_EQ(got->key, "Goal|g1");
  EXPECT_EQ(got->resource_type, "Goal");
  EXPECT_EQ(got->remote_id, "abc-1");
  EXPECT_EQ(got->version, "1");
  EXPECT_EQ(got->time, At(10));

  // The same key on another host, and another key on the same host, are separate refs.
  RemoteRef other_host = first;
  other_host.host = "lab";
  other_host.remote_id = "lab-9";
  ASSERT_TRUE(IsOk(store_->PutRemote(other_host)));
  ASSERT_OK_AND_ASSIGN(std::optional<RemoteRef> none, store_->GetRemote("ehr", "Goal|g2"));
  EXPECT_FALSE(none.has_value());

  // Replacing keeps one ref per (host, key); the version may become empty.
  RemoteRef replaced = first;
  replaced.remote_id = "abc-2";
  replaced.version = "";
  replaced.time = At(20);
  ASSERT_TRUE(IsOk(store_->PutRemote(replaced)));
  ASSERT_OK_AND_ASSIGN(std::optional<RemoteRef> now, store_->GetRemote("ehr", "Goal|g1"));
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->remote_id, "abc-2");
  EXPECT_EQ(now->version, "");
  EXPECT_EQ(now->time, At(20));
  ASSERT_OK_AND_ASSIGN(std::optional<RemoteRef> lab, store_->GetRemote("lab", "Goal|g1"));
  ASSERT_TRUE(lab.has_value());
  EXPECT_EQ(lab->remote_id, "lab-9");
  EXPECT_EQ(lab->version, "1");
}

ParkedChange MakeParked(const std::string& host, int64_t outbox_id) {
  return {
      .host = host,
      .outbox_id = outbox_id,
      .name = absl::StrCat("episodes/e1/goals/g", outbox_id),
      .revision = outbox_id + 100,
      .time = At(outbox_id),
      .code = static_cast<int>(absl::StatusCode::kInvalidArgument),
      .outcome = absl::StrCat(R"({"resourceType":"OperationOutcome","id":")", outbox_id, R"("})")};
}

TEST_P(StoreContractTest, ParkedChangesListInOutboxOrderPerHost) {
  ASSERT_OK_AND_ASSIGN(auto empty, store_->ListParked("ehr", 10));
  EXPECT_TRUE(empty.empty());
  // Parked out of order on purpose; outbox id 12 > 3 although "12" < "3" as text.
  for (int64_t id : {12, 3, 7}) ASSERT_TRUE(IsOk(store_->Park(MakeParked("ehr", id))));
  ASSERT_TRUE(IsOk(store_->Park(MakeParked("lab", 5))));

  ASSERT_OK_AND_ASSIGN(auto all, store_->ListParked("ehr", 10));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].outbox_id, 3);
  EXPECT_EQ(all[1].outbox_id, 7);
  EXPECT_EQ(all[2].outbox_id, 12);
  const ParkedChange expected = MakeParked("ehr", 7);
  EXPECT_EQ(all[1].host, expected.host);
  EXPECT_EQ(all[1].name, expected.name);
  EXPECT_EQ(all[1].revision, expected.revision);
  EXPECT_EQ(all[1].time, expected.time);
  EXPECT_EQ(all[1].code, expected.code);
  EXPECT_EQ(all[1].outcome, expected.outcome);

  ASSERT_OK_AND_ASSIGN(auto first_two, store_->ListParked("ehr", 2));
  ASSERT_EQ(first_two.size(), 2u);
  EXPECT_EQ(first_two[0].outbox_id, 3);
  EXPECT_EQ(first_two[1].outbox_id, 7);
  ASSERT_OK_AND_ASSIGN(auto lab, store_->ListParked("lab", 10));
  ASSERT_EQ(lab.size(), 1u);
  EXPECT_EQ(lab[0].host, "lab");
  EXPECT_EQ(lab[0].outbox_id, 5);
  ASSERT_OK_AND_ASSIGN(auto none, store_->ListParked("other", 10));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreContractTest, ParkingAgainReplacesAndUnparkRemoves) {
  ASSERT_TRUE(IsOk(store_->Park(MakeParked("ehr", 4))));
  ASSERT_TRUE(IsOk(store_->Park(MakeParked("ehr", 8))));
  ParkedChange again = MakeParked("ehr", 4);
  again.revision = 2;
  again.time = At(50);
  again.code = static_cast<int>(absl::StatusCode::kFailedPrecondition);
  // The largest outcome allowed, with bytes a text column could mangle.
  again.outcome = std::string(64 * 1024, 'x');
  again.outcome[0] = '\0';
  again.outcome[1] = '\xff';
  ASSERT_TRUE(IsOk(store_->Park(again)));

  ASSERT_OK_AND_ASSIGN(auto parked, store_->ListParked("ehr", 10));
  ASSERT_EQ(parked.size(), 2u);
  EXPECT_EQ(parked[0].outbox_id, 4);
  EXPECT_EQ(parked[0].revision, 2);
  EXPECT_EQ(parked[0].time, At(50));
  EXPECT_EQ(parked[0].code, again.code);
  EXPECT_EQ(parked[0].outcome, again.outcome);

  ASSERT_TRUE(IsOk(store_->Unpark("ehr", 4)));
  EXPECT_EQ(store_->Unpark("ehr", 4).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Unpark("lab", 8).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Unpark("ehr", 99).code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto left, store_->ListParked("ehr", 10));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].outbox_id, 8);
  // A parking removed can be parked again.
  ASSERT_TRUE(IsOk(store_->Park(MakeParked("ehr", 4))));
  ASSERT_OK_AND_ASSIGN(auto back, store_->ListParked("ehr", 10));
  EXPECT_EQ(back.size(), 2u);
}

TEST_P(StoreContractTest, CountOutboxAfterCountsTheBacklog) {
  ASSERT_OK_AND_ASSIGN(int64_t none, store_->CountOutboxAfter(0));
  EXPECT_EQ(none, 0);
  MustCommit(MakeMutation("e1", "episodes/e1", RecordKind::kEpisode, 1));
  MustCommit(MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 1));
  ASSERT_TRUE(IsOk(store_->Audit(MakeMutation("e1", "x", RecordKind::kGoal, 1).audit)));
  MustCommit(MakeMutation("e2", "episodes/e2", RecordKind::kEpisode, 1));
  MustCommit(MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 2));
  // Refused commits add nothing.
  EXPECT_FALSE(
      store_->Commit(MakeMutation("e1", "episodes/e1/goals/g1", RecordKind::kGoal, 2)).ok());

  ASSERT_OK_AND_ASSIGN(auto entries, store_->ReadOutbox(0, 100));
  ASSERT_EQ(entries.size(), 4u);
  ASSERT_OK_AND_ASSIGN(int64_t all, store_->CountOutboxAfter(0));
  EXPECT_EQ(all, 4);
  ASSERT_OK_AND_ASSIGN(int64_t from_before, store_->CountOutboxAfter(-10));
  EXPECT_EQ(from_before, 4);
  ASSERT_OK_AND_ASSIGN(int64_t after_first, store_->CountOutboxAfter(entries[0].id));
  EXPECT_EQ(after_first, 3);
  ASSERT_OK_AND_ASSIGN(int64_t after_third, store_->CountOutboxAfter(entries[2].id));
  EXPECT_EQ(after_third, 1);
  ASSERT_OK_AND_ASSIGN(int64_t after_last, store_->CountOutboxAfter(entries[3].id));
  EXPECT_EQ(after_last, 0);
  ASSERT_OK_AND_ASSIGN(int64_t beyond, store_->CountOutboxAfter(entries[3].id + 100));
  EXPECT_EQ(beyond, 0);
}

TEST_P(StoreContractTest, InvalidSyncArgumentsAreRefused) {
  EXPECT_EQ(store_->GetSyncCursor("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SetSyncCursor("", 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetRemote("", "Goal|g1").status().code(), absl::StatusCode::kInvalidArgument);
  RemoteRef ref = {.host = "",
                   .key = "Goal|g1",
                   .resource_type = "Goal",
                   .remote_id = "1",
                   .version = "",
                   .time = At(0)};
  EXPECT_EQ(store_->PutRemote(ref).code(), absl::StatusCode::kInvalidArgument);
  ref.host = "ehr";
  ref.key = "";
  EXPECT_EQ(store_->PutRemote(ref).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Park(MakeParked("", 1)).code(), absl::StatusCode::kInvalidArgument);
  ParkedChange too_long = MakeParked("ehr", 1);
  too_long.outcome = std::string(64 * 1024 + 1, 'x');
  const absl::Status refused = store_->Park(too_long);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.ToString().find("xxxx"), std::string::npos) << refused;
  EXPECT_EQ(store_->ListParked("", 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ListParked("ehr", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Unpark("", 1).code(), absl::StatusCode::kInvalidArgument);

  // Nothing refused was written.
  ASSERT_OK_AND_ASSIGN(std::optional<RemoteRef> remote, store_->GetRemote("ehr", ""));
  EXPECT_FALSE(remote.has_value());
  ASSERT_OK_AND_ASSIGN(auto parked, store_->ListParked("ehr", 10));
  EXPECT_TRUE(parked.empty());
}

INSTANTIATE_TEST_SUITE_P(
    AllStores, StoreContractTest,
    ::testing::Values(
        StoreFactory{.name = "Memory",
                     .open = [](const std::string&) -> absl::StatusOr<std::unique_ptr<Store>> {
                       return NewMemoryStore();
                     }},
        StoreFactory{.name = "Sqlite",
                     .open =
                         [](const std::string& dir) {
                           return OpenSqliteStore({.path = dir + "/store.db"});
                         }},
        // One mutation per transaction and one reader: the batching and pooling edges.
        StoreFactory{.name = "SqliteUnbatched",
                     .open =
                         [](const std::string& dir) {
                           return OpenSqliteStore({.path = dir + "/store.db",
                                                   .reader_connections = 1,
                                                   .max_batch = 1});
                         }},
        // A cache too small to hold anything: cleared on every fill, so every read races
        // the clearing and must still see the latest revision.
        StoreFactory{.name = "SqliteTinyCache",
                     .open =
                         [](const std::string& dir) {
                           return OpenSqliteStore({.path = dir + "/store.db", .cache_bytes = 1});
                         }}),
    [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });

}  // namespace
}  // namespace collabcare::store
