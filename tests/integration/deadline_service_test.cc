// dsar.v1.DeadlineService through a real in-process dsard on 127.0.0.1:0:
// listing, SLA report, acknowledgements, tenant isolation, and WatchAlerts
// resuming after a disconnect with exactly the alerts it missed. Time is the
// daemon's FakeClock; the test drives the scheduler with RunDue().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "dsar/v1/deadline.grpc.pb.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "lib/core/errors.h"
#include "lib/deadline/deadline_module.h"
#include "lib/store/store.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::TestDsard;
using ::testing::Contains;
using ::testing::ElementsAre;

constexpr char kTenant[] = "acme-travel";

class DeadlineServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(dsard_.Start(), IsOk());
    stub_ = v1::DeadlineService::NewStub(dsard_.channel());
  }

  deadline::DeadlineModule& engine() { return *dsard_.daemon().deadline_module(); }

  void Schedule(const std::string& tenant, const std::string& resource, const char* kind,
                absl::Time start) {
    ASSERT_THAT(dsard_.daemon().store().WriteAndWait([&](store::WriteTxn& txn) {
      return engine()
          .deadlines()
          .Schedule(txn, deadline::ScheduleRequest{tenant, kind, resource, start},
                    dsard_.clock().Now())
          .status();
    }),
                IsOk());
  }

  void Complete(const std::string& resource, const char* kind) {
    ASSERT_THAT(dsard_.daemon().store().WriteAndWait([&](store::WriteTxn& txn) {
      return engine()
          .deadlines()
          .Complete(txn, deadline::DeadlineKey{kTenant, kind, resource}, dsard_.clock().Now())
          .status();
    }),
                IsOk());
  }

  // Moves the daemon's clock and fires whatever came due.
  void AdvanceTo(absl::Time t) {
    dsard_.clock().SetTime(t);
    ASSERT_THAT(engine().scheduler().RunDue(), IsOk());
  }

  // Reads `n` alerts from the stream (each Read blocks until one arrives).
  std::vector<v1::Alert> Read(grpc::ClientReader<v1::WatchAlertsResponse>& reader, int n) {
    std::vector<v1::Alert> out;
    v1::WatchAlertsResponse response;
    while (static_cast<int>(out.size()) < n && reader.Read(&response)) {
      out.push_back(response.alert());
    }
    return out;
  }

  static std::vector<std::string> Labels(const std::vector<v1::Alert>& alerts) {
    std::vector<std::string> out;
    for (const auto& a : alerts) out.push_back(a.level_label());
    return out;
  }

  TestDsard dsard_;
  std::unique_ptr<v1::DeadlineService::Stub> stub_;
};

TEST_F(DeadlineServiceTest, ReflectionListsTheDeadlineService) {
  auto services = ::dsar::testing::ListServicesByReflection(dsard_.channel());
  ASSERT_THAT(services, IsOk());
  EXPECT_THAT(*services, Contains("dsar.v1.DeadlineService"));
}

