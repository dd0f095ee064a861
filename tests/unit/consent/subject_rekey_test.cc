#include "lib/consent/subject_rekey.h"

#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/consent/consent_ledger.h"
#include "lib/consent/consent_state_index.h"
#include "lib/consent/purpose_catalog.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/clock.h"
#include "lib/store/migrations.h"
#include "tests/testing/consent_testing.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar::consent {
namespace {

using ::dsar::testing::IsOk;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-unit-test-only";

// A database as dsard wrote it before typed subjects: consent events keyed
// by the scheme-1 key of the caller's untyped subject id.
class SubjectRekeyTest : public ::testing::Test {
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
    // The schema before typed subjects (migrations 1-16).
    for (const auto& m : store::DsarMigrations()) {
      if (m.version < 17) old_schema_.push_back(m);
    }
    Open(&old_schema_);
  }
  void TearDown() override { store_->Close(); }

  void Open(const std::vector<store::Migration>* migrations) {
    if (store_) store_->Close();
    store_.reset();
    store::StoreOptions options;
    options.path = dir_.File("dsar.db");
    options.migrations = migrations;
    auto store = store::Store::Open(options);
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }
  // Opens the database with this version's migrations.
  void Upgrade() { Open(nullptr); }

  void InsertScheme1Event(const std::string& subject_id, ConsentAction action) {
    const std::string key = keyer_->Scheme1Key("tenant-a", subject_id);
    ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
      SQLite::Statement& insert = txn.Prepare(
          "INSERT INTO consent_events (tenant_id, event_id, receipt_id, subject_key, purpose, "
          "action, notice_version, language, lawful_basis, channel, actor, reason, "
          "occurred_at_us, recorded_at_us) VALUES ('tenant-a', ?, ?, ?, 'booking', ?, "
          "'2026-03', 'sv-SE', 1, 'web', 'svc-test', '', ?, ?)");
      ++events_;
      insert.bind(1, absl::StrCat("cev_", events_));
      insert.bind(2, absl::StrCat("rcpt_", subject_id));
      insert.bind(3, key.data(), static_cast<int>(key.size()));
      insert.bind(4, static_cast<int>(action));
      insert.bind(5, int64_t{1700000000000000} + events_);
      insert.bind(6, int64_t{1700000000000000} + events_);
      insert.exec();
      return absl::OkStatus();
    }),
                IsOk());
  }

  absl::StatusOr<ConsentCheck> Check(IdentifierType type, const std::string& value,
                                     ConsentStateIndex* index) {
    ConsentLedger ledger(store_.get(), &clock_, keyer_.get(), catalog_.get(), nullptr, index);
    CallContext ctx;
    ctx.principal = "svc-booking";
    ctx.role = Role::kService;
    ctx.tenant = "tenant-a";
    return ledger.Check(ctx, {type, value}, "booking");
  }

  config::v1::DsardConfig config_;
  std::unique_ptr<PurposeCatalog> catalog_;
  std::unique_ptr<SubjectKeyer> keyer_;
  testing::TempDir dir_;
  std::vector<store::Migration> old_schema_;
  std::unique_ptr<store::Store> store_;
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  int events_ = 0;
};

TEST_F(SubjectRekeyTest, StoredEventsAreRekeyedAsCustomerIdsOnce) {
  // Callers used e-mail addresses as subject ids too: those become customer
  // ids whose text is the address.
  InsertScheme1Event("person-0004@example.invalid", ConsentAction::kGiven);
  InsertScheme1Event("cust-0005", ConsentAction::kGiven);
  InsertScheme1Event("cust-0005", ConsentAction::kWithdrawn);
  ASSERT_NO_FATAL_FAILURE(Upgrade());
  // Before: the typed key finds nothing.
  auto before = Check(IdentifierType::kCustomerId, "person-0004@example.invalid", nullptr);
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->state, ConsentState::kNone);

  auto rekeyed = RekeyConsentSubjects(*store_, *keyer_);
  ASSERT_THAT(rekeyed, IsOk());
  EXPECT_EQ(*rekeyed, 3);
  auto index = ConsentStateIndex::Load(*store_, 1000);
  ASSERT_THAT(index, IsOk());
  for (ConsentStateIndex* with : {static_cast<ConsentStateIndex*>(nullptr), index->get()}) {
    auto granted = Check(IdentifierType::kCustomerId, "person-0004@example.invalid", with);
    ASSERT_THAT(granted, IsOk());
    EXPECT_EQ(granted->state, ConsentState::kGranted);
    auto withdrawn = Check(IdentifierType::kCustomerId, "cust-0005", with);
    ASSERT_THAT(withdrawn, IsOk());
    EXPECT_EQ(withdrawn->state, ConsentState::kWithdrawn);
    // Re-keyed as customer ids only: the same text as another type is another person.
    auto other = Check(IdentifierType::kEmail, "person-0004@example.invalid", with);
    ASSERT_THAT(other, IsOk());
    EXPECT_EQ(other->state, ConsentState::kNone);
  }

  // Idempotent: a second start-up changes nothing.
  auto again = RekeyConsentSubjects(*store_, *keyer_);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, 0);
  auto still = Check(IdentifierType::kCustomerId, "person-0004@example.invalid", nullptr);
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(still->state, ConsentState::kGranted);
  EXPECT_EQ(
      testing::ReadNumber(*store_, "SELECT scheme FROM subject_key_schemes WHERE part = 'consent'"),
      kSubjectKeyScheme);
}

TEST_F(SubjectRekeyTest, ANewDatabaseIsMarkedCurrentWithNothingToRekey) {
  ASSERT_NO_FATAL_FAILURE(Upgrade());  // no events yet: typed from the start
  auto rekeyed = RekeyConsentSubjects(*store_, *keyer_);
  ASSERT_THAT(rekeyed, IsOk());
  EXPECT_EQ(*rekeyed, 0);
  // Events written after the mark are typed already and are never re-keyed,
  // even those written before the first RekeyConsentSubjects.
  InsertScheme1Event("cust-0009", ConsentAction::kGiven);
  ASSERT_THAT(RekeyConsentSubjects(*store_, *keyer_), IsOk());
  auto check = Check(IdentifierType::kCustomerId, "cust-0009", nullptr);
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ(check->state, ConsentState::kNone);  // its scheme-1 key was left alone
}

}  // namespace
}  // namespace dsar::consent
