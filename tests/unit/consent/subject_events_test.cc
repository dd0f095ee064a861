// A subject's consent events are found through consent_events_by_subject,
// which always exists whatever the in-memory state index does (the schema
// never depends on config): retries, withdrawals, history pages and erasure
// answer through it, also for writes that share one transaction and after
// the state index switched itself off. (Before issue 20 these tests pinned
// the prev_seq chains that stood in for the database index; the behaviours
// they checked are the same.)

#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
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
using ::testing::ElementsAre;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-unit-test-only";
constexpr char kTenant[] = "tenant-a";

class SubjectEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* tenant = config_.add_tenants();
    tenant->set_id(kTenant);
    for (const char* name : {"booking", "marketing"}) {
      auto* purpose = tenant->add_purposes();
      purpose->set_name(name);
      purpose->set_current_notice_version("2026-03");
    }
    catalog_ = std::make_unique<PurposeCatalog>(config_);
    auto keyer = SubjectKeyer::FromKey(kKey, {kTenant});
    ASSERT_THAT(keyer, IsOk());
    keyer_ = std::move(*keyer);
    auto store = testing::OpenKvStore(dir_.File("dsar.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    index_ = std::make_unique<ConsentStateIndex>(1000);
    ledger_ = std::make_unique<ConsentLedger>(store_.get(), &clock_, keyer_.get(), catalog_.get(),
                                              nullptr, index_.get());
    ASSERT_TRUE(HasSqlSubjectIndex());
  }
  void TearDown() override { store_->Close(); }

  static CallContext Ctx(const std::string& request_id, const char* method) {
    CallContext ctx;
    ctx.principal = "svc-booking";
    ctx.role = Role::kService;
    ctx.tenant = kTenant;
    ctx.method = method;
    ctx.idempotency_key = IdempotencyKey(request_id);
    return ctx;
  }
  template <typename Start>
  static absl::StatusOr<ConsentReceipt> Await(Start start) {
    return testing::AwaitAnswer<ConsentReceipt>(std::move(start));
  }
  void StartRecord(const std::string& request_id, const std::string& subject,
                   const std::string& purpose, ConsentLedger::ReceiptDone done,
                   const std::string& channel = "web") {
    RecordConsentInput in;
    in.subject = {IdentifierType::kCustomerId, subject};
    in.purpose = purpose;
    in.notice_version = "2026-03";
    in.language = "sv-SE";
    in.lawful_basis = LawfulBasis::kConsent;
    in.channel = channel;
    ledger_->Record(Ctx(request_id, "/dsar.v1.ConsentService/RecordConsent"), std::move(in),
                    std::move(done));
  }
  absl::StatusOr<ConsentReceipt> Record(const std::string& request_id, const std::string& subject,
                                        const std::string& purpose,
                                        const std::string& channel = "web") {
    return Await([&](ConsentLedger::ReceiptDone done) {
      StartRecord(request_id, subject, purpose, std::move(done), channel);
    });
  }
  void StartWithdraw(const std::string& request_id, const std::string& subject,
                     const std::string& purpose, ConsentLedger::ReceiptDone done) {
    WithdrawConsentInput in;
    in.subject = {IdentifierType::kCustomerId, subject};
    in.purpose = purpose;
    in.channel = "web";
    ledger_->Withdraw(Ctx(request_id, "/dsar.v1.ConsentService/WithdrawConsent"), std::move(in),
                      std::move(done));
  }
  absl::StatusOr<ConsentReceipt> Withdraw(const std::string& request_id, const std::string& subject,
                                          const std::string& purpose) {
    return Await([&](ConsentLedger::ReceiptDone done) {
      StartWithdraw(request_id, subject, purpose, std::move(done));
    });
  }
  absl::StatusOr<EventPage> List(const std::string& subject, const std::string& purpose,
                                 int page_size, const std::string& token = "") {
    ListEventsInput in;
    in.subject = {IdentifierType::kCustomerId, subject};
    in.purpose = purpose;
    in.page_size = page_size;
    in.page_token = token;
    return testing::AwaitAnswer<EventPage>([&](ConsentLedger::PageDone done) {
      ledger_->ListEvents(Ctx("", "/dsar.v1.ConsentService/ListConsentEvents"), std::move(in),
                          std::move(done));
    });
  }
  // Every event of the subject (all pages of `page_size`), as receipt:action.
  std::vector<std::string> History(const std::string& subject, const std::string& purpose = "",
                                   int page_size = 1) {
    std::vector<std::string> out;
    std::string token;
    do {
      auto page = List(subject, purpose, page_size, token);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) break;
      for (const auto& e : page->events) {
        out.push_back(absl::StrCat(e.receipt_id,
                                   e.action == ConsentAction::kGiven ? ":given" : ":withdrawn"));
      }
      token = page->next_page_token;
    } while (!token.empty());
    return out;
  }
  int64_t Scalar(const std::string& sql) { return testing::ReadNumber(*store_, sql); }
  bool HasSqlSubjectIndex() {
    return Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'consent_events_by_subject'") ==
           1;
  }
  void HoldWriter(absl::Notification& release, absl::Notification& held_done) {
    testing::HoldWriter(*store_, release, held_done);
  }
  std::string Key(const std::string& subject) {
    return keyer_->SubjectKey(kTenant, {IdentifierType::kCustomerId, subject});
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

TEST_F(SubjectEventsTest, RetriesWithdrawalsHistoryAndErasureWorkThroughTheSubjectIndex) {
  auto booking = Record("req-1", "subject-0001", "booking");
  ASSERT_THAT(booking, IsOk());
  clock_.Advance(absl::Seconds(1));
  auto marketing = Record("req-2", "subject-0001", "marketing");
  ASSERT_THAT(marketing, IsOk());
  auto other = Record("req-3", "subject-0002", "booking");
  ASSERT_THAT(other, IsOk());
  clock_.Advance(absl::Seconds(1));
  auto withdrawn = Withdraw("req-4", "subject-0001", "booking");
  ASSERT_THAT(withdrawn, IsOk());
  EXPECT_EQ(withdrawn->receipt_id, booking->receipt_id);

  // Retries replay; a reused id with other content, or for another method,
  // is refused; nothing new is written.
  auto retry = Record("req-1", "subject-0001", "booking");
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->receipt_id, booking->receipt_id);
  EXPECT_THAT(Record("req-2", "subject-0001", "marketing", "kiosk"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Withdraw("req-2", "subject-0001", "marketing"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Scalar("SELECT count(*) FROM consent_events"), 4);

  // History, newest first, one event per page, all purposes or one.
  EXPECT_THAT(History("subject-0001"),
              ElementsAre(booking->receipt_id + ":withdrawn", marketing->receipt_id + ":given",
                          booking->receipt_id + ":given"));
  EXPECT_THAT(History("subject-0001", "booking", 5),
              ElementsAre(booking->receipt_id + ":withdrawn", booking->receipt_id + ":given"));
  EXPECT_THAT(History("subject-0002"), ElementsAre(other->receipt_id + ":given"));
  EXPECT_THAT(History("subject-0003"), ElementsAre());

  // Erasure: the subject's three events get random keys; the other
  // subject's event stays.
  int64_t anonymised = -1;
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
    anonymised = AnonymiseSubjectEvents(txn, index_.get(), kTenant, Key("subject-0001"));
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(anonymised, 3);
  EXPECT_THAT(History("subject-0001"), ElementsAre());
  EXPECT_THAT(History("subject-0002"), ElementsAre(other->receipt_id + ":given"));
  auto check =
      ledger_->Check(Ctx("", ""), {IdentifierType::kCustomerId, "subject-0001"}, "booking");
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ(check->state, ConsentState::kNone);

  // Consent given again is a new receipt; the old request ids are gone with
  // the person's key.
  auto again = Record("req-1", "subject-0001", "booking");
  ASSERT_THAT(again, IsOk());
  EXPECT_NE(again->receipt_id, booking->receipt_id);
  EXPECT_THAT(History("subject-0001"), ElementsAre(again->receipt_id + ":given"));
  EXPECT_TRUE(HasSqlSubjectIndex());
}

TEST_F(SubjectEventsTest, WritesInOneTransactionFindEachOthersEvents) {
  auto first = Record("req-1", "subject-0001", "booking");
  ASSERT_THAT(first, IsOk());

  // A withdrawal and a new record of the same subject and purpose in one
  // transaction: the record sees the withdrawal, which the state index does
  // not hold yet.
  absl::Notification release, held_done;
  HoldWriter(release, held_done);
  const int64_t groups_before = store_->writer_stats().groups_committed;
  absl::StatusOr<ConsentReceipt> withdrawn, recorded;
  absl::Notification withdraw_done, record_done;
  StartWithdraw("req-2", "subject-0001", "booking", [&](auto r) {
    withdrawn = std::move(r);
    withdraw_done.Notify();
  });
  StartRecord("req-3", "subject-0001", "booking", [&](auto r) {
    recorded = std::move(r);
    record_done.Notify();
  });
  release.Notify();
  held_done.WaitForNotification();
  withdraw_done.WaitForNotification();
  record_done.WaitForNotification();
  ASSERT_THAT(withdrawn, IsOk());
  ASSERT_THAT(recorded, IsOk());
  // The held write's group, then one group with both.
  EXPECT_EQ(store_->writer_stats().groups_committed, groups_before + 2);
  EXPECT_NE(recorded->receipt_id, first->receipt_id);
  EXPECT_THAT(History("subject-0001"),
              ElementsAre(recorded->receipt_id + ":given", first->receipt_id + ":withdrawn",
                          first->receipt_id + ":given"));

  // An erasure and a record of the same subject in one transaction: the
  // erasure finds the events, and the record is the subject's only event
  // afterwards (the state index still held the anonymised ones).
  absl::Notification release2, held_done2;
  HoldWriter(release2, held_done2);
  int64_t anonymised = -1;
  absl::Notification erase_done;
  store_->Write(
      [&](store::WriteTxn& txn) {
        anonymised = AnonymiseSubjectEvents(txn, index_.get(), kTenant, Key("subject-0001"));
        return absl::OkStatus();
      },
      [&](absl::Status s) {
        EXPECT_THAT(s, IsOk());
        erase_done.Notify();
      });
  absl::StatusOr<ConsentReceipt> after;
  absl::Notification after_done;
  StartRecord("req-4", "subject-0001", "booking", [&](auto r) {
    after = std::move(r);
    after_done.Notify();
  });
  release2.Notify();
  held_done2.WaitForNotification();
  erase_done.WaitForNotification();
  after_done.WaitForNotification();
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(anonymised, 3);
  EXPECT_THAT(History("subject-0001"), ElementsAre(after->receipt_id + ":given"));
}

TEST_F(SubjectEventsTest, TheSubjectIndexServesWhenTheStateIndexSwitchesOff) {
  auto first = Record("req-1", "subject-0001", "booking");
  ASSERT_THAT(first, IsOk());

  // An index that switches itself off while serving (past its bound): the
  // database index was there all along; nothing is rebuilt.
  ConsentStateIndex tiny(1);
  ConsentLedger ledger(store_.get(), &clock_, keyer_.get(), catalog_.get(), nullptr, &tiny);
  auto record = [&](const std::string& request_id, const std::string& subject) {
    RecordConsentInput in;
    in.subject = {IdentifierType::kCustomerId, subject};
    in.purpose = "booking";
    in.notice_version = "2026-03";
    in.language = "sv-SE";
    in.lawful_basis = LawfulBasis::kConsent;
    in.channel = "web";
    return Await([&](ConsentLedger::ReceiptDone done) {
      ledger.Record(Ctx(request_id, "/dsar.v1.ConsentService/RecordConsent"), std::move(in),
                    std::move(done));
    });
  };
  ASSERT_THAT(record("req-2", "subject-0002"), IsOk());
  ASSERT_THAT(record("req-3", "subject-0003"), IsOk());
  ASSERT_FALSE(tiny.enabled());
  auto second = record("req-4", "subject-0001");
  ASSERT_THAT(second, IsOk());
  EXPECT_TRUE(HasSqlSubjectIndex());
  auto retry = record("req-1", "subject-0001");
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->receipt_id, first->receipt_id);
  auto check = ledger.Check(Ctx("", ""), {IdentifierType::kCustomerId, "subject-0001"}, "booking");
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ(check->state, ConsentState::kGranted);
  EXPECT_EQ(check->receipt_id, second->receipt_id);

  // Erasure through the database index: both events.
  int64_t anonymised = -1;
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
    anonymised = AnonymiseSubjectEvents(txn, &tiny, kTenant, Key("subject-0001"));
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(anonymised, 2);
  EXPECT_THAT(History("subject-0001"), ElementsAre());
}

TEST(SubjectEventsMigrationTest, Migration14LinksTheEventsAlreadyStored) {
  testing::TempDir dir;
  const std::string path = dir.File("dsar.db");
  std::vector<store::Migration> up_to_13(store::DsarMigrations().begin(),
                                         store::DsarMigrations().begin() + 13);
  ASSERT_EQ(up_to_13.back().version, 13);
  {
    store::StoreOptions options;
    options.path = path;
    options.migrations = &up_to_13;
    auto store = store::Store::Open(options);
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->WriteAndWait([](store::WriteTxn& txn) {
      // (seq, subject, purpose): two subjects, two purposes, interleaved.
      txn.db().exec(
          "INSERT INTO consent_events (seq, tenant_id, event_id, receipt_id, subject_key, "
          "purpose, action, notice_version, language, lawful_basis, channel, actor, reason, "
          "occurred_at_us, recorded_at_us) VALUES "
          "(1, 't', 'e1', 'r1', x'01', 'booking', 1, 'v', 'sv', 1, 'web', 'a', '', 0, 0),"
          "(2, 't', 'e2', 'r2', x'02', 'booking', 1, 'v', 'sv', 1, 'web', 'a', '', 0, 0),"
          "(3, 't', 'e3', 'r3', x'01', 'marketing', 1, 'v', 'sv', 1, 'web', 'a', '', 0, 0),"
          "(4, 't', 'e4', 'r1', x'01', 'booking', 2, 'v', 'sv', 1, 'web', 'a', '', 0, 0),"
          "(5, 'u', 'e5', 'r5', x'01', 'booking', 1, 'v', 'sv', 1, 'web', 'a', '', 0, 0),"
          "(6, 't', 'e6', 'r6', x'01', 'booking', 1, 'v', 'sv', 1, 'web', 'a', '', 0, 0)");
      return absl::OkStatus();
    }),
                IsOk());
    (*store)->Close();
  }
  store::StoreOptions options;
  options.path = path;
  auto store = store::Store::Open(options);
  ASSERT_THAT(store, IsOk());
  std::vector<int64_t> prev;
  ASSERT_THAT((*store)->Read([&](store::ReadTxn& txn) {
    SQLite::Statement q(txn.db(), "SELECT coalesce(prev_seq, 0) FROM consent_events ORDER BY seq");
    while (q.executeStep()) prev.push_back(q.getColumn(0).getInt64());
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(prev, ElementsAre(0, 0, 0, 1, 0, 4));
  (*store)->Close();
}

}  // namespace
}  // namespace dsar::consent
