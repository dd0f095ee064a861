// Operating a real in-process dsard: the Prometheus endpoint serves parseable
// text whose counters move with traffic, and a backup taken during a write
// load restores into a fresh dsard with every write acknowledged before the
// backup started and an intact audit chain.
#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sodium.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "dsar/v1/admin.grpc.pb.h"
#include "dsar/v1/audit.grpc.pb.h"
#include "dsar/v1/consent.grpc.pb.h"
#include "dsar/v1/deadline.grpc.pb.h"
#include "lib/deadline/deadline_module.h"
#include "lib/deadline/kinds.h"
#include "lib/store/store.h"
#include "services/ops_module.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subject_testing.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::TestDsard;

// One scrape, parsed: sample "name{labels}" -> value. Fails the test on any
// line that is not a comment or a well-formed sample, on a sample whose
// family has no TYPE, and on histograms whose buckets do not add up.
class Scrape {
 public:
  explicit Scrape(const std::string& text) {
    static const std::regex kSample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$)");
    static const std::regex kType(
        R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
    for (const auto& line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      std::string l(line);
      std::smatch m;
      if (std::regex_match(l, m, kType)) {
        types_[m[1]] = m[2];
      } else if (l.rfind("# HELP ", 0) == 0) {
        continue;
      } else if (std::regex_match(l, m, kSample)) {
        std::string name = m[1];
        std::string family = name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
          if (!types_.count(family) && absl::EndsWith(name, suffix)) {
            family = name.substr(0, name.size() - strlen(suffix));
          }
        }
        EXPECT_TRUE(types_.count(family)) << "no TYPE for " << name;
        samples_[name + std::string(m[2])] = std::stod(m[3] == "+Inf" ? "inf" : std::string(m[3]));
      } else {
        ADD_FAILURE() << "not Prometheus text: " << l;
      }
    }
  }
  // 0 when absent.
  double Get(const std::string& key) const {
    auto it = samples_.find(key);
    return it == samples_.end() ? 0 : it->second;
  }
  bool Has(const std::string& key) const { return samples_.count(key) > 0; }
  const std::map<std::string, std::string>& types() const { return types_; }

 private:
  std::map<std::string, std::string> types_;
  std::map<std::string, double> samples_;
};

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(dsard_.Start(), IsOk());
    port_ = dsard_.daemon().ops()->admin_port();
    ASSERT_GT(port_, 0);
    consent_ = v1::ConsentService::NewStub(dsard_.channel());
  }

  Scrape Get() {
    httplib::Client client("127.0.0.1", port_);
    auto response = client.Get("/metrics");
    EXPECT_TRUE(response);
    if (!response) return Scrape("");
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->get_header_value("Content-Type"),
              "text/plain; version=0.0.4; charset=utf-8");
    return Scrape(response->body);
  }

  TestDsard dsard_{"admin_listen_address: \"127.0.0.1:0\"\n"};
  int port_ = 0;
  std::unique_ptr<v1::ConsentService::Stub> consent_;
};

constexpr char kCheckOk[] =
    "dsar_grpc_server_handled_total{grpc_service=\"dsar.v1.ConsentService\","
    "grpc_method=\"CheckConsent\",grpc_code=\"OK\"}";
constexpr char kCheckUnauthenticated[] =
    "dsar_grpc_server_handled_total{grpc_service=\"dsar.v1.ConsentService\","
    "grpc_method=\"CheckConsent\",grpc_code=\"UNAUTHENTICATED\"}";

