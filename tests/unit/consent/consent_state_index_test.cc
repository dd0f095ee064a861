#include "lib/consent/consent_state_index.h"

#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::consent {
namespace {

using ::dsar::testing::IsOk;
using Lookup = ConsentStateIndex::Lookup;

// A 32-byte subject key (as SubjectKeyer gives) for synthetic subject n.
std::string SubjectKey(int n) {
  std::string key = absl::StrCat("synthetic-subject-key-", n);
  key.resize(32, '#');
  // Vary the bytes the index shards and hashes by, as an HMAC would.
  key[0] = static_cast<char>(n * 37);
  key[8] = static_cast<char>(n * 11);
  return key;
}

ConsentStateIndex::Row MakeRow(ConsentState state, const std::string& receipt,
                               const std::string& notice, int64_t changed_at_us) {
  ConsentStateIndex::Row row;
  row.state = state;
  row.receipt_id = receipt;
  row.notice_version = notice;
  row.changed_at = absl::FromUnixMicros(changed_at_us);
  return row;
}

void ExpectRow(const ConsentStateIndex& index, const std::string& tenant,
               const std::string& subject_key, const std::string& purpose,
               const ConsentStateIndex::Row& want) {
  ConsentStateIndex::Row got;
  ASSERT_EQ(index.Find(tenant, subject_key, purpose, &got), Lookup::kFound);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.receipt_id, want.receipt_id);
  EXPECT_EQ(got.notice_version, want.notice_version);
  EXPECT_EQ(got.changed_at, want.changed_at);
}

TEST(ConsentStateIndexTest, PutFindOverwriteAndAbsent) {
  ConsentStateIndex index(100);
  const auto granted = MakeRow(ConsentState::kGranted, "rcpt_0000000001", "2026-03", 1000);
  index.Put("tenant-a", SubjectKey(1), "booking", granted);
  ExpectRow(index, "tenant-a", SubjectKey(1), "booking", granted);
  ConsentStateIndex::Row unused;
  EXPECT_EQ(index.Find("tenant-a", SubjectKey(2), "booking", &unused), Lookup::kAbsent);
  EXPECT_EQ(index.Find("tenant-a", SubjectKey(1), "marketing", &unused), Lookup::kAbsent);
  EXPECT_EQ(index.Find("tenant-b", SubjectKey(1), "booking", &unused), Lookup::kAbsent);

  const auto withdrawn = MakeRow(ConsentState::kWithdrawn, "rcpt_0000000001", "2026-03", 2000);
  index.Put("tenant-a", SubjectKey(1), "booking", withdrawn);
  ExpectRow(index, "tenant-a", SubjectKey(1), "booking", withdrawn);
  EXPECT_EQ(index.size(), 1);
}

TEST(ConsentStateIndexTest, EraseSubjectRemovesEveryPurposeOfThatTenantOnly) {
  ConsentStateIndex index(100);
  const auto row = MakeRow(ConsentState::kGranted, "rcpt_1", "v7", 5);
  for (const char* tenant : {"tenant-a", "tenant-b"}) {
    for (const char* purpose : {"booking", "marketing"}) {
      index.Put(tenant, SubjectKey(1), purpose, row);
      index.Put(tenant, SubjectKey(2), purpose, row);
    }
  }
  ASSERT_EQ(index.size(), 8);
  index.EraseSubject("tenant-a", SubjectKey(1));
  ConsentStateIndex::Row unused;
  EXPECT_EQ(index.Find("tenant-a", SubjectKey(1), "booking", &unused), Lookup::kAbsent);
  EXPECT_EQ(index.Find("tenant-a", SubjectKey(1), "marketing", &unused), Lookup::kAbsent);
  EXPECT_EQ(index.Find("tenant-a", SubjectKey(2), "booking", &unused), Lookup::kFound);
  EXPECT_EQ(index.Find("tenant-b", SubjectKey(1), "booking", &unused), Lookup::kFound);
  EXPECT_EQ(index.size(), 6);
}

