// The use cases over the in-memory store: concurrency, idempotency under races, watch
// filtering and state rules that span several records.
#include "plugin/service/collab_service.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fakes.h"

namespace collabcare::service {
namespace {

using ::testing::SizeIs;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";
constexpr char kSister[] = "RelatedPerson/4";

class CollabServiceTest : public ::testing::Test {
 protected:
  CollabServiceTest()
      : store_(store::NewMemoryStore()),
        service_(*store_, clock_, ids_, hub_, CollabService::Options{}) {}

  v1::Episode Episode(v1::Episode::Format format = v1::Episode::CLIENT_LED) {
    v1::CreateEpisodeRequest req;
    auto add = [&](const char* who, v1::Participant::Role role) {
      v1::Participant* p = req.mutable_episode()->add_participants();
      p->set_person(who);
      p->set_role(role);
    };
    add(kTherapist, v1::Participant::THERAPIST);
    add(kClient, v1::Participant::CLIENT);
    add(kSister, v1::Participant::FAMILY_MEMBER);
    req.mutable_episode()->set_format(format);
    req.mutable_episode()->set_modality(v1::Episode::FAMILY);
    auto episode = service_.CreateEpisode(kTherapist, req);
    EXPECT_TRUE(episode.ok()) << episode.status();
    return *episode;
  }

