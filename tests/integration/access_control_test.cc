// Access control through the real gRPC server: the role matrix, tenant
// isolation, refused calls in the audit log, rate and concurrency limits.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "absl/synchronization/notification.h"
#include "dsar/v1/audit.grpc.pb.h"
#include "dsar/v1/consent.grpc.pb.h"
#include "dsar/v1/deadline.grpc.pb.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "lib/audit/refusal_recorder.h"
#include "lib/store/store.h"
#include "services/call_gate.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subject_testing.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::TestDsard;

// One call of `method` with an empty request; returns the status code. An
// allowed call fails later (validation) or streams; only the gate answers
// UNAUTHENTICATED or PERMISSION_DENIED.
grpc::StatusCode CallWithEmptyRequest(const std::shared_ptr<grpc::Channel>& channel,
                                      const std::string& method, const char* token,
                                      const std::string& tenant_header) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + token);
  if (!tenant_header.empty()) ctx.AddMetadata("x-dsar-tenant", tenant_header);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::Slice empty_slice("", 0);
  grpc::ByteBuffer request(&empty_slice, 1);  // an empty (all-default) message
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return status.error_code();
}

class AccessControlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(dsard_.Start(), IsOk()); }

  // Every method of every dsar.v1 service the server offers.
  std::vector<std::string> ServedMethods() {
    std::vector<std::string> methods;
    auto services = ::dsar::testing::ListServicesByReflection(dsard_.channel());
    EXPECT_THAT(services, IsOk());
    for (const auto& name : *services) {
      if (name.rfind("dsar.v1.", 0) != 0) continue;
      const auto* service =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
      if (service == nullptr) continue;
      for (int i = 0; i < service->method_count(); ++i) {
        methods.push_back("/" + name + "/" + service->method(i)->name());
      }
    }
    return methods;
  }

  int64_t Count(const std::string& sql) {
    SQLite::Database db(dsard_.DatabasePath(), SQLite::OPEN_READONLY);
    return db.execAndGet(sql).getInt64();
  }

  // Writes the refusals counted so far (they are written per window) and
  // waits until they are committed.
  void FlushWrites() { ASSERT_THAT(dsard_.daemon().refusals().Flush(), IsOk()); }

  TestDsard dsard_;
};

TEST_F(AccessControlTest, RoleMatrixMatchesTheTableForOwnAndOtherTenant) {
  struct Caller {
    const char* token;
    Role role;
    bool all_tenants;
  };
  const std::vector<Caller> callers = {
      {testing::kServiceToken, Role::kService, false},
      {testing::kDpoToken, Role::kDpo, false},
      {testing::kAuditorToken, Role::kAuditor, false},
      {testing::kConnectorToken, Role::kConnector, false},
      {testing::kAdminToken, Role::kAdmin, false},
      {testing::kAllTenantsDpoToken, Role::kDpo, true},
  };
  const auto methods = ServedMethods();
  ASSERT_GE(methods.size(), 7u);
  int unexpected = 0;
  for (const auto& method : methods) {
    ASSERT_TRUE(MethodPolicy::Default().HasEntry(method)) << method << " has no table entry";
    for (const auto& caller : callers) {
      const bool allowed = MethodPolicy::Default().Allows(method, caller.role);
      // Own tenant (an all-tenants principal must name one).
      grpc::StatusCode own = CallWithEmptyRequest(dsard_.channel(), method, caller.token,
                                                  caller.all_tenants ? "acme-travel" : "");
      EXPECT_NE(own, grpc::StatusCode::UNAUTHENTICATED) << method;
      if (allowed != (own != grpc::StatusCode::PERMISSION_DENIED)) {
        ++unexpected;
        ADD_FAILURE() << method << " as " << RoleName(caller.role) << ": got code " << own;
      }
      // Another tenant: only an all-tenants principal may act for it.
      grpc::StatusCode other =
          CallWithEmptyRequest(dsard_.channel(), method, caller.token, "other-tenant");
      const bool other_allowed = allowed && caller.all_tenants;
      if (other_allowed != (other != grpc::StatusCode::PERMISSION_DENIED)) {
        ++unexpected;
        ADD_FAILURE() << method << " as " << RoleName(caller.role)
                      << " for another tenant: got code " << other;
      }
    }
  }
  EXPECT_EQ(unexpected, 0);
}

