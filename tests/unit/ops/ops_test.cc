// lib/ops: Prometheus text, request metrics, online backups of a real store
// (scheduled, pruned, checked), and the ops part of config validation.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "lib/audit/audit_log.h"
#include "lib/core/config.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"
#include "lib/ops/backup.h"
#include "lib/ops/prometheus_text.h"
#include "lib/ops/request_metrics.h"
#include "lib/ops/state_counts.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::ops {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// The count of the row whose labels are `labels`, or -1 when there is none.
int64_t CountOf(const std::vector<LabeledCount>& rows, const Labels& labels) {
  for (const auto& row : rows) {
    if (row.labels == labels) return row.count;
  }
  return -1;
}

TEST(StateCountsTest, DeadlinesByStateAndOverdueOnesPerTenantAndKind) {
  testing::TempDir dir;
  auto store = testing::OpenKvStore(dir.File("dsar.db"));
  ASSERT_THAT(store, IsOk());
  auto deadlines = deadline::Deadlines::Create({});
  ASSERT_THAT(deadlines, IsOk());
  const absl::Time now = absl::FromUnixSeconds(1780000000);
  // tenant-a: three open requests, one due an hour ago, one due an hour ago
  // but paused (its clock stopped: not overdue), one due tomorrow; one
  // completed request, long past due (closed: not overdue). tenant-b: one
  // overdue breach notification.
  auto schedule = [&](store::WriteTxn& txn, const std::string& tenant, const char* kind,
                      const std::string& resource, absl::Time due) {
    return (*deadlines)
        ->Schedule(txn,
                   deadline::ScheduleRequest{tenant, kind, resource, due - absl::Hours(72), due},
                   due - absl::Hours(72))
        .status();
  };
  ASSERT_THAT((*store)->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    RETURN_IF_ERROR(schedule(txn, "tenant-a", deadline::kRequestProcessor, "privacyRequests/r1",
                             now - absl::Hours(1)));
    RETURN_IF_ERROR(schedule(txn, "tenant-a", deadline::kRequestProcessor, "privacyRequests/r2",
                             now - absl::Hours(1)));
    RETURN_IF_ERROR(schedule(txn, "tenant-a", deadline::kRequestProcessor, "privacyRequests/r3",
                             now + absl::Hours(24)));
    RETURN_IF_ERROR(schedule(txn, "tenant-a", deadline::kRequestProcessor, "privacyRequests/r4",
                             now - absl::Hours(100)));
    RETURN_IF_ERROR(schedule(txn, "tenant-b", deadline::kBreachControllerNotification,
                             "breaches/b1", now - absl::Minutes(5)));
    RETURN_IF_ERROR((*deadlines)
                        ->Pause(txn,
                                {"tenant-a", deadline::kRequestProcessor, "privacyRequests/r2"},
                                now - absl::Hours(2))
                        .status());
    return (*deadlines)
        ->Complete(txn, {"tenant-a", deadline::kRequestProcessor, "privacyRequests/r4"},
                   now - absl::Hours(99))
        .status();
  }),
              IsOk());

  auto counts = ReadStateCounts(**store, now);
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(
      CountOf(counts->deadlines,
              {{"tenant", "tenant-a"}, {"kind", deadline::kRequestProcessor}, {"state", "open"}}),
      3);
  EXPECT_EQ(CountOf(counts->deadlines, {{"tenant", "tenant-a"},
                                        {"kind", deadline::kRequestProcessor},
                                        {"state", "completed"}}),
            1);
  EXPECT_EQ(
      CountOf(counts->overdue, {{"tenant", "tenant-a"}, {"kind", deadline::kRequestProcessor}}), 1);
  EXPECT_EQ(CountOf(counts->overdue,
                    {{"tenant", "tenant-b"}, {"kind", deadline::kBreachControllerNotification}}),
            1);
  EXPECT_EQ(counts->overdue.size(), 2u);
  // An hour earlier only tenant-b's is not yet due, and tenant-a's first is
  // exactly due (due, not past it, still counts as overdue: due_at <= now).
  auto earlier = ReadStateCounts(**store, now - absl::Hours(1));
  ASSERT_THAT(earlier, IsOk());
  EXPECT_EQ(
      CountOf(earlier->overdue, {{"tenant", "tenant-a"}, {"kind", deadline::kRequestProcessor}}),
      1);
  EXPECT_EQ(earlier->overdue.size(), 1u);
  (*store)->Close();
}

