// dsar-sql-connector end to end on real PostgreSQL 15: a throw-away cluster
// holding the demo's loyalty database (deploy/connectors/loyalty.sql), the
// connector process with the shipped map (deploy/connectors/loyalty.textproto)
// and dsard, driven through PrivacyRequestService. Synchronisation: signed
// status callbacks and the processes' log lines; the one wait on the
// database (a connector blocked on a lock the test holds) polls
// pg_stat_activity, the only place that state shows.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "dsar/connector/v1/connector.pb.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "services/call_gate.h"
#include "tests/testing/drained_process.h"
#include "tests/testing/loyalty_db.h"
#include "tests/testing/status_callback_receiver.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::DrainedProcess;
using ::dsar::testing::StatusCallbackReceiver;

constexpr char kServiceToken[] = "e2e-token-svc";
constexpr char kDpoToken[] = "e2e-token-dpo";
constexpr char kCallbackSecret[] = "e2e-callback-secret-0123456789";

std::string Email(int i) { return absl::StrFormat("person-%04d@example.invalid", i); }
std::string CustomerNo(int i) { return absl::StrFormat("cust-%04d", i); }

class SqlConnectorE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error = cluster_.Start();
    ASSERT_EQ(error, "") << "PostgreSQL 15 is required (CI installs postgresql-15)";
    ASSERT_EQ(db_.Create("postgresql", &cluster_, 60), "");
    std::ofstream(dir_.File("subject.key")) << "e2e-subject-key-0123456789abcdef0123456789";
    std::ofstream(dir_.File("callback.secret")) << kCallbackSecret;
    std::ofstream(dir_.File("hash.key")) << "e2e-loyalty-hash-key-0123456789abcdef";
  }

  int StartConnector(int port = 0) {
    connector_ = std::make_unique<DrainedProcess>(std::vector<std::string>{
        SQL_CONNECTOR_PATH, "--map",
        std::string(DSAR_SOURCE_DIR) + "/deploy/connectors/loyalty.textproto", "--postgres",
        db_.conninfo(), "--hash-key-file", dir_.File("hash.key"),
        absl::StrCat("--listen=127.0.0.1:", port)});
    return connector_port_ = connector_->WaitReady();
  }

  bool StartDsard() {
    auto principal = [](const char* name, const char* role, const char* token) {
      return absl::StrCat("principals { name: \"", name, "\" role: \"", role,
                          "\" tenant: \"acme-travel\" token_sha256: \"", CallGate::TokenHash(token),
                          "\" }\n");
    };
    std::ofstream(dir_.File("dsard.textproto")) << absl::StrCat(
        "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 2000\n",
        "database_path: \"", dir_.File("dsar.db"), "\"\nsubject_key_file: \"",
        dir_.File("subject.key"), "\"\n",
        "tenants { id: \"acme-travel\" controller_name: \"Acme Travel AB (synthetic)\" "
        "purposes { name: \"marketing\" current_notice_version: \"v1\" } }\n",
        principal("svc-loyalty", "service", kServiceToken), principal("dpo-acme", "dpo", kDpoToken),
        "connectors { name: \"loyalty\" address: \"127.0.0.1:", connector_port_,
        "\" display_name: \"Loyalty\" purposes: \"marketing\" categories: \"membership\" "
        "country: \"SE\" processor: \"Example Loyalty AB (synthetic)\" max_attempts: 50 "
        "initial_backoff_ms: 10 max_backoff_ms: 200 call_timeout_ms: 60000 }\n",
        "outbox { poll_interval_ms: 50 health_interval_ms: 60000 waiting_poll_ms: 50 }\n",
        "outbound { allowed_cidrs: \"127.0.0.0/8\" allowed_cidrs: \"::1/128\" }\n",
        "requests { callback_secret_file: \"", dir_.File("callback.secret"),
        "\" worker_poll_interval_ms: 100 }\n");
    dsard_ = std::make_unique<DrainedProcess>(
        std::vector<std::string>{DSARD_PATH, "--config", dir_.File("dsard.textproto")});
    int port = dsard_->WaitReady();
    if (port <= 0) return false;
    stub_ = v1::PrivacyRequestService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    return true;
  }

  std::unique_ptr<grpc::ClientContext> Context(const char* token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  // Files a verified request naming the person by e-mail only.
  std::string File(v1::PrivacyRequestType type, int person) {
    v1::CreatePrivacyRequestRequest r;
    r.set_request_id(absl::StrCat("e2e-", static_cast<int>(type), "-", person));
    r.set_type(type);
    auto* email = r.add_identifiers();
    email->set_type(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL);
    email->set_value(Email(person));
    r.set_status_callback_url(callbacks_.url());
    r.mutable_verification()->set_method(v1::VERIFICATION_METHOD_AUTHENTICATED_SESSION);
    v1::CreatePrivacyRequestResponse response;
    auto ctx = Context(type == v1::PRIVACY_REQUEST_TYPE_ERASURE ? kDpoToken : kServiceToken);
    grpc::Status s = stub_->CreatePrivacyRequest(ctx.get(), r, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.privacy_request().name();
  }

  v1::PrivacyRequest Get(const std::string& name) {
    v1::GetPrivacyRequestRequest request;
    request.set_name(name);
    v1::GetPrivacyRequestResponse response;
    auto ctx = Context(kDpoToken);
    EXPECT_TRUE(stub_->GetPrivacyRequest(ctx.get(), request, &response).ok());
    return response.privacy_request();
  }

  std::string PointsPerRegion() {
    return db_.All(
        "SELECT region, SUM(points), COUNT(*) FROM point_transactions GROUP BY region ORDER BY 1");
  }

  // The erasure responses the connector stored, by task id.
  std::map<std::string, connector::v1::EraseSubjectDataResponse> StoredErasures() {
    std::map<std::string, connector::v1::EraseSubjectDataResponse> out;
    std::string rows =
        db_.All("SELECT task_id, response FROM dsar_connector_tasks WHERE kind = 'erase'");
    for (absl::string_view line : absl::StrSplit(rows, '\n', absl::SkipEmpty())) {
      std::vector<std::string> parts = absl::StrSplit(line, '|');
      std::string bytes;
      EXPECT_TRUE(absl::Base64Unescape(parts[1], &bytes));
      EXPECT_TRUE(out[parts[0]].ParseFromString(bytes));
    }
    return out;
  }

  void CheckErasedAsTheMapSays(int person) {
    const std::string id = std::to_string(person);
    EXPECT_EQ(db_.One("SELECT COUNT(*) FROM members WHERE email = '" + Email(person) +
                      "' OR customer_no = '" + CustomerNo(person) + "'"),
              "0");
    EXPECT_EQ(db_.One("SELECT length(email) FROM members WHERE id = " + id), "64");
    EXPECT_EQ(db_.One("SELECT phone FROM members WHERE id = " + id), "+46*********");
    EXPECT_EQ(db_.One("SELECT full_name FROM members WHERE id = " + id), "NULL");
    EXPECT_EQ(db_.One("SELECT COUNT(*) FROM point_transactions WHERE member_id = " + id), "0");
    EXPECT_EQ(db_.One("SELECT COUNT(*) FROM reward_redemptions WHERE member_id = " + id), "0");
    EXPECT_EQ(db_.One("SELECT COUNT(*) FROM point_purchases WHERE member_id = " + id), "1");
    testing::CommandResult dump = cluster_.Dump(db_name());
    ASSERT_EQ(dump.exit_code, 0) << dump.err;
    EXPECT_NE(dump.out.find(Email(person + 1)), std::string::npos);  // the dump has people
    EXPECT_EQ(dump.out.find(Email(person)), std::string::npos);
    EXPECT_EQ(dump.out.find(CustomerNo(person) + "\t"), std::string::npos);
  }

  std::string db_name() const {
    const std::string& c = db_.conninfo();
    auto at = c.find("dbname=") + 7;
    return c.substr(at, c.find(' ', at) - at);
  }

  testing::PostgresCluster cluster_;
  testing::LoyaltyDb db_;
  ::dsar::testing::TempDir dir_;
  StatusCallbackReceiver callbacks_{kCallbackSecret};
  std::unique_ptr<DrainedProcess> connector_, dsard_;
  int connector_port_ = 0;
  std::unique_ptr<v1::PrivacyRequestService::Stub> stub_;
};

TEST_F(SqlConnectorE2eTest, AccessByEmailExportsEveryMappedTableAndErasureLeavesNoTrace) {
  ASSERT_GT(StartConnector(), 0);
  ASSERT_TRUE(StartDsard());
  const std::string stats = PointsPerRegion();

  const std::string access = File(v1::PRIVACY_REQUEST_TYPE_ACCESS, 12);
  ASSERT_TRUE(callbacks_.WaitForState(access, "COMPLETED")) << dsard_->Output();
  v1::DownloadExportRequest download;
  download.set_name(access);
  download.set_recipient(v1::DISCLOSURE_RECIPIENT_DATA_SUBJECT);
  auto ctx = Context(kDpoToken);
  auto reader = stub_->DownloadExport(ctx.get(), download);
  std::string data;
  v1::DownloadExportResponse message;
  while (reader->Read(&message)) {
    if (!message.has_digest()) data += message.chunk();
  }
  ASSERT_TRUE(reader->Finish().ok());
  auto bundle = nlohmann::json::parse(data, nullptr, false);
  ASSERT_TRUE(bundle.is_object());
  std::set<std::string> ids;
  for (const auto& system : bundle["systems"]) {
    for (const auto& category : system["categories"]) {
      for (const auto& record : category["records"]) ids.insert(record["record_id"]);
    }
  }
  EXPECT_EQ(ids, (std::set<std::string>{"members/12", "point_transactions/34",
                                        "point_transactions/35", "point_transactions/36",
                                        "point_purchases/12", "reward_redemptions/12"}));
  EXPECT_NE(data.find(CustomerNo(12)), std::string::npos);

  const std::string erasure = File(v1::PRIVACY_REQUEST_TYPE_ERASURE, 12);
  ASSERT_TRUE(callbacks_.WaitForState(erasure, "COMPLETED")) << dsard_->Output();
  int verified = 0;
  const v1::PrivacyRequest done = Get(erasure);
  for (const auto& s : done.systems()) {
    EXPECT_EQ(s.state(), v1::CONNECTOR_TASK_STATE_DONE);
    if (s.phase() == v1::TASK_PHASE_VERIFY) {
      ++verified;
      EXPECT_EQ(s.record_count(), 0);  // the verification export found nothing
    } else {
      EXPECT_EQ(s.deleted_count(), 1);
      EXPECT_EQ(s.anonymised_count(), 4);
    }
  }
  EXPECT_EQ(verified, 1);
  CheckErasedAsTheMapSays(12);
  EXPECT_EQ(PointsPerRegion(), stats);
  EXPECT_EQ(StoredErasures().size(), 1u);
}

TEST_F(SqlConnectorE2eTest, ConnectorKilledMidErasureCompletesItExactlyOnceAfterRestart) {
  const int port = StartConnector();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(StartDsard());
  const std::string stats = PointsPerRegion();

  // Hold a lock that lets the connector read but not delete redemptions: the
  // erasure's transaction stops half-way, inside the database.
  auto blocker = db_.engine().Connect();
  ASSERT_TRUE(blocker.ok());
  ASSERT_TRUE((*blocker)->Execute("BEGIN").ok());
  ASSERT_TRUE((*blocker)->Execute("LOCK TABLE reward_redemptions IN SHARE MODE").ok());

  const std::string erasure = File(v1::PRIVACY_REQUEST_TYPE_ERASURE, 12);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (db_.One("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                 "query LIKE 'DELETE FROM \"reward_redemptions\"%'") != "1") {
    ASSERT_LT(absl::Now(), deadline) << "the erasure never reached the locked table\n"
                                     << connector_->Output();
    absl::SleepFor(absl::Milliseconds(5));
  }
  connector_->Signal(SIGKILL);
  connector_->Reap();
  // Released after the kill: the orphaned transaction can only roll back.
  ASSERT_TRUE((*blocker)->Execute("ROLLBACK").ok());
  EXPECT_EQ(db_.One("SELECT COUNT(*) FROM reward_redemptions WHERE member_id = 12"), "1");
  EXPECT_EQ(db_.One("SELECT email FROM members WHERE id = 12"), Email(12));
  EXPECT_TRUE(StoredErasures().empty());

  ASSERT_EQ(StartConnector(port), port);
  ASSERT_TRUE(callbacks_.WaitForState(erasure, "COMPLETED")) << dsard_->Output();
  CheckErasedAsTheMapSays(12);
  EXPECT_EQ(PointsPerRegion(), stats);
  // One stored erasure, with the counts of a first run (a second run over
  // the already-erased person would have counted nothing).
  auto stored = StoredErasures();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored.begin()->second.deleted_count(), 1);
  EXPECT_EQ(stored.begin()->second.anonymised_count(), 4);
  const v1::PrivacyRequest done = Get(erasure);
  for (const auto& s : done.systems()) {
    EXPECT_EQ(s.state(), v1::CONNECTOR_TASK_STATE_DONE);
    if (s.phase() != v1::TASK_PHASE_VERIFY) {
      EXPECT_EQ(s.task_id(), stored.begin()->first);
      EXPECT_EQ(s.deleted_count(), 1);
      EXPECT_GE(s.attempts(), 2);
    }
  }
}

}  // namespace
}  // namespace dsar