// The permissions inside methods: filing a pre-verified ERASURE (identity
// checks skipped) needs kPermissionPreVerifiedErasure, which only the dpo role
// holds; the same filing unverified, or a pre-verified access request, needs
// only the method.
TEST_F(AccessControlTest, PreVerifiedErasureNeedsItsPermission) {
  EXPECT_THAT(MethodPolicy::Default().Permissions(),
              ::testing::ElementsAre(kPermissionPreVerifiedErasure));
  struct Caller {
    const char* token;
    Role role;
    const char* tenant_header;
  };
  const std::vector<Caller> callers = {
      {testing::kServiceToken, Role::kService, ""},
      {testing::kDpoToken, Role::kDpo, ""},
      {testing::kAuditorToken, Role::kAuditor, ""},
      {testing::kConnectorToken, Role::kConnector, ""},
      {testing::kAdminToken, Role::kAdmin, ""},
      {testing::kAllTenantsDpoToken, Role::kDpo, "acme-travel"},
  };
  constexpr char kCreate[] = "/dsar.v1.PrivacyRequestService/CreatePrivacyRequest";
  auto stub = v1::PrivacyRequestService::NewStub(dsard_.channel());
  int n = 0;
  auto file = [&](const Caller& c, v1::PrivacyRequestType type, bool verified) {
    v1::CreatePrivacyRequestRequest r;
    r.set_request_id(absl::StrCat("perm-", ++n));
    r.set_type(type);
    auto* id = r.add_identifiers();
    id->set_type(v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID);
    id->set_value(absl::StrCat("cust-perm-", n));
    r.mutable_requester()->set_relation(v1::REQUESTER_RELATION_DATA_SUBJECT);
    r.mutable_requester()->set_channel("web-form");
    if (verified) {
      r.mutable_verification()->set_method(v1::VERIFICATION_METHOD_AUTHENTICATED_SESSION);
    }
    auto ctx = TestDsard::Context(c.token);
    if (*c.tenant_header) ctx->AddMetadata("x-dsar-tenant", c.tenant_header);
    v1::CreatePrivacyRequestResponse response;
    return stub->CreatePrivacyRequest(ctx.get(), r, &response);
  };
  for (const auto& c : callers) {
    const bool may_call = MethodPolicy::Default().Allows(kCreate, c.role);
    const bool may_skip =
        may_call && MethodPolicy::Default().Grants(kPermissionPreVerifiedErasure, c.role);
    const int64_t before = Count("SELECT count(*) FROM privacy_requests");
    grpc::Status erasure = file(c, v1::PRIVACY_REQUEST_TYPE_ERASURE, true);
    EXPECT_EQ(erasure.ok(), may_skip) << RoleName(c.role) << ": " << erasure.error_message();
    if (!may_skip) {
      EXPECT_EQ(erasure.error_code(), grpc::StatusCode::PERMISSION_DENIED) << RoleName(c.role);
      EXPECT_EQ(Count("SELECT count(*) FROM privacy_requests"), before) << RoleName(c.role);
    }
    EXPECT_EQ(file(c, v1::PRIVACY_REQUEST_TYPE_ERASURE, false).ok(), may_call) << RoleName(c.role);
    EXPECT_EQ(file(c, v1::PRIVACY_REQUEST_TYPE_ACCESS, true).ok(), may_call) << RoleName(c.role);
  }
  // The refusal of the service's pre-verified erasure is audited.
  FlushWrites();
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE outcome = 'PERMISSION_DENIED' AND "
                  "principal = 'svc-booking' AND method LIKE '%CreatePrivacyRequest'"),
            1);
}

