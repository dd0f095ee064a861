// Consent propagation end to end with real processes: dsard and two
// refbackends (booking, CRM). Every grant and withdrawal made through
// ConsentService becomes one consent.apply task per connector declaring the
// purpose, carrying the typed identifier and the change's time; each backend
// finds the person by that identifier (e-mail, customer id or phone) and
// keeps the latest change; the 72-hour propagation deadline of a withdrawal
// is completed when its consent's last task finishes; a person no system
// knows ends in "no matching record". Synchronised on dsard's JSON log lines.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "dsar/connector/v1/connector.grpc.pb.h"
#include "dsar/v1/consent.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/call_gate.h"
#include "tests/testing/child_process.h"
#include "tests/testing/subject_testing.h"
#include "tests/testing/temp_dir.h"

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
    proc = std::make_unique<ChildProcess>(
        std::vector<std::string>{REFBACKEND_PATH, "--kind=" + kind, "--listen=127.0.0.1:0",
                                 "--db=" + dir_.File(kind + ".db"), "--seed=11", "--people=20"});
    auto line = proc->WaitForLine("\"event\":\"ready\"");
    return line ? nlohmann::json::parse(*line).value("port", 0) : 0;
  }

  std::string Connector(const std::string& name, int port, const std::string& purposes) {
    return absl::StrCat("connectors { name: \"", name, "\" address: \"127.0.0.1:", port, "\" ",
                        purposes, " categories: \"identity\" country: \"SE\" ",
                        "processor: \"Example ", name, " AB (synthetic)\" max_attempts: 20 ",
                        "initial_backoff_ms: 10 max_backoff_ms: 100 }\n");
  }

  int64_t Query(const std::string& db, const std::string& sql) {
    SQLite::Database conn(dir_.File(db), SQLite::OPEN_READONLY);
    return conn.execAndGet(sql).getInt64();
  }

  // Starts dsard with both backends as connectors (both declare marketing).
  void StartDsard() {
    const int booking = StartBackend("booking");
    const int crm = StartBackend("crm");
    ASSERT_GT(booking, 0);
    ASSERT_GT(crm, 0);
    std::ofstream(dir_.File("dsard.textproto")) << absl::StrCat(
        "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 1000\n",
        "database_path: \"", dir_.File("dsar.db"), "\"\nsubject_key_file: \"",
        dir_.File("subject.key"), "\"\n",
        "tenants { id: \"acme-travel\" purposes { name: \"marketing\" current_notice_version: "
        "\"v1\" } purposes { name: \"booking\" current_notice_version: \"v1\" } }\n",
        "principals { name: \"svc-booking\" role: \"service\" tenant: \"acme-travel\" "
        "token_sha256: \"",
        CallGate::TokenHash(kServiceToken), "\" }\n",
        Connector("booking", booking, "purposes: \"booking\" purposes: \"marketing\""),
        Connector("crm", crm, "purposes: \"customer_service\" purposes: \"marketing\""),
        "outbox { poll_interval_ms: 50 }\n");
    dsard_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{DSARD_PATH, "--config", dir_.File("dsard.textproto")});
    auto ready = dsard_->WaitForLine("\"event\":\"ready\"");
    ASSERT_TRUE(ready) << dsard_->output();
    auto channel = grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", nlohmann::json::parse(*ready).value("port", 0)),
        grpc::InsecureChannelCredentials());
    stub_ = v1::ConsentService::NewStub(channel);
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", kServiceToken));
    return ctx;
  }

  // Records marketing consent; returns the receipt id ("" on failure).
  std::string Record(const v1::SubjectIdentifier& subject, const std::string& request_id) {
    v1::RecordConsentRequest record;
    record.set_request_id(request_id);
    *record.mutable_subject() = subject;
    record.set_purpose("marketing");
    record.set_notice_version("v1");
    record.set_language("sv-SE");
    record.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
    record.set_channel("web-booking");
    v1::RecordConsentResponse recorded;
    grpc::Status s = stub_->RecordConsent(Context().get(), record, &recorded);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return recorded.receipt().receipt_id();
  }

  std::string Withdraw(const v1::SubjectIdentifier& subject, const std::string& request_id) {
    v1::WithdrawConsentRequest withdraw;
    withdraw.set_request_id(request_id);
    *withdraw.mutable_subject() = subject;
    withdraw.set_purpose("marketing");
    withdraw.set_channel("account-settings");
    v1::WithdrawConsentResponse withdrawn;
    grpc::Status s = stub_->WithdrawConsent(Context().get(), withdraw, &withdrawn);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return withdrawn.receipt().receipt_id();
  }

  // Waits until `n` more consent.apply tasks have finished; returns their
  // states ("done", "no_match", ...).
  std::vector<std::string> AwaitFinished(int n) {
    std::vector<std::string> states;
    while (static_cast<int>(states.size()) < n) {
      auto line = dsard_->ReadLine();
      if (!line) {
        ADD_FAILURE() << dsard_->output();
        break;
      }
      auto obj = nlohmann::json::parse(*line, nullptr, false);
      if (obj.is_object() && obj.value("event", "") == "connector_task_finished" &&
          obj.value("kind", "") == "consent.apply") {
        states.push_back(obj.value("state", ""));
      }
    }
    return states;
  }

  // The marketing consent `db` holds for person `index` (1 given, 0 withdrawn).
  int64_t MarketingGiven(const std::string& kind, int index) {
    const bool booking = kind == "booking";
    return Query(kind + ".db",
                 absl::StrCat("SELECT c.given FROM consents c JOIN ",
                              booking ? "people p ON p.id = c.person_id"
                                      : "contacts p ON p.id = c.contact_id",
                              " WHERE p.customer_id = 'cust-", absl::Dec(index, absl::kZeroPad4),
                              "' AND c.purpose = 'marketing'"));
  }
  // Marketing consents withdrawn in `kind`'s database, over everyone.
  int64_t WithdrawnCount(const std::string& kind) {
    return Query(kind + ".db",
                 "SELECT count(*) FROM consents WHERE purpose = 'marketing' AND given = 0");
  }

  void StopDsard() {
    dsard_->Signal(SIGTERM);
    EXPECT_EQ(dsard_->Wait(), 0);
  }

  ::dsar::testing::TempDir dir_;
  std::map<std::string, std::unique_ptr<ChildProcess>> backends_;
  std::unique_ptr<ChildProcess> dsard_;
  std::unique_ptr<v1::ConsentService::Stub> stub_;
};

