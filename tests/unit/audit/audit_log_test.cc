#include "lib/audit/audit_log.h"

#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::audit {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int kEvents = 10;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    for (int i = 1; i <= kEvents; ++i) {
      CallContext ctx;
      ctx.tenant = i % 2 ? "tenant-a" : "tenant-b";
      ctx.principal = "svc-test";
      ctx.role = Role::kService;
      ctx.method = "/dsar.v1.ConsentService/RecordConsent";
      ctx.idempotency_key = IdempotencyKey(absl::StrCat("req-", i));
      clock_.Advance(absl::Seconds(1));
      ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
        return Append(txn, ctx, absl::StrCat("consents/c", i), "OK", clock_.Now());
      }),
                  IsOk());
    }
  }

  void Open() {
    auto store = ::dsar::testing::OpenKvStore(dir_.File("audit.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  // Closes the store, runs `sql` directly on the file, reopens, verifies.
  VerifyResult TamperAndVerify(const std::string& sql) {
    store_.reset();
    {
      SQLite::Database db(dir_.File("audit.db"), SQLite::OPEN_READWRITE);
      db.exec(sql);
    }
    Open();
    auto result = Verify(*store_);
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : VerifyResult{};
  }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(AuditLogTest, IntactChainVerifies) {
  auto result = Verify(*store_);
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->ok) << result->reason;
  EXPECT_EQ(result->rows_checked, kEvents);
  EXPECT_EQ(result->head_hash.size(), 64u);
}

TEST_F(AuditLogTest, ListReturnsOnlyTheTenantsEventsInOrderWithPaging) {
  auto page = List(*store_, {"tenant-a", 0, 3});
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].seq, 1);
  EXPECT_EQ((*page)[1].seq, 3);
  EXPECT_EQ((*page)[2].resource, "consents/c5");
  auto next = List(*store_, {"tenant-a", (*page)[2].seq, 3});
  ASSERT_THAT(next, IsOk());
  ASSERT_EQ(next->size(), 2u);
  for (const auto& e : *next) EXPECT_EQ(e.tenant, "tenant-a");
  EXPECT_EQ((*next)[1].seq, 9);
}

TEST_F(AuditLogTest, PagesCarryTheLastSequenceAsTokenAndBadOnesAreNamed) {
  auto first = ListPage(*store_, "tenant-a", 3, "");
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->events.size(), 3u);
  EXPECT_EQ(first->next_page_token, "5");
  auto last = ListPage(*store_, "tenant-a", 3, first->next_page_token);
  ASSERT_THAT(last, IsOk());
  ASSERT_EQ(last->events.size(), 2u);
  EXPECT_EQ(last->events[0].seq, 7);
  EXPECT_EQ(last->next_page_token, "");             // fewer than a page: the end
  auto all = ListPage(*store_, "tenant-a", 0, "");  // 0: the default page of 100
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->events.size(), 5u);
  for (auto [size, token, field] :
       std::vector<std::tuple<int, std::string, std::string>>{{1001, "", "page_size"},
                                                              {-1, "", "page_size"},
                                                              {10, "x", "page_token"},
                                                              {10, "-3", "page_token"}}) {
    auto bad = ListPage(*store_, "tenant-a", size, token);
    EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument)) << size << token;
    ASSERT_EQ(FieldViolationsOf(bad.status()).size(), 1u);
    EXPECT_EQ(FieldViolationsOf(bad.status())[0].field, field);
  }
}

TEST_F(AuditLogTest, ACoalescedRefusalIsChainedWithPeerCountAndReason) {
  CallContext ctx;
  ctx.tenant = "-";
  ctx.principal = "unauthenticated";
  ctx.method = "/dsar.v1.BreachService/ReportBreach";
  ctx.idempotency_key = IdempotencyKey("req-refused");
  const absl::Time first = clock_.Now() + absl::Seconds(1);
  clock_.Advance(absl::Seconds(5));
  PendingEvent event{&ctx, "-", "UNAUTHENTICATED"};
  event.peer = "192.0.2.7";
  event.count = 4711;
  event.reason = "INVALID_CREDENTIALS";
  event.time = first;
  ASSERT_THAT(store_->WriteAndWait(
                  [&](store::WriteTxn& txn) { return AppendBatch(txn, {event}, clock_.Now()); }),
              IsOk());
  auto events = List(*store_, {"-", 0, 10});
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 1u);
  const AuditEvent& e = (*events)[0];
  EXPECT_EQ(e.seq, kEvents + 1);
  EXPECT_EQ(e.outcome, "UNAUTHENTICATED");
  EXPECT_EQ(e.peer, "192.0.2.7");
  EXPECT_EQ(e.count, 4711);
  EXPECT_EQ(e.reason, "INVALID_CREDENTIALS");
  EXPECT_EQ(e.time, first);
  EXPECT_EQ(e.request_id, "req-refused");
  auto verified = Verify(*store_);
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->reason;
  // The count is part of the hash: lowering it breaks the chain there.
  auto tampered =
      TamperAndVerify(absl::StrCat("UPDATE audit_events SET count = 1 WHERE seq = ", kEvents + 1));
  EXPECT_FALSE(tampered.ok);
  EXPECT_EQ(tampered.first_bad_seq, kEvents + 1);
}