TEST_F(AccessControlTest, AllTenantsPrincipalMustNameAConfiguredTenant) {
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), "/dsar.v1.AuditService/VerifyAuditLog",
                                 testing::kAllTenantsDpoToken, ""),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), "/dsar.v1.AuditService/VerifyAuditLog",
                                 testing::kAllTenantsDpoToken, "no-such-tenant"),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AccessControlTest, RefusedCallsAreAuditedAndChangeNothing) {
  const int64_t consents_before = Count("SELECT count(*) FROM consent_events");
  v1::RecordConsentRequest request;
  request.set_request_id("refused-1");
  *request.mutable_subject() = ::dsar::testing::CustomerSubject("subject-0001");
  request.set_purpose("booking");
  auto stub = v1::ConsentService::NewStub(dsard_.channel());
  v1::RecordConsentResponse response;
  grpc::ClientContext no_token;
  EXPECT_EQ(stub->RecordConsent(&no_token, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto wrong = TestDsard::Context("wrong-token");
  EXPECT_EQ(stub->RecordConsent(wrong.get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto auditor = TestDsard::Context(testing::kAuditorToken);
  EXPECT_EQ(stub->RecordConsent(auditor.get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  FlushWrites();
  EXPECT_EQ(Count("SELECT count(*) FROM consent_events"), consents_before);
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE outcome = 'UNAUTHENTICATED' AND "
                  "principal = 'unauthenticated' AND method LIKE '%RecordConsent' AND "
                  "peer = '127.0.0.1' AND count = 1 AND reason IN "
                  "('MISSING_CREDENTIALS', 'INVALID_CREDENTIALS')"),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE outcome = 'PERMISSION_DENIED' AND "
                  "principal = 'auditor-acme' AND tenant_id = 'acme-travel'"),
            1);
}

TEST_F(AccessControlTest, AFloodOfUnauthenticatedCallsIsOneRowPerReasonWhileOthersAreServed) {
  constexpr int kFloodThreads = 4;
  constexpr int kCallsPerThread = 750;
  const int64_t rows_before = Count("SELECT count(*) FROM audit_events");
  std::atomic<int> refused{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < kFloodThreads; ++t) {
    flood.emplace_back([&, t] {
      auto stub = v1::ConsentService::NewStub(dsard_.channel());
      for (int i = 0; i < kCallsPerThread; ++i) {
        v1::RecordConsentRequest request;
        request.set_request_id(absl::StrCat("flood-", t, "-", i));
        v1::RecordConsentResponse response;
        auto ctx = TestDsard::Context(i % 2 ? "wrong-token" : "");
        if (stub->RecordConsent(ctx.get(), request, &response).error_code() ==
            grpc::StatusCode::UNAUTHENTICATED) {
          ++refused;
        }
      }
    });
  }
  // Meanwhile the service's own writes all succeed.
  auto stub = v1::ConsentService::NewStub(dsard_.channel());
  for (int i = 0; i < 50; ++i) {
    v1::RecordConsentRequest r;
    r.set_request_id(absl::StrCat("served-", i));
    *r.mutable_subject() = ::dsar::testing::CustomerSubject(absl::StrCat("subject-", 1000 + i));
    r.set_purpose("marketing");
    r.set_notice_version("v7");
    r.set_language("en");
    r.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
    r.set_channel("web");
    v1::RecordConsentResponse response;
    auto ctx = TestDsard::Context();
    grpc::Status status = stub->RecordConsent(ctx.get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  for (auto& t : flood) t.join();
  EXPECT_EQ(refused.load(), kFloodThreads * kCallsPerThread);
  FlushWrites();
  // "Bearer " alone is malformed, a wrong token invalid: two rows, one per
  // reason, whose counts add up to the flood.
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events") - rows_before, 50 + 2);
  EXPECT_EQ(Count("SELECT sum(count) FROM audit_events WHERE principal = 'unauthenticated' AND "
                  "peer = '127.0.0.1' AND tenant_id = '-'"),
            kFloodThreads * kCallsPerThread);
}

TEST_F(AccessControlTest, UnauthenticatedRefusalsAreSeenByPrincipalsOfAllTenantsOnly) {
  CallWithEmptyRequest(dsard_.channel(), "/dsar.v1.ConsentService/CheckConsent", "wrong-token", "");
  CallWithEmptyRequest(dsard_.channel(), "/dsar.v1.ConsentService/RecordConsent",
                       testing::kAuditorToken, "");
  FlushWrites();
  auto refusals = [&](const char* token, const char* tenant_header) {
    auto audit = v1::AuditService::NewStub(dsard_.channel());
    v1::ListAuditEventsRequest list;
    list.set_page_size(1000);
    v1::ListAuditEventsResponse page;
    auto ctx = TestDsard::Context(token);
    if (*tenant_header) ctx->AddMetadata("x-dsar-tenant", tenant_header);
    grpc::Status status = audit->ListAuditEvents(ctx.get(), list, &page);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> seen;
    for (const auto& e : page.events()) {
      if (e.outcome() != "OK") {
        seen.push_back(absl::StrCat(e.tenant(), " ", e.principal(), " ", e.outcome(), " ",
                                    e.reason(), " ", e.peer(), " ", e.count()));
      }
    }
    return seen;
  };
  const std::string unauthenticated =
      "- unauthenticated UNAUTHENTICATED INVALID_CREDENTIALS 127.0.0.1 1";
  const std::string denied =
      "acme-travel auditor-acme PERMISSION_DENIED ROLE_NOT_ALLOWED 127.0.0.1 1";
  EXPECT_THAT(refusals(testing::kAuditorToken, ""), ::testing::ElementsAre(denied));
  // One window's refusals are written together (in the order first seen);
  // the test does not depend on that order.
  EXPECT_THAT(refusals(testing::kAllTenantsDpoToken, "acme-travel"),
              ::testing::UnorderedElementsAre(unauthenticated, denied));
  EXPECT_THAT(refusals(testing::kAllTenantsDpoToken, "other-tenant"),
              ::testing::ElementsAre(unauthenticated));
}

TEST_F(AccessControlTest, VerifyAuditLogIsIncrementalAndFullOnlyForPrincipalsOfAllTenants) {
  auto audit = v1::AuditService::NewStub(dsard_.channel());
  auto verify = [&](const char* token, bool full, v1::VerifyAuditLogResponse* out) {
    auto ctx = TestDsard::Context(token);
    if (std::string(token) == testing::kAllTenantsDpoToken) {
      ctx->AddMetadata("x-dsar-tenant", "acme-travel");
    }
    v1::VerifyAuditLogRequest request;
    request.set_full(full);
    return audit->VerifyAuditLog(ctx.get(), request, out);
  };
  v1::VerifyAuditLogResponse first;
  ASSERT_TRUE(verify(testing::kAuditorToken, false, &first).ok());
  EXPECT_TRUE(first.intact());
  EXPECT_EQ(first.from_seq(), 1);  // the first pass after start is full
  CallWithEmptyRequest(dsard_.channel(), "/dsar.v1.ConsentService/RecordConsent",
                       testing::kAuditorToken, "");
  FlushWrites();  // one refusal row
  v1::VerifyAuditLogResponse next;
  ASSERT_TRUE(verify(testing::kAuditorToken, false, &next).ok());
  EXPECT_TRUE(next.intact());
  EXPECT_EQ(next.from_seq(), first.rows_checked() + 1);
  EXPECT_EQ(next.rows_checked(), 1);
  v1::VerifyAuditLogResponse denied;
  grpc::Status refused = verify(testing::kAuditorToken, true, &denied);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("principals of all tenants"));
  v1::VerifyAuditLogResponse full;
  ASSERT_TRUE(verify(testing::kAllTenantsDpoToken, true, &full).ok());
  EXPECT_TRUE(full.intact());
  EXPECT_EQ(full.from_seq(), 1);
  EXPECT_EQ(full.rows_checked(), first.rows_checked() + 1);
  EXPECT_EQ(full.head_hash(), next.head_hash());
}

TEST_F(AccessControlTest, AuditServiceListsOwnTenantAndVerifiesTheChain) {
  // Make some audited changes.
  auto consent = v1::ConsentService::NewStub(dsard_.channel());
  for (int i = 0; i < 3; ++i) {
    v1::RecordConsentRequest r;
    r.set_request_id("audit-" + std::to_string(i));
    *r.mutable_subject() = ::dsar::testing::CustomerSubject("subject-000" + std::to_string(i));
    r.set_purpose("marketing");
    r.set_notice_version("v7");
    r.set_language("en");
    r.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
    r.set_channel("web");
    v1::RecordConsentResponse resp;
    auto ctx = TestDsard::Context();
    ASSERT_TRUE(consent->RecordConsent(ctx.get(), r, &resp).ok());
  }
  auto audit = v1::AuditService::NewStub(dsard_.channel());
  v1::ListAuditEventsRequest list;
  list.set_page_size(2);
  v1::ListAuditEventsResponse page;
  auto ctx = TestDsard::Context(testing::kAuditorToken);
  ASSERT_TRUE(audit->ListAuditEvents(ctx.get(), list, &page).ok());
  ASSERT_EQ(page.events_size(), 2);
  EXPECT_EQ(page.events(0).tenant(), "acme-travel");
  EXPECT_EQ(page.events(0).principal(), "svc-booking");
  list.set_page_token(page.next_page_token());
  v1::ListAuditEventsResponse page2;
  auto ctx2 = TestDsard::Context(testing::kAuditorToken);
  ASSERT_TRUE(audit->ListAuditEvents(ctx2.get(), list, &page2).ok());
  ASSERT_GE(page2.events_size(), 1);
  EXPECT_GT(page2.events(0).seq(), page.events(1).seq());

  v1::VerifyAuditLogResponse verify;
  auto ctx3 = TestDsard::Context(testing::kAuditorToken);
  ASSERT_TRUE(audit->VerifyAuditLog(ctx3.get(), {}, &verify).ok());
  EXPECT_TRUE(verify.intact());
  EXPECT_GE(verify.rows_checked(), 3);

  // Tamper with row 2 in the file: Verify names it.
  dsard_.Stop();
  {
    SQLite::Database db(dsard_.DatabasePath(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE audit_events SET resource = 'consents/forged' WHERE seq = 2");
  }
  ASSERT_THAT(dsard_.Start(), IsOk());
  audit = v1::AuditService::NewStub(dsard_.channel());
  v1::VerifyAuditLogResponse broken;
  auto ctx4 = TestDsard::Context(testing::kAuditorToken);
  ASSERT_TRUE(audit->VerifyAuditLog(ctx4.get(), {}, &broken).ok());
  EXPECT_FALSE(broken.intact());
  EXPECT_EQ(broken.first_bad_seq(), 2);
}

class RateLimitTest : public ::testing::Test {
 protected:
  TestDsard dsard_{"limits { per_principal_rps: 2 per_principal_burst: 3 }\n"};
};

TEST_F(RateLimitTest, PrincipalBeyondItsRateGetsResourceExhaustedUntilTimePasses) {
  ASSERT_THAT(dsard_.Start(), IsOk());
  const std::string method = "/dsar.v1.AuditService/VerifyAuditLog";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), method, testing::kDpoToken, ""),
              grpc::StatusCode::OK);
  }
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), method, testing::kDpoToken, ""),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Another principal has its own bucket.
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), method, testing::kAuditorToken, ""),
            grpc::StatusCode::OK);
  dsard_.clock().Advance(absl::Seconds(1));
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), method, testing::kDpoToken, ""),
            grpc::StatusCode::OK);
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), method, testing::kDpoToken, ""),
            grpc::StatusCode::OK);
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), method, testing::kDpoToken, ""),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

