// Set-based firing (FireDue through the Scheduler): many levels due at one
// instant fire exactly once each, in due order, in batches; a batch that is
// rolled back (a crash before COMMIT) fires nothing and the next run picks up
// exactly where the committed batches ended. Time is a FakeClock.
#include "lib/deadline/firing.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/scheduler.h"
#include "tests/testing/crashing_store.h"
#include "tests/unit/deadline/deadline_fixture.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;

class FiringTest : public testing::DeadlineTest {
 protected:
  // Schedules, at `scheduled_at`, `n` deadlines due at `due`, alternating
  // between two tenants, in one transaction.
  void ScheduleMany(absl::string_view prefix, int n, absl::Time due, absl::Time scheduled_at) {
    ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
      for (int i = 0; i < n; ++i) {
        ScheduleRequest r{i % 2 ? testing::kTenant : "tenant-0002", kBreachControllerNotification,
                          absl::StrFormat("breaches/%s-%05d", prefix, i), due - absl::Hours(72),
                          due};
        RETURN_IF_ERROR(deadlines_->Schedule(txn, r, scheduled_at).status());
      }
      return absl::OkStatus();
    }),
                IsOk());
  }

  static int RunDue(Scheduler& scheduler) {
    absl::StatusOr<int> n = scheduler.RunDue();
    EXPECT_THAT(n, IsOk());
    return n.ok() ? *n : -1;
  }

  std::unique_ptr<Scheduler> NewScheduler(store::Store& store, int fire_batch) {
    SchedulerOptions options;
    options.fire_batch = fire_batch;
    options.sinks = {"log", "webhook:oncall"};
    return std::make_unique<Scheduler>(store, clock_, *deadlines_, options);
  }

  // Pairs of alerts whose seq order contradicts their (fire time, tenant,
  // deadline) order.
  int64_t OutOfOrderPairs() {
    return CountRows(
        "SELECT COUNT(*) FROM deadline_alerts a JOIN deadline_alerts b ON b.seq > a.seq "
        "AND (b.fire_at_us, b.tenant_id, b.deadline_id) < (a.fire_at_us, a.tenant_id, "
        "a.deadline_id)");
  }

  int64_t PendingDeliveries() {
    return CountRows(
        "SELECT COALESCE(SUM(n), 0) FROM deadline_alert_delivery_counts WHERE state = 'pending'");
  }

  // Deadlines whose levels_fired is not the number of their alerts.
  int64_t MisCountedDeadlines() {
    return CountRows(
        "SELECT COUNT(*) FROM deadlines d WHERE levels_fired != (SELECT COUNT(*) FROM "
        "deadline_alerts a WHERE a.tenant_id = d.tenant_id AND a.deadline_id = d.deadline_id)");
  }

  int64_t DoubledLevels() {
    return CountRows(
        "SELECT COUNT(*) FROM (SELECT tenant_id, deadline_id, due_version, offset_us, COUNT(*) "
        "AS n FROM deadline_alerts GROUP BY 1, 2, 3, 4 HAVING n > 1)");
  }
};

TEST_F(FiringTest, ThousandsOfLevelsDueAtOneInstantFireOnceEachInDueOrder) {
  const absl::Time t = clock_.Now() + absl::Hours(1);
  ScheduleMany("burst", 2500, t + absl::Hours(24), clock_.Now());  // T-24h at t
  ScheduleMany("early", 300, t + absl::Hours(24) - absl::Minutes(1), clock_.Now());
  auto scheduler = NewScheduler(*store_, 256);
  EXPECT_EQ(RunDue(*scheduler), 0);
  clock_.SetTime(t);
  EXPECT_EQ(RunDue(*scheduler), 2800);
  EXPECT_EQ(RunDue(*scheduler), 0);

  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 2800);
  EXPECT_EQ(CountRows("SELECT COUNT(DISTINCT tenant_id || deadline_id || due_version || '/' || "
                      "offset_us) FROM deadline_alerts"),
            2800);
  EXPECT_EQ(DoubledLevels(), 0);
  EXPECT_EQ(OutOfOrderPairs(), 0);
  // The earlier instant first.
  EXPECT_EQ(CountRows("SELECT MAX(seq) FROM deadline_alerts WHERE fire_at_us < " +
                      std::to_string(absl::ToUnixMicros(t))) -
                CountRows("SELECT MIN(seq) FROM deadline_alerts") + 1,
            300);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts WHERE offset_us = " +
                      std::to_string(-absl::ToInt64Microseconds(absl::Hours(24))) +
                      " AND fired_at_us = " + std::to_string(absl::ToUnixMicros(t))),
            2800);
  // Every alert is pending for both sinks.
  EXPECT_EQ(PendingDeliveries(), 2 * 2800);
  // Every deadline moved on to T-4h, and the payload names its level.
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadlines WHERE levels_fired = 1 AND "
                      "next_offset_us = " +
                      std::to_string(-absl::ToInt64Microseconds(absl::Hours(4))) +
                      " AND next_fire_at_us = due_at_us + next_offset_us"),
            2800);
  const std::vector<Alert> alerts = Alerts();
  ASSERT_FALSE(alerts.empty());
  EXPECT_THAT(alerts.front().payload, ::testing::HasSubstr("\"level_label\":\"T-24h\""));
  EXPECT_THAT(alerts.front().payload,
              ::testing::HasSubstr(absl::StrCat("\"alert_id\":\"", alerts.front().alert_id)));
  EXPECT_EQ(scheduler->stats().fired, 2800);
}

