// SyncService's operator use cases over the memory store: retrying a parked change through the
// provider (the worker in the server), discarding one, default deny and the audit trail.
#include "plugin/service/sync_status_service.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/fakes.h"

namespace collabcare::service {
namespace {

constexpr char kOperator[] = "Practitioner/ops1";
constexpr char kHost[] = "fhir-r4:http://ehr";

// One host; RetryParked answers what the test scripts and records what it was asked.
class ScriptedProvider final : public SyncStatusProvider {
 public:
  std::vector<HostSyncCounters> Hosts() override {
    HostSyncCounters h;
    h.host = kHost;
    h.profile = "fhir-r4";
    h.worker_running = true;
    return {h};
  }
  absl::StatusOr<ParkedRetryOutcome> RetryParked(const std::string& host, int64_t outbox_id,
                                                 absl::Duration timeout) override {
    asked.push_back(outbox_id);
    EXPECT_EQ(host, kHost);
    EXPECT_EQ(timeout, absl::Seconds(7));
    return answer;
  }
  absl::StatusOr<ParkedRetryOutcome> answer = ParkedRetryOutcome{};
  std::vector<int64_t> asked;
};

class SyncStatusServiceTest : public ::testing::Test {
 protected:
  SyncStatusServiceTest()
      : store_(store::NewMemoryStore()),
        service_(*store_, clock_, provider_, {kOperator}, absl::Seconds(7)) {}

  store::ParkedChange Park(int64_t id, const std::string& host = kHost) {
    store::ParkedChange p;
    p.host = host;
    p.outbox_id = id;
    p.name = "episodes/e1/goals/g1";
    p.revision = 2;
    p.time = clock_.Now();
    p.code = static_cast<int>(absl::StatusCode::kInvalidArgument);
    p.outcome = R"({"resourceType":"OperationOutcome"})";
    EXPECT_TRUE(store_->Park(p).ok());
    return p;
  }
  std::vector<store::AuditRecord> Audits() {
    return store_->ReadAudit(absl::InfinitePast(), absl::InfiniteFuture(), 100).value();
  }

  testing::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  ScriptedProvider provider_;
  SyncStatusService service_;
};

TEST_F(SyncStatusServiceTest, RetryThatLandsSaysPushedAndIsAudited) {
  Park(5);
  provider_.answer = ParkedRetryOutcome{.pushed = true, .failure = {}, .parked = std::nullopt};
  v1::RetryParkedChangeRequest request;
  request.set_host(kHost);
  request.set_outbox_id(5);
  absl::StatusOr<v1::RetryParkedChangeResponse> r = service_.RetryParkedChange(kOperator, request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->pushed());
  EXPECT_EQ(r->code(), "OK");
  EXPECT_FALSE(r->has_parked());
  EXPECT_EQ(provider_.asked, std::vector<int64_t>{5});
  std::vector<store::AuditRecord> audits = Audits();
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].actor, kOperator);
  EXPECT_EQ(audits[0].action, SyncStatusService::kRetryMethod);
  EXPECT_EQ(audits[0].outcome, 0);
}

TEST_F(SyncStatusServiceTest, RetryThatIsRefusedAgainReturnsTheNewParking) {
  store::ParkedChange p = Park(5);
  p.code = static_cast<int>(absl::StatusCode::kFailedPrecondition);
  p.outcome = R"({"resourceType":"OperationOutcome","issue":[]})";
  provider_.answer = ParkedRetryOutcome{
      .pushed = false, .failure = absl::FailedPreconditionError("refused"), .parked = p};
  v1::RetryParkedChangeRequest request;
  request.set_host(kHost);
  request.set_outbox_id(5);
  v1::RetryParkedChangeResponse r = service_.RetryParkedChange(kOperator, request).value();
  EXPECT_FALSE(r.pushed());
  EXPECT_EQ(r.code(), "FAILED_PRECONDITION");
  EXPECT_EQ(r.parked().outbox_id(), 5);
  EXPECT_EQ(r.parked().code(), "FAILED_PRECONDITION");
  EXPECT_EQ(r.parked().outcome(), "");  // only when asked for
  request.set_include_outcome(true);
  r = service_.RetryParkedChange(kOperator, request).value();
  EXPECT_EQ(r.parked().outcome(), p.outcome);
  EXPECT_EQ(Audits().back().resource, "episodes/e1/goals/g1");
}

