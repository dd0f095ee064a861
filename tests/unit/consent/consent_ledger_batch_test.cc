// ConsentLedger batches records that arrive while the store's writer is busy
// into one write. These tests hold the writer so that a known set of records
// lands in one batch, and check that each answers as it would alone.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "lib/audit/audit_log.h"
#include "lib/consent/consent_ledger.h"
#include "lib/consent/consent_state_index.h"
#include "lib/consent/purpose_catalog.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/clock.h"
#include "lib/store/migrations.h"
#include "tests/testing/consent_testing.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::consent {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-unit-test-only";

class ConsentLedgerBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* tenant = config_.add_tenants();
    tenant->set_id("tenant-a");
    auto* purpose = tenant->add_purposes();
    purpose->set_name("booking");
    purpose->set_current_notice_version("2026-03");
    catalog_ = std::make_unique<PurposeCatalog>(config_);
    auto keyer = SubjectKeyer::FromKey(kKey, {"tenant-a"});
    ASSERT_THAT(keyer, IsOk());
    keyer_ = std::move(*keyer);
    auto store = testing::OpenKvStore(dir_.File("dsar.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    index_ = std::make_unique<ConsentStateIndex>(1000);
    ledger_ = std::make_unique<ConsentLedger>(store_.get(), &clock_, keyer_.get(), catalog_.get(),
                                              nullptr, index_.get());
  }
  void TearDown() override { store_->Close(); }

  CallContext Ctx(const std::string& request_id) {
    CallContext ctx;
    ctx.principal = "svc-booking";
    ctx.role = Role::kService;
    ctx.tenant = "tenant-a";
    ctx.method = "/dsar.v1.ConsentService/RecordConsent";
    ctx.idempotency_key = IdempotencyKey(request_id);
    return ctx;
  }
  RecordConsentInput Input(const std::string& subject, const std::string& channel = "web") {
    RecordConsentInput in;
    in.subject = {IdentifierType::kCustomerId, subject};
    in.purpose = "booking";
    in.notice_version = "2026-03";
    in.language = "sv-SE";
    in.lawful_basis = LawfulBasis::kConsent;
    in.channel = channel;
    return in;
  }

  void HoldWriter(absl::Notification& release, absl::Notification& held_done) {
    testing::HoldWriter(*store_, release, held_done);
  }
  // Runs `start(done)` and waits for the receipt it delivers.
  template <typename Start>
  static absl::StatusOr<ConsentReceipt> Await(Start start) {
    return testing::AwaitAnswer<ConsentReceipt>(std::move(start));
  }
  absl::StatusOr<ConsentReceipt> RecordAndWait(const CallContext& ctx, RecordConsentInput input) {
    return Await([&](ConsentLedger::ReceiptDone done) {
      ledger_->Record(ctx, std::move(input), std::move(done));
    });
  }
  absl::StatusOr<ConsentReceipt> WithdrawAndWait(const std::string& request_id,
                                                 const std::string& subject) {
    CallContext ctx = Ctx(request_id);
    ctx.method = "/dsar.v1.ConsentService/WithdrawConsent";
    WithdrawConsentInput in;
    in.subject = {IdentifierType::kCustomerId, subject};
    in.purpose = "booking";
    in.channel = "web";
    return Await([&](ConsentLedger::ReceiptDone done) {
      ledger_->Withdraw(ctx, std::move(in), std::move(done));
    });
  }

  int64_t Count(const std::string& table) {
    return testing::ReadNumber(*store_, "SELECT count(*) FROM " + table);
  }

  config::v1::DsardConfig config_;
  FakeClock clock_{absl::FromUnixSeconds(1780000000)};
  std::unique_ptr<PurposeCatalog> catalog_;
  std::unique_ptr<SubjectKeyer> keyer_;
  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ConsentStateIndex> index_;
  std::unique_ptr<ConsentLedger> ledger_;
};