  v1::Goal Goal(const std::string& who, const v1::Episode& e, const std::string& words,
                const std::string& owner = "") {
    v1::CreateGoalRequest req;
    req.set_parent(e.name());
    req.mutable_goal()->set_words(words);
    req.mutable_goal()->set_owner(owner);
    auto goal = service_.CreateGoal(who, req);
    EXPECT_TRUE(goal.ok()) << goal.status();
    return goal.value_or(v1::Goal());
  }

  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  EventHub hub_;
  std::unique_ptr<store::Store> store_;
  CollabService service_;
};

TEST_F(CollabServiceTest, UnconditionalUpdatesFromManyThreadsAllLand) {
  v1::Episode e = Episode();
  v1::Goal goal = Goal(kClient, e, "keep a diary");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        v1::UpdateGoalRequest req;
        req.mutable_goal()->set_name(goal.name());
        req.mutable_goal()->set_priority(t * 10 + i);
        req.mutable_update_mask()->add_paths("priority");
        EXPECT_TRUE(service_.UpdateGoal(kClient, req).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  v1::GetGoalRequest get;
  get.set_name(goal.name());
  EXPECT_EQ(service_.GetGoal(kClient, get)->meta().revision(), 81);
}

TEST_F(CollabServiceTest, ConcurrentRetriesOfOneRequestWriteOnce) {
  v1::Episode e = Episode();
  std::vector<std::thread> threads;
  std::vector<std::string> names(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      v1::CreateGoalRequest req;
      req.set_parent(e.name());
      req.mutable_goal()->set_words("be kinder to myself");
      req.set_request_id("same-request");
      auto goal = service_.CreateGoal(kClient, req);
      ASSERT_TRUE(goal.ok()) << goal.status();
      names[t] = goal->name();
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& n : names) EXPECT_EQ(n, names[0]);
  v1::ListGoalsRequest list;
  list.set_parent(e.name());
  EXPECT_THAT(service_.ListGoals(kClient, list)->goals(), SizeIs(1));
}

TEST_F(CollabServiceTest, TranscribedGoalWaitsForTheOwner) {
  v1::Episode e = Episode();
  v1::Goal goal = Goal(kTherapist, e, "wants to feel less alone", kClient);
  EXPECT_EQ(goal.status(), v1::Goal::PROPOSED);
  EXPECT_EQ(goal.transcribed_by(), kTherapist);
  EXPECT_EQ(goal.owner(), kClient);
  // A proposed goal is not reviewed until the owner accepts it as their words.
  v1::StartReviewRequest start;
  start.set_parent(e.name());
  EXPECT_THAT(service_.StartReview(kClient, start)->goals(), SizeIs(0));
  v1::UpdateGoalRequest accept;
  accept.mutable_goal()->set_name(goal.name());
  accept.mutable_goal()->set_status(v1::Goal::ACTIVE);
  accept.mutable_update_mask()->add_paths("status");
  EXPECT_EQ(service_.UpdateGoal(kTherapist, accept).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_.UpdateGoal(kClient, accept).ok());
  EXPECT_THAT(service_.StartReview(kClient, start)->goals(), SizeIs(1));
}

TEST_F(CollabServiceTest, ClosedEpisodeIsReadOnlyUntilReopened) {
  v1::Episode e = Episode();
  v1::UpdateEpisodeRequest close;
  close.mutable_episode()->set_name(e.name());
  close.mutable_episode()->set_status(v1::Episode::CLOSED);
  close.mutable_update_mask()->add_paths("status");
  EXPECT_EQ(service_.UpdateEpisode(kClient, close).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_.UpdateEpisode(kTherapist, close).ok());
  v1::CreateGoalRequest req;
  req.set_parent(e.name());
  req.mutable_goal()->set_words("one more thing");
  EXPECT_EQ(service_.CreateGoal(kClient, req).status().code(),
            absl::StatusCode::kFailedPrecondition);
  close.mutable_episode()->set_status(v1::Episode::ACTIVE);
  ASSERT_TRUE(service_.UpdateEpisode(kTherapist, close).ok());
  EXPECT_TRUE(service_.CreateGoal(kClient, req).ok());
}

TEST_F(CollabServiceTest, RemovedParticipantLosesAccess) {
  v1::Episode e = Episode();
  v1::UpdateEpisodeRequest update;
  *update.mutable_episode() = e;
  update.mutable_episode()->mutable_participants()->RemoveLast();  // the sister
  update.mutable_update_mask()->add_paths("participants");
  ASSERT_TRUE(service_.UpdateEpisode(kTherapist, update).ok());
  v1::GetEpisodeRequest get;
  get.set_name(e.name());
  EXPECT_EQ(service_.GetEpisode(kSister, get).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(service_.ListEpisodes(kSister, {})->episodes(), SizeIs(0));
  EXPECT_EQ(service_.ReadEvents(kSister, e.name().substr(9), 0, 10).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(CollabServiceTest, EventsSkipWhatTheCallerMayNotSee) {
  v1::Episode e = Episode();
  v1::ShareHypothesisRequest share;
  share.set_parent(e.name());
  share.mutable_hypothesis()->set_kind(v1::Hypothesis::PROFESSIONAL);
  share.mutable_hypothesis()->set_text("a provisional thought about low mood");
  share.mutable_hypothesis()->set_tentativeness(v1::Hypothesis::CONSIDERING);
  share.mutable_hypothesis()->add_audience(kClient);
  v1::Code* code = share.mutable_hypothesis()->mutable_code();
  code->set_system("http://hl7.org/fhir/sid/icd-10-cm");
  code->set_code("F32.A");
  ASSERT_TRUE(service_.ShareHypothesis(kTherapist, share).ok());
  Goal(kClient, e, "go for a run on Saturdays");
  const std::string id = e.name().substr(9);
  auto sister = service_.ReadEvents(kSister, id, 0, 10);
  ASSERT_TRUE(sister.ok());
  ASSERT_THAT(sister->events, SizeIs(2));  // episode created, goal created
  EXPECT_EQ(sister->events[1].sequence(), 3);
  EXPECT_EQ(sister->last_sequence, 3);
  auto client = service_.ReadEvents(kClient, id, 0, 10);
  EXPECT_THAT(client->events, SizeIs(3));
  auto after = service_.ReadEvents(kClient, id, 2, 10);
  ASSERT_THAT(after->events, SizeIs(1));
  EXPECT_EQ(after->events[0].kind(), v1::EpisodeEvent::GOAL_CREATED);
}

TEST_F(CollabServiceTest, EveryWriteLeavesOneOutboxEntryInOrder) {
  v1::Episode e = Episode();
  Goal(kClient, e, "first");
  Goal(kSister, e, "second");
  auto outbox = store_->ReadOutbox(0, 10);
  ASSERT_TRUE(outbox.ok());
  ASSERT_THAT(*outbox, SizeIs(3));
  EXPECT_EQ((*outbox)[0].kind, store::RecordKind::kEpisode);
  EXPECT_EQ((*outbox)[1].sequence, 2);
  EXPECT_EQ((*outbox)[2].sequence, 3);
}

}  // namespace
}  // namespace collabcare::service
