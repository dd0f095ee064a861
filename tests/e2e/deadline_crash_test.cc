// dsard as a real process, killed with SIGKILL after an alert fired but before
// its webhook delivery was recorded: after a restart the alert is delivered
// again with the same alert id (at least once), and no level fires twice.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "lib/deadline/deadlines.h"
#include "lib/store/store.h"
#include "tests/testing/child_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/deadline/webhook_receiver.h"

namespace dsar {
namespace {

using ::dsar::testing::ChildProcess;
using ::dsar::testing::IsOk;

constexpr char kSecret[] = "e2e-webhook-secret-0123456789abcdef";

class DeadlineCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("hook.secret")) << kSecret << "\n";
    std::ofstream(dir_.File("dsard.textproto"))
        << "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n"
        << "shutdown_grace_ms: 1000\ndatabase_path: \"" << dir_.File("dsar.db") << "\"\n"
        << "outbound { allowed_cidrs: \"127.0.0.0/8\" }\n"
        << "deadline {\n  webhooks { name: \"oncall\" url: \"" << receiver_.url()
        << "\" secret_file: \"" << dir_.File("hook.secret") << "\" timeout_ms: 60000 }\n}\n";
  }

  // Seeds a breach deadline whose "T-4h" level is due now (real clock).
  void SeedDueDeadline() {
    store::StoreOptions options;
    options.path = dir_.File("dsar.db");
    auto store = store::Store::Open(options);
    ASSERT_THAT(store, IsOk());
    auto deadlines = deadline::Deadlines::Create({});
    ASSERT_THAT(deadlines, IsOk());
    const absl::Time now = absl::Now();
    ASSERT_THAT((*store)->WriteAndWait([&](store::WriteTxn& txn) {
      return (*deadlines)
          ->Schedule(
              txn,
              deadline::ScheduleRequest{"tenant-e2e", deadline::kBreachControllerNotification,
                                        "breaches/br-e2e-0001", now - absl::Hours(70)},
              now)
          .status();
    }),
                IsOk());
  }

  ChildProcess StartDsard() {
    return ChildProcess({DSARD_PATH, "--config", dir_.File("dsard.textproto")});
  }

  int64_t Count(const std::string& sql) {
    SQLite::Database db(dir_.File("dsar.db"), SQLite::OPEN_READONLY);
    return db.execAndGet(sql).getInt64();
  }

  ::dsar::testing::TempDir dir_;
  deadline::testing::WebhookReceiver receiver_{kSecret};
};

TEST_F(DeadlineCrashTest, AlertFiredBeforeSigkillIsDeliveredAfterRestartExactlyOnceFired) {
  SeedDueDeadline();
  receiver_.HoldNext();  // the first delivery hangs until dsard is dead
  {
    ChildProcess dsard = StartDsard();
    ASSERT_TRUE(dsard.WaitForLine("\"event\":\"ready\"")) << dsard.output();
    ASSERT_TRUE(receiver_.WaitUntilHolding(absl::Seconds(60))) << dsard.output();
    dsard.Signal(SIGKILL);
    EXPECT_EQ(dsard.Wait(), 128 + SIGKILL);
  }
  receiver_.Release();  // answers the dead connection
  ASSERT_TRUE(receiver_.WaitForHooks(1, absl::Seconds(30)));
  // The level fired and its delivery is still pending in the database.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM deadline_alerts"), 1);
  EXPECT_EQ(Count("SELECT n FROM deadline_alert_delivery_counts "
                  "WHERE sink = 'webhook:oncall' AND state = 'pending'"),
            1);

  {
    ChildProcess dsard = StartDsard();
    ASSERT_TRUE(dsard.WaitForLine("\"event\":\"ready\"")) << dsard.output();
    ASSERT_TRUE(receiver_.WaitForHooks(2, absl::Seconds(60))) << dsard.output();
    dsard.Signal(SIGTERM);
    EXPECT_EQ(dsard.Wait(), 0) << dsard.output();
  }
  const auto hooks = receiver_.hooks();
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_TRUE(hooks[0].signature_valid);
  EXPECT_TRUE(hooks[1].signature_valid);
  EXPECT_FALSE(hooks[0].alert_id_header.empty());
  EXPECT_EQ(hooks[1].alert_id_header, hooks[0].alert_id_header);  // receivers dedupe on it
  EXPECT_EQ(hooks[1].body, hooks[0].body);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM deadline_alerts"), 1);  // fired once
  EXPECT_EQ(Count("SELECT n FROM deadline_alert_delivery_counts "
                  "WHERE sink = 'webhook:oncall' AND state = 'delivered'"),
            1);
  EXPECT_EQ(Count("SELECT levels_fired FROM deadlines"), 1);
}

}  // namespace
}  // namespace dsar