TEST(ConsentStateIndexTest, HasNoStateOfASubjectOnlyWhenNoPurposeOfItsTenantHoldsOne) {
  ConsentStateIndex index(100);
  EXPECT_TRUE(index.HasNoStateOf("tenant-a", SubjectKey(1)));  // nothing stored yet
  const auto row = MakeRow(ConsentState::kWithdrawn, "rcpt_1", "v7", 5);
  index.Put("tenant-a", SubjectKey(1), "booking",
            MakeRow(ConsentState::kGranted, "rcpt_0", "v7", 1));
  index.Put("tenant-a", SubjectKey(2), "booking", row);
  // A subject with a state under any one purpose has events, withdrawn or not.
  index.Put("tenant-a", SubjectKey(3), "marketing", row);
  EXPECT_FALSE(index.HasNoStateOf("tenant-a", SubjectKey(1)));
  EXPECT_FALSE(index.HasNoStateOf("tenant-a", SubjectKey(2)));
  EXPECT_FALSE(index.HasNoStateOf("tenant-a", SubjectKey(3)));
  EXPECT_TRUE(index.HasNoStateOf("tenant-a", SubjectKey(4)));
  EXPECT_TRUE(index.HasNoStateOf("tenant-b", SubjectKey(1)));  // tenants apart
  // A key the index cannot hold: not known to be new.
  EXPECT_FALSE(index.HasNoStateOf("tenant-a", "not-32-bytes"));

  index.EraseSubject("tenant-a", SubjectKey(3));  // erasure removes its events' key
  EXPECT_TRUE(index.HasNoStateOf("tenant-a", SubjectKey(3)));

  ConsentStateIndex full(1);
  full.Put("tenant-a", SubjectKey(1), "booking", row);
  full.Put("tenant-a", SubjectKey(2), "booking", row);  // over the limit: off
  ASSERT_FALSE(full.enabled());
  EXPECT_FALSE(full.HasNoStateOf("tenant-a", SubjectKey(4)));  // off: knows nothing
}

TEST(ConsentStateIndexTest, SwitchesOffAboveItsLimitAndForRowsItCannotHold) {
  ConsentStateIndex index(2);
  const auto row = MakeRow(ConsentState::kGranted, "rcpt_1", "v7", 5);
  index.Put("tenant-a", SubjectKey(1), "booking", row);
  index.Put("tenant-a", SubjectKey(2), "booking", row);
  ConsentStateIndex::Row unused;
  EXPECT_EQ(index.Find("tenant-a", SubjectKey(1), "booking", &unused), Lookup::kFound);
  index.Put("tenant-a", SubjectKey(3), "booking", row);  // the third: over the limit
  EXPECT_FALSE(index.enabled());
  EXPECT_EQ(index.Find("tenant-a", SubjectKey(1), "booking", &unused), Lookup::kDisabled);
  index.Put("tenant-a", SubjectKey(1), "booking", row);  // stays off
  EXPECT_EQ(index.Find("tenant-a", SubjectKey(1), "booking", &unused), Lookup::kDisabled);

  ConsentStateIndex long_receipt(10);
  long_receipt.Put("tenant-a", SubjectKey(1), "booking",
                   MakeRow(ConsentState::kGranted, std::string(33, 'r'), "v7", 5));
  EXPECT_EQ(long_receipt.Find("tenant-a", SubjectKey(1), "booking", &unused), Lookup::kDisabled);

  ConsentStateIndex short_key(10);
  short_key.Put("tenant-a", "not-32-bytes", "booking", row);
  EXPECT_EQ(short_key.Find("tenant-a", SubjectKey(1), "booking", &unused), Lookup::kDisabled);
}

class ConsentStateIndexLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = testing::OpenKvStore(dir_.File("dsar.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  // Appends the consent event that leaves `row` as the current state.
  void InsertState(const std::string& tenant, const std::string& subject_key,
                   const std::string& purpose, const ConsentStateIndex::Row& row) {
    ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
      SQLite::Statement& insert = txn.Prepare(
          "INSERT INTO consent_events (tenant_id, event_id, receipt_id, subject_key, purpose, "
          "action, notice_version, language, lawful_basis, channel, actor, reason, "
          "occurred_at_us, recorded_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, 'sv-SE', 1, 'web', "
          "'svc-test', '', ?, ?)");
      insert.bind(1, tenant);
      insert.bind(2, absl::StrCat("cev_", ++events_));
      insert.bind(3, row.receipt_id);
      insert.bind(4, subject_key.data(), static_cast<int>(subject_key.size()));
      insert.bind(5, purpose);
      insert.bind(6,
                  static_cast<int>(row.state == ConsentState::kWithdrawn ? ConsentAction::kWithdrawn
                                                                         : ConsentAction::kGiven));
      insert.bind(7, row.notice_version);
      insert.bind(8, static_cast<int64_t>(absl::ToUnixMicros(row.changed_at)));
      insert.bind(9, static_cast<int64_t>(absl::ToUnixMicros(row.changed_at)));
      insert.exec();
      return absl::OkStatus();
    }),
                IsOk());
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  int events_ = 0;
};

TEST_F(ConsentStateIndexLoadTest, LoadCopiesEveryRow) {
  std::vector<ConsentStateIndex::Row> rows;
  for (int i = 0; i < 50; ++i) {
    rows.push_back(MakeRow(i % 3 == 0 ? ConsentState::kWithdrawn : ConsentState::kGranted,
                           absl::StrCat("rcpt_", i), i % 2 ? "2026-03" : "2025-11",
                           1700000000000000 + i));
    InsertState("tenant-a", SubjectKey(i), i % 2 ? "booking" : "marketing", rows.back());
  }
  auto index = ConsentStateIndex::Load(*store_, 1000);
  ASSERT_THAT(index, IsOk());
  EXPECT_TRUE((*index)->enabled());
  EXPECT_EQ((*index)->size(), 50);
  for (int i = 0; i < 50; ++i) {
    ExpectRow(**index, "tenant-a", SubjectKey(i), i % 2 ? "booking" : "marketing", rows[i]);
  }
  ConsentStateIndex::Row unused;
  EXPECT_EQ((*index)->Find("tenant-a", SubjectKey(51), "booking", &unused), Lookup::kAbsent);
}

TEST_F(ConsentStateIndexLoadTest, TheLatestEventOfASubjectAndPurposeIsItsState) {
  const auto given = MakeRow(ConsentState::kGranted, "rcpt_1", "2026-03", 1700000000000000);
  const auto withdrawn = MakeRow(ConsentState::kWithdrawn, "rcpt_1", "2026-03", 1700000000000009);
  const auto again = MakeRow(ConsentState::kGranted, "rcpt_2", "2026-03", 1700000000000020);
  InsertState("tenant-a", SubjectKey(1), "booking", given);
  InsertState("tenant-a", SubjectKey(2), "booking", given);
  InsertState("tenant-a", SubjectKey(1), "booking", withdrawn);
  InsertState("tenant-a", SubjectKey(2), "booking", withdrawn);
  InsertState("tenant-a", SubjectKey(2), "booking", again);
  auto index = ConsentStateIndex::Load(*store_, 1000);
  ASSERT_THAT(index, IsOk());
  EXPECT_EQ((*index)->size(), 2);
  ExpectRow(**index, "tenant-a", SubjectKey(1), "booking", withdrawn);
  ExpectRow(**index, "tenant-a", SubjectKey(2), "booking", again);
}

TEST_F(ConsentStateIndexLoadTest, MoreRowsThanTheLimitLoadsSwitchedOff) {
  for (int i = 0; i < 5; ++i) {
    InsertState("tenant-a", SubjectKey(i), "booking",
                MakeRow(ConsentState::kGranted, "rcpt_1", "v7", 1));
  }
  auto index = ConsentStateIndex::Load(*store_, 4);
  ASSERT_THAT(index, IsOk());
  EXPECT_FALSE((*index)->enabled());
  ConsentStateIndex::Row unused;
  EXPECT_EQ((*index)->Find("tenant-a", SubjectKey(0), "booking", &unused), Lookup::kDisabled);
}

}  // namespace
}  // namespace dsar::consent
