#include "lib/audit/refusal_recorder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/core/clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::audit {
namespace {

using ::dsar::testing::IsOk;

Refusal Unauthenticated(std::string peer, std::string reason = "INVALID_CREDENTIALS") {
  Refusal r;
  r.peer = std::move(peer);
  r.principal = kUnauthenticated;
  r.tenant = kNoTenant;
  r.code = "UNAUTHENTICATED";
  r.reason = std::move(reason);
  r.method = "/dsar.v1.ConsentService/RecordConsent";
  return r;
}

class RefusalRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ::dsar::testing::OpenKvStore(dir_.File("audit.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  std::vector<AuditEvent> Rows() {
    auto page = ListPage(*store_, "acme-travel", 1000, "", /*with_unattributed=*/true);
    EXPECT_THAT(page, IsOk());
    return page.ok() ? page->events : std::vector<AuditEvent>{};
  }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1767225600)};
  std::unique_ptr<store::Store> store_;
};

TEST_F(RefusalRecorderTest, ManyRefusalsOfOneCallerAreOneRowWithTheirCount) {
  RefusalRecorder recorder(store_.get(), &clock_, {absl::Seconds(60), 100});
  for (int i = 0; i < 10000; ++i) {
    Refusal r = Unauthenticated("192.0.2.1");
    r.request_id = absl::StrCat("req-", i);
    recorder.Record(r);
  }
  EXPECT_TRUE(Rows().empty());  // nothing written before the window ends
  ASSERT_THAT(recorder.Flush(), IsOk());
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 10000);
  EXPECT_EQ(rows[0].peer, "192.0.2.1");
  EXPECT_EQ(rows[0].principal, "unauthenticated");
  EXPECT_EQ(rows[0].tenant, "-");
  EXPECT_EQ(rows[0].outcome, "UNAUTHENTICATED");
  EXPECT_EQ(rows[0].reason, "INVALID_CREDENTIALS");
  EXPECT_EQ(rows[0].method, "/dsar.v1.ConsentService/RecordConsent");
  EXPECT_EQ(rows[0].request_id, "req-0");
  EXPECT_EQ(recorder.recorded(), 10000);
}

TEST_F(RefusalRecorderTest, KeysArePeerPrincipalTenantCodeAndReason) {
  RefusalRecorder recorder(store_.get(), &clock_);
  recorder.Record(Unauthenticated("192.0.2.1"));
  recorder.Record(Unauthenticated("192.0.2.2"));
  recorder.Record(Unauthenticated("192.0.2.1", "MISSING_CREDENTIALS"));
  Refusal denied = Unauthenticated("192.0.2.1");
  denied.principal = "auditor-acme";
  denied.role = Role::kAuditor;
  denied.tenant = "acme-travel";
  denied.code = "PERMISSION_DENIED";
  denied.reason = "ROLE_NOT_ALLOWED";
  recorder.Record(denied);
  denied.method = "/dsar.v1.BreachService/ReportBreach";
  recorder.Record(denied);  // same key, another method: "*"
  ASSERT_THAT(recorder.Flush(), IsOk());
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 4u);
  int denied_rows = 0;
  for (const auto& row : rows) {
    if (row.outcome != "PERMISSION_DENIED") continue;
    ++denied_rows;
    EXPECT_EQ(row.tenant, "acme-travel");
    EXPECT_EQ(row.role, "auditor");
    EXPECT_EQ(row.count, 2);
    EXPECT_EQ(row.method, "*");
  }
  EXPECT_EQ(denied_rows, 1);
  auto verified = Verify(*store_);
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->reason;
}

TEST_F(RefusalRecorderTest, ANewWindowWritesThePreviousOnesRows) {
  RefusalRecorder recorder(store_.get(), &clock_, {absl::Seconds(60), 100});
  recorder.Record(Unauthenticated("192.0.2.1"));
  clock_.Advance(absl::Seconds(59));
  recorder.Record(Unauthenticated("192.0.2.1"));
  EXPECT_GT(recorder.FlushIfDue(), absl::ZeroDuration());
  clock_.Advance(absl::Seconds(1));
  recorder.Record(Unauthenticated("192.0.2.1"));  // the window is over: queues its row
  ASSERT_THAT(store_->WriteAndWait([](store::WriteTxn&) { return absl::OkStatus(); }), IsOk());
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 2);
  clock_.Advance(absl::Seconds(60));
  recorder.FlushIfDue();
  ASSERT_THAT(store_->WriteAndWait([](store::WriteTxn&) { return absl::OkStatus(); }), IsOk());
  rows = Rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].count, 1);
}

TEST_F(RefusalRecorderTest, ManyPeersBeyondTheKeyLimitShareOneRow) {
  RefusalRecorder recorder(store_.get(), &clock_, {absl::Seconds(60), 10});
  for (int i = 0; i < 5000; ++i)
    recorder.Record(Unauthenticated(absl::StrCat("10.0.", i / 250, ".", i % 250)));
  ASSERT_THAT(recorder.Flush(), IsOk());
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 11u);
  int64_t total = 0;
  for (const auto& row : rows) total += row.count;
  EXPECT_EQ(total, 5000);
  EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [](const AuditEvent& e) {
    return e.peer == "*" && e.principal == "*" && e.count == 4990;
  }));
}

TEST_F(RefusalRecorderTest, StoredRequestIdsArePrintableAndBounded) {
  RefusalRecorder recorder(store_.get(), &clock_);
  Refusal r = Unauthenticated("192.0.2.1");
  r.request_id = std::string("evil\x1b[2J\n\r", 10) + std::string(500, 'x');
  recorder.Record(r);
  ASSERT_THAT(recorder.Flush(), IsOk());
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].request_id.size(), 128u);
  EXPECT_EQ(rows[0].request_id.substr(0, 10), "evil?[2J??");
}

TEST(PeerAddressTest, KeepsTheAddressWithoutThePort) {
  EXPECT_EQ(PeerAddress("ipv4:192.0.2.1:50000"), "192.0.2.1");
  EXPECT_EQ(PeerAddress("ipv6:[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(PeerAddress("unix:/run/dsar.sock"), "unix");
  EXPECT_EQ(PeerAddress(""), "unknown");
  EXPECT_EQ(PeerAddress(std::string("odd\x01", 4)), "odd?");
}

}  // namespace
}  // namespace dsar::audit
