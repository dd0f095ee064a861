// Consent withdrawal end to end with real processes: dsard and two
// refbackends (booking, CRM). A withdrawal made through ConsentService becomes
// one consent.apply task per connector declaring the purpose, each backend
// records the withdrawal, and the 72-hour propagation deadline is completed
// when the last task is done. Synchronised on dsard's JSON log lines.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "dsar/v1/consent.grpc.pb.h"
#include "services/call_gate.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/subject_testing.h"

namespace dsar {
namespace {

using ::dsar::testing::ChildProcess;

constexpr char kServiceToken[] = "e2e-token-svc";

class ConsentPropagationE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("subject.key")) << "e2e-subject-key-0123456789abcdef0123456789";
  }

  int StartBackend(const std::string& kind) {
    auto& proc = backends_[kind];
    proc = std::make_unique<ChildProcess>(std::vector<std::string>{
        REFBACKEND_PATH, "--kind=" + kind, "--listen=127.0.0.1:0",
        "--db=" + dir_.File(kind + ".db"), "--seed=11", "--people=20"});
    auto line = proc->WaitForLine("\"event\":\"ready\"");
    return line ? nlohmann::json::parse(*line).value("port", 0) : 0;
  }

  std::string Connector(const std::string& name, int port, const std::string& purposes) {
    return absl::StrCat("connectors { name: \"", name, "\" address: \"127.0.0.1:", port,
                        "\" ", purposes, " categories: \"identity\" country: \"SE\" ",
                        "processor: \"Example ", name, " AB (synthetic)\" max_attempts: 20 ",
                        "initial_backoff_ms: 10 max_backoff_ms: 100 }\n");
  }

  int64_t Query(const std::string& db, const std::string& sql) {
    SQLite::Database conn(dir_.File(db), SQLite::OPEN_READONLY);
    return conn.execAndGet(sql).getInt64();
  }

  ::dsar::testing::TempDir dir_;
  std::map<std::string, std::unique_ptr<ChildProcess>> backends_;
};

TEST_F(ConsentPropagationE2eTest, WithdrawalReachesEveryConnectorDeclaringThePurpose) {
  const int booking = StartBackend("booking");
  const int crm = StartBackend("crm");
  ASSERT_GT(booking, 0);
  ASSERT_GT(crm, 0);
  std::ofstream(dir_.File("dsard.textproto")) << absl::StrCat(
      "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 1000\n",
      "database_path: \"",
      dir_.File("dsar.db"), "\"\nsubject_key_file: \"", dir_.File("subject.key"), "\"\n",
      "tenants { id: \"acme-travel\" purposes { name: \"marketing\" current_notice_version: "
      "\"v1\" } purposes { name: \"booking\" current_notice_version: \"v1\" } }\n",
      "principals { name: \"svc-booking\" role: \"service\" tenant: \"acme-travel\" "
      "token_sha256: \"", CallGate::TokenHash(kServiceToken), "\" }\n",
      Connector("booking", booking, "purposes: \"booking\" purposes: \"marketing\""),
      Connector("crm", crm, "purposes: \"customer_service\" purposes: \"marketing\""),
      "outbox { poll_interval_ms: 50 }\n");
  ChildProcess dsard({DSARD_PATH, "--config", dir_.File("dsard.textproto")});
  auto ready = dsard.WaitForLine("\"event\":\"ready\"");
  ASSERT_TRUE(ready) << dsard.output();
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", nlohmann::json::parse(*ready).value("port", 0)),
                          grpc::InsecureChannelCredentials());
  auto stub = v1::ConsentService::NewStub(channel);
  auto context = [] {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", kServiceToken));
    return ctx;
  };

  // cust-0004 exists in both synthetic systems (same generator seed).
  v1::RecordConsentRequest record;
  record.set_request_id("e2e-record-1");
  *record.mutable_subject() = ::dsar::testing::CustomerSubject("cust-0004");
  record.set_purpose("marketing");
  record.set_notice_version("v1");
  record.set_language("sv-SE");
  record.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
  record.set_channel("web-booking");
  v1::RecordConsentResponse recorded;
  ASSERT_TRUE(stub->RecordConsent(context().get(), record, &recorded).ok());

  v1::WithdrawConsentRequest withdraw;
  withdraw.set_request_id("e2e-withdraw-1");
  *withdraw.mutable_subject() = ::dsar::testing::CustomerSubject("cust-0004");
  withdraw.set_purpose("marketing");
  withdraw.set_channel("account-settings");
  v1::WithdrawConsentResponse withdrawn;
  ASSERT_TRUE(stub->WithdrawConsent(context().get(), withdraw, &withdrawn).ok());
  const std::string resource = "consents/" + withdrawn.receipt().receipt_id();

  // Both backends take the change.
  int done = 0;
  while (done < 2) {
    auto line = dsard.ReadLine();
    ASSERT_TRUE(line) << dsard.output();
    auto obj = nlohmann::json::parse(*line, nullptr, false);
    if (obj.is_object() && obj.value("event", "") == "connector_task_finished" &&
        obj.value("kind", "") == "consent.apply" && obj.value("state", "") == "done") {
      ++done;
    }
  }
  // A retry of the withdrawal changes nothing and enqueues nothing.
  ASSERT_TRUE(stub->WithdrawConsent(context().get(), withdraw, &withdrawn).ok());
  dsard.Signal(SIGTERM);
  EXPECT_EQ(dsard.Wait(), 0);

  EXPECT_EQ(Query("dsar.db", absl::StrCat("SELECT count(*) FROM outbox_tasks WHERE resource = '",
                                          resource, "' AND state = 'done'")),
            2);
  EXPECT_EQ(Query("dsar.db", absl::StrCat("SELECT count(*) FROM outbox_tasks WHERE resource = '",
                                          resource, "'")),
            2);
  EXPECT_EQ(Query("dsar.db",
                  absl::StrCat("SELECT count(*) FROM deadlines WHERE resource = '", resource,
                               "' AND kind = 'consent.withdrawal_propagation' AND state = "
                               "'completed'")),
            1);
  EXPECT_EQ(Query("booking.db",
                  "SELECT count(*) FROM consents c JOIN people p ON p.id = c.person_id WHERE "
                  "p.customer_id = 'cust-0004' AND c.purpose = 'marketing' AND c.given = 0"),
            1);
}

}  // namespace
}  // namespace dsar
