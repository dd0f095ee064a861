// The scheduler: each level fires exactly once, in order, at its time; extend,
// pause and complete move or cancel levels; restarts and downtime neither
// double nor lose alerts. Time is a FakeClock; nothing sleeps.
#include "lib/deadline/scheduler.h"

#include "absl/synchronization/notification.h"
#include "tests/unit/deadline/deadline_fixture.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using testing::kTenant;

// Records what listeners are told.
class RecordingListener : public AlertListener {
 public:
  void OnAlertsFired(int64_t last_seq) override {
    absl::MutexLock lock(&mu_);
    last_seq_ = last_seq;
    ++calls_;
    if (notify_ != nullptr && !notify_->HasBeenNotified()) notify_->Notify();
  }
  void NotifyOnNext(absl::Notification* n) {
    absl::MutexLock lock(&mu_);
    notify_ = n;
  }
  int64_t last_seq() {
    absl::MutexLock lock(&mu_);
    return last_seq_;
  }

 private:
  absl::Mutex mu_;
  int64_t last_seq_ = 0;
  int calls_ = 0;
  absl::Notification* notify_ = nullptr;
};

class SchedulerTest : public testing::DeadlineTest {
 protected:
  void SetUp() override {
    DeadlineTest::SetUp();
    NewScheduler();
  }
  void TearDown() override { scheduler_.reset(); }

  void NewScheduler(SchedulerOptions options = {}) {
    scheduler_.reset();
    options.sinks = {"log"};
    scheduler_ = std::make_unique<Scheduler>(*store_, clock_, *deadlines_, options);
    scheduler_->AddListener(&listener_);
  }

  int RunDue() {
    auto n = scheduler_->RunDue();
    EXPECT_THAT(n, IsOk());
    return n.ok() ? *n : -1;
  }

  // Labels of the alerts fired so far, in seq order.
  std::vector<std::string> Labels(const std::string& tenant = kTenant) {
    std::vector<std::string> out;
    for (const Alert& a : Alerts(tenant)) out.push_back(LevelLabel(a.offset));
    return out;
  }

  RecordingListener listener_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, EachLevelFiresOnceAtItsTime) {
  const absl::Time t0 = clock_.Now();
  ASSERT_THAT(Schedule("privacyRequests/req-0001", kRequestProcessor, t0), IsOk());
  EXPECT_EQ(RunDue(), 0);
  clock_.SetTime(t0 + absl::Hours(48) - absl::Seconds(1));
  EXPECT_EQ(RunDue(), 0);
  clock_.Advance(absl::Seconds(1));  // T-24h
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(RunDue(), 0);
  clock_.SetTime(t0 + absl::Hours(68));  // T-4h
  EXPECT_EQ(RunDue(), 1);
  clock_.SetTime(t0 + absl::Hours(72));  // due
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(RunDue(), 0);
  clock_.SetTime(t0 + absl::Hours(96));  // overdue +24h
  EXPECT_EQ(RunDue(), 1);
  EXPECT_THAT(Labels(), ElementsAre("T-24h", "T-4h", "due", "overdue+24h"));
  const std::vector<Alert> alerts = Alerts();
  EXPECT_EQ(alerts[0].fire_at, t0 + absl::Hours(48));
  EXPECT_EQ(alerts[0].fired_at, t0 + absl::Hours(48));
  EXPECT_EQ(alerts[3].fire_at, t0 + absl::Hours(96));
  EXPECT_EQ(listener_.last_seq(), alerts.back().seq);
  // Every alert is pending for the configured sink.
  EXPECT_EQ(CountRows("SELECT n FROM deadline_alert_delivery_counts WHERE sink = 'log' "
                      "AND state = 'pending'"),
            4);
}

TEST_F(SchedulerTest, ExtendMovesLaterLevelsAndReArmsThemForTheNewDueTime) {
  const absl::Time t0 = clock_.Now();
  const DeadlineKey key = Key("privacyRequests/req-0002", kRequestProcessor);
  ASSERT_THAT(Schedule(key.resource, key.kind, t0), IsOk());
  clock_.SetTime(t0 + absl::Hours(48));
  EXPECT_EQ(RunDue(), 1);  // T-24h of the first due time
  // Extend by two days before the T-4h level.
  ASSERT_THAT(Mutate([&](store::WriteTxn& txn) {
                return deadlines_->Extend(txn, key, t0 + absl::Hours(120), "controller agreed",
                                          clock_.Now());
              }),
              IsOk());
  clock_.SetTime(t0 + absl::Hours(68));  // the old T-4h: nothing
  EXPECT_EQ(RunDue(), 0);
  clock_.SetTime(t0 + absl::Hours(72));  // the old due: nothing
  EXPECT_EQ(RunDue(), 0);
  clock_.SetTime(t0 + absl::Hours(96));  // T-24h of the new due time
  EXPECT_EQ(RunDue(), 1);
  clock_.SetTime(t0 + absl::Hours(116));
  EXPECT_EQ(RunDue(), 1);
  clock_.SetTime(t0 + absl::Hours(120));
  EXPECT_EQ(RunDue(), 1);
  const std::vector<Alert> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 4u);
  EXPECT_THAT(Labels(), ElementsAre("T-24h", "T-24h", "T-4h", "due"));
  EXPECT_EQ(alerts[0].due_version, 1);
  EXPECT_EQ(alerts[1].due_version, 2);
  EXPECT_EQ(alerts[3].due_at, t0 + absl::Hours(120));
  EXPECT_GE(scheduler_->stats().stale_skipped, 0);
}

