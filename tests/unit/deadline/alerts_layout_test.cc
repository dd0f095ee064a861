// The alert layout of migrations 9 and 10: ids derived from (deadline, due
// version, level); alerts and deliveries stored before stay readable,
// acknowledgeable, in seq order and delivered (sink cursors); firing stays
// exactly once when a crash falls between the alerts and the deadlines'
// bookkeeping (AdvanceFired).
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/core/call_context.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/alert_forwarder.h"
#include "lib/deadline/alert_sink.h"
#include "lib/deadline/alerts.h"
#include "lib/deadline/firing.h"
#include "lib/deadline/kinds.h"
#include "lib/deadline/scheduler.h"
#include "lib/store/migrations.h"
#include "lib/store/store.h"
#include "tests/testing/crashing_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/deadline/deadline_fixture.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::HasSubstr;

TEST(AlertIdTest, RoundTripsEveryLevelAndRejectsOtherSpellings) {
  const std::string dl = "dl_3n3r4ijpr6x22laqfh6pzeysbs";
  struct Case {
    absl::Duration offset;
    const char* id;
  } cases[] = {
      {absl::Hours(-24), "alrt_3n3r4ijpr6x22laqfh6pzeysbs_1_m86400"},
      {absl::ZeroDuration(), "alrt_3n3r4ijpr6x22laqfh6pzeysbs_1_0"},
      {absl::Hours(48), "alrt_3n3r4ijpr6x22laqfh6pzeysbs_1_p172800"},
      {absl::Milliseconds(-1500), "alrt_3n3r4ijpr6x22laqfh6pzeysbs_1_m1500000u"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AlertIdFor(dl, 1, c.offset), c.id);
    std::optional<AlertKey> key = ParseAlertId(c.id);
    ASSERT_TRUE(key.has_value()) << c.id;
    EXPECT_EQ(key->deadline_id, dl);
    EXPECT_EQ(key->due_version, 1);
    EXPECT_EQ(key->offset, c.offset);
  }
  EXPECT_EQ(AlertIdFor(dl, 3, absl::Hours(-4)), "alrt_3n3r4ijpr6x22laqfh6pzeysbs_3_m14400");
  for (const char* bad :
       {"alrt_5f3kq2", "alrt_3n3r4ijpr6x22laqfh6pzeysbs", "alrt_x_1", "alrt__1_0", "alrt_x_0_0",
        "alrt_x_01_0", "alrt_x_1_m0", "alrt_x_1_86400", "alrt_x_1_m086400", "alrt_x_1_m1000000u",
        "alrt_x_1_mu", "alrt_x_1_m-5", "alrt_x_1_p99999999999999999999", "dl_x_1_0", ""}) {
    EXPECT_FALSE(ParseAlertId(bad).has_value()) << bad;
  }
}

// Every migration before 9.
std::vector<store::Migration> MigrationsBefore9() {
  std::vector<store::Migration> out;
  for (const store::Migration& m : store::DsarMigrations()) {
    if (m.version < 9) out.push_back(m);
  }
  return out;
}

class AlertLayoutTest : public testing::DeadlineTest {
 protected:
  CallContext Ctx(const std::string& request_id) {
    return CallContext{"dpo-test", Role::kDpo, testing::kTenant, IdempotencyKey(request_id),
                       "/dsar.v1.DeadlineService/AcknowledgeAlert"};
  }