TEST_F(ConsentLedgerBatchTest, RecordsInOneBatchAnswerAsTheyWouldAlone) {
  // One record committed first: its retry in the batch must replay it.
  absl::StatusOr<ConsentReceipt> earlier;
  absl::Notification earlier_done;
  ledger_->Record(Ctx("req-earlier"), Input("subject-0001"), [&](auto r) {
    earlier = std::move(r);
    earlier_done.Notify();
  });
  earlier_done.WaitForNotification();
  ASSERT_THAT(earlier, IsOk());
  const int64_t events_before = Count("consent_events");

  absl::Notification release, held_done;
  HoldWriter(release, held_done);
  const int64_t writes_before = store_->writer_stats().writes_committed;
  struct Call {
    std::string request_id, subject, channel;
  };
  const std::vector<Call> calls = {
      {"req-1", "subject-0002", "web"},       {"req-2", "subject-0003", "web"},
      {"req-1", "subject-0002", "web"},        // repeat within the batch: same answer
      {"req-2", "subject-0003", "kiosk"},      // same id, other content: refused
      {"req-earlier", "subject-0001", "web"},  // retry of a committed record
      {"req-3", "subject-0002", "app"},        // same subject and purpose again: last wins
  };
  absl::Mutex mu;
  std::vector<absl::StatusOr<ConsentReceipt>> answers(calls.size());
  int answered = 0;
  for (size_t i = 0; i < calls.size(); ++i) {
    ledger_->Record(Ctx(calls[i].request_id), Input(calls[i].subject, calls[i].channel),
                    [&, i](absl::StatusOr<ConsentReceipt> r) {
                      absl::MutexLock lock(&mu);
                      answers[i] = std::move(r);
                      ++answered;
                    });
  }
  release.Notify();
  held_done.WaitForNotification();
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 6; }, &answered));
  }
  // The held write plus one write carrying all six records.
  EXPECT_EQ(store_->writer_stats().writes_committed, writes_before + 2);

  ASSERT_THAT(answers[0], IsOk());
  ASSERT_THAT(answers[1], IsOk());
  ASSERT_THAT(answers[2], IsOk());
  EXPECT_EQ(answers[2]->receipt_id, answers[0]->receipt_id);
  EXPECT_THAT(answers[3], StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(answers[4], IsOk());
  EXPECT_EQ(answers[4]->receipt_id, earlier->receipt_id);
  ASSERT_THAT(answers[5], IsOk());
  EXPECT_NE(answers[5]->receipt_id, answers[0]->receipt_id);
  // Three new consents: req-1, req-2, req-3.
  EXPECT_EQ(Count("consent_events"), events_before + 3);
  // Each new event carries its request (the earlier one's too): a retry finds
  // its answer there, with no idempotency key of its own.
  EXPECT_EQ(Count("consent_events WHERE request_id IS NOT NULL"), 4);
  EXPECT_EQ(Count("idempotency_keys"), 0);

  // The current state (database and index) is the batch's last record.
  CallContext check_ctx = Ctx("");
  auto check = ledger_->Check(check_ctx, {IdentifierType::kCustomerId, "subject-0002"}, "booking");
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ(check->receipt_id, answers[5]->receipt_id);
  EXPECT_EQ(check->state, ConsentState::kGranted);
  ConsentStateIndex::Row row;
  ASSERT_EQ(
      index_->Find("tenant-a",
                   keyer_->SubjectKey("tenant-a", {IdentifierType::kCustomerId, "subject-0002"}),
                   "booking", &row),
      ConsentStateIndex::Lookup::kFound);
  EXPECT_EQ(row.receipt_id, answers[5]->receipt_id);
  auto verified = audit::Verify(*store_);
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->reason;
  EXPECT_EQ(verified->rows_checked, 4);  // one audit event per new consent
}