TEST_F(SchedulerTest, PauseStopsTheClock) {
  const absl::Time t0 = clock_.Now();
  const DeadlineKey key = Key("privacyRequests/req-0003", kRequestProcessor);
  ASSERT_THAT(Schedule(key.resource, key.kind, t0), IsOk());
  clock_.SetTime(t0 + absl::Hours(10));
  ASSERT_THAT(
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Pause(txn, key, clock_.Now()); }),
      IsOk());
  clock_.SetTime(t0 + absl::Hours(200));  // far past the original due time
  EXPECT_EQ(RunDue(), 0);
  ASSERT_THAT(
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Resume(txn, key, clock_.Now()); }),
      IsOk());
  // 190 hours paused: T-24h is now at 48 + 190 hours.
  clock_.SetTime(t0 + absl::Hours(48 + 190) - absl::Seconds(1));
  EXPECT_EQ(RunDue(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(RunDue(), 1);
  ASSERT_EQ(Alerts().size(), 1u);
  EXPECT_EQ(Alerts()[0].due_at, t0 + absl::Hours(72 + 190));
}

TEST_F(SchedulerTest, CompleteCancelsPendingLevels) {
  const absl::Time t0 = clock_.Now();
  const DeadlineKey key = Key("breaches/br-0001", kBreachControllerNotification);
  ASSERT_THAT(Schedule(key.resource, key.kind, t0), IsOk());
  clock_.SetTime(t0 + absl::Hours(48));
  EXPECT_EQ(RunDue(), 1);
  ASSERT_THAT(
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Complete(txn, key, clock_.Now()); }),
      IsOk());
  clock_.SetTime(t0 + absl::Hours(24 * 30));
  EXPECT_EQ(RunDue(), 0);
  EXPECT_THAT(Labels(), ElementsAre("T-24h"));
}

TEST_F(SchedulerTest, ALevelAlreadyPassedAtScheduleFiresOnceAtOnce) {
  // A breach reported 70 hours after awareness: "T-4h" now, then "due".
  const absl::Time now = clock_.Now();
  ASSERT_THAT(Schedule("breaches/br-0002", kBreachControllerNotification, now - absl::Hours(70)),
              IsOk());
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(RunDue(), 0);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(RunDue(), 1);
  EXPECT_THAT(Labels(), ElementsAre("T-4h", "due"));
}

TEST_F(SchedulerTest, RestartFiresNothingTwice) {
  const absl::Time t0 = clock_.Now();
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(Schedule(absl::StrCat("privacyRequests/req-1", i), kRequestProcessor,
                         t0 + absl::Minutes(i)),
                IsOk());
  }
  clock_.SetTime(t0 + absl::Hours(49));
  EXPECT_EQ(RunDue(), 20);
  // Restart: close everything, reopen the file, new Deadlines and Scheduler.
  scheduler_.reset();
  ReopenStore();
  auto d = Deadlines::Create(options_);
  ASSERT_THAT(d, IsOk());
  deadlines_ = std::move(*d);
  NewScheduler();
  EXPECT_EQ(RunDue(), 0);
  clock_.SetTime(t0 + absl::Hours(72));
  EXPECT_EQ(RunDue(), 20 + 1);  // T-4h for all, due for the first
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 41);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM (SELECT deadline_id, due_version, offset_us, "
                      "COUNT(*) AS n FROM deadline_alerts GROUP BY 1, 2, 3 HAVING n > 1)"),
            0);
}

TEST_F(SchedulerTest, DowntimeIsCaughtUpOldestFirst) {
  const absl::Time t0 = clock_.Now();
  // Three deadlines due 10, 30 and 50 hours after t0, scheduled while no
  // scheduler runs; it starts 100 hours later.
  scheduler_.reset();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Deadline> d = Mutate([&](store::WriteTxn& txn) {
      return deadlines_->Schedule(
          txn,
          ScheduleRequest{kTenant, kRequestProcessor, absl::StrCat("privacyRequests/req-2", i), t0,
                          t0 + absl::Hours(10 + 20 * i)},
          t0 - absl::Hours(100));
    });
    ASSERT_THAT(d, IsOk());
  }
  clock_.SetTime(t0 + absl::Hours(100));
  NewScheduler();
  const int fired = RunDue();
  const std::vector<Alert> alerts = Alerts();
  ASSERT_EQ(static_cast<int>(alerts.size()), fired);
  // Each: T-24h, T-4h, due, then overdue+24h... up to t0+100h.
  // req-20 (due 10h): 5 levels (overdue +24, +48, +72 up to 90h); req-21 (due
  // 30h): 3 + 2 (54h, 78h); req-22 (due 50h): 3 + 2 (74h, 98h).
  EXPECT_EQ(fired, 6 + 5 + 5);
  std::vector<absl::Time> fire_times;
  for (const Alert& a : alerts) fire_times.push_back(a.fire_at);
  std::vector<absl::Time> sorted = fire_times;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_THAT(fire_times, ElementsAreArray(sorted));
  EXPECT_EQ(alerts.front().fire_at, t0 - absl::Hours(14));  // req-20's T-24h
  for (const Alert& a : alerts) EXPECT_EQ(a.fired_at, t0 + absl::Hours(100));
  EXPECT_EQ(RunDue(), 0);
}

