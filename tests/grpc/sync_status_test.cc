// SyncService through an in-process gRPC channel with real bearer tokens: operators see each
// host's cursor, lag and parked changes; everyone else is refused; every call is audited.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "collabcare/v1/sync_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "plugin/grpc/sync_grpc_service.h"
#include "plugin/identity/identity.h"
#include "plugin/service/sync_status_service.h"
#include "plugin/store/store.h"
#include "tests/testing/fakes.h"
#include "tests/testing/test_backend.h"

namespace collabcare {
namespace {

namespace v1 = ::collabcare::v1;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::SizeIs;

constexpr char kOperator[] = "Practitioner/ops1";
constexpr char kTherapist[] = "Practitioner/9";
constexpr char kHost[] = "fhir-r4:https://ehr.example/fhir";
constexpr char kOutcome[] = R"({"resourceType":"OperationOutcome","issue":[]})";

// A worker for one host with fixed counters.
class FakeProvider final : public service::SyncStatusProvider {
 public:
  std::vector<service::HostSyncCounters> Hosts() override {
    service::HostSyncCounters counters;
    counters.host = kHost;
    counters.profile = "fhir-r4";
    counters.worker_running = true;
    counters.pushed = 5;
    counters.retried = 2;
    counters.parked = 1;
    counters.last_error = absl::StatusCode::kInvalidArgument;
    return {counters};
  }
};

class SyncStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = testutil::NewTestBackend("sync-status", testutil::StoreKind::kMemory, clock_);
    ASSERT_TRUE(backend.ok()) << backend.status();
    dir_ = backend->dir;
    dev_ = backend->dev;
    verifier_ = std::move(backend->verifier);
    store_ = std::move(backend->store);
    service_ = std::make_unique<service::SyncStatusService>(*store_, clock_, provider_,
                                                            std::set<std::string>{kOperator});
    sync_service_ = grpcface::NewSyncService(*service_, *verifier_);
    grpc::ServerBuilder builder;
    builder.RegisterService(sync_service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::SyncService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& who) {
    identity::TokenClaims claims;
    claims.fhir_user = who;
    claims.audience = identity::kDevAudience;
    claims.issuer = identity::kDevIssuer;
    absl::StatusOr<std::string> token =
        identity::MintToken(dev_.private_key_pem, dev_.key_id, claims, clock_.Now());
    EXPECT_TRUE(token.ok()) << token.status();
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + token.value_or(""));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  }

  // Two committed changes in the outbox; the host took the first and refused the second.
  void PushOneParkOne() {
    for (int64_t revision : {1, 2}) {
      store::Mutation m;
      m.record.name = "episodes/e1";
      m.record.episode_id = "e1";
      m.record.kind = store::RecordKind::kEpisode;
      m.record.revision = revision;
      m.record.time = clock_.Now();
      m.record.actor = kTherapist;
      m.record.data = "x";
      m.event_kind = 1;
      m.audit = {clock_.Now(), kTherapist, "test", "episodes/e1", "e1", 0, ""};
      ASSERT_TRUE(store_->Commit(m).ok());
    }
    absl::StatusOr<std::vector<store::OutboxEntry>> read = store_->ReadOutbox(0, 10);
    ASSERT_TRUE(read.ok()) << read.status();
    const std::vector<store::OutboxEntry>& outbox = *read;
    ASSERT_THAT(outbox, SizeIs(2));
    ASSERT_TRUE(store_->SetSyncCursor(kHost, outbox[0].id).ok());
    store::ParkedChange parked;
    parked.host = kHost;
    parked.outbox_id = outbox[1].id;
    parked.name = "episodes/e1";
    parked.revision = 2;
    parked.time = clock_.Now();
    parked.code = static_cast<int>(absl::StatusCode::kInvalidArgument);
    parked.outcome = kOutcome;
    ASSERT_TRUE(store_->Park(parked).ok());
    parked_id_ = outbox[1].id;
  }