  absl::StatusOr<Alert> Get(const std::string& alert_id) {
    absl::StatusOr<Alert> out = absl::UnknownError("not run");
    absl::Status s = store_->Read([&](store::ReadTxn& txn) {
      out = GetAlert(txn, testing::kTenant, alert_id);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  int64_t DeliveryCount(const std::string& sink, const std::string& state) {
    return CountRows(absl::StrCat(
        "SELECT COALESCE(SUM(n), 0) FROM deadline_alert_delivery_counts WHERE sink = '", sink,
        "' AND state = '", state, "'"));
  }

  absl::StatusOr<Alert> Acknowledge(const std::string& alert_id, const std::string& request_id) {
    absl::StatusOr<Alert> out = absl::UnknownError("not run");
    absl::Status s = store_->WriteAndWait([&](store::WriteTxn& txn) {
      out = AcknowledgeAlert(txn, Ctx(request_id), alert_id, clock_.Now());
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }
};

TEST_F(AlertLayoutTest, AlertsStoredBeforeMigration9StayReadableAndSeqCarriesOn) {
  // A database at schema 8 with a deadline and three alerts as the earlier
  // layout stored them: one with its body stored (row-at-a-time firing), one
  // without (set-based firing), and a third whose row was deleted afterwards
  // (its seq must never be handed out again), plus pending deliveries.
  store_->Close();
  store_.reset();
  const std::string path = dir_.File("dsar.db");
  std::filesystem::remove(path);
  {
    std::vector<store::Migration> before = MigrationsBefore9();
    store::StoreOptions options;
    options.path = path;
    options.migrations = &before;
    auto old = store::Store::Open(options);
    ASSERT_THAT(old.status(), IsOk());
    EXPECT_EQ((*old)->schema_version(), 8);
    (*old)->Close();
  }
  const absl::Time due = clock_.Now() + absl::Hours(30);
  const int64_t due_us = absl::ToUnixMicros(due);
  const int64_t warn_us = due_us - absl::ToInt64Microseconds(absl::Hours(24));
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec(absl::StrFormat(
        "INSERT INTO deadlines VALUES ('%s', 'dl_old', '%s', 'breaches/old-1', 'open', 0, %d, "
        "%d, 1, NULL, 0, 0, '', 2, -14400000000, %d, NULL, 0, 0)",
        testing::kTenant, kBreachControllerNotification, due_us, due_us,
        due_us - int64_t{14400000000}));
    db.exec(absl::StrFormat(
        "INSERT INTO deadline_alerts (seq, tenant_id, alert_id, deadline_id, kind, resource, "
        "due_version, offset_us, due_at_us, fire_at_us, fired_at_us, payload) VALUES "
        "(1, '%s', 'alrt_legacystoredbody', 'dl_old', '%s', 'breaches/old-1', 1, -86400000000, "
        "%d, %d, %d, '{\"stored\":true}'),"
        "(2, '%s', 'alrt_legacynobody', 'dl_old', '%s', 'breaches/old-1', 1, -43200000000, "
        "%d, %d, %d, ''),"
        "(3, '%s', 'alrt_legacydeleted', 'dl_old', '%s', 'breaches/old-1', 1, -36000000000, "
        "%d, %d, %d, '')",
        testing::kTenant, kBreachControllerNotification, due_us, warn_us, warn_us, testing::kTenant,
        kBreachControllerNotification, due_us, warn_us, warn_us, testing::kTenant,
        kBreachControllerNotification, due_us, warn_us, warn_us));
    db.exec("DELETE FROM deadline_alerts WHERE seq = 3");
    db.exec(absl::StrFormat(
        "INSERT INTO deadline_alert_deliveries (alert_seq, sink, tenant_id, state, "
        "next_attempt_us) VALUES (1, 'log', '%s', 'delivered', 0), (2, 'log', '%s', 'pending', 0)",
        testing::kTenant, testing::kTenant));
  }
  OpenStore();  // applies migration 9 (and any later one)
  EXPECT_GE(store_->schema_version(), 9);

  // Old ids still name their alerts; kind and resource come from the deadline.
  absl::StatusOr<Alert> stored = Get("alrt_legacystoredbody");
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->seq, 1);
  EXPECT_EQ(stored->payload, "{\"stored\":true}");
  EXPECT_EQ(stored->kind, kBreachControllerNotification);
  EXPECT_EQ(stored->resource, "breaches/old-1");
  absl::StatusOr<Alert> built = Get("alrt_legacynobody");
  ASSERT_THAT(built.status(), IsOk());
  EXPECT_EQ(built->seq, 2);
  EXPECT_THAT(built->payload, HasSubstr("\"alert_id\":\"alrt_legacynobody\""));
  EXPECT_THAT(built->payload, HasSubstr("\"resource\":\"breaches/old-1\""));
  EXPECT_THAT(Get("alrt_legacydeleted").status(), StatusIs(absl::StatusCode::kNotFound));
  // An id derived from an old alert's key does not name it: it has its own id.
  EXPECT_THAT(Get(AlertIdFor("dl_old", 1, absl::Hours(-24))).status(),
              StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<Alert> acked = Acknowledge("alrt_legacynobody", "ack-1");
  ASSERT_THAT(acked.status(), IsOk());
  EXPECT_EQ(acked->acknowledged_by, "dpo-test");
  // Migration 22 moved the retry rows to the one deliveries table.
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deliveries WHERE channel = 'alerts/log'"), 2);

  // The deadline fires its next level (T-4h) with a new seq after every old
  // one, including the deleted seq 3, and a derived id.
  clock_.SetTime(due - absl::Hours(4));
  SchedulerOptions options;
  options.sinks = {"log"};
  Scheduler scheduler(*store_, clock_, *deadlines_, options);
  ASSERT_THAT(scheduler.RunDue(), IsOk());
  std::vector<Alert> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[0].alert_id, "alrt_legacystoredbody");
  EXPECT_EQ(alerts[1].alert_id, "alrt_legacynobody");
  EXPECT_EQ(alerts[2].seq, 4);
  EXPECT_EQ(alerts[2].alert_id, "alrt_old_1_m14400");
  EXPECT_EQ(alerts[2].kind, kBreachControllerNotification);
  EXPECT_THAT(alerts[2].payload, HasSubstr("\"alert_id\":\"alrt_old_1_m14400\""));
  EXPECT_EQ(Find(Key("breaches/old-1", kBreachControllerNotification))->levels_fired, 3);
  absl::StatusOr<Alert> by_new_id = Get("alrt_old_1_m14400");
  ASSERT_THAT(by_new_id.status(), IsOk());
  EXPECT_EQ(by_new_id->seq, 4);
  EXPECT_EQ(by_new_id->payload, alerts[2].payload);

  // Migration 10: the log sink's cursor starts after its old rows; the old
  // pending row and the new alert are both pending, the old delivery stays.
  EXPECT_EQ(DeliveryCount("log", "pending"), 2);
  EXPECT_EQ(DeliveryCount("log", "delivered"), 1);
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::make_unique<LogSink>());
  AlertForwarder forwarder(*store_, clock_, std::move(sinks), AlertForwarderOptions{});
  absl::StatusOr<int> delivered = forwarder.RunOnce();
  ASSERT_THAT(delivered, IsOk());
  EXPECT_EQ(*delivered, 2);
  EXPECT_EQ(DeliveryCount("log", "pending"), 0);
  EXPECT_EQ(DeliveryCount("log", "delivered"), 3);
  EXPECT_EQ(CountRows("SELECT delivered_seq FROM deadline_alert_sinks WHERE sink = 'log'"), 4);
  ASSERT_THAT(forwarder.RunOnce(), IsOk());
  EXPECT_EQ(forwarder.stats().delivered, 2);
}

TEST_F(AlertLayoutTest, DerivedIdsAreStableAcrossRestartsAndAcknowledgeable) {
  ASSERT_THAT(Schedule("breaches/b1", kBreachControllerNotification, clock_.Now()).status(),
              IsOk());
  clock_.Advance(absl::Hours(48));  // T-24h
  {
    Scheduler scheduler(*store_, clock_, *deadlines_, SchedulerOptions{});
    ASSERT_THAT(scheduler.RunDue(), IsOk());
  }
  std::vector<Alert> before = Alerts();
  ASSERT_EQ(before.size(), 1u);
  ReopenStore();
  std::vector<Alert> after = Alerts();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].alert_id, before[0].alert_id);
  EXPECT_EQ(after[0].payload, before[0].payload);
  ASSERT_TRUE(ParseAlertId(after[0].alert_id).has_value());
  absl::StatusOr<Alert> acked = Acknowledge(after[0].alert_id, "ack-2");
  ASSERT_THAT(acked.status(), IsOk());
  EXPECT_TRUE(acked->acknowledged_at.has_value());
  EXPECT_THAT(Acknowledge("alrt_nosuchdeadline_1_0", "ack-3").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AlertLayoutTest, ACrashBetweenAlertsAndBookkeepingFiresNothingTwice) {
  const absl::Time t = clock_.Now() + absl::Hours(1);
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    for (int i = 0; i < 300; ++i) {
      ScheduleRequest r{testing::kTenant, kBreachControllerNotification,
                        absl::StrCat("breaches/c", i), t + absl::Hours(24) - absl::Hours(72),
                        t + absl::Hours(24)};
      RETURN_IF_ERROR(deadlines_->Schedule(txn, r, clock_.Now()).status());
    }
    return absl::OkStatus();
  }),
              IsOk());
  clock_.SetTime(t);  // every T-24h is due
  SchedulerOptions options;
  options.fire_batch = 128;
  options.sinks = {"log"};
  {
    // Three firing batches commit (128 + 128 + 44: all 300 alerts); the first
    // write of the deadlines' bookkeeping fails.
    ::dsar::testing::CrashingStore crashing(*store_);
    crashing.FailWriteAfter(3);  // the 4th write from now fails
    Scheduler scheduler(crashing, clock_, *deadlines_, options);
    EXPECT_THAT(scheduler.RunDue(), StatusIs(absl::StatusCode::kUnavailable));
  }
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 300);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadlines WHERE levels_fired = 0"), 300);

  // Restart: the deadlines are found due again, fire nothing and move on.
  ReopenStore();
  {
    Scheduler scheduler(*store_, clock_, *deadlines_, options);
    absl::StatusOr<int> fired = scheduler.RunDue();
    ASSERT_THAT(fired, IsOk());
    EXPECT_EQ(*fired, 0);
    EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 300);
    EXPECT_EQ(CountRows("SELECT n FROM deadline_alert_delivery_counts WHERE sink = 'log' AND "
                        "state = 'pending'"),
              300);
    EXPECT_EQ(CountRows(absl::StrCat(
                  "SELECT COUNT(*) FROM deadlines WHERE levels_fired = 1 AND next_offset_us = ",
                  -absl::ToInt64Microseconds(absl::Hours(4)))),
              300);
    // The next level fires once, at its time.
    clock_.SetTime(t + absl::Hours(20));
    fired = scheduler.RunDue();
    ASSERT_THAT(fired, IsOk());
    EXPECT_EQ(*fired, 300);
    fired = scheduler.RunDue();
    ASSERT_THAT(fired, IsOk());
    EXPECT_EQ(*fired, 0);
  }
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadline_alerts"), 600);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM (SELECT deadline_id, offset_us, COUNT(*) AS n FROM "
                      "deadline_alerts GROUP BY 1, 2 HAVING n > 1)"),
            0);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deadlines WHERE levels_fired = 2"), 300);
}

}  // namespace
}  // namespace dsar::deadline