TEST_F(AuditLogTest, UnattributedEventsAreListedOnlyWhenAsked) {
  CallContext ctx;
  ctx.tenant = "-";
  ctx.principal = "unauthenticated";
  ctx.method = "/dsar.v1.ConsentService/RecordConsent";
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
    return Append(txn, ctx, "-", "UNAUTHENTICATED", clock_.Now());
  }),
              IsOk());
  auto own = ListPage(*store_, "tenant-a", 100, "");
  ASSERT_THAT(own, IsOk());
  EXPECT_EQ(own->events.size(), 5u);
  auto with = ListPage(*store_, "tenant-a", 100, "", /*with_unattributed=*/true);
  ASSERT_THAT(with, IsOk());
  ASSERT_EQ(with->events.size(), 6u);
  EXPECT_EQ(with->events.back().tenant, "-");
  // Pages of the merged listing stay in seq order.
  auto first = ListPage(*store_, "tenant-a", 4, "", true);
  ASSERT_THAT(first, IsOk());
  auto second = ListPage(*store_, "tenant-a", 4, first->next_page_token, true);
  ASSERT_THAT(second, IsOk());
  ASSERT_EQ(second->events.size(), 2u);
  EXPECT_GT(second->events[0].seq, first->events.back().seq);
  EXPECT_EQ(second->events[1].tenant, "-");
}

TEST_F(AuditLogTest, EveryRowIsChainedToThePrevious) {
  auto events = List(*store_, {"tenant-a", 0, 100});
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ((*events)[0].prev_hash, std::string(64, '0'));
  for (const auto& e : *events) EXPECT_EQ(ComputeHash(e), e.hash);
}

TEST_F(AuditLogTest, AlteringTheFirstRowFailsAtThatRow) {
  auto result =
      TamperAndVerify("UPDATE audit_events SET outcome = 'PERMISSION_DENIED' WHERE seq = 1");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 1);
}

TEST_F(AuditLogTest, AlteringAMiddleRowFailsAtThatRow) {
  auto result = TamperAndVerify("UPDATE audit_events SET principal = 'intruder' WHERE seq = 5");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 5);
}

TEST_F(AuditLogTest, AlteringTheLastRowFailsAtThatRow) {
  auto result = TamperAndVerify(
      absl::StrCat("UPDATE audit_events SET time_us = time_us + 1 WHERE seq = ", kEvents));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, kEvents);
}

TEST_F(AuditLogTest, RehashingAnAlteredRowFailsAtTheNextRow) {
  // An intruder who recomputes row 4's hash still breaks row 5's link.
  store_.reset();
  {
    SQLite::Database db(dir_.File("audit.db"), SQLite::OPEN_READWRITE);
    db.exec("UPDATE audit_events SET resource = 'consents/other' WHERE seq = 4");
  }
  Open();
  auto events = List(*store_, {"tenant-b", 0, 100});
  ASSERT_THAT(events, IsOk());
  AuditEvent row4 = (*events)[1];
  ASSERT_EQ(row4.seq, 4);
  std::string new_hash = ComputeHash(row4);
  auto result = TamperAndVerify(
      absl::StrCat("UPDATE audit_events SET hash = '", new_hash, "' WHERE seq = 4"));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 5);
}

TEST_F(AuditLogTest, DeletingAMiddleRowFailsAtThatRow) {
  auto result = TamperAndVerify("DELETE FROM audit_events WHERE seq = 6");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 6);
  EXPECT_THAT(result.reason, HasSubstr("missing"));
}

TEST_F(AuditLogTest, DeletingTheFirstRowFailsAtThatRow) {
  auto result = TamperAndVerify("DELETE FROM audit_events WHERE seq = 1");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 1);
}

TEST_F(AuditLogTest, DeletingTheLastRowFailsAtThatRow) {
  auto result = TamperAndVerify(absl::StrCat("DELETE FROM audit_events WHERE seq = ", kEvents));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, kEvents);
}

TEST_F(AuditLogTest, ReorderingTwoRowsFailsAtTheFirstOfThem) {
  // Swap the content of rows 3 and 7, keeping their sequence numbers.
  auto result = TamperAndVerify(R"sql(
    CREATE TEMP TABLE saved AS SELECT * FROM audit_events WHERE seq IN (3, 7);
    UPDATE audit_events SET
      (tenant_id, time_us, principal, role, method, resource, outcome, request_id,
       prev_hash, hash) =
      (SELECT tenant_id, time_us, principal, role, method, resource, outcome, request_id,
              prev_hash, hash FROM saved WHERE saved.seq = 10 - audit_events.seq)
    WHERE seq IN (3, 7);
  )sql");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 3);
}

}  // namespace
}  // namespace dsar::audit