class OverloadTest : public ::testing::Test {
 protected:
  static constexpr int kLimit = 8;
  TestDsard dsard_{"limits { max_concurrent_calls: 8 }\n"};
};

TEST_F(OverloadTest, ExcessCallsAreShedAtOnceAndAdmittedCallsComplete) {
  ASSERT_THAT(dsard_.Start(), IsOk());
  // Hold the writer so that admitted RecordConsent calls stay in flight.
  absl::Notification release, writer_held;
  dsard_.daemon().store().Write(
      [&](store::WriteTxn&) {
        writer_held.Notify();
        release.WaitForNotification();
        return absl::OkStatus();
      },
      [](absl::Status) {});
  writer_held.WaitForNotification();

  constexpr int kCalls = 4 * kLimit;
  std::atomic<int> shed{0}, ok{0}, other{0};
  absl::Notification all_shed;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      auto stub = v1::ConsentService::NewStub(dsard_.channel());
      v1::RecordConsentRequest r;
      r.set_request_id("load-" + std::to_string(i));
      *r.mutable_subject() = ::dsar::testing::CustomerSubject("subject-" + std::to_string(i));
      r.set_purpose("marketing");
      r.set_notice_version("v7");
      r.set_language("en");
      r.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
      r.set_channel("web");
      v1::RecordConsentResponse resp;
      auto ctx = TestDsard::Context();
      ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      grpc::Status s = stub->RecordConsent(ctx.get(), r, &resp);
      if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        if (++shed == kCalls - kLimit) all_shed.Notify();
      } else if (s.ok()) {
        ++ok;
      } else {
        ++other;
      }
    });
  }
  // The excess is refused while the admitted calls are still held.
  EXPECT_TRUE(all_shed.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(dsard_.daemon().port() > 0, true);
  release.Notify();
  for (auto& t : callers) t.join();
  EXPECT_EQ(shed.load(), kCalls - kLimit);
  EXPECT_EQ(ok.load(), kLimit);
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
}  // namespace dsar