TEST_F(SyncStatusServiceTest, RetryPassesTheWorkersErrorsAndChecksItsInput) {
  v1::RetryParkedChangeRequest request;
  request.set_host(kHost);
  request.set_outbox_id(0);
  EXPECT_EQ(service_.RetryParkedChange(kOperator, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_outbox_id(9);
  request.set_host("");
  absl::Status bad_host = service_.RetryParkedChange(kOperator, request).status();
  EXPECT_EQ(bad_host.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_host.message().find("host"), std::string::npos);
  request.set_host("ndjson");  // not a host of this server
  EXPECT_EQ(service_.RetryParkedChange(kOperator, request).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(provider_.asked.empty());
  request.set_host(kHost);
  provider_.answer = absl::DeadlineExceededError("busy");
  EXPECT_EQ(service_.RetryParkedChange(kOperator, request).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Audits().back().outcome, static_cast<int>(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(SyncStatusServiceTest, TheDefaultProviderHasNoWorker) {
  class NoWorker final : public SyncStatusProvider {
   public:
    std::vector<HostSyncCounters> Hosts() override {
      HostSyncCounters h;
      h.host = kHost;
      return {h};
    }
  } provider;
  SyncStatusService service(*store_, clock_, provider, {kOperator});
  v1::RetryParkedChangeRequest request;
  request.set_host(kHost);
  request.set_outbox_id(3);
  EXPECT_EQ(service.RetryParkedChange(kOperator, request).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SyncStatusServiceTest, DiscardUnparksWithoutPushingAndIsAudited) {
  Park(5);
  Park(6);
  Park(6, "fhir-r4:http://ehr#from-ehr");  // the same id for another host stays
  v1::DiscardParkedChangeRequest request;
  request.set_host(kHost);
  request.set_outbox_id(6);
  absl::StatusOr<v1::ParkedSyncChange> discarded = service_.DiscardParkedChange(kOperator, request);
  ASSERT_TRUE(discarded.ok()) << discarded.status();
  EXPECT_EQ(discarded->outbox_id(), 6);
  EXPECT_EQ(discarded->name(), "episodes/e1/goals/g1");
  EXPECT_EQ(discarded->code(), "INVALID_ARGUMENT");
  EXPECT_TRUE(provider_.asked.empty());  // nothing pushed
  std::vector<store::ParkedChange> left = store_->ListParked(kHost, 10).value();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].outbox_id, 5);
  EXPECT_EQ(store_->ListParked("fhir-r4:http://ehr#from-ehr", 10).value().size(), 1u);
  // Again: nothing left to discard.
  EXPECT_EQ(service_.DiscardParkedChange(kOperator, request).status().code(),
            absl::StatusCode::kNotFound);
  std::vector<store::AuditRecord> audits = Audits();
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0].action, SyncStatusService::kDiscardMethod);
  EXPECT_EQ(audits[0].resource, "episodes/e1/goals/g1");
  EXPECT_EQ(audits[0].outcome, 0);
  EXPECT_EQ(audits[1].outcome, static_cast<int>(absl::StatusCode::kNotFound));
}

TEST_F(SyncStatusServiceTest, TheReadBackPseudoHostListsConflictsWithoutALag) {
  class WithReadBack final : public SyncStatusProvider {
   public:
    std::vector<HostSyncCounters> Hosts() override {
      HostSyncCounters conflicts;
      conflicts.host = std::string(kHost) + "#from-ehr";
      conflicts.profile = "read-back";
      return {conflicts};
    }
  } provider;
  store::Mutation m;
  m.record = {"episodes/e1", "e1", store::RecordKind::kEpisode, 1, clock_.Now(), kOperator, ""};
  m.audit = {clock_.Now(), kOperator, "x", "episodes/e1", "e1", 0, ""};
  ASSERT_TRUE(store_->Commit(m).ok());  // one outbox entry, not the pseudo-host's backlog
  Park(42, std::string(kHost) + "#from-ehr");
  SyncStatusService service(*store_, clock_, provider, {kOperator});
  v1::SyncStatus status = service.GetSyncStatus(kOperator, v1::GetSyncStatusRequest()).value();
  ASSERT_EQ(status.hosts_size(), 1);
  EXPECT_EQ(status.hosts(0).lag(), 0);
  EXPECT_EQ(status.hosts(0).parked(), 1);
  EXPECT_EQ(status.hosts(0).parked_changes(0).outbox_id(), 42);
}

TEST_F(SyncStatusServiceTest, OnlyOperatorsMayRetryOrDiscardAndRefusalsAreAudited) {
  Park(5);
  v1::RetryParkedChangeRequest retry;
  retry.set_host(kHost);
  retry.set_outbox_id(5);
  EXPECT_EQ(service_.RetryParkedChange("Practitioner/9", retry).status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::DiscardParkedChangeRequest discard;
  discard.set_host(kHost);
  discard.set_outbox_id(5);
  EXPECT_EQ(service_.DiscardParkedChange("Patient/1", discard).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(provider_.asked.empty());
  EXPECT_EQ(store_->ListParked(kHost, 10).value().size(), 1u);
  std::vector<store::AuditRecord> audits = Audits();
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0].actor, "Practitioner/9");
  EXPECT_EQ(audits[0].outcome, static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(audits[1].action, SyncStatusService::kDiscardMethod);
}

}  // namespace
}  // namespace collabcare::service