TEST_F(DeadlineServiceTest, ListDeadlinesShowsOnlyTheCallersTenant) {
  const absl::Time t0 = dsard_.clock().Now();
  Schedule(kTenant, "privacyRequests/req-0001", deadline::kRequestProcessor, t0);
  Schedule(kTenant, "privacyRequests/req-0002", deadline::kRequestProcessor, t0 - absl::Hours(80));
  Schedule("other-tenant", "privacyRequests/req-0003", deadline::kRequestProcessor, t0);
  v1::ListDeadlinesRequest request;
  v1::ListDeadlinesResponse response;
  auto ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  ASSERT_TRUE(stub_->ListDeadlines(ctx.get(), request, &response).ok());
  ASSERT_EQ(response.deadlines_size(), 2);
  EXPECT_EQ(response.deadlines(0).resource(), "privacyRequests/req-0002");  // due first
  EXPECT_TRUE(response.deadlines(0).overdue());
  EXPECT_EQ(response.deadlines(0).kind(), deadline::kRequestProcessor);
  EXPECT_EQ(response.deadlines(1).due_time().seconds(), absl::ToUnixSeconds(t0 + absl::Hours(72)));
  request.set_overdue_only(true);
  ctx = TestDsard::Context(::dsar::testing::kAuditorToken);
  ASSERT_TRUE(stub_->ListDeadlines(ctx.get(), request, &response).ok());
  ASSERT_EQ(response.deadlines_size(), 1);
  // A service principal may not read deadlines; a bad token is unauthenticated.
  ctx = TestDsard::Context(::dsar::testing::kServiceToken);
  EXPECT_EQ(stub_->ListDeadlines(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ctx = TestDsard::Context("not-a-token");
  EXPECT_EQ(stub_->ListDeadlines(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  request.set_page_token("garbage");
  ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  EXPECT_EQ(stub_->ListDeadlines(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DeadlineServiceTest, SlaReportCountsOnTimeAndOverdue) {
  const absl::Time t0 = dsard_.clock().Now();
  Schedule(kTenant, "privacyRequests/req-0101", deadline::kRequestProcessor, t0);
  Schedule(kTenant, "privacyRequests/req-0102", deadline::kRequestProcessor, t0);
  Schedule(kTenant, "breaches/br-0101", deadline::kBreachControllerNotification,
           t0 - absl::Hours(73));
  dsard_.clock().SetTime(t0 + absl::Hours(5));
  Complete("privacyRequests/req-0101", deadline::kRequestProcessor);
  dsard_.clock().Advance(absl::Minutes(1));  // the window ends (exclusive) at now
  v1::GetSlaReportRequest request;
  v1::GetSlaReportResponse response;
  auto ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  ASSERT_TRUE(stub_->GetSlaReport(ctx.get(), request, &response).ok());
  ASSERT_EQ(response.kinds_size(), 2);
  EXPECT_EQ(response.kinds(0).kind(), deadline::kBreachControllerNotification);
  EXPECT_EQ(response.kinds(0).overdue_count(), 1);
  EXPECT_EQ(response.kinds(1).kind(), deadline::kRequestProcessor);
  EXPECT_EQ(response.kinds(1).completed_count(), 1);
  EXPECT_DOUBLE_EQ(response.kinds(1).on_time_rate(), 1.0);
  EXPECT_EQ(response.kinds(1).open_count(), 1);
  EXPECT_EQ(response.kinds(1).time_to_close_p50().seconds(), 5 * 3600);
  *request.mutable_start_time() = response.end_time();
  *request.mutable_end_time() = response.start_time();
  ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  EXPECT_EQ(stub_->GetSlaReport(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// The SLA entry of (tenant, kind, request type), or an empty one.
v1::KindSla Entry(const v1::GetSlaReportResponse& r, const std::string& tenant,
                  const std::string& kind, const std::string& type = "") {
  for (const auto& k : r.kinds()) {
    if (k.tenant() == tenant && k.kind() == kind && k.request_type() == type) return k;
  }
  return v1::KindSla();
}

TEST_F(DeadlineServiceTest, SlaReportSplitsRequestClocksByRequestType) {
  auto requests = v1::PrivacyRequestService::NewStub(dsard_.channel());
  std::map<v1::PrivacyRequestType, std::string> names;
  int n = 0;
  for (auto type : {v1::PRIVACY_REQUEST_TYPE_ACCESS, v1::PRIVACY_REQUEST_TYPE_PORTABILITY,
                    v1::PRIVACY_REQUEST_TYPE_ERASURE}) {
    v1::CreatePrivacyRequestRequest r;
    r.set_request_id(absl::StrCat("sla-", ++n));
    r.set_type(type);
    auto* id = r.add_identifiers();
    id->set_type(v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID);
    id->set_value(absl::StrCat("cust-sla-", n));
    r.mutable_requester()->set_relation(v1::REQUESTER_RELATION_DATA_SUBJECT);
    r.mutable_requester()->set_channel("web-form");
    v1::CreatePrivacyRequestResponse created;
    auto ctx = TestDsard::Context(::dsar::testing::kServiceToken);
    ASSERT_TRUE(requests->CreatePrivacyRequest(ctx.get(), r, &created).ok());
    names[type] = created.privacy_request().name();
  }
  // The access request is answered (rejected) after 2 hours: both clocks met.
  dsard_.clock().Advance(absl::Hours(2));
  v1::RejectPrivacyRequestRequest reject;
  reject.set_request_id("sla-reject");
  reject.set_name(names[v1::PRIVACY_REQUEST_TYPE_ACCESS]);
  reject.set_reason(v1::REJECTION_REASON_EXCESSIVE);
  reject.set_detail("answered last week");
  v1::RejectPrivacyRequestResponse rejected;
  auto ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  ASSERT_TRUE(requests->RejectPrivacyRequest(ctx.get(), reject, &rejected).ok());
  dsard_.clock().Advance(absl::Minutes(1));

  v1::GetSlaReportRequest request;
  v1::GetSlaReportResponse response;
  ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  ASSERT_TRUE(stub_->GetSlaReport(ctx.get(), request, &response).ok());
  for (const char* kind : {deadline::kRequestProcessor, deadline::kRequestGdpr}) {
    v1::KindSla access = Entry(response, kTenant, kind, "access");
    EXPECT_EQ(access.completed_count(), 1) << kind;
    EXPECT_EQ(access.completed_on_time_count(), 1) << kind;
    EXPECT_EQ(access.open_count(), 0) << kind;
    EXPECT_EQ(access.time_to_close_p50().seconds(), 2 * 3600) << kind;
    EXPECT_EQ(Entry(response, kTenant, kind, "portability").open_count(), 1) << kind;
    EXPECT_EQ(Entry(response, kTenant, kind, "erasure").open_count(), 1) << kind;
    EXPECT_EQ(Entry(response, kTenant, kind, "").open_count(), 0) << kind;
  }
}

TEST_F(DeadlineServiceTest, SlaReportAcrossTenantsForPrincipalsOfAllTenants) {
  const absl::Time t0 = dsard_.clock().Now();
  Schedule(kTenant, "breaches/br-sla-1", deadline::kBreachControllerNotification, t0);
  Schedule("other-tenant", "breaches/br-sla-1", deadline::kBreachControllerNotification,
           t0 - absl::Hours(80));
  v1::GetSlaReportRequest request;
  request.set_all_tenants(true);
  v1::GetSlaReportResponse response;
  auto ctx = TestDsard::Context(::dsar::testing::kAllTenantsDpoToken);
  ctx->AddMetadata("x-dsar-tenant", kTenant);
  ASSERT_TRUE(stub_->GetSlaReport(ctx.get(), request, &response).ok());
  ASSERT_GE(response.kinds_size(), 3);
  EXPECT_EQ(response.kinds(0).tenant(), "*");
  const auto kind = deadline::kBreachControllerNotification;
  EXPECT_EQ(Entry(response, "*", kind).open_count(), 2);
  EXPECT_EQ(Entry(response, "*", kind).overdue_count(), 1);
  EXPECT_EQ(Entry(response, kTenant, kind).open_count(), 1);
  EXPECT_EQ(Entry(response, kTenant, kind).overdue_count(), 0);
  EXPECT_EQ(Entry(response, "other-tenant", kind).overdue_count(), 1);
  // Without all_tenants the same principal sees the tenant it names.
  request.set_all_tenants(false);
  ctx = TestDsard::Context(::dsar::testing::kAllTenantsDpoToken);
  ctx->AddMetadata("x-dsar-tenant", "other-tenant");
  ASSERT_TRUE(stub_->GetSlaReport(ctx.get(), request, &response).ok());
  ASSERT_EQ(response.kinds_size(), 1);
  EXPECT_EQ(response.kinds(0).tenant(), "other-tenant");
  // A principal of one tenant may not ask for all.
  request.set_all_tenants(true);
  ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  EXPECT_EQ(stub_->GetSlaReport(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(DeadlineServiceTest, SlaReportWindowIsCapped) {
  const absl::Time end = dsard_.clock().Now();
  v1::GetSlaReportRequest request;
  SetTimestamp(end, request.mutable_end_time());
  SetTimestamp(end - absl::Hours(24 * 400), request.mutable_start_time());
  v1::GetSlaReportResponse response;
  auto ctx = TestDsard::Context(::dsar::testing::kAuditorToken);
  EXPECT_TRUE(stub_->GetSlaReport(ctx.get(), request, &response).ok());
  SetTimestamp(end - absl::Hours(24 * 400) - absl::Seconds(1), request.mutable_start_time());
  ctx = TestDsard::Context(::dsar::testing::kAuditorToken);
  grpc::Status s = stub_->GetSlaReport(ctx.get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(FromGrpcStatus(s))) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("start_time"));
}

TEST_F(DeadlineServiceTest, WatchAlertsResumesWithExactlyTheMissedAlerts) {
  const absl::Time t0 = dsard_.clock().Now();
  for (int i = 0; i < 3; ++i) {
    Schedule(kTenant, absl::StrCat("privacyRequests/req-02", i), deadline::kRequestProcessor,
             t0 + absl::Minutes(i));
  }
  Schedule("other-tenant", "privacyRequests/req-0299", deadline::kRequestProcessor, t0);

  // First connection: sees the three T-24h alerts live.
  int64_t last_seq = 0;
  std::set<std::string> seen;
  {
    auto ctx = TestDsard::Context(::dsar::testing::kDpoToken);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::WatchAlertsRequest request;
    auto reader = stub_->WatchAlerts(ctx.get(), request);
    AdvanceTo(t0 + absl::Hours(48) + absl::Minutes(5));
    auto first = Read(*reader, 3);
    ASSERT_EQ(first.size(), 3u);
    EXPECT_THAT(Labels(first), ElementsAre("T-24h", "T-24h", "T-24h"));
    for (const auto& a : first) {
      EXPECT_GT(a.sequence(), last_seq);
      last_seq = a.sequence();
      EXPECT_TRUE(seen.insert(a.name()).second);
    }
    ctx->TryCancel();  // the client goes away
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }

  // While disconnected, the T-4h levels fire.
  AdvanceTo(t0 + absl::Hours(68) + absl::Minutes(5));

  // Reconnect after the last sequence seen: exactly the three missed alerts,
  // then the "due" alerts live, nothing twice and nothing of the other tenant.
  auto ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchAlertsRequest request;
  request.set_after_sequence(last_seq);
  auto reader = stub_->WatchAlerts(ctx.get(), request);
  auto missed = Read(*reader, 3);
  ASSERT_EQ(missed.size(), 3u);
  EXPECT_THAT(Labels(missed), ElementsAre("T-4h", "T-4h", "T-4h"));
  AdvanceTo(t0 + absl::Hours(72) + absl::Minutes(5));
  auto live = Read(*reader, 3);
  ASSERT_EQ(live.size(), 3u);
  EXPECT_THAT(Labels(live), ElementsAre("due", "due", "due"));
  for (const auto& batch : {missed, live}) {
    for (const auto& a : batch) {
      EXPECT_GT(a.sequence(), last_seq);
      last_seq = a.sequence();
      EXPECT_TRUE(seen.insert(a.name()).second) << a.name();
      EXPECT_EQ(a.resource().rfind("privacyRequests/req-02", 0), 0u) << a.resource();
    }
  }
  EXPECT_EQ(seen.size(), 9u);
  ctx->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(DeadlineServiceTest, AcknowledgeAlertIsIdempotentAndTenantScoped) {
  const absl::Time t0 = dsard_.clock().Now();
  Schedule(kTenant, "breaches/br-0301", deadline::kBreachControllerNotification,
           t0 - absl::Hours(70));
  AdvanceTo(t0);
  std::string name;
  {
    auto ctx = TestDsard::Context(::dsar::testing::kDpoToken);
    auto reader = stub_->WatchAlerts(ctx.get(), v1::WatchAlertsRequest());
    auto alerts = Read(*reader, 1);
    ASSERT_EQ(alerts.size(), 1u);
    name = alerts[0].name();
    EXPECT_EQ(alerts[0].level(), v1::ALERT_LEVEL_WARNING);
    EXPECT_FALSE(alerts[0].has_acknowledge_time());
    ctx->TryCancel();
    reader->Finish();
  }
  v1::AcknowledgeAlertRequest request;
  request.set_name(name);
  request.set_request_id("ack-0001");
  v1::AcknowledgeAlertResponse first, again;
  auto ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  ASSERT_TRUE(stub_->AcknowledgeAlert(ctx.get(), request, &first).ok());
  EXPECT_EQ(first.alert().acknowledged_by(), "dpo-acme");
  EXPECT_EQ(first.alert().acknowledge_time().seconds(), absl::ToUnixSeconds(t0));
  dsard_.clock().Advance(absl::Hours(1));
  ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  ASSERT_TRUE(stub_->AcknowledgeAlert(ctx.get(), request, &again).ok());
  EXPECT_EQ(again.alert().acknowledge_time().seconds(), absl::ToUnixSeconds(t0));
  // Errors.
  v1::AcknowledgeAlertResponse unused;
  request.set_request_id("ack-0002");
  ctx = TestDsard::Context(::dsar::testing::kOtherTenantToken);
  EXPECT_EQ(stub_->AcknowledgeAlert(ctx.get(), request, &unused).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // a service may not acknowledge
  ctx = TestDsard::Context(::dsar::testing::kAllTenantsDpoToken);
  ctx->AddMetadata("x-dsar-tenant", "other-tenant");
  EXPECT_EQ(stub_->AcknowledgeAlert(ctx.get(), request, &unused).error_code(),
            grpc::StatusCode::NOT_FOUND);  // another tenant's alert
  request.set_name("alerts/alrt_doesnotexist");
  request.set_request_id("ack-0003");
  ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  EXPECT_EQ(stub_->AcknowledgeAlert(ctx.get(), request, &unused).error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.set_name("deadlines/x");
  ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  EXPECT_EQ(stub_->AcknowledgeAlert(ctx.get(), request, &unused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_name(name);
  request.clear_request_id();
  ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  EXPECT_EQ(stub_->AcknowledgeAlert(ctx.get(), request, &unused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DeadlineServiceTest, ShutdownEndsOpenWatchStreamsWithUnavailable) {
  const absl::Time t0 = dsard_.clock().Now();
  Schedule(kTenant, "breaches/br-0401", deadline::kBreachControllerNotification,
           t0 - absl::Hours(70));
  AdvanceTo(t0);
  auto ctx = TestDsard::Context(::dsar::testing::kDpoToken);
  auto reader = stub_->WatchAlerts(ctx.get(), v1::WatchAlertsRequest());
  ASSERT_EQ(Read(*reader, 1).size(), 1u);  // the stream is established
  const absl::Time before = absl::Now();
  std::thread stopper([&] { dsard_.Stop(); });
  v1::WatchAlertsResponse response;
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  stopper.join();
  // Closed at once, not after the 2 s shutdown grace.
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(1500));
}

}  // namespace
}  // namespace dsar