TEST_F(FiringTest, CatchUpAcrossBatchesKeepsEveryLevelInFireTimeOrder) {
  const absl::Time t0 = clock_.Now();
  // While nothing runs: deadlines due 10..60 hours after t0; the scheduler
  // starts 100 hours later, so each has 3 to 6 levels due.
  for (int i = 0; i < 6; ++i) {
    ScheduleMany(absl::StrCat("down", i), 7, t0 + absl::Hours(10 + 10 * i),
                 t0 - absl::Hours(100));
  }
  clock_.SetTime(t0 + absl::Hours(100));
  auto scheduler = NewScheduler(*store_, 5);  // batches end inside groups of levels
  absl::StatusOr<int> fired = scheduler->RunDue();
  ASSERT_THAT(fired, IsOk());
  // Per deadline: T-24h, T-4h, due, then every 24 h up to t0 + 100 h.
  int expected = 0;
  for (int i = 0; i < 6; ++i) expected += 7 * (3 + (100 - (10 + 10 * i)) / 24);
  EXPECT_EQ(*fired, expected);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), expected);
  EXPECT_EQ(OutOfOrderPairs(), 0);
  EXPECT_EQ(DoubledLevels(), 0);
  EXPECT_EQ(RunDue(*scheduler), 0);
}

TEST_F(FiringTest, ARolledBackBatchFiresNothingAndTheRestartFiresTheRestOnce) {
  const absl::Time t = clock_.Now() + absl::Hours(1);
  ScheduleMany("burst", 1000, t + absl::Hours(24), clock_.Now());
  ScheduleMany("early", 200, t + absl::Hours(23), clock_.Now());
  // Three levels each already due (T-24h, T-4h, due; scheduled while down).
  ScheduleMany("late", 50, t - absl::Hours(20), t - absl::Hours(100));
  ::dsar::testing::CrashingStore crashing(*store_);
  auto scheduler = NewScheduler(crashing, 64);
  clock_.SetTime(t);
  crashing.FailWriteAfter(3);  // batches 1-3 commit, batch 4 is rolled back
  EXPECT_THAT(scheduler->RunDue(), StatusIs(absl::StatusCode::kUnavailable));
  // Exactly the deadlines of the three committed batches, all their due levels.
  EXPECT_EQ(CountRows("SELECT COUNT(DISTINCT tenant_id || deadline_id) FROM deadline_alerts"),
            3 * 64);
  EXPECT_EQ(PendingDeliveries(), 2 * CountRows("SELECT COUNT(*) FROM deadline_alerts"));
  // The deadlines' own bookkeeping follows the alerts (AdvanceFired) and
  // never ran; only the "late" ones, whose further levels were still due
  // when their batch ended, were moved on inside it.
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadlines WHERE levels_fired > 0 AND "
                      "resource NOT LIKE 'breaches/late%'"),
            0);
  EXPECT_EQ(OutOfOrderPairs(), 0);

  // Restart: a new scheduler over the reopened file.
  scheduler.reset();
  ReopenStore();
  scheduler = NewScheduler(*store_, 64);
  const int64_t before = CountRows("SELECT COUNT(*) FROM deadline_alerts");
  absl::StatusOr<int> fired = scheduler->RunDue();
  ASSERT_THAT(fired, IsOk());
  EXPECT_EQ(before + *fired, 1000 + 200 + 50 * 3);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 1000 + 200 + 50 * 3);
  EXPECT_EQ(DoubledLevels(), 0);
  EXPECT_EQ(OutOfOrderPairs(), 0);
  EXPECT_EQ(PendingDeliveries(), 2 * (1000 + 200 + 150));
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadlines WHERE next_fire_at_us <= " +
                      std::to_string(absl::ToUnixMicros(t))),
            0);
  EXPECT_EQ(MisCountedDeadlines(), 0);
  EXPECT_EQ(RunDue(*scheduler), 0);
}

}  // namespace
}  // namespace dsar::deadline