TEST_F(ConsentPropagationE2eTest, EachIdentifierTypeReachesExactlyThatPersonAndRegrantsToo) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  // The same synthetic people in both systems (same generator seed).
  struct Case {
    v1::SubjectIdentifier subject;
    int person;
  };
  const std::vector<Case> cases = {
      {::dsar::testing::EmailSubject("  Person-0004@EXAMPLE.invalid"), 4},
      {::dsar::testing::CustomerSubject("cust-0005"), 5},
      {::dsar::testing::PhoneSubject("+46700000006"), 6},
  };
  int step = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.subject.value());
    ASSERT_FALSE(Record(c.subject, absl::StrCat("e2e-record-", ++step)).empty());
    EXPECT_THAT(AwaitFinished(2), ::testing::Each(std::string("done")));
    const int64_t withdrawn_before = WithdrawnCount("booking");
    const std::string receipt = Withdraw(c.subject, absl::StrCat("e2e-withdraw-", ++step));
    ASSERT_FALSE(receipt.empty());
    EXPECT_THAT(AwaitFinished(2), ::testing::Each(std::string("done")));
    // Withdrawn for exactly that person, in both systems.
    EXPECT_EQ(MarketingGiven("booking", c.person), 0);
    EXPECT_EQ(MarketingGiven("crm", c.person), 0);
    EXPECT_EQ(WithdrawnCount("booking"), withdrawn_before + 1);
    // A re-grant is propagated too.
    ASSERT_FALSE(Record(c.subject, absl::StrCat("e2e-record-", ++step)).empty());
    EXPECT_THAT(AwaitFinished(2), ::testing::Each(std::string("done")));
    EXPECT_EQ(MarketingGiven("booking", c.person), 1);
    EXPECT_EQ(MarketingGiven("crm", c.person), 1);
    EXPECT_EQ(WithdrawnCount("booking"), withdrawn_before);
  }
  // A retry of a withdrawal changes nothing and enqueues nothing.
  const std::string receipt = Withdraw(cases[1].subject, "e2e-withdraw-again");
  EXPECT_THAT(AwaitFinished(2), ::testing::Each(std::string("done")));
  v1::GetConsentReceiptRequest get;
  get.set_receipt_id(receipt);
  v1::GetConsentReceiptResponse got;
  ASSERT_TRUE(stub_->GetConsentReceipt(Context().get(), get, &got).ok());
  ASSERT_EQ(got.receipt().propagation_size(), 4);
  for (const auto& p : got.receipt().propagation()) {
    EXPECT_EQ(p.state(), v1::CONNECTOR_TASK_STATE_DONE) << p.connector();
  }
  EXPECT_EQ(Withdraw(cases[1].subject, "e2e-withdraw-again"), receipt);
  StopDsard();

  const std::string resource = "consents/" + receipt;
  // The consent's grant and its withdrawal: two tasks each, all done.
  EXPECT_EQ(Query("dsar.db", absl::StrCat("SELECT count(*) FROM outbox_tasks WHERE resource = '",
                                          resource, "' AND state = 'done'")),
            4);
  EXPECT_EQ(Query("dsar.db", absl::StrCat("SELECT count(*) FROM outbox_tasks WHERE resource = '",
                                          resource, "'")),
            4);
  EXPECT_EQ(
      Query("dsar.db", absl::StrCat("SELECT count(*) FROM deadlines WHERE resource = '", resource,
                                    "' AND kind = 'consent.withdrawal_propagation' AND state = "
                                    "'completed'")),
      1);
}