TEST_F(SchedulerTest, PagesThroughMoreDueLevelsThanTheQueueHolds) {
  SchedulerOptions options;
  options.max_queued = 10;
  options.fire_batch = 3;
  const absl::Time t0 = clock_.Now();
  scheduler_.reset();
  for (int i = 0; i < 57; ++i) {
    ASSERT_THAT(Mutate([&](store::WriteTxn& txn) {
                  return deadlines_->Schedule(
                      txn,
                      ScheduleRequest{i % 2 ? kTenant : "tenant-0002", kRequestProcessor,
                                      absl::StrCat("privacyRequests/req-3", i), t0,
                                      t0 + absl::Hours(48) + absl::Seconds(i % 5)},
                      t0);
                }),
                IsOk());
  }
  NewScheduler(options);
  clock_.SetTime(t0 + absl::Hours(40));  // every T-24h is due
  EXPECT_EQ(RunDue(), 57);
  EXPECT_EQ(RunDue(), 0);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 57);
  EXPECT_EQ(CountRows("SELECT COUNT(DISTINCT deadline_id) FROM deadline_alerts"), 57);
  // In fire-time order across both tenants.
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts a JOIN deadline_alerts b "
                      "ON b.seq > a.seq AND b.fire_at_us < a.fire_at_us"),
            0);
  EXPECT_LE(scheduler_->stats().queued, 10u + 3u);
}

TEST_F(SchedulerTest, FarFutureDeadlinesStayOutOfTheQueueUntilNear) {
  const absl::Time t0 = clock_.Now();
  EXPECT_EQ(RunDue(), 0);  // loads the (empty) horizon
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(Schedule(absl::StrCat("privacyRequests/req-4", i), kRequestGdpr, t0), IsOk());
  }
  EXPECT_EQ(scheduler_->stats().queued, 0u);  // a month away
  clock_.SetTime(absl::FromCivil(absl::CivilDay(2026, 2, 1), absl::UTCTimeZone()));
  EXPECT_EQ(RunDue(), 5);  // T-24h of "end of 1 February"
  EXPECT_GE(scheduler_->stats().refills, 2);
}

TEST_F(SchedulerTest, StaleQueueEntriesFireNothing) {
  const absl::Time t0 = clock_.Now();
  const DeadlineKey key = Key("privacyRequests/req-0005", kRequestProcessor);
  ASSERT_THAT(Schedule(key.resource, key.kind, t0 - absl::Hours(47) - absl::Minutes(30)), IsOk());
  EXPECT_EQ(RunDue(), 0);  // T-24h in 30 minutes: now queued
  EXPECT_EQ(scheduler_->stats().queued, 1u);
  ASSERT_THAT(
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Cancel(txn, key, clock_.Now()); }),
      IsOk());
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(RunDue(), 0);
  EXPECT_EQ(scheduler_->stats().stale_skipped, 1);
  EXPECT_TRUE(Alerts().empty());
}

TEST_F(SchedulerTest, BackgroundThreadWakesForANewDeadlineThatIsAlreadyDue) {
  scheduler_->Start();
  absl::Notification fired;
  listener_.NotifyOnNext(&fired);
  // The clock does not move: only the new deadline can wake the thread.
  ASSERT_THAT(
      Schedule("breaches/br-0003", kBreachControllerNotification, clock_.Now() - absl::Hours(71)),
      IsOk());
  ASSERT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(30)));
  scheduler_->Stop();
  EXPECT_THAT(Labels(), ElementsAre("T-4h"));
}

TEST_F(SchedulerTest, BackgroundThreadRunsWhenPokedAfterTheClockMoved) {
  const absl::Time t0 = clock_.Now();
  ASSERT_THAT(Schedule("privacyRequests/req-0006", kRequestProcessor, t0), IsOk());
  scheduler_->Start();
  absl::Notification fired;
  listener_.NotifyOnNext(&fired);
  clock_.SetTime(t0 + absl::Hours(48));
  scheduler_->Poke();
  ASSERT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(30)));
  scheduler_->Stop();
  EXPECT_THAT(Labels(), ElementsAre("T-24h"));
}

}  // namespace
}  // namespace dsar::deadline