namespace dsar {
namespace {

// Limits per principal, counted apart for unary calls and streams (issue
// 24: one auditor's 1,500 WatchAlerts streams made every DPO call fail).
class PerPrincipalLimitTest : public ::testing::Test {
 protected:
  static constexpr int kCalls = 4;
  static constexpr int kStreams = 3;
  TestDsard dsard_{
      "limits { per_principal_max_concurrent_calls: 4 per_principal_max_open_streams: 3 }\n"};

  // Waits (bounded) until the gate holds `n` open streams.
  bool WaitForOpenStreams(int n) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (dsard_.daemon().call_gate().open_streams() != n) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return true;
  }

  v1::RecordConsentRequest Consent(const std::string& id) {
    v1::RecordConsentRequest r;
    r.set_request_id(id);
    *r.mutable_subject() = ::dsar::testing::CustomerSubject("subject-" + id);
    r.set_purpose("marketing");
    r.set_notice_version("v7");
    r.set_language("en");
    r.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
    r.set_channel("web");
    return r;
  }
};

TEST_F(PerPrincipalLimitTest, OnePrincipalsStreamsNeitherStarveOthersNorItsOwnCalls) {
  ASSERT_THAT(dsard_.Start(), IsOk());
  auto deadlines = v1::DeadlineService::NewStub(dsard_.channel());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchAlertsResponse>>> streams;
  auto open = [&](const char* token) {
    contexts.push_back(TestDsard::Context(token));
    streams.push_back(deadlines->WatchAlerts(contexts.back().get(), v1::WatchAlertsRequest()));
  };
  for (int i = 0; i < kStreams; ++i) open(testing::kAuditorToken);
  ASSERT_TRUE(WaitForOpenStreams(kStreams));
  // The auditor's next stream is refused at once...
  open(testing::kAuditorToken);
  v1::WatchAlertsResponse alert;
  EXPECT_FALSE(streams.back()->Read(&alert));
  grpc::Status refused = streams.back()->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("open streams"));
  streams.pop_back();
  contexts.pop_back();
  EXPECT_EQ(dsard_.daemon().call_gate().open_streams(), kStreams);
  // ...while its unary calls, the DPO's calls and the DPO's streams are served.
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), "/dsar.v1.DeadlineService/ListDeadlines",
                                 testing::kAuditorToken, ""),
            grpc::StatusCode::OK);
  EXPECT_EQ(CallWithEmptyRequest(dsard_.channel(), "/dsar.v1.DeadlineService/ListDeadlines",
                                 testing::kDpoToken, ""),
            grpc::StatusCode::OK);
  open(testing::kDpoToken);
  ASSERT_TRUE(WaitForOpenStreams(kStreams + 1));
  // A stream that ends gives its place back.
  contexts.front()->TryCancel();
  EXPECT_EQ(streams.front()->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(WaitForOpenStreams(kStreams));
  open(testing::kAuditorToken);
  ASSERT_TRUE(WaitForOpenStreams(kStreams + 1));
  for (size_t i = 1; i < contexts.size(); ++i) {
    contexts[i]->TryCancel();
    streams[i]->Finish();
  }
  EXPECT_TRUE(WaitForOpenStreams(0));
}