TEST_F(MetricsTest, EndpointServesPrometheusTextWhoseCountersMoveWithTraffic) {
  Scrape before = Get();
  EXPECT_EQ(before.types().at("dsar_grpc_server_handled_total"), "counter");
  EXPECT_EQ(before.types().at("dsar_store_commit_seconds"), "histogram");
  EXPECT_EQ(before.Get("dsar_metrics_state_counts_ok"), 1);

  v1::RecordConsentRequest record;
  record.set_request_id("metrics-record-1");
  *record.mutable_subject() = ::dsar::testing::CustomerSubject("subject-0100");
  record.set_purpose("marketing");
  record.set_notice_version("v7");
  record.set_language("sv-SE");
  record.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
  record.set_channel("web-booking");
  v1::RecordConsentResponse recorded;
  ASSERT_TRUE(consent_->RecordConsent(TestDsard::Context().get(), record, &recorded).ok());
  v1::CheckConsentRequest check;
  *check.mutable_subject() = ::dsar::testing::CustomerSubject("subject-0100");
  check.set_purpose("marketing");
  v1::CheckConsentResponse checked;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(consent_->CheckConsent(TestDsard::Context().get(), check, &checked).ok());
  }
  EXPECT_EQ(
      consent_->CheckConsent(TestDsard::Context("wrong-token").get(), check, &checked).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  // A stream refused by role: counted too.
  {
    auto deadlines = v1::DeadlineService::NewStub(dsard_.channel());
    auto context = TestDsard::Context();  // the service role may not watch alerts
    auto reader = deadlines->WatchAlerts(context.get(), v1::WatchAlertsRequest());
    v1::WatchAlertsResponse unused;
    EXPECT_FALSE(reader->Read(&unused));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // A deadline that has fired its first alert.
  const absl::Time t0 = dsard_.clock().Now();
  ASSERT_THAT(dsard_.daemon().store().WriteAndWait([&](store::WriteTxn& txn) {
    return dsard_.daemon()
        .deadline_module()
        ->deadlines()
        .Schedule(txn,
                  deadline::ScheduleRequest{"acme-travel", deadline::kRequestProcessor,
                                            "privacyRequests/req-0100", t0},
                  t0)
        .status();
  }),
              IsOk());
  dsard_.clock().SetTime(t0 + absl::Hours(49));
  ASSERT_THAT(dsard_.daemon().deadline_module()->scheduler().RunDue(), IsOk());

  Scrape after = Get();
  EXPECT_EQ(after.Get(kCheckOk) - before.Get(kCheckOk), 3);
  EXPECT_EQ(after.Get(kCheckUnauthenticated) - before.Get(kCheckUnauthenticated), 1);
  // The consent recorded above is one more state held in memory.
  EXPECT_EQ(after.Get("dsar_consent_index_enabled"), 1);
  EXPECT_EQ(after.Get("dsar_consent_index_states") - before.Get("dsar_consent_index_states"), 1);
  const std::string watch_denied =
      "dsar_grpc_server_handled_total{grpc_service=\"dsar.v1.DeadlineService\","
      "grpc_method=\"WatchAlerts\",grpc_code=\"PERMISSION_DENIED\"}";
  EXPECT_EQ(after.Get(watch_denied) - before.Get(watch_denied), 1);
  const std::string latency =
      "dsar_grpc_server_handling_seconds_count{grpc_service=\"dsar.v1.ConsentService\","
      "grpc_method=\"CheckConsent\",grpc_code=\"OK\"}";
  EXPECT_EQ(after.Get(latency), after.Get(kCheckOk));
  EXPECT_EQ(
      after.Get("dsar_grpc_server_handling_seconds_bucket{grpc_service=\"dsar.v1."
                "ConsentService\",grpc_method=\"CheckConsent\",grpc_code=\"OK\",le=\"+Inf\"}"),
      after.Get(kCheckOk));
  EXPECT_GT(after.Get("dsar_store_writes_committed_total"),
            before.Get("dsar_store_writes_committed_total"));
  EXPECT_GT(after.Get("dsar_store_group_size_count"), before.Get("dsar_store_group_size_count"));
  EXPECT_EQ(after.Get("dsar_store_group_size_count"),
            after.Get("dsar_store_group_size_bucket{le=\"+Inf\"}"));
  EXPECT_GT(after.Get("dsar_store_commit_seconds_count"), 0);
  // The writer used some CPU for the writes above, and never more than the
  // wall time its transactions took.
  EXPECT_GT(after.Get("dsar_store_writer_cpu_seconds_total"),
            before.Get("dsar_store_writer_cpu_seconds_total"));
  EXPECT_LE(after.Get("dsar_store_writer_cpu_seconds_total"),
            after.Get("dsar_store_commit_seconds_sum") + 0.01);
  // Checkpoints are counted by where the writer ran them (a few writes take
  // the WAL to neither threshold: the counters exist and stay at zero).
  EXPECT_TRUE(after.Has("dsar_store_wal_checkpoints_total{when=\"idle\"}"));
  EXPECT_TRUE(after.Has("dsar_store_wal_checkpoints_total{when=\"commit\"}"));
  EXPECT_EQ(after.types().at("dsar_store_wal_checkpoints_total"), "counter");
  EXPECT_EQ(after.Get("dsar_deadlines{tenant=\"acme-travel\",kind=\"request.processor\","
                      "state=\"open\"}"),
            1);
  EXPECT_EQ(after.Get("dsar_deadline_alerts_fired_total{tenant=\"acme-travel\",level=\"warning\"}"),
            1);
  EXPECT_EQ(after.Get("dsar_grpc_server_in_flight"), 0);
  // Scrapes themselves are not gRPC calls; health checks are counted.
  EXPECT_EQ(after.Get("dsar_backups_total{outcome=\"ok\"}"), 0);

  httplib::Client client("127.0.0.1", port_);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body, "ok\n");
  EXPECT_EQ(client.Get("/nothing-here")->status, 404);
}

std::string FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