TEST(PrometheusTextTest, WritesFamiliesOnceEscapesLabelsAndCumulatesBuckets) {
  PrometheusText out;
  out.Family("x_total", "counter", "Things.");
  out.Sample("x_total", {{"tenant", "a\"b\\c\nd"}}, 3);
  out.Family("x_total", "counter", "Things.");  // not repeated
  out.Family("h", "histogram", "Sizes.");
  out.Histogram("h", {{"k", "v"}}, HistogramData{{1, 10}, {2, 0, 1}, 25.5});
  EXPECT_EQ(out.text(),
            "# HELP x_total Things.\n# TYPE x_total counter\n"
            "x_total{tenant=\"a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP h Sizes.\n# TYPE h histogram\n"
            "h_bucket{k=\"v\",le=\"1\"} 2\nh_bucket{k=\"v\",le=\"10\"} 2\n"
            "h_bucket{k=\"v\",le=\"+Inf\"} 3\nh_sum{k=\"v\"} 25.5\nh_count{k=\"v\"} 3\n");
}

TEST(RequestMetricsTest, CountsPerMethodAndCodeWithUnknownMethodsApart) {
  RequestMetrics metrics({"/dsar.v1.ConsentService/CheckConsent"});
  const int check = metrics.MethodIndex("/dsar.v1.ConsentService/CheckConsent");
  metrics.Record(check, 0, absl::Microseconds(300));
  metrics.Record(check, 0, absl::Milliseconds(30));
  metrics.Record(check, 16, absl::Milliseconds(1));
  metrics.Record(metrics.MethodIndex("/x.Y/Z"), 5, absl::Milliseconds(1));
  metrics.Record(check, 99, absl::Milliseconds(1));  // out of range: UNKNOWN
  EXPECT_EQ(metrics.Count("/dsar.v1.ConsentService/CheckConsent", 0), 2u);
  EXPECT_EQ(metrics.Count("/dsar.v1.ConsentService/CheckConsent", 16), 1u);
  EXPECT_EQ(metrics.Count("/dsar.v1.ConsentService/CheckConsent", 2), 1u);
  PrometheusText out;
  metrics.WriteTo(out);
  EXPECT_THAT(out.text(),
              HasSubstr("dsar_grpc_server_handled_total{grpc_service=\"dsar.v1.ConsentService\","
                        "grpc_method=\"CheckConsent\",grpc_code=\"OK\"} 2\n"));
  EXPECT_THAT(out.text(), HasSubstr("grpc_service=\"unknown\",grpc_method=\"unknown\","
                                    "grpc_code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(
      out.text(),
      HasSubstr(
          "dsar_grpc_server_handling_seconds_bucket{grpc_service=\"dsar.v1."
          "ConsentService\",grpc_method=\"CheckConsent\",grpc_code=\"OK\",le=\"0.0005\"} 1\n"));
  EXPECT_THAT(out.text(), Not(HasSubstr("grpc_code=\"CANCELLED\"")));  // never seen: not printed
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ::dsar::testing::OpenKvStore(dir_.File("dsar.db"));
    ASSERT_THAT(store.status(), IsOk());
    store_ = std::move(*store);
    for (int i = 1; i <= 50; ++i)
      ASSERT_THAT(store_->WriteAndWait(::dsar::testing::InsertKv(i)), IsOk());
    CallContext ctx{"svc-test", Role::kService, "acme-travel", IdempotencyKey("r1"), "/test/Write"};
    ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
      return audit::Append(txn, ctx, "kv/1", "OK", clock_.Now());
    }),
                IsOk());
  }

  static int64_t Rows(const std::string& path) {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT count(*) FROM kv").getInt64();
  }

  static std::string Sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<char*>(digest), sizeof digest));
  }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(BackupTest, CopyIsASelfContainedCheckedFileWithTheAuditHead) {
  auto info = BackupDatabase(*store_, dir_.File("copy.db"));
  ASSERT_THAT(info.status(), IsOk());
  EXPECT_EQ(Rows(dir_.File("copy.db")), 50);
  EXPECT_EQ(info->sha256, Sha256(dir_.File("copy.db")));
  EXPECT_EQ(info->size_bytes,
            static_cast<int64_t>(std::filesystem::file_size(dir_.File("copy.db"))));
  EXPECT_EQ(info->schema_version, store_->schema_version());
  EXPECT_EQ(info->audit_head_seq, 1);
  EXPECT_EQ(info->audit_head_hash.size(), 64u);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("copy.db-wal")));
  SQLite::Database copy(dir_.File("copy.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(copy.execAndGet("PRAGMA journal_mode").getString(), "delete");
  // Never over an existing file.
  EXPECT_THAT(BackupDatabase(*store_, dir_.File("copy.db")).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(BackupTest, ManagerNamesChecksumsAuditsAndKeepsTheNewest) {
  BackupOptions options;
  options.directory = dir_.File("backups");
  options.keep = 2;
  BackupManager manager(store_.get(), &clock_, options);
  manager.Start();
  CallContext admin{"admin-ops", Role::kAdmin, "acme-travel", IdempotencyKey("b1"),
                    "/dsar.v1.AdminService/CreateBackup"};
  std::vector<BackupInfo> made;
  for (int i = 0; i < 3; ++i) {
    auto info = manager.CreateAndWait(admin);
    ASSERT_THAT(info.status(), IsOk());
    made.push_back(*info);
    ASSERT_THAT(store_->WriteAndWait(::dsar::testing::InsertKv(100 + i)), IsOk());
  }
  // Same clock second: names get a counter, and sort by creation.
  EXPECT_EQ(made[0].name, "dsar-20260101T000000Z.db");
  EXPECT_EQ(made[1].name, "dsar-20260101T000000Z-1.db");
  EXPECT_EQ(Rows(made[2].path), 52);  // rows 1..50, 100, 101
  std::ifstream sidecar(made[2].path + ".sha256");
  std::string line;
  std::getline(sidecar, line);
  EXPECT_EQ(line, made[2].sha256 + "  " + made[2].name);
  EXPECT_EQ(Sha256(made[2].path), made[2].sha256);
  // Each backup appended an audit event after its snapshot.
  EXPECT_EQ(made[1].audit_head_seq, made[0].audit_head_seq + 1);

  auto listed = manager.List();
  ASSERT_THAT(listed.status(), IsOk());
  ASSERT_EQ(listed->size(), 2u);  // the oldest was pruned with its sidecars
  EXPECT_EQ((*listed)[0].name, made[2].name);
  EXPECT_EQ((*listed)[1].name, made[1].name);
  EXPECT_FALSE(std::filesystem::exists(made[0].path));
  EXPECT_FALSE(std::filesystem::exists(made[0].path + ".json"));
  EXPECT_EQ(manager.stats().succeeded, 3);
  manager.Stop();
  EXPECT_THAT(manager.CreateAndWait(admin).status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(BackupTest, ScheduledBackupsRunOnTheirOwn) {
  BackupOptions options;
  options.directory = dir_.File("scheduled");
  options.interval = absl::Milliseconds(20);
  options.keep = 3;
  BackupManager manager(store_.get(), &clock_, options);
  manager.Start();
  ASSERT_TRUE(manager.WaitForFinished(4, absl::Seconds(60)));
  manager.Stop();
  auto listed = manager.List();
  ASSERT_THAT(listed.status(), IsOk());
  EXPECT_EQ(listed->size(), 3u);
  for (const auto& b : *listed) {
    EXPECT_EQ(b.trigger, "scheduled");
    EXPECT_EQ(Rows(b.path), 50);
  }
  EXPECT_EQ(manager.stats().failed, 0);
}

TEST_F(BackupTest, AnUnwritableDirectoryIsUnavailable) {
  std::ofstream(dir_.File("not-a-dir")) << "x";
  BackupOptions options;
  options.directory = dir_.File("not-a-dir/backups");
  BackupManager manager(store_.get(), &clock_, options);
  manager.Start();
  CallContext admin{"admin-ops", Role::kAdmin, "acme-travel", IdempotencyKey("b1"), "m"};
  EXPECT_THAT(manager.CreateAndWait(admin).status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(manager.stats().failed, 1);
}

TEST(OpsConfigTest, AdminEndpointIsLoopbackUnlessAllowedAndBackupsAreRangeChecked) {
  const std::string base =
      "listen_address: \"127.0.0.1:0\" insecure_loopback: true database_path: \"/tmp/x.db\"\n";
  EXPECT_THAT(ParseDsardConfig(base + "admin_listen_address: \"127.0.0.1:9464\"", "c").status(),
              IsOk());
  auto remote = ParseDsardConfig(base + "admin_listen_address: \"0.0.0.0:9464\"", "c");
  EXPECT_THAT(remote.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(remote.status().message()), HasSubstr("c:2: admin_listen_address"));
  EXPECT_THAT(ParseDsardConfig(base + "admin_listen_address: \"0.0.0.0:9464\" "
                                      "admin_allow_non_loopback: true",
                               "c")
                  .status(),
              IsOk());
  EXPECT_THAT(ParseDsardConfig(base + "admin_listen_address: \"127.0.0.1\"", "c").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDsardConfig(base + "backup { interval_minutes: -1 }", "c").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto defaults = ParseDsardConfig(base + "backup { interval_minutes: 60 }", "c");
  ASSERT_THAT(defaults.status(), IsOk());
  EXPECT_EQ(defaults->backup().keep(), 7);
}

}  // namespace
}  // namespace dsar::ops