TEST_F(ConsentLedgerBatchTest, ARequestIdIsScopedToItsSubjectAndMethod) {
  auto first = RecordAndWait(Ctx("req-a"), Input("subject-0001"));
  ASSERT_THAT(first, IsOk());
  // The same id for another subject is another request (documented in
  // docs/consent.md): a new consent, never the first one's receipt.
  auto other = RecordAndWait(Ctx("req-a"), Input("subject-0002"));
  ASSERT_THAT(other, IsOk());
  EXPECT_NE(other->receipt_id, first->receipt_id);
  EXPECT_EQ(Count("consent_events"), 2);
  // A recording's id reused for a withdrawal of that subject, and a
  // withdrawal's id reused for a recording: refused, nothing written.
  EXPECT_THAT(WithdrawAndWait("req-a", "subject-0001"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Count("consent_events"), 2);
  auto withdrawn = WithdrawAndWait("req-w", "subject-0001");
  ASSERT_THAT(withdrawn, IsOk());
  EXPECT_EQ(withdrawn->receipt_id, first->receipt_id);
  EXPECT_THAT(RecordAndWait(Ctx("req-w"), Input("subject-0001")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Count("consent_events"), 3);
  // Retries of both still replay.
  auto retry = RecordAndWait(Ctx("req-a"), Input("subject-0001"));
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->receipt_id, first->receipt_id);
  auto withdraw_retry = WithdrawAndWait("req-w", "subject-0001");
  ASSERT_THAT(withdraw_retry, IsOk());
  EXPECT_EQ(withdraw_retry->receipt_id, first->receipt_id);
  EXPECT_EQ(Count("consent_events"), 3);
  auto check = ledger_->Check(Ctx(""), {IdentifierType::kCustomerId, "subject-0001"}, "booking");
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ(check->state, ConsentState::kWithdrawn);
}

TEST_F(ConsentLedgerBatchTest, RetriesReplayWithTheStateIndexOnOrSwitchedOff) {
  // On: a subject it has seen is looked up among its events (new subjects
  // skip that lookup). Off: every record looks.
  auto first = RecordAndWait(Ctx("req-on"), Input("subject-0001"));
  ASSERT_THAT(first, IsOk());
  auto retry = RecordAndWait(Ctx("req-on"), Input("subject-0001"));
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->receipt_id, first->receipt_id);

  ConsentStateIndex tiny(1);  // switches off at its second state
  ConsentLedger ledger(store_.get(), &clock_, keyer_.get(), catalog_.get(), nullptr, &tiny);
  auto record = [&](const std::string& request_id, const std::string& subject) {
    return Await([&](ConsentLedger::ReceiptDone done) {
      ledger.Record(Ctx(request_id), Input(subject), std::move(done));
    });
  };
  auto a = record("req-off-a", "subject-0002");
  auto b = record("req-off-b", "subject-0003");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_FALSE(tiny.enabled());
  auto a_again = record("req-off-a", "subject-0002");
  auto on_again = record("req-on", "subject-0001");
  ASSERT_THAT(a_again, IsOk());
  ASSERT_THAT(on_again, IsOk());
  EXPECT_EQ(a_again->receipt_id, a->receipt_id);
  EXPECT_EQ(on_again->receipt_id, first->receipt_id);
  EXPECT_EQ(Count("consent_events"), 3);
}

// Consent has one idempotency mechanism (the request in its event):
// migration 18 moves the answers a database from before migration 11 kept in
// idempotency_keys into their events, so those retries still replay.
TEST_F(ConsentLedgerBatchTest, AnswersFromBeforeMigration11MoveIntoTheirEvents) {
  auto first = RecordAndWait(Ctx("req-old"), Input("subject-0001"));
  ASSERT_THAT(first, IsOk());
  auto withdrawn = WithdrawAndWait("req-old-w", "subject-0001");
  ASSERT_THAT(withdrawn, IsOk());
  // As a database from before migration 11 holds them: the answers in
  // idempotency_keys (responses as blobs, as store::StoreAnswers wrote
  // them), the events without their requests; migration 18 not yet run.
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
    txn.db().exec(
        "INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, response, "
        "created_at) SELECT tenant_id, request_id, CASE action WHEN 1 THEN "
        "'/dsar.v1.ConsentService/RecordConsent' ELSE '/dsar.v1.ConsentService/WithdrawConsent' "
        "END, request_fingerprint, CAST(receipt_id AS BLOB), 0 FROM consent_events");
    txn.db().exec("UPDATE consent_events SET request_id = NULL, request_fingerprint = NULL");
    return absl::OkStatus();
  }),
              IsOk());
  // Migration 18 as an upgraded database runs it.
  const store::Migration& m18 = store::DsarMigrations()[17];
  ASSERT_EQ(m18.version, 18);
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
    txn.db().exec(m18.sql);
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(Count("idempotency_keys"), 0);
  EXPECT_EQ(Count("consent_events WHERE request_id IS NULL"), 0);

  auto retry = RecordAndWait(Ctx("req-old"), Input("subject-0001"));
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->receipt_id, first->receipt_id);
  EXPECT_THAT(RecordAndWait(Ctx("req-old"), Input("subject-0001", "kiosk")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto withdraw_retry = WithdrawAndWait("req-old-w", "subject-0001");
  ASSERT_THAT(withdraw_retry, IsOk());
  EXPECT_EQ(withdraw_retry->receipt_id, first->receipt_id);
  EXPECT_EQ(Count("consent_events"), 2);
}

TEST_F(ConsentLedgerBatchTest, RecordsQueuedWhenTheStoreClosesFailAndNoneHangs) {
  store_->Close();
  absl::StatusOr<ConsentReceipt> answer;
  absl::Notification done;
  ledger_->Record(Ctx("req-closed"), Input("subject-0001"), [&](auto r) {
    answer = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kUnavailable));
  // The next record after the failure is not stuck behind it either.
  absl::Notification again;
  ledger_->Record(Ctx("req-closed-2"), Input("subject-0001"), [&](auto r) {
    answer = std::move(r);
    again.Notify();
  });
  again.WaitForNotification();
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace dsar::consent