// Writers record consents as fast as they can; each acknowledged subject is
// kept in order.
class WriteLoad {
 public:
  WriteLoad(std::shared_ptr<grpc::Channel> channel, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, channel, t] {
        auto stub = v1::ConsentService::NewStub(channel);
        for (int i = 0; !stop_.load(); ++i) {
          const std::string subject = absl::StrCat("subject-", t, "-", i);
          v1::RecordConsentRequest r;
          r.set_request_id(absl::StrCat("load-", t, "-", i));
          *r.mutable_subject() = ::dsar::testing::CustomerSubject(subject);
          r.set_purpose("marketing");
          r.set_notice_version("v7");
          r.set_language("sv-SE");
          r.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
          r.set_channel("web-booking");
          v1::RecordConsentResponse response;
          if (!stub->RecordConsent(TestDsard::Context().get(), r, &response).ok()) continue;
          absl::MutexLock lock(&mu_);
          acked_.push_back(subject);
        }
      });
    }
  }
  ~WriteLoad() { Stop(); }
  void WaitForAcked(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return acked_.size() >= n; };
    mu_.Await(absl::Condition(&enough));
  }
  std::vector<std::string> Acked() {
    absl::MutexLock lock(&mu_);
    return acked_;
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  std::vector<std::string> acked_ ABSL_GUARDED_BY(mu_);
};

TEST(BackupRestoreTest, BackupDuringWriteLoadRestoresEveryAcknowledgedWrite) {
  TestDsard source;
  ASSERT_THAT(source.Start(), IsOk());
  WriteLoad load(source.channel(), 4);
  load.WaitForAcked(200);
  const std::vector<std::string> before_backup = load.Acked();
  v1::CreateBackupResponse created;
  v1::CreateBackupRequest request;
  request.set_request_id("backup-under-load");
  auto admin = v1::AdminService::NewStub(source.channel());
  grpc::Status status = admin->CreateBackup(TestDsard::Context(::dsar::testing::kAdminToken).get(),
                                            request, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const size_t acked_during = load.Acked().size();
  load.WaitForAcked(acked_during + 50);  // the load went on after the backup
  load.Stop();
  const size_t acked_total = load.Acked().size();
  source.Stop();

  const v1::Backup& backup = created.backup();
  EXPECT_EQ(FileSha256(backup.path()), backup.sha256());
  // A backup holds every tenant's data: the directory and its files are
  // owner-only whatever the test's umask.
  const auto group_or_others =
      std::filesystem::perms::group_all | std::filesystem::perms::others_all;
  const std::filesystem::path backups = std::filesystem::path(backup.path()).parent_path();
  EXPECT_EQ(std::filesystem::status(backups).permissions() & group_or_others,
            std::filesystem::perms::none);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(backups)) {
    EXPECT_EQ(entry.status().permissions() & group_or_others, std::filesystem::perms::none)
        << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 3);  // .db, .db.sha256, .db.json
  EXPECT_GE(backup.audit_head_seq(), static_cast<int64_t>(before_backup.size()));

  // Restore: dsard stopped; the backup copied in place of the database, next
  // to the same subject key file (TestDsard writes the same test key).
  TestDsard restored;
  std::filesystem::copy_file(backup.path(), restored.DatabasePath());
  ASSERT_THAT(restored.Start(), IsOk());
  auto consent = v1::ConsentService::NewStub(restored.channel());
  for (const std::string& subject : before_backup) {
    v1::CheckConsentRequest check;
    *check.mutable_subject() = ::dsar::testing::CustomerSubject(subject);
    check.set_purpose("marketing");
    v1::CheckConsentResponse response;
    ASSERT_TRUE(consent->CheckConsent(TestDsard::Context().get(), check, &response).ok());
    ASSERT_EQ(response.state(), v1::CONSENT_STATE_GRANTED) << subject << " lost by the backup";
  }
  // Nothing from after the backup's snapshot beyond what it captured: the
  // copy holds fewer receipts than were acknowledged in total.
  int64_t receipts = 0;
  ASSERT_THAT(restored.daemon().store().Read([&](store::ReadTxn& txn) {
    auto& query = txn.Prepare("SELECT count(DISTINCT receipt_id) FROM consent_events");
    receipts = query.executeStep() ? query.getColumn(0).getInt64() : 0;
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_GE(receipts, static_cast<int64_t>(before_backup.size()));
  EXPECT_LT(receipts, static_cast<int64_t>(acked_total));

  auto audit = v1::AuditService::NewStub(restored.channel());
  v1::VerifyAuditLogResponse verified;
  ASSERT_TRUE(
      audit->VerifyAuditLog(TestDsard::Context(::dsar::testing::kDpoToken).get(), {}, &verified)
          .ok());
  EXPECT_TRUE(verified.intact()) << verified.reason();
  EXPECT_GE(verified.rows_checked(), backup.audit_head_seq());
  // The backup's audit head is in the restored chain, unchanged.
  v1::ListAuditEventsRequest list;
  list.set_page_size(1);
  list.set_page_token(absl::StrCat(backup.audit_head_seq() - 1));
  v1::ListAuditEventsResponse events;
  ASSERT_TRUE(
      audit->ListAuditEvents(TestDsard::Context(::dsar::testing::kDpoToken).get(), list, &events)
          .ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).seq(), backup.audit_head_seq());
  EXPECT_EQ(events.events(0).hash(), backup.audit_head_hash());
}

}  // namespace
}  // namespace dsar
