// CollabService::RecordHostGoalChange over the memory store: a status changed in the EHR is a
// new revision by the EHR user, written with its audit record and outbox entry, once per
// request_id; refusals are the conflict codes the read-back parks.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plugin/service/collab_service.h"
#include "tests/testing/fakes.h"

namespace collabcare::service {
namespace {

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";

class HostChangesTest : public ::testing::Test {
 protected:
  HostChangesTest()
      : store_(store::NewMemoryStore()),
        service_(*store_, clock_, ids_, hub_, CollabService::Options{}) {
    v1::CreateEpisodeRequest episode;
    for (auto [who, role] : {std::pair{kTherapist, v1::Participant::THERAPIST},
                             std::pair{kClient, v1::Participant::CLIENT}}) {
      v1::Participant* p = episode.mutable_episode()->add_participants();
      p->set_person(who);
      p->set_role(role);
    }
    episode.mutable_episode()->set_format(v1::Episode::CLIENT_LED);
    episode.mutable_episode()->set_modality(v1::Episode::INDIVIDUAL);
    v1::Episode e = service_.CreateEpisode(kTherapist, episode).value();
    v1::CreateGoalRequest goal;
    goal.set_parent(e.name());
    goal.mutable_goal()->set_words("Sleep through the night");
    goal_ = service_.CreateGoal(kClient, goal).value();
  }

  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  EventHub hub_;
  std::unique_ptr<store::Store> store_;
  CollabService service_;
  v1::Goal goal_;
};

TEST_F(HostChangesTest, AStatusChangedInTheEhrIsANewRevisionByTheEhrUserOnce) {
  const int64_t outbox_before = store_->CountOutboxAfter(0).value();
  absl::StatusOr<v1::Goal> changed = service_.RecordHostGoalChange(
      kTherapist, "ehr", goal_.name(), 1, v1::Goal::ACHIEVED, "ehr-abc123");
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->status(), v1::Goal::ACHIEVED);
  EXPECT_EQ(changed->meta().revision(), 2);
  EXPECT_EQ(changed->meta().updated_by(), kTherapist);
  EXPECT_EQ(changed->words(), goal_.words());
  EXPECT_EQ(store_->CountOutboxAfter(0).value(), outbox_before + 1);  // pushed like any change
  std::vector<store::AuditRecord> audit =
      store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100).value();
  EXPECT_EQ(audit.back().action, "collabcare.v1.HostSync/RecordHostGoalChange");
  EXPECT_EQ(audit.back().actor, kTherapist);
  EXPECT_EQ(audit.back().outcome, 0);

  // The same EHR version read again: the first result, no second revision.
  absl::StatusOr<v1::Goal> again = service_.RecordHostGoalChange(kTherapist, "ehr", goal_.name(), 1,
                                                                 v1::Goal::ACHIEVED, "ehr-abc123");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->meta().revision(), 2);
  EXPECT_EQ(store_->GetLatest(goal_.name()).value().revision, 2);
}

TEST_F(HostChangesTest, RefusalsAreConflictsAndNothingIsWritten) {
  EXPECT_EQ(
      service_.RecordHostGoalChange(kClient, "ehr", goal_.name(), 1, v1::Goal::ACHIEVED, "ehr-1")
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(service_
                .RecordHostGoalChange("Practitioner/77", "ehr", goal_.name(), 1, v1::Goal::ACHIEVED,
                                      "ehr-2")
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      service_.RecordHostGoalChange(kTherapist, "ehr", goal_.name(), 7, v1::Goal::ACHIEVED, "ehr-3")
          .status()
          .code(),
      absl::StatusCode::kAborted);
  EXPECT_EQ(
      service_.RecordHostGoalChange(kTherapist, "ehr", goal_.name(), 1, v1::Goal::PROPOSED, "ehr-4")
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_
                .RecordHostGoalChange(kTherapist, "ehr", "episodes/nope/goals/g", 1,
                                      v1::Goal::ACHIEVED, "ehr-5")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  absl::Status bad = service_
                         .RecordHostGoalChange(kTherapist, "ehr", goal_.name(), 1,
                                               v1::Goal::ACHIEVED, "not a request id!")
                         .status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetLatest(goal_.name()).value().revision, 1);
  // Each refusal is audited.
  std::vector<store::AuditRecord> audit =
      store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100).value();
  int refused = 0;
  for (const store::AuditRecord& a : audit) {
    refused += a.action == "collabcare.v1.HostSync/RecordHostGoalChange" && a.outcome != 0;
  }
  EXPECT_EQ(refused, 6);
}

}  // namespace
}  // namespace collabcare::service