  std::vector<store::AuditRecord> SyncAudits() {
    absl::StatusOr<std::vector<store::AuditRecord>> all =
        store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100);
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<store::AuditRecord> out;
    if (!all.ok()) return out;
    for (const store::AuditRecord& r : *all) {
      if (r.action == service::SyncStatusService::kMethod) out.push_back(r);
    }
    return out;
  }

  std::string dir_;
  identity::DevIdentity dev_;
  testing::FakeClock clock_;
  FakeProvider provider_;
  std::unique_ptr<identity::TokenVerifier> verifier_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::SyncStatusService> service_;
  std::unique_ptr<grpc::Service> sync_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::SyncService::Stub> stub_;
  int64_t parked_id_ = 0;
};

TEST_F(SyncStatusTest, OperatorSeesLagCountersAndParkedChangeWithoutOutcome) {
  PushOneParkOne();
  v1::SyncStatus status;
  grpc::Status s = stub_->GetSyncStatus(As(kOperator).get(), v1::GetSyncStatusRequest(), &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_THAT(status.hosts(), SizeIs(1));
  const v1::HostSyncStatus& host = status.hosts(0);
  EXPECT_EQ(host.host(), kHost);
  EXPECT_EQ(host.profile(), "fhir-r4");
  EXPECT_TRUE(host.worker_running());
  EXPECT_EQ(host.lag(), 1);  // the parked change is after the cursor until the worker moves it
  EXPECT_EQ(host.pushed(), 5);
  EXPECT_EQ(host.retried(), 2);
  EXPECT_EQ(host.parked(), 1);
  EXPECT_EQ(host.parked_since_start(), 1);
  EXPECT_EQ(host.last_error(), "INVALID_ARGUMENT");
  ASSERT_THAT(host.parked_changes(), SizeIs(1));
  const v1::ParkedSyncChange& parked = host.parked_changes(0);
  EXPECT_EQ(parked.outbox_id(), parked_id_);
  EXPECT_EQ(parked.name(), "episodes/e1");
  EXPECT_EQ(parked.revision(), 2);
  EXPECT_EQ(parked.code(), "INVALID_ARGUMENT");
  EXPECT_EQ(parked.park_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(parked.outcome(), "");  // the host's words only when asked for
  EXPECT_THAT(SyncAudits(), ElementsAre(Field(&store::AuditRecord::actor, kOperator)));
}

TEST_F(SyncStatusTest, IncludeOutcomesReturnsTheHostsOperationOutcome) {
  PushOneParkOne();
  v1::GetSyncStatusRequest request;
  request.set_include_outcomes(true);
  v1::SyncStatus status;
  grpc::Status s = stub_->GetSyncStatus(As(kOperator).get(), request, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_THAT(status.hosts(), SizeIs(1));
  ASSERT_THAT(status.hosts(0).parked_changes(), SizeIs(1));
  EXPECT_EQ(status.hosts(0).parked_changes(0).outcome(), kOutcome);
}

TEST_F(SyncStatusTest, NonOperatorIsDeniedAndAudited) {
  PushOneParkOne();
  v1::SyncStatus status;
  grpc::Status s = stub_->GetSyncStatus(As(kTherapist).get(), v1::GetSyncStatusRequest(), &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.hosts(), SizeIs(0));
  std::vector<store::AuditRecord> audits = SyncAudits();
  ASSERT_THAT(audits, SizeIs(1));
  EXPECT_EQ(audits[0].actor, kTherapist);
  EXPECT_EQ(audits[0].outcome, static_cast<int>(absl::StatusCode::kPermissionDenied));
}

TEST_F(SyncStatusTest, CallerWithoutTokenIsUnauthenticatedAndAudited) {
  grpc::ClientContext ctx;
  v1::SyncStatus status;
  grpc::Status s = stub_->GetSyncStatus(&ctx, v1::GetSyncStatusRequest(), &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::vector<store::AuditRecord> audits = SyncAudits();
  ASSERT_THAT(audits, SizeIs(1));
  EXPECT_EQ(audits[0].actor, "anonymous");
}

TEST_F(SyncStatusTest, MaxParkedOutOfRangeIsInvalidArgument) {
  v1::GetSyncStatusRequest request;
  request.set_max_parked(201);
  v1::SyncStatus status;
  grpc::Status s = stub_->GetSyncStatus(As(kOperator).get(), request, &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace collabcare
