// Set-based firing (FireDue through the Scheduler): many levels due at one
// instant fire exactly once each, in due order, in batches; a batch that is
// rolled back (a crash before COMMIT) fires nothing and the next run picks up
// exactly where the committed batches ended. Batches of first-time levels go
// the fast path (one INSERT ... SELECT); levels already fired or several due
// at once make it fall back to the general path, with the same outcome. Time
// is a FakeClock.
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
  // Every batch (10 of 256, one of 240) was one INSERT ... SELECT.
  EXPECT_EQ(scheduler->stats().fast_batches, 11);
  EXPECT_EQ(scheduler->stats().fast_fallbacks, 0);
}

TEST_F(FiringTest, CatchUpAcrossBatchesKeepsEveryLevelInFireTimeOrder) {
  const absl::Time t0 = clock_.Now();
  // While nothing runs: deadlines due 10..60 hours after t0; the scheduler
  // starts 100 hours later, so each has 3 to 6 levels due.
  for (int i = 0; i < 6; ++i) {
    ScheduleMany(absl::StrCat("down", i), 7, t0 + absl::Hours(10 + 10 * i), t0 - absl::Hours(100));
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
  // The first batch tried the fast path (a next level due too: NULL fire
  // time) and fell back.
  EXPECT_GE(scheduler->stats().fast_fallbacks, 1);
  EXPECT_EQ(RunDue(*scheduler), 0);
  EXPECT_EQ(MisCountedDeadlines(), 0);
}

TEST_F(FiringTest, LevelsFiredBeforeACrashMakeTheFastPathFallBackUntilBatchesAreFreshAgain) {
  const absl::Time t = clock_.Now() + absl::Hours(1);
  // "fired": T-24h at t, fired and committed, then the bookkeeping write
  // crashes; "fresh": T-24h at the same instant, fired by the restart. Index
  // order at t is by tenant: tenant-0000 (the fired ones) first.
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    for (int i = 0; i < 300; ++i) {
      ScheduleRequest r{"tenant-0000", kBreachControllerNotification,
                        absl::StrFormat("breaches/fired-%05d", i), t - absl::Hours(48),
                        t + absl::Hours(24)};
      RETURN_IF_ERROR(deadlines_->Schedule(txn, r, clock_.Now()).status());
    }
    return absl::OkStatus();
  }),
              IsOk());
  clock_.SetTime(t);
  {
    ::dsar::testing::CrashingStore crashing(*store_);
    auto scheduler = NewScheduler(crashing, 128);
    crashing.FailWriteAfter(3);  // 128 + 128 + 44 alerts commit; the advance fails
    EXPECT_THAT(scheduler->RunDue(), StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_EQ(scheduler->stats().fast_batches, 3);
  }
  ASSERT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 300);
  ASSERT_EQ(CountRows("SELECT COUNT(*) FROM deadlines WHERE levels_fired = 0"), 300);
  ScheduleMany("fresh", 1000, t + absl::Hours(24), t);  // alternates the two tenants

  ReopenStore();
  auto scheduler = NewScheduler(*store_, 128);
  absl::StatusOr<int> fired = scheduler->RunDue();
  ASSERT_THAT(fired, IsOk());
  // Only the fresh ones fire, once each; the crashed run's alerts stay.
  EXPECT_EQ(*fired, 1000);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 1300);
  EXPECT_EQ(DoubledLevels(), 0);
  EXPECT_EQ(OutOfOrderPairs(), 0);
  // 1300 rows in batches of 128, the 300 fired ones first: batch 1 fell
  // back (unique key), 2 and 3 (44 fired, 84 fresh) went the general way
  // (not simple), 4 too and was simple, 5 to 11 the fast path.
  EXPECT_EQ(scheduler->stats().fast_fallbacks, 1);
  EXPECT_EQ(scheduler->stats().fast_batches, 7);
  // Every deadline moved on to T-4h.
  EXPECT_EQ(CountRows(absl::StrCat("SELECT COUNT(*) FROM deadlines WHERE levels_fired = 1 AND "
                                   "next_offset_us = ",
                                   -absl::ToInt64Microseconds(absl::Hours(4)),
                                   " AND next_fire_at_us = due_at_us + next_offset_us")),
            1300);
  EXPECT_EQ(MisCountedDeadlines(), 0);
  EXPECT_EQ(PendingDeliveries(), 2 * 1300);
  EXPECT_EQ(RunDue(*scheduler), 0);
}

// Other level configurations: the fast path's SQL for "the next level" must
// agree with NextLevelAfter, or a deadline with two levels due would fire only
// one of them in the run (or a simple batch would fall back).
class FiringLevelsTest : public FiringTest, public ::testing::WithParamInterface<AlertLevels> {
 protected:
  FiringLevelsTest() { options_.levels = GetParam(); }
};

TEST_P(FiringLevelsTest, FastAndGeneralPathsFireWhatNextLevelAfterSays) {
  const AlertLevels& levels = GetParam();
  const absl::Time t0 = clock_.Now();
  // 40 deadlines due every 7 minutes from t0 + 1 h, scheduled at t0; the
  // clock then moves in steps of 13 minutes, firing each time.
  struct Expected {
    absl::Time due;
    absl::Duration next;  // next level to fire
    bool done = false;
  };
  std::vector<Expected> expected;
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    for (int i = 0; i < 40; ++i) {
      const absl::Time due = t0 + absl::Hours(1) + absl::Minutes(7) * i;
      ScheduleRequest r{testing::kTenant, kBreachControllerNotification,
                        absl::StrFormat("breaches/lv-%03d", i), due - absl::Hours(72), due};
      RETURN_IF_ERROR(deadlines_->Schedule(txn, r, t0).status());
      expected.push_back(Expected{due, StartLevel(levels, due, t0)});
    }
    return absl::OkStatus();
  }),
              IsOk());
  auto scheduler = NewScheduler(*store_, 8);
  int64_t total = 0;
  for (int step = 1; step <= 40; ++step) {
    clock_.SetTime(t0 + absl::Minutes(13) * step);
    int due_now = 0;
    for (Expected& e : expected) {
      while (!e.done && e.due + e.next <= clock_.Now()) {
        ++due_now;
        std::optional<absl::Duration> next = NextLevelAfter(levels, e.next);
        if (next.has_value()) {
          e.next = *next;
        } else {
          e.done = true;
        }
      }
    }
    ASSERT_EQ(RunDue(*scheduler), due_now) << "step " << step;
    total += due_now;
  }
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), total);
  EXPECT_EQ(DoubledLevels(), 0);
  EXPECT_EQ(OutOfOrderPairs(), 0);
  EXPECT_EQ(MisCountedDeadlines(), 0);
  EXPECT_GT(scheduler->stats().fast_batches, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Levels, FiringLevelsTest,
    ::testing::Values(AlertLevels{{absl::Minutes(30), absl::Minutes(10)}, absl::Minutes(20)},
                      AlertLevels{{absl::Minutes(45)}, absl::ZeroDuration()},
                      AlertLevels{{}, absl::Minutes(9)},
                      AlertLevels{{absl::Minutes(5), absl::Minutes(50), absl::Minutes(20)},
                                  absl::Hours(1)}));

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