TEST_F(PerPrincipalLimitTest, APrincipalBeyondItsCallsInFlightIsShedWhileAnotherIsAdmitted) {
  ASSERT_THAT(dsard_.Start(), IsOk());
  // Hold the writer so that admitted RecordConsent calls stay in flight.
  absl::Notification release, writer_held;
  dsard_.daemon().store().Write(
      [&](store::WriteTxn&) {
        writer_held.Notify();
        release.WaitForNotification();
        return absl::OkStatus();
      },
      [](absl::Status) {});
  writer_held.WaitForNotification();
  constexpr int kTries = 3 * kCalls;
  std::atomic<int> shed{0}, ok{0}, other{0};
  absl::Notification all_shed;
  std::vector<std::thread> callers;
  for (int i = 0; i < kTries; ++i) {
    callers.emplace_back([&, i] {
      auto stub = v1::ConsentService::NewStub(dsard_.channel());
      v1::RecordConsentResponse response;
      auto ctx = TestDsard::Context();
      ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      grpc::Status s = stub->RecordConsent(ctx.get(), Consent(absl::StrCat("svc-", i)), &response);
      if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        EXPECT_THAT(s.error_message(), ::testing::HasSubstr("calls in flight"));
        if (++shed == kTries - kCalls) all_shed.Notify();
      } else if (s.ok()) {
        ++ok;
      } else {
        ++other;
      }
    });
  }
  EXPECT_TRUE(all_shed.WaitForNotificationWithTimeout(absl::Seconds(20)));
  // The DPO is admitted while the service is at its limit.
  std::atomic<bool> dpo_ok{false};
  std::thread dpo([&] {
    auto stub = v1::ConsentService::NewStub(dsard_.channel());
    v1::RecordConsentResponse response;
    auto ctx = TestDsard::Context(testing::kDpoToken);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    dpo_ok = stub->RecordConsent(ctx.get(), Consent("dpo-1"), &response).ok();
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (dsard_.daemon().call_gate().in_flight() < kCalls + 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_EQ(dsard_.daemon().call_gate().in_flight(), kCalls + 1);
  release.Notify();
  for (auto& t : callers) t.join();
  dpo.join();
  EXPECT_TRUE(dpo_ok.load());
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_EQ(shed.load(), kTries - kCalls);
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
}  // namespace dsar

namespace dsar {
namespace {

// server { max_concurrent_streams_per_connection }: HTTP/2's own cap, below
// the principal's limits, so one connection cannot hold more.
TEST(ConnectionLimitTest, AConnectionHoldsAtMostItsStreamsWhileOtherConnectionsAreServed) {
  TestDsard dsard("server { max_concurrent_streams_per_connection: 2 }\n");
  ASSERT_THAT(dsard.Start(), IsOk());
  auto stub = v1::DeadlineService::NewStub(dsard.channel());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchAlertsResponse>>> streams;
  for (const char* token : {testing::kAuditorToken, testing::kDpoToken}) {
    contexts.push_back(TestDsard::Context(token));
    streams.push_back(stub->WatchAlerts(contexts.back().get(), v1::WatchAlertsRequest()));
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (dsard.daemon().call_gate().open_streams() != 2 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_EQ(dsard.daemon().call_gate().open_streams(), 2);
  auto call = [](const std::shared_ptr<grpc::Channel>& channel) {
    auto ctx = TestDsard::Context(testing::kDpoToken);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    v1::ListDeadlinesResponse response;
    return v1::DeadlineService::NewStub(channel)
        ->ListDeadlines(ctx.get(), v1::ListDeadlinesRequest(), &response)
        .error_code();
  };
  // A third stream on the full connection waits for a free one...
  EXPECT_EQ(call(dsard.channel()), grpc::StatusCode::DEADLINE_EXCEEDED);
  // ...another connection is served at once.
  grpc::ChannelArguments args;
  args.SetInt("dsar.test.connection", 2);
  EXPECT_EQ(call(grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", dsard.daemon().port()),
                                           grpc::InsecureChannelCredentials(), args)),
            grpc::StatusCode::OK);
  for (size_t i = 0; i < contexts.size(); ++i) {
    contexts[i]->TryCancel();
    streams[i]->Finish();
  }
}

}  // namespace
}  // namespace dsar
