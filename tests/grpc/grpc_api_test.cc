// API v1 through an in-process gRPC channel, with real bearer tokens signed by a test key and
// verified by the real verifier, over the in-memory store and SQLite.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "collabcare/v1/episode_service.grpc.pb.h"
#include "collabcare/v1/goal_service.grpc.pb.h"
#include "collabcare/v1/hypothesis_service.grpc.pb.h"
#include "collabcare/v1/review_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "plugin/grpc/grpc_services.h"
#include "plugin/identity/identity.h"
#include "plugin/service/collab_service.h"
#include "plugin/store/store.h"
#include "tests/testing/fakes.h"
#include "tests/testing/test_backend.h"

namespace collabcare {
namespace {

namespace v1 = ::collabcare::v1;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kTherapist[] = "Practitioner/9";
constexpr char kClient[] = "Patient/1";
constexpr char kMother[] = "RelatedPerson/2";
constexpr char kOutsider[] = "Patient/77";

using testutil::StoreKind;

class GrpcApiTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto backend = testutil::NewTestBackend("grpc", GetParam(), clock_);
    ASSERT_TRUE(backend.ok()) << backend.status();
    dir_ = backend->dir;
    dev_ = backend->dev;
    verifier_ = std::move(backend->verifier);
    store_ = std::move(backend->store);
    service::CollabService::Options service_options;
    // Reads wait for their audit record, so the audit tests can read it back at once.
    service_options.read_audit = service::CollabService::Options::ReadAudit::kDurable;
    service_ =
        std::make_unique<service::CollabService>(*store_, clock_, ids_, hub_, service_options);
    grpcface::FaceOptions face;
    face.watch_poll = absl::Milliseconds(200);
    services_ = grpcface::NewV1Services(*service_, *verifier_, hub_, face);
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    for (auto& s : services_) builder.RegisterService(s.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    episodes_ = v1::EpisodeService::NewStub(channel_);
    goals_ = v1::GoalService::NewStub(channel_);
    hypotheses_ = v1::HypothesisService::NewStub(channel_);
    reviews_ = v1::ReviewService::NewStub(channel_);
  }