TEST_F(ConsentPropagationE2eTest, AnIdentifierNoSystemKnowsEndsInNoMatchingRecord) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  const auto nobody = ::dsar::testing::EmailSubject("nobody-0999@example.invalid");
  ASSERT_FALSE(Record(nobody, "e2e-record-nobody").empty());
  EXPECT_THAT(AwaitFinished(2), ::testing::Each(std::string("no_match")));
  const std::string receipt = Withdraw(nobody, "e2e-withdraw-nobody");
  ASSERT_FALSE(receipt.empty());
  EXPECT_THAT(AwaitFinished(2), ::testing::Each(std::string("no_match")));
  // The receipt says where each change stands in each system.
  v1::GetConsentReceiptRequest get;
  get.set_receipt_id(receipt);
  v1::GetConsentReceiptResponse got;
  ASSERT_TRUE(stub_->GetConsentReceipt(Context().get(), get, &got).ok());
  std::multiset<std::string> propagation;
  for (const auto& p : got.receipt().propagation()) {
    EXPECT_EQ(p.state(), v1::CONNECTOR_TASK_STATE_NO_MATCHING_RECORD) << p.connector();
    EXPECT_FALSE(p.task_id().empty());
    propagation.insert(absl::StrCat(p.connector(), " ", v1::ConsentAction_Name(p.action())));
  }
  EXPECT_EQ(propagation, (std::multiset<std::string>{
                             "booking CONSENT_ACTION_GIVEN", "booking CONSENT_ACTION_WITHDRAWN",
                             "crm CONSENT_ACTION_GIVEN", "crm CONSENT_ACTION_WITHDRAWN"}));
  StopDsard();
  const std::string resource = "consents/" + receipt;
  EXPECT_EQ(Query("dsar.db", absl::StrCat("SELECT count(*) FROM outbox_tasks WHERE resource = '",
                                          resource, "' AND state = 'no_match'")),
            4);
  // Nothing is left to propagate: the withdrawal's deadline is closed.
  EXPECT_EQ(
      Query("dsar.db", absl::StrCat("SELECT count(*) FROM deadlines WHERE resource = '", resource,
                                    "' AND kind = 'consent.withdrawal_propagation' AND state = "
                                    "'completed'")),
      1);
}

// The connector contract itself, on a real refbackend process: a change
// applies only if newer than the one held, so a withdrawal and a grant
// delivered in reversed order end on the later one.
TEST_F(ConsentPropagationE2eTest, ReversedDeliveriesEndOnTheLaterChange) {
  const int port = StartBackend("booking");
  ASSERT_GT(port, 0);
  auto stub = connector::v1::DataSourceConnector::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  using google::protobuf::util::TimeUtil;
  const int64_t t0 = 1900000000LL * 1000000;  // later than every seeded change
  auto apply = [&](const std::string& task_id, connector::v1::ConsentAction action, int64_t at_us) {
    connector::v1::ApplyConsentChangeRequest request;
    request.set_task_id(task_id);
    request.set_tenant("acme-travel");
    auto* id = request.mutable_subject()->add_identifiers();
    id->set_type(connector::v1::IDENTIFIER_TYPE_PHONE);
    id->set_value("+46700000007");
    request.set_purpose("marketing");
    request.set_action(action);
    *request.mutable_change_time() = TimeUtil::MicrosecondsToTimestamp(at_us);
    connector::v1::ApplyConsentChangeResponse response;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub->ApplyConsentChange(&ctx, request, &response).ok());
    return response;
  };
  // The withdrawal (at t0 + 2) arrives before the grant it followed (t0 + 1).
  auto withdrawn = apply("task-withdraw", connector::v1::CONSENT_ACTION_WITHDRAWN, t0 + 2);
  EXPECT_EQ(withdrawn.affected_count(), 1);
  EXPECT_FALSE(withdrawn.no_matching_record());
  auto late_grant = apply("task-grant", connector::v1::CONSENT_ACTION_GIVEN, t0 + 1);
  EXPECT_EQ(late_grant.affected_count(), 0);  // older than what it holds
  EXPECT_FALSE(late_grant.no_matching_record());
  EXPECT_EQ(MarketingGiven("booking", 7), 0);
  // A retried (older) task id replays; a newer grant applies.
  EXPECT_TRUE(apply("task-grant", connector::v1::CONSENT_ACTION_GIVEN, t0 + 1).replayed());
  EXPECT_EQ(apply("task-regrant", connector::v1::CONSENT_ACTION_GIVEN, t0 + 3).affected_count(), 1);
  EXPECT_EQ(MarketingGiven("booking", 7), 1);
}

}  // namespace
}  // namespace dsar
