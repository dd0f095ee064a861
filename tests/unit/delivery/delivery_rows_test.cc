// delivery_rows: the one deliveries table on a real SQLite file, through the
// store's writer (what the alert forwarder and the callback sender write).
#include "lib/delivery/delivery_rows.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::delivery::delivery_rows {
namespace {

using ::dsar::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::FieldsAre;
using ::testing::Optional;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

class DeliveryRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = testing::OpenKvStore(dir_.File("dsar.db"));
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
  }
  void TearDown() override { store_->Close(); }

  void Write(std::function<void(store::WriteTxn&)> f) {
    ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
      f(txn);
      return absl::OkStatus();
    }),
                IsOk());
  }
  template <typename T>
  T Read(std::function<T(store::ReadTxn&)> f) {
    T out;
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) {
      out = f(txn);
      return absl::OkStatus();
    }),
                IsOk());
    return out;
  }
  std::vector<DueItem> DueAt(absl::string_view channel, absl::Time now, int limit = 10) {
    return Read<std::vector<DueItem>>(
        [&](store::ReadTxn& txn) { return Due(txn, channel, now, limit); });
  }
  std::vector<StateCount> Counts() {
    return Read<std::vector<StateCount>>([](store::ReadTxn& txn) { return CountByState(txn); });
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(DeliveryRowsTest, PendingRowsComeDueInOrderPerChannel) {
  Write([](store::WriteTxn& txn) {
    InsertPending(txn, kCallbacksChannel, 7, "tenant-a", kNow + absl::Seconds(2));
    InsertPending(txn, kCallbacksChannel, 3, "tenant-a", kNow);
    InsertPending(txn, kCallbacksChannel, 5, "tenant-b", kNow);
    InsertPending(txn, AlertsChannel("log"), 1, "tenant-a", kNow);
  });
  EXPECT_THAT(DueAt(kCallbacksChannel, kNow),
              ElementsAre(FieldsAre(3, 0, kNow), FieldsAre(5, 0, kNow)));
  EXPECT_THAT(DueAt(kCallbacksChannel, kNow, 1), ElementsAre(FieldsAre(3, 0, kNow)));
  EXPECT_EQ(DueAt(kCallbacksChannel, kNow + absl::Seconds(2)).size(), 3u);
  EXPECT_THAT(DueAt("alerts/log", kNow), ElementsAre(FieldsAre(1, 0, kNow)));
  EXPECT_THAT(Read<std::optional<absl::Time>>(
                  [](store::ReadTxn& txn) { return EarliestDue(txn, kCallbacksChannel, kNow); }),
              Optional(kNow + absl::Seconds(2)));
  EXPECT_EQ(Read<std::optional<absl::Time>>(
                [](store::ReadTxn& txn) { return EarliestDue(txn, "alerts/log", kNow); }),
            std::nullopt);
}

TEST_F(DeliveryRowsTest, OutcomesMoveRowsOnAndOnlyPendingOnesChange) {
  Write([](store::WriteTxn& txn) {
    for (int64_t item = 1; item <= 4; ++item) {
      InsertPending(txn, kCallbacksChannel, item, "tenant-a", kNow);
    }
  });
  AttemptOutcome retry{DeliveryState::kPending, 1, kNow + absl::Seconds(1), "HTTP 503", false};
  AttemptOutcome failed{DeliveryState::kFailed, 1, kNow, "HTTP 410", true};
  Write([&](store::WriteTxn& txn) {
    RecordOutcome(txn, kCallbacksChannel, 1, retry);
    RecordOutcome(txn, kCallbacksChannel, 2, failed);
    MarkDelivered(txn, kCallbacksChannel, {{3, 1, kNow}, {4, 1, kNow}});
    // A row given up stays given up.
    RecordOutcome(txn, kCallbacksChannel, 2, retry);
    Postpone(txn, kCallbacksChannel, 2, kNow + absl::Hours(1));
  });
  EXPECT_THAT(DueAt(kCallbacksChannel, kNow + absl::Seconds(1)),
              ElementsAre(FieldsAre(1, 1, kNow + absl::Seconds(1))));
  EXPECT_THAT(Counts(), ElementsAre(FieldsAre("callbacks", "delivered", 2),
                                    FieldsAre("callbacks", "failed", 1),
                                    FieldsAre("callbacks", "pending", 1)));
  Write([&](store::WriteTxn& txn) { Postpone(txn, kCallbacksChannel, 1, kNow + absl::Hours(1)); });
  EXPECT_TRUE(DueAt(kCallbacksChannel, kNow + absl::Minutes(59)).empty());
  EXPECT_THAT(DueAt(kCallbacksChannel, kNow + absl::Hours(1)),
              ElementsAre(FieldsAre(1, 1, kNow + absl::Hours(1))));
}

TEST_F(DeliveryRowsTest, ARowFirstWrittenAfterAFailedAttemptKeepsItsOutcome) {
  AttemptOutcome retry{DeliveryState::kPending, 1, kNow + absl::Seconds(5), "HTTP 500", false};
  AttemptOutcome failed{DeliveryState::kFailed, 1, kNow, "HTTP 422", true};
  Write([&](store::WriteTxn& txn) {
    InsertOutcome(txn, AlertsChannel("webhook:oncall"), 10, "tenant-a", retry);
    InsertOutcome(txn, AlertsChannel("webhook:oncall"), 11, "tenant-a", failed);
  });
  EXPECT_TRUE(DueAt("alerts/webhook:oncall", kNow).empty());
  EXPECT_THAT(DueAt("alerts/webhook:oncall", kNow + absl::Seconds(5)),
              ElementsAre(FieldsAre(10, 1, kNow + absl::Seconds(5))));
  // Many rows delivered at once span several multi-row statements.
  Write([&](store::WriteTxn& txn) {
    std::vector<Delivered> delivered;
    for (int64_t item = 100; item < 300; ++item) {
      InsertPending(txn, AlertsChannel("log"), item, "tenant-a", kNow);
      delivered.push_back({item, 2, kNow + absl::Seconds(1)});
    }
    MarkDelivered(txn, AlertsChannel("log"), delivered);
  });
  EXPECT_THAT(Counts(), ElementsAre(FieldsAre("alerts/log", "delivered", 200),
                                    FieldsAre("alerts/webhook:oncall", "failed", 1),
                                    FieldsAre("alerts/webhook:oncall", "pending", 1)));
}

}  // namespace
}  // namespace dsar::delivery::delivery_rows