  void TearDown() override {
    hub_.Shutdown();
    if (server_) server_->Shutdown();
    server_.reset();
    services_.clear();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Token(const std::string& who, absl::Duration age = absl::ZeroDuration(),
                    const std::string& audience = identity::kDevAudience,
                    const std::string& issuer = identity::kDevIssuer) {
    identity::TokenClaims claims;
    claims.fhir_user = who;
    claims.audience = audience;
    claims.issuer = issuer;
    absl::StatusOr<std::string> token =
        identity::MintToken(dev_.private_key_pem, dev_.key_id, claims, clock_.Now() - age);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  // A client context carrying `who`'s bearer token.
  std::unique_ptr<grpc::ClientContext> As(const std::string& who) { return WithToken(Token(who)); }
  std::unique_ptr<grpc::ClientContext> WithToken(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  }

  // A family episode: the therapist, the client and the client's mother.
  v1::Episode FamilyEpisode() {
    v1::CreateEpisodeRequest req;
    auto add = [&](const char* who, v1::Participant::Role role) {
      v1::Participant* p = req.mutable_episode()->add_participants();
      p->set_person(who);
      p->set_role(role);
    };
    add(kTherapist, v1::Participant::THERAPIST);
    add(kClient, v1::Participant::CLIENT);
    add(kMother, v1::Participant::FAMILY_MEMBER);
    req.mutable_episode()->set_format(v1::Episode::CLIENT_LED);
    req.mutable_episode()->set_modality(v1::Episode::FAMILY);
    v1::Episode episode;
    grpc::Status s = episodes_->CreateEpisode(As(kTherapist).get(), req, &episode);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return episode;
  }

  v1::Goal WriteGoal(const std::string& who, const std::string& episode, const std::string& words,
                     v1::Goal::Visibility visibility = v1::Goal::EPISODE,
                     const std::string& request_id = "") {
    v1::CreateGoalRequest req;
    req.set_parent(episode);
    req.mutable_goal()->set_words(words);
    req.mutable_goal()->set_visibility(visibility);
    req.set_request_id(request_id);
    v1::Goal goal;
    grpc::Status s = goals_->CreateGoal(As(who).get(), req, &goal);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return goal;
  }

  std::string dir_;
  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  service::EventHub hub_;
  identity::DevIdentity dev_;
  std::unique_ptr<identity::TokenVerifier> verifier_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::CollabService> service_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EpisodeService::Stub> episodes_;
  std::unique_ptr<v1::GoalService::Stub> goals_;
  std::unique_ptr<v1::HypothesisService::Stub> hypotheses_;
  std::unique_ptr<v1::ReviewService::Stub> reviews_;
};

TEST_P(GrpcApiTest, MissingTokenIsUnauthenticated) {
  grpc::ClientContext ctx;
  v1::ListEpisodesResponse out;
  EXPECT_EQ(episodes_->ListEpisodes(&ctx, {}, &out).error_code(), grpc::UNAUTHENTICATED);
}

TEST_P(GrpcApiTest, BadTokensAreUnauthenticated) {
  v1::ListEpisodesResponse out;
  const std::string expired = Token(kClient, absl::Hours(9));
  EXPECT_EQ(episodes_->ListEpisodes(WithToken(expired).get(), {}, &out).error_code(),
            grpc::UNAUTHENTICATED);
  const std::string wrong_audience = Token(kClient, absl::ZeroDuration(), "someone-else");
  EXPECT_EQ(episodes_->ListEpisodes(WithToken(wrong_audience).get(), {}, &out).error_code(),
            grpc::UNAUTHENTICATED);
  const std::string foreign =
      Token(kClient, absl::ZeroDuration(), identity::kDevAudience, "https://idp.elsewhere.example");
  EXPECT_EQ(episodes_->ListEpisodes(WithToken(foreign).get(), {}, &out).error_code(),
            grpc::UNAUTHENTICATED);
  // Signed by a different key that the verifier does not know.
  char other[] = "/tmp/collabcare-otherkey-XXXXXX";
  ASSERT_NE(mkdtemp(other), nullptr);
  auto other_dev = identity::EnsureDevIdentity(other);
  ASSERT_TRUE(other_dev.ok());
  identity::TokenClaims claims;
  claims.fhir_user = kClient;
  auto forged = identity::MintToken(other_dev->private_key_pem, dev_.key_id, claims, clock_.Now());
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(episodes_->ListEpisodes(WithToken(*forged).get(), {}, &out).error_code(),
            grpc::UNAUTHENTICATED);
  std::filesystem::remove_all(other);
  // Refused calls are audited as anonymous.
  auto audit = store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100);
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->back().actor, "anonymous");
  EXPECT_EQ(audit->back().outcome, static_cast<int>(absl::StatusCode::kUnauthenticated));
}

TEST_P(GrpcApiTest, HealthCheckServes) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_P(GrpcApiTest, OutsidersDoNotSeeThatAnEpisodeExists) {
  v1::Episode episode = FamilyEpisode();
  v1::GetEpisodeRequest get;
  get.set_name(episode.name());
  v1::Episode out;
  EXPECT_EQ(episodes_->GetEpisode(As(kOutsider).get(), get, &out).error_code(), grpc::NOT_FOUND);
  get.set_name("episodes/doesnotexist");
  grpc::Status missing = episodes_->GetEpisode(As(kOutsider).get(), get, &out);
  EXPECT_EQ(missing.error_code(), grpc::NOT_FOUND);
  v1::ListEpisodesResponse list;
  ASSERT_TRUE(episodes_->ListEpisodes(As(kOutsider).get(), {}, &list).ok());
  EXPECT_THAT(list.episodes(), SizeIs(0));
  ASSERT_TRUE(episodes_->ListEpisodes(As(kMother).get(), {}, &list).ok());
  EXPECT_THAT(list.episodes(), SizeIs(1));
}

TEST_P(GrpcApiTest, OnlyATherapistOpensAnEpisode) {
  v1::CreateEpisodeRequest req;
  v1::Participant* t = req.mutable_episode()->add_participants();
  t->set_person(kTherapist);
  t->set_role(v1::Participant::THERAPIST);
  v1::Participant* c = req.mutable_episode()->add_participants();
  c->set_person(kClient);
  c->set_role(v1::Participant::CLIENT);
  req.mutable_episode()->set_format(v1::Episode::THERAPIST_LED);
  req.mutable_episode()->set_modality(v1::Episode::INDIVIDUAL);
  v1::Episode out;
  EXPECT_EQ(episodes_->CreateEpisode(As(kClient).get(), req, &out).error_code(),
            grpc::PERMISSION_DENIED);
  req.mutable_episode()->set_modality(static_cast<v1::Episode::Modality>(42));
  grpc::Status bad = episodes_->CreateEpisode(As(kTherapist).get(), req, &out);
  EXPECT_EQ(bad.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("episode.modality"));
}

TEST_P(GrpcApiTest, InvalidGoalNamesTheFieldAndStoresNothing) {
  v1::Episode episode = FamilyEpisode();
  v1::CreateGoalRequest req;
  req.set_parent(episode.name());
  // Invalid UTF-8 never reaches the service: protobuf refuses to parse a proto3 string that
  // holds it, and gRPC answers INTERNAL before any handler runs.
  req.mutable_goal()->set_words(std::string("\xC0\x80", 2));
  v1::Goal out;
  grpc::Status s = goals_->CreateGoal(As(kClient).get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::INTERNAL);
  // Valid UTF-8 that the API still refuses: a NUL character, only white space, too long.
  req.mutable_goal()->set_words(std::string("a\0b", 3));
  s = goals_->CreateGoal(As(kClient).get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("goal.words"));
  req.mutable_goal()->set_words("   ");
  s = goals_->CreateGoal(As(kClient).get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  req.mutable_goal()->set_words(std::string(8 * 1024 + 1, 'a'));
  s = goals_->CreateGoal(As(kClient).get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  v1::ListGoalsRequest list;
  list.set_parent(episode.name());
  v1::ListGoalsResponse goals;
  ASSERT_TRUE(goals_->ListGoals(As(kClient).get(), list, &goals).ok());
  EXPECT_THAT(goals.goals(), SizeIs(0));
  auto events = store_->ReadEvents(episode.name().substr(9), 0, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(*events, SizeIs(1));  // only EPISODE_CREATED
}

TEST_P(GrpcApiTest, RetryWithSameRequestIdDoesNotWriteTwice) {
  v1::Episode episode = FamilyEpisode();
  v1::Goal first =
      WriteGoal(kClient, episode.name(), "sleep through the night", v1::Goal::EPISODE, "req-1");
  v1::Goal again =
      WriteGoal(kClient, episode.name(), "sleep through the night", v1::Goal::EPISODE, "req-1");
  EXPECT_EQ(first.name(), again.name());
  EXPECT_EQ(again.meta().revision(), 1);
  v1::ListGoalsRequest list;
  list.set_parent(episode.name());
  v1::ListGoalsResponse goals;
  ASSERT_TRUE(goals_->ListGoals(As(kClient).get(), list, &goals).ok());
  EXPECT_THAT(goals.goals(), SizeIs(1));
  // The same key for a different request is refused, not silently answered.
  v1::CreateGoalRequest other;
  other.set_parent(episode.name());
  other.mutable_goal()->set_words("something else");
  other.set_request_id("req-1");
  v1::Goal out;
  grpc::Status s = goals_->CreateGoal(As(kClient).get(), other, &out);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("request_id"));
  // Keys belong to callers: the mother may use the same key for her own goal.
  v1::Goal hers =
      WriteGoal(kMother, episode.name(), "more calm at dinner", v1::Goal::EPISODE, "req-1");
  EXPECT_NE(hers.name(), first.name());
}

TEST_P(GrpcApiTest, StaleEtagIsAborted) {
  v1::Episode episode = FamilyEpisode();
  v1::Goal goal = WriteGoal(kClient, episode.name(), "walk the dog every morning");
  v1::UpdateGoalRequest update;
  *update.mutable_goal() = goal;
  update.mutable_goal()->set_priority(1);
  update.mutable_update_mask()->add_paths("priority");
  v1::Goal updated;
  ASSERT_TRUE(goals_->UpdateGoal(As(kClient).get(), update, &updated).ok());
  EXPECT_EQ(updated.meta().revision(), 2);
  update.mutable_goal()->set_priority(2);  // still carries the etag of revision 1
  grpc::Status s = goals_->UpdateGoal(As(kClient).get(), update, &updated);
  EXPECT_EQ(s.error_code(), grpc::ABORTED);
}

TEST_P(GrpcApiTest, OnlyTheOwnerRewritesAGoal) {
  v1::Episode episode = FamilyEpisode();
  v1::Goal goal = WriteGoal(kClient, episode.name(), "I want to go back to school");
  v1::UpdateGoalRequest update;
  update.mutable_goal()->set_name(goal.name());
  update.mutable_goal()->set_words("attend school regularly");
  update.mutable_update_mask()->add_paths("words");
  v1::Goal out;
  EXPECT_EQ(goals_->UpdateGoal(As(kTherapist).get(), update, &out).error_code(),
            grpc::PERMISSION_DENIED);
  EXPECT_EQ(goals_->UpdateGoal(As(kMother).get(), update, &out).error_code(),
            grpc::PERMISSION_DENIED);
  ASSERT_TRUE(goals_->UpdateGoal(As(kClient).get(), update, &out).ok());
  EXPECT_EQ(out.words(), "attend school regularly");
  v1::ListGoalRevisionsRequest revs;
  revs.set_name(goal.name());
  v1::ListGoalRevisionsResponse history;
  ASSERT_TRUE(goals_->ListGoalRevisions(As(kTherapist).get(), revs, &history).ok());
  ASSERT_THAT(history.goals(), SizeIs(2));
  EXPECT_EQ(history.goals(0).words(), "I want to go back to school");
}

TEST_P(GrpcApiTest, PrivateGoalIsHiddenFromOtherFamilyMembers) {
  v1::Episode episode = FamilyEpisode();
  v1::Goal secret = WriteGoal(kClient, episode.name(), "tell mum about the bullying",
                              v1::Goal::OWNER_AND_THERAPISTS);
  WriteGoal(kClient, episode.name(), "sleep better");
  v1::GetGoalRequest get;
  get.set_name(secret.name());
  v1::Goal out;
  EXPECT_EQ(goals_->GetGoal(As(kMother).get(), get, &out).error_code(), grpc::NOT_FOUND);
  EXPECT_TRUE(goals_->GetGoal(As(kTherapist).get(), get, &out).ok());
  v1::ListGoalsRequest list;
  list.set_parent(episode.name());
  v1::ListGoalsResponse mother_view, client_view;
  ASSERT_TRUE(goals_->ListGoals(As(kMother).get(), list, &mother_view).ok());
  ASSERT_TRUE(goals_->ListGoals(As(kClient).get(), list, &client_view).ok());
  EXPECT_THAT(mother_view.goals(), SizeIs(1));
  EXPECT_THAT(client_view.goals(), SizeIs(2));
}

TEST_P(GrpcApiTest, ListGoalsPagesThroughEveryGoal) {
  v1::Episode episode = FamilyEpisode();
  for (int i = 0; i < 7; ++i) WriteGoal(kClient, episode.name(), "goal " + std::to_string(i));
  v1::ListGoalsRequest list;
  list.set_parent(episode.name());
  list.set_page_size(3);
  int seen = 0, pages = 0;
  do {
    v1::ListGoalsResponse page;
    ASSERT_TRUE(goals_->ListGoals(As(kClient).get(), list, &page).ok());
    seen += page.goals_size();
    ++pages;
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty() && pages < 10);
  EXPECT_EQ(seen, 7);
  EXPECT_EQ(pages, 3);
}

TEST_P(GrpcApiTest, HypothesisAnswersStayWithinTheAudience) {
  v1::Episode episode = FamilyEpisode();
  v1::ShareHypothesisRequest share;
  share.set_parent(episode.name());
  share.mutable_hypothesis()->set_kind(v1::Hypothesis::PERSONAL);
  share.mutable_hypothesis()->set_text("I wonder whether the arguments start when you are tired");
  share.mutable_hypothesis()->set_tentativeness(v1::Hypothesis::WONDERING);
  share.mutable_hypothesis()->add_audience(kClient);
  v1::Hypothesis h;
  EXPECT_EQ(hypotheses_->ShareHypothesis(As(kClient).get(), share, &h).error_code(),
            grpc::PERMISSION_DENIED);
  ASSERT_TRUE(hypotheses_->ShareHypothesis(As(kTherapist).get(), share, &h).ok());
  v1::RespondToHypothesisRequest respond;
  respond.set_name(h.name());
  respond.set_stance(v1::HypothesisResponse::PARTLY_FITS);
  respond.set_words("more when I am hungry");
  v1::Hypothesis out;
  // The mother is outside the audience: she cannot see it, so it does not exist for her.
  EXPECT_EQ(hypotheses_->RespondToHypothesis(As(kMother).get(), respond, &out).error_code(),
            grpc::NOT_FOUND);
  ASSERT_TRUE(hypotheses_->RespondToHypothesis(As(kClient).get(), respond, &out).ok());
  ASSERT_THAT(out.responses(), SizeIs(1));
  EXPECT_EQ(out.responses(0).person(), kClient);
  EXPECT_EQ(out.responses(0).answered_revision(), 1);
}

TEST_P(GrpcApiTest, FamilySessionIsRatedAndSignedByEveryone) {
  v1::Episode episode = FamilyEpisode();
  v1::Goal goal = WriteGoal(kClient, episode.name(), "fewer fights at bedtime");
  v1::StartReviewRequest start;
  start.set_parent(episode.name());
  v1::Review review;
  ASSERT_TRUE(reviews_->StartReview(As(kTherapist).get(), start, &review).ok());
  ASSERT_THAT(review.goals(), SizeIs(1));

  auto rate = [&](const std::string& who, double score) {
    v1::SubmitRatingsRequest req;
    req.set_name(review.name());
    v1::Rating* r = req.add_ratings();
    r->set_goal(goal.name());
    r->set_score(score);
    if (who != kTherapist) {  // the ORS is the client's and family's own view
      v1::InstrumentScore* ors = req.add_instrument_scores();
      ors->set_instrument("ORS");
      for (double item : {5.0, 6.5, 7.0, 4.2}) ors->add_items(item);
    }
    grpc::Status s = reviews_->SubmitRatings(As(who).get(), req, &review);
    ASSERT_TRUE(s.ok()) << s.error_message();
  };
  rate(kClient, 6);
  rate(kMother, 3);
  rate(kTherapist, 5.5);
  v1::SubmitRatingsRequest therapist_ors;
  therapist_ors.set_name(review.name());
  v1::InstrumentScore* ors = therapist_ors.add_instrument_scores();
  ors->set_instrument("ORS");
  for (double item : {5.0, 6.5, 7.0, 4.2}) ors->add_items(item);
  v1::Review refused;
  EXPECT_EQ(reviews_->SubmitRatings(As(kTherapist).get(), therapist_ors, &refused).error_code(),
            grpc::PERMISSION_DENIED);
  // Rating for someone else is refused.
  v1::SubmitRatingsRequest forged;
  forged.set_name(review.name());
  v1::Rating* r = forged.add_ratings();
  r->set_rater(kClient);
  r->set_goal(goal.name());
  r->set_score(10);
  v1::Review ignored;
  EXPECT_EQ(reviews_->SubmitRatings(As(kMother).get(), forged, &ignored).error_code(),
            grpc::PERMISSION_DENIED);
  r->set_rater("");
  r->set_score(11);
  grpc::Status out_of_range = reviews_->SubmitRatings(As(kMother).get(), forged, &ignored);
  EXPECT_EQ(out_of_range.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(out_of_range.error_message(), HasSubstr("ratings[0].score"));

  auto sign = [&](const std::string& who, const std::string& dissent = "") {
    v1::SignReviewRequest req;
    req.set_name(review.name());
    req.set_etag(review.meta().etag());
    req.set_dissent(dissent);
    grpc::Status s = reviews_->SignReview(As(who).get(), req, &review);
    ASSERT_TRUE(s.ok()) << s.error_message();
  };
  sign(kClient);
  sign(kTherapist);
  EXPECT_EQ(review.status(), v1::Review::OPEN);  // the mother has not signed yet
  // Signing a stale etag is refused.
  v1::SignReviewRequest stale;
  stale.set_name(review.name());
  stale.set_etag("r1");
  EXPECT_EQ(reviews_->SignReview(As(kMother).get(), stale, &ignored).error_code(), grpc::ABORTED);
  sign(kMother, "I see less progress than the others");
  EXPECT_EQ(review.status(), v1::Review::SIGNED);
  ASSERT_THAT(review.signatures(), SizeIs(3));
  for (const v1::Signature& s : review.signatures()) {
    EXPECT_EQ(s.content_sha256(), review.content_sha256());
  }
  // A signed review is immutable.
  v1::AddReflectionRequest reflect;
  reflect.set_name(review.name());
  reflect.set_words("too late");
  EXPECT_EQ(reviews_->AddReflection(As(kClient).get(), reflect, &ignored).error_code(),
            grpc::FAILED_PRECONDITION);

  v1::GetProgressRequest progress_req;
  progress_req.set_episode(episode.name());
  v1::Progress progress;
  ASSERT_TRUE(reviews_->GetProgress(As(kMother).get(), progress_req, &progress).ok());
  EXPECT_THAT(progress.goals(), SizeIs(3));  // one series per rater, never averaged
  bool divergence = false;
  for (const v1::ProgressFlag& f : progress.flags()) {
    divergence = divergence || f.kind() == v1::ProgressFlag::RATER_DIVERGENCE;
  }
  EXPECT_TRUE(divergence);  // the client's 6 and the mother's 3 differ by 3 points
}

TEST_P(GrpcApiTest, WatchStreamsLiveEventsAndSkipsHiddenOnes) {
  v1::Episode episode = FamilyEpisode();
  WriteGoal(kClient, episode.name(), "secret", v1::Goal::OWNER_AND_THERAPISTS);
  auto ctx = As(kMother);
  v1::WatchEpisodeRequest req;
  req.set_name(episode.name());
  auto reader = episodes_->WatchEpisode(ctx.get(), req);
  v1::EpisodeEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.sequence(), 1);
  EXPECT_EQ(event.kind(), v1::EpisodeEvent::EPISODE_CREATED);
  // Written after the stream started: arrives live. Sequence 2 (the secret goal) is skipped.
  std::thread writer([&] { WriteGoal(kClient, episode.name(), "visible to everyone"); });
  ASSERT_TRUE(reader->Read(&event));
  writer.join();
  EXPECT_EQ(event.sequence(), 3);
  EXPECT_EQ(event.kind(), v1::EpisodeEvent::GOAL_CREATED);
  EXPECT_EQ(event.goal().words(), "visible to everyone");
  ctx->TryCancel();
  while (reader->Read(&event)) {
  }
}

TEST_P(GrpcApiTest, AWatcherThatNeverReadsDoesNotHoldUpWriters) {
  v1::Episode episode = FamilyEpisode();
  auto ctx = As(kMother);
  v1::WatchEpisodeRequest req;
  req.set_name(episode.name());
  auto reader = episodes_->WatchEpisode(ctx.get(), req);  // opened, never read
  // Far more than fits in the stream's flow-control window (each event carries a goal).
  const std::string words(4000, 'w');
  for (int i = 0; i < 200; ++i) WriteGoal(kClient, episode.name(), words);
  v1::ListGoalsRequest list;
  list.set_parent(episode.name());
  list.set_page_size(200);
  v1::ListGoalsResponse goals;
  ASSERT_TRUE(goals_->ListGoals(As(kClient).get(), list, &goals).ok());
  EXPECT_THAT(goals.goals(), SizeIs(200));
  ctx->TryCancel();
  v1::EpisodeEvent event;
  while (reader->Read(&event)) {
  }
}

TEST_P(GrpcApiTest, EveryReadAndWriteIsAudited) {
  v1::Episode episode = FamilyEpisode();
  v1::GetEpisodeRequest get;
  get.set_name(episode.name());
  v1::Episode out;
  ASSERT_TRUE(episodes_->GetEpisode(As(kClient).get(), get, &out).ok());
  EXPECT_FALSE(episodes_->GetEpisode(As(kOutsider).get(), get, &out).ok());
  auto audit = store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100);
  ASSERT_TRUE(audit.ok());
  ASSERT_THAT(*audit, SizeIs(3));
  EXPECT_EQ((*audit)[0].action, "collabcare.v1.EpisodeService/CreateEpisode");
  EXPECT_EQ((*audit)[0].actor, kTherapist);
  EXPECT_EQ((*audit)[1].action, "collabcare.v1.EpisodeService/GetEpisode");
  EXPECT_EQ((*audit)[1].actor, kClient);
  EXPECT_EQ((*audit)[1].outcome, 0);
  EXPECT_EQ((*audit)[2].actor, kOutsider);
  EXPECT_EQ((*audit)[2].outcome, static_cast<int>(absl::StatusCode::kNotFound));
}

INSTANTIATE_TEST_SUITE_P(Stores, GrpcApiTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kSqlite),
                         [](const ::testing::TestParamInfo<StoreKind>& info) {
                           return info.param == StoreKind::kMemory ? "Memory" : "Sqlite";
                         });

}  // namespace
}  // namespace collabcare
