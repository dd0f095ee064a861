// dsarctl against a real dsard: an in-process TestDsard (real SQLite, real
// gRPC server on 127.0.0.1:0, FakeClock) and the dsarctl binary run as a
// child process. Every subcommand is checked in table and JSON output, and
// the exit codes scripts rely on: 3 not found, 4 invalid argument / failed
// precondition, 5 unauthenticated / permission denied, 2 usage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/connector/dispatcher.h"
#include "lib/deadline/deadline_module.h"
#include "lib/deadline/kinds.h"
#include "lib/store/store.h"
#include "services/connector_module.h"
#include "tests/testing/dsarctl_runner.h"
#include "tests/testing/run_command.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::CommandResult;
using ::dsar::testing::IsOk;
using ::dsar::testing::RunCommand;
using ::dsar::testing::TestDsard;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kTenant[] = "acme-travel";

// A connector nobody listens on: its tasks fail at once and, with one
// attempt allowed, are dead-lettered.
constexpr char kExtraConfig[] = R"cfg(
connectors {
  name: "crm" display_name: "CRM (synthetic)" address: "127.0.0.1:1" tenant: "acme-travel"
  purposes: "marketing" categories: "contact" country: "SE"
  processor: "Example CRM AB (synthetic)" max_attempts: 1 call_timeout_ms: 200
  sub_processors { name: "Example Hosting AB (synthetic)" country: "SE" service: "hosting" }
}
)cfg";

class DsarctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(dsard_.Start(), IsOk());
    server_ = absl::StrCat("127.0.0.1:", dsard_.daemon().port());
    runner_.set_server(server_);
  }

  // dsarctl with `args` after the connection flags (see DsarctlRunner).
  CommandResult Ctl(std::vector<std::string> args, const char* token = ::dsar::testing::kDpoToken,
                    const std::string& stdin_text = "") {
    return runner_.Run(args, token, stdin_text);
  }
  std::vector<std::string> BaseEnv() const { return runner_.Env(); }
  static json Json(const CommandResult& r) { return ::dsar::testing::DsarctlRunner::Json(r); }

  // Records marketing consent for `subject` and returns the receipt id.
  std::string Record(const std::string& subject) {
    const char* flag = subject.find('@') != std::string::npos ? "--email" : "--customer-id";
    auto r = Ctl({"consent", "record", "marketing", flag, subject, "--notice-version", "v7",
                  "--language", "sv-SE", "--channel", "web-booking", "-o", "json"},
                 ::dsar::testing::kServiceToken);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Json(r)["receipt"].value("receiptId", "");
  }

  deadline::DeadlineModule& engine() { return *dsard_.daemon().deadline_module(); }

  void Schedule(const std::string& resource, const char* kind, absl::Time start) {
    ASSERT_THAT(dsard_.daemon().store().WriteAndWait([&](store::WriteTxn& txn) {
      return engine()
          .deadlines()
          .Schedule(txn, deadline::ScheduleRequest{kTenant, kind, resource, start},
                    dsard_.clock().Now())
          .status();
    }),
                IsOk());
  }

  // Runs the connector dispatcher until every started task has an outcome.
  void DrainTasks() {
    auto& dispatcher = dsard_.daemon().connectors()->dispatcher();
    dispatcher.RunOnce();
    dispatcher.WaitIdle();
  }

  TestDsard dsard_{kExtraConfig};
  std::string server_;
  ::dsar::testing::DsarctlRunner runner_;
  const ::dsar::testing::TempDir& config_home_ = runner_.home();
};

TEST_F(DsarctlTest, ConsentCommandsPrintTablesAndJson) {
  const std::string receipt = Record("person-0001@example.invalid");
  ASSERT_FALSE(receipt.empty());

  // E-mail addresses are case-folded and trimmed before they are keyed.
  auto check = Ctl({"consent", "check", "marketing", "--email", " Person-0001@EXAMPLE.invalid"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, AllOf(HasSubstr("state:"), HasSubstr("granted"), HasSubstr(receipt)));
  check = Ctl(
      {"consent", "check", "marketing", "--email", "person-0001@example.invalid", "-o", "json"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(Json(check).value("state", ""), "CONSENT_STATE_GRANTED");
  // "-" reads the identifier from stdin, keeping it out of argv.
  check = Ctl({"consent", "check", "marketing", "--email", "-", "-o", "json"},
              ::dsar::testing::kDpoToken, "person-0001@example.invalid\n");
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(Json(check).value("receiptId", ""), receipt);

  // The same text as a customer id is another person.
  check = Ctl({"consent", "check", "marketing", "--customer-id", "person-0001@example.invalid",
               "-o", "json"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(Json(check).value("state", ""), "CONSENT_STATE_NONE");
  // Exactly one identifier.
  EXPECT_EQ(Ctl({"consent", "check", "marketing"}).exit_code, 2);
  EXPECT_EQ(Ctl({"consent", "check", "marketing", "--email", "a@example.invalid", "--phone",
                 "+46700000001"})
                .exit_code,
            2);

  auto withdraw = Ctl({"consent", "withdraw", "marketing", "--email", "person-0001@example.invalid",
                       "--channel", "dpo-request", "--reason", "asked by phone"});
  ASSERT_EQ(withdraw.exit_code, 0) << withdraw.err;
  EXPECT_THAT(withdraw.out, AllOf(HasSubstr("withdrawn"), HasSubstr("dpo-request")));

  auto history = Ctl({"consent", "history", "--email", "person-0001@example.invalid"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  std::vector<std::string> lines = absl::StrSplit(history.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << history.out;  // header, withdrawn, given (newest first)
  EXPECT_THAT(lines[0], AllOf(HasSubstr("TIME"), HasSubstr("ACTION"), HasSubstr("PURPOSE")));
  EXPECT_THAT(lines[1], AllOf(HasSubstr("withdrawn"), HasSubstr("asked by phone")));
  EXPECT_THAT(lines[2], AllOf(HasSubstr("given"), HasSubstr("web-booking")));
  history = Ctl({"consent", "history", "--email", "person-0001@example.invalid", "--page-size", "1",
                 "--all", "-o", "json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_EQ(Json(history)["events"].size(), 2u);  // both pages merged

  auto shown = Ctl({"consent", "receipt", receipt});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, AllOf(HasSubstr("receipt:"), HasSubstr(receipt), HasSubstr("hmac-sha256:"),
                               Not(HasSubstr("subject-0001"))));
  shown = Ctl({"consent", "receipt", receipt, "-o", "json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(Json(shown)["receipt"].value("state", ""), "CONSENT_STATE_WITHDRAWN");
  shown = Ctl({"consent", "receipt", receipt, "--kantara"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(Json(shown).is_object());
}

TEST_F(DsarctlTest, ExitCodesForNotFoundInvalidArgumentAndUnauthenticated) {
  auto missing = Ctl({"consent", "receipt", "rcpt_does_not_exist"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));
  EXPECT_TRUE(missing.out.empty());

  // Field violations are printed one per line.
  auto invalid =
      Ctl({"consent", "record", "marketing", "--customer-id", "subject-0002", "--notice-version",
           "v7", "--language", "not a tag", "--channel", "web-booking"},
          ::dsar::testing::kServiceToken);
  EXPECT_EQ(invalid.exit_code, 4);
  EXPECT_THAT(invalid.err, AllOf(HasSubstr("INVALID_ARGUMENT"), HasSubstr("field language:")));
  // With --output json the error is one JSON object on stderr.
  invalid =
      Ctl({"consent", "record", "marketing", "--customer-id", "subject-0002", "--notice-version",
           "v7", "--language", "not a tag", "--channel", "web-booking", "-o", "json"},
          ::dsar::testing::kServiceToken);
  EXPECT_EQ(invalid.exit_code, 4);
  json error = json::parse(invalid.err, nullptr, false);
  ASSERT_TRUE(error.is_object()) << invalid.err;
  EXPECT_EQ(error.value("codeName", ""), "INVALID_ARGUMENT");
  EXPECT_EQ(error["error"].value("code", 0), 3);
  EXPECT_THAT(error["error"]["details"].dump(), HasSubstr("language"));

  // An outdated notice version is a failed precondition: also 4.
  auto outdated =
      Ctl({"consent", "record", "booking", "--customer-id", "subject-0002", "--notice-version",
           "2025-01", "--language", "sv-SE", "--channel", "web-booking"},
          ::dsar::testing::kServiceToken);
  EXPECT_EQ(outdated.exit_code, 4);
  EXPECT_THAT(outdated.err, AllOf(HasSubstr("FAILED_PRECONDITION"), HasSubstr("precondition")));

  auto unauthenticated = Ctl({"audit", "verify"}, "not-a-token");
  EXPECT_EQ(unauthenticated.exit_code, 5);
  EXPECT_THAT(unauthenticated.err, HasSubstr("UNAUTHENTICATED"));
  auto no_token = Ctl({"audit", "verify"}, nullptr);
  EXPECT_EQ(no_token.exit_code, 5);
  // A service principal may not read the audit log.
  auto denied = Ctl({"audit", "verify"}, ::dsar::testing::kServiceToken);
  EXPECT_EQ(denied.exit_code, 5);
  EXPECT_THAT(denied.err, AllOf(HasSubstr("PERMISSION_DENIED"), HasSubstr("ROLE_NOT_ALLOWED")));
}

TEST_F(DsarctlTest, TablesEscapeControlCharactersOfStoredValues) {
  // Free text stored by one caller (a cancel reason) is shown to another.
  // dsard refuses C0 controls in it, but not U+009B (CSI, which some
  // terminals act on like ESC [): it must reach the terminal as text. The
  // other escapes are checked in tests/unit/dsarctl/output_test.cc.
  auto created = Ctl({"requests", "create", "--type", "access", "--email",
                      "person-0042@example.invalid", "-o", "json"},
                     ::dsar::testing::kServiceToken);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = Json(created)["privacyRequest"].value("name", "");
  ASSERT_FALSE(id.empty()) << created.out;
  const std::string hostile =
      "gone\xc2\x9b"
      "2J";
  auto cancelled = Ctl({"requests", "cancel", id, "--reason", hostile});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  auto shown = Ctl({"requests", "show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  for (const CommandResult* r : {&cancelled, &shown}) {
    EXPECT_THAT(r->out, HasSubstr("gone\\u009b2J"));
    EXPECT_EQ(r->out.find("\xc2\x9b"), std::string::npos);
  }
  // JSON carries the value exactly, as a JSON escape.
  auto json_out = Ctl({"requests", "show", id, "-o", "json"});
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  EXPECT_THAT(json_out.out, HasSubstr("gone\\u009b2J"));
}

TEST_F(DsarctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Ctl({}).exit_code, 2);           // no command
  EXPECT_EQ(Ctl({"consent"}).exit_code, 2);  // no leaf
  EXPECT_EQ(Ctl({"consent", "check", "--customer-id", "subject-0001"}).exit_code,
            2);  // missing purpose
  EXPECT_EQ(Ctl({"connectors", "tasks", "--state", "sleeping"}).exit_code, 2);
  EXPECT_EQ(Ctl({"deadlines", "due-soon", "--within", "soon"}).exit_code, 2);
  EXPECT_EQ(Ctl({"audit", "verify", "--timeout", "-3s"}).exit_code, 2);
  // Tokens never cross a network in clear.
  auto remote = RunCommand({DSARCTL_PATH, "--server", "192.0.2.1:50051", "--plaintext", "--token",
                            "x", "audit", "verify"},
                           BaseEnv());
  EXPECT_EQ(remote.exit_code, 2);
  EXPECT_THAT(remote.err, HasSubstr("loopback"));
  // --help works on every level and exits 0.
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"consent", "--help"},
                                        {"consent", "record", "--help"},
                                        {"deadlines", "watch", "--help"},
                                        {"connectors", "retry", "--help"},
                                        {"audit", "list", "--help"},
                                        {"backup", "create", "--help"},
                                        {"health", "--help"},
                                        {"requests", "download", "--help"},
                                        {"breaches", "report", "--help"}}) {
    auto help = Ctl(args);
    EXPECT_EQ(help.exit_code, 0) << args[0];
    EXPECT_THAT(help.out, HasSubstr("Usage:"));
  }
}

TEST_F(DsarctlTest, DeadlineCommandsListDueSoonOverdueAndSla) {
  const absl::Time t0 = dsard_.clock().Now();
  Schedule("privacyRequests/req-0001", deadline::kRequestProcessor, t0);  // due in 72h
  Schedule("privacyRequests/req-0002", deadline::kRequestProcessor,
           t0 - absl::Hours(60));  // in 12h
  Schedule("privacyRequests/req-0003", deadline::kRequestProcessor,
           t0 - absl::Hours(80));  // overdue

  auto list = Ctl({"deadlines", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::vector<std::string> lines = absl::StrSplit(list.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << list.out;
  EXPECT_THAT(lines[0], AllOf(HasSubstr("DEADLINE"), HasSubstr("KIND"), HasSubstr("DUE")));
  EXPECT_THAT(lines[1], AllOf(HasSubstr("req-0003"), HasSubstr("yes")));  // due first, overdue

  auto soon = Ctl({"deadlines", "due-soon", "--within", "24h", "-o", "json"});
  ASSERT_EQ(soon.exit_code, 0) << soon.err;
  json j = Json(soon);
  ASSERT_EQ(j["deadlines"].size(), 2u);  // the overdue one and the one due in 12h
  EXPECT_EQ(j["deadlines"][1].value("resource", ""), "privacyRequests/req-0002");

  auto overdue = Ctl({"deadlines", "overdue"});
  ASSERT_EQ(overdue.exit_code, 0) << overdue.err;
  EXPECT_THAT(overdue.out, AllOf(HasSubstr("req-0003"), Not(HasSubstr("req-0001"))));
  overdue = Ctl({"deadlines", "overdue", "-o", "json"});
  EXPECT_EQ(Json(overdue)["deadlines"].size(), 1u);

  // Page by page: the hint names the next token.
  auto paged = Ctl({"deadlines", "list", "--page-size", "1"});
  ASSERT_EQ(paged.exit_code, 0);
  EXPECT_THAT(paged.err, HasSubstr("--page-token"));
  EXPECT_EQ(Json(Ctl({"deadlines", "list", "--page-size", "1", "--all", "-o", "json"}))["deadlines"]
                .size(),
            3u);

  auto sla = Ctl({"deadlines", "sla"});
  ASSERT_EQ(sla.exit_code, 0) << sla.err;
  EXPECT_THAT(sla.out,
              AllOf(HasSubstr("window:"), HasSubstr("request.processor"), HasSubstr("ON TIME")));
  sla = Ctl({"deadlines", "sla", "-o", "json"});
  ASSERT_EQ(sla.exit_code, 0);
  j = Json(sla);
  ASSERT_EQ(j["kinds"].size(), 1u);
  EXPECT_EQ(j["kinds"][0].value("openCount", ""), "3");  // int64 as a JSON string
  EXPECT_EQ(j["kinds"][0].value("overdueCount", ""), "1");
  auto reversed = Ctl({"deadlines", "sla", "--from", "2026-02-01", "--to", "2026-01-01"});
  EXPECT_EQ(reversed.exit_code, 4);
}

TEST_F(DsarctlTest, WatchStreamsAlertsAndAckAcknowledges) {
  const absl::Time t0 = dsard_.clock().Now();
  Schedule("privacyRequests/req-0010", deadline::kRequestProcessor, t0);
  dsard_.clock().SetTime(t0 + absl::Hours(72));  // T-24h, T-4h and due have come
  ASSERT_THAT(engine().scheduler().RunDue(), IsOk());

  auto table = Ctl({"deadlines", "watch", "--count", "3"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::vector<std::string> lines = absl::StrSplit(table.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << table.out;
  EXPECT_THAT(lines[0], AllOf(HasSubstr("SEQ"), HasSubstr("LEVEL")));
  EXPECT_THAT(lines[1], AllOf(HasSubstr("T-24h"), HasSubstr("req-0010")));
  EXPECT_THAT(lines[3], HasSubstr("due"));

  // JSON: one object per line; resuming after the first sequence skips it.
  auto first = Ctl({"deadlines", "watch", "--count", "1", "-o", "json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const json alert = Json(first)["alert"];
  const std::string seq = alert.value("sequence", "");
  auto rest = Ctl({"deadlines", "watch", "--after-sequence", seq, "--count", "2", "-o", "json"});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  std::vector<std::string> objects = absl::StrSplit(rest.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(json::parse(objects[0])["alert"].value("levelLabel", ""), "T-4h");

  const std::string name = alert.value("name", "");
  auto ack = Ctl({"deadlines", "ack", name});
  ASSERT_EQ(ack.exit_code, 0) << ack.err;
  EXPECT_THAT(ack.out, AllOf(HasSubstr("acknowledged by:"), HasSubstr("dpo-acme")));
  auto ack_json = Ctl({"deadlines", "ack", name.substr(name.find('/') + 1), "-o", "json"});
  ASSERT_EQ(ack_json.exit_code, 0) << ack_json.err;
  EXPECT_EQ(Json(ack_json)["alert"].value("acknowledgedBy", ""), "dpo-acme");
  EXPECT_EQ(Ctl({"deadlines", "ack", "alerts/al_missing"}).exit_code, 3);
}

TEST_F(DsarctlTest, ConnectorCommandsShowRegisterHealthTasksAndRetry) {
  auto list = Ctl({"connectors", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, AllOf(HasSubstr("NAME"), HasSubstr("crm"), HasSubstr("CRM (synthetic)"),
                              HasSubstr("Example Hosting AB (synthetic) (SE)")));
  list = Ctl({"connectors", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_EQ(Json(list)["connectors"][0].value("country", ""), "SE");

  auto health = Ctl({"connectors", "health"});
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, AllOf(HasSubstr("REACHABLE"), HasSubstr("crm")));
  health = Ctl({"connectors", "health", "crm", "-o", "json"});
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(Json(health).value("name", ""), "crm");
  EXPECT_EQ(Ctl({"connectors", "health", "no-such-connector"}).exit_code, 3);

  // The grant and the withdrawal fan out one consent.apply task each; the
  // connector is down and allows one attempt, so both are dead-lettered.
  Record("person-0003@example.invalid");
  ASSERT_EQ(Ctl({"consent", "withdraw", "marketing", "--email", "person-0003@example.invalid",
                 "--channel", "web"})
                .exit_code,
            0);
  DrainTasks();
  auto dead = Ctl({"connectors", "tasks", "--state", "dead", "-o", "json"});
  ASSERT_EQ(dead.exit_code, 0) << dead.err;
  json tasks = Json(dead)["tasks"];
  ASSERT_EQ(tasks.size(), 2u) << dead.out;
  const std::string task_id = tasks[0].value("taskId", "");
  EXPECT_EQ(tasks[0].value("kind", ""), "CONNECTOR_TASK_KIND_CONSENT_APPLY");
  auto table = Ctl({"connectors", "tasks", "--connector", "crm"});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.out, AllOf(HasSubstr(task_id), HasSubstr("dead"), HasSubstr("consent-apply")));

  auto retried = Ctl({"connectors", "retry", task_id, "--request-id", "retry-1"});
  ASSERT_EQ(retried.exit_code, 0) << retried.err;
  EXPECT_THAT(retried.out, AllOf(HasSubstr(task_id), HasSubstr("pending")));
  EXPECT_EQ(Ctl({"connectors", "retry", "task_missing"}).exit_code, 3);
  // The auditor reads the queue but may not retry.
  EXPECT_EQ(Ctl({"connectors", "tasks"}, ::dsar::testing::kAuditorToken).exit_code, 0);
  EXPECT_EQ(Ctl({"connectors", "retry", task_id}, ::dsar::testing::kAuditorToken).exit_code, 5);
}

TEST_F(DsarctlTest, AuditListAndVerify) {
  Record("subject-0004");
  auto list = Ctl({"audit", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, AllOf(HasSubstr("SEQ"), HasSubstr("svc-booking"),
                              HasSubstr("/dsar.v1.ConsentService/RecordConsent"), HasSubstr("OK")));
  list = Ctl({"audit", "list", "--page-size", "1", "--all", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_GE(Json(list)["events"].size(), 1u);

  auto verify = Ctl({"audit", "verify"}, ::dsar::testing::kAuditorToken);
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_THAT(verify.out, AllOf(HasSubstr("intact:"), HasSubstr("yes")));
  verify = Ctl({"audit", "verify", "-o", "json"});
  ASSERT_EQ(verify.exit_code, 0);
  EXPECT_TRUE(Json(verify).value("intact", false));
}

TEST_F(DsarctlTest, BackupCreateAndListNeedTheAdminRole) {
  Record("subject-0005");
  auto created = Ctl({"backup", "create"}, ::dsar::testing::kAdminToken);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, AllOf(HasSubstr("sha256:"), HasSubstr("dsar-"), HasSubstr("manual")));
  auto again = Ctl({"backup", "create", "-o", "json"}, ::dsar::testing::kAdminToken);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const json backup = Json(again)["backup"];
  EXPECT_EQ(backup.value("sha256", "").size(), 64u);
  EXPECT_TRUE(std::ifstream(backup.value("path", "")).good());

  auto list = Ctl({"backup", "list", "-o", "json"}, ::dsar::testing::kAdminToken);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  ASSERT_EQ(Json(list)["backups"].size(), 2u);
  EXPECT_EQ(Json(list)["backups"][0].value("name", ""), backup.value("name", ""));  // newest first
  auto table = Ctl({"backup", "list"}, ::dsar::testing::kAdminToken);
  EXPECT_THAT(table.out, AllOf(HasSubstr("directory:"), HasSubstr("NAME")));

  EXPECT_EQ(Ctl({"backup", "create"}).exit_code, 5);  // the DPO is not an admin
}

TEST_F(DsarctlTest, HealthNeedsNoToken) {
  auto health = Ctl({"health"}, nullptr);
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
  health = Ctl({"health", "-o", "json"}, nullptr);
  EXPECT_EQ(Json(health).value("status", ""), "SERVING");
  // Nothing listens on port 1: unavailable.
  auto down = RunCommand(
      {DSARCTL_PATH, "--server", "127.0.0.1:1", "--plaintext", "--timeout", "5s", "health"},
      BaseEnv());
  EXPECT_EQ(down.exit_code, 6);
}

TEST_F(DsarctlTest, SettingsComeFromFlagsThenEnvironmentThenConfigFile) {
  // Config file: server and token file.
  const std::string token_file = config_home_.File("token");
  std::ofstream(token_file) << ::dsar::testing::kAuditorToken << "\n";
  const std::string config = config_home_.File("dsarctl.conf");
  std::ofstream(config) << "# dsarctl settings\nserver = " << server_ << "\ntoken-file = \""
                        << token_file << "\"\nplaintext = true\n";
  auto from_file =
      RunCommand({DSARCTL_PATH, "--config", config, "audit", "verify", "-o", "json"}, BaseEnv());
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;

  // The environment beats the file: a bad token from DSAR_TOKEN is used.
  std::vector<std::string> env = BaseEnv();
  env.push_back("DSAR_TOKEN=not-a-token");
  env.push_back(absl::StrCat("DSARCTL_CONFIG=", config));
  EXPECT_EQ(RunCommand({DSARCTL_PATH, "audit", "verify"}, env).exit_code, 5);
  // A flag beats the environment.
  EXPECT_EQ(
      RunCommand({DSARCTL_PATH, "audit", "verify", "--token", ::dsar::testing::kAuditorToken}, env)
          .exit_code,
      0);
  // The default location ($XDG_CONFIG_HOME/dsarctl/config) is read too.
  std::filesystem::create_directories(config_home_.File("dsarctl"));
  std::filesystem::copy_file(config, config_home_.File("dsarctl/config"));
  EXPECT_EQ(RunCommand({DSARCTL_PATH, "audit", "verify"}, BaseEnv()).exit_code, 0);

  // A bad config file is a usage error naming the line.
  std::ofstream(config, std::ios::app) << "colour = blue\n";
  auto bad = RunCommand({DSARCTL_PATH, "--config", config, "audit", "verify"}, BaseEnv());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr(":5: unknown key"));
}

// TLS options against a TLS-only dsard with a throw-away PKI.
class DsarctlTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(std::system(absl::StrCat(MAKE_TEST_CERTS, " ", certs_.path()).c_str()), 0);
    dsard_ = std::make_unique<TestDsard>(
        absl::StrCat("tls { cert_file: \"", certs_.File("server.pem"), "\" key_file: \"",
                     certs_.File("server.key"), "\" client_ca_file: \"", certs_.File("ca.pem"),
                     "\" }\n",
                     "principals { name: \"svc-booking-mtls\" role: \"auditor\" tenant: "
                     "\"acme-travel\" client_cert_identity: \"svc-booking.mtls.invalid\" }\n"),
        /*plaintext=*/false);
    ASSERT_THAT(dsard_->Start(), IsOk());
    server_ = absl::StrCat("localhost:", dsard_->daemon().port());
  }
  CommandResult Ctl(std::vector<std::string> flags) {
    std::vector<std::string> argv = {DSARCTL_PATH, "--server", server_};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"audit", "verify", "--timeout", "5s"});
    return RunCommand(argv, runner_.Env());
  }

  ::dsar::testing::TempDir certs_;
  std::unique_ptr<TestDsard> dsard_;
  std::string server_;
  ::dsar::testing::DsarctlRunner runner_;
};

TEST_F(DsarctlTlsTest, CaCertificateAndClientCertificateOptions) {
  // Verified against the CA, with a token.
  auto ok = Ctl({"--ca", certs_.File("ca.pem"), "--token", ::dsar::testing::kAuditorToken});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // Mutual TLS: the client certificate alone authenticates its principal.
  auto mtls = Ctl({"--ca", certs_.File("ca.pem"), "--cert", certs_.File("client.pem"), "--key",
                   certs_.File("client.key")});
  EXPECT_EQ(mtls.exit_code, 0) << mtls.err;
  // System roots do not know the test CA; plaintext meets a TLS server.
  EXPECT_EQ(Ctl({"--token", ::dsar::testing::kAuditorToken}).exit_code, 6);
  EXPECT_EQ(Ctl({"--plaintext", "--token", ::dsar::testing::kAuditorToken}).exit_code, 6);
  // The name the certificate carries can be given apart from the address.
  server_ = absl::StrCat("127.0.0.1:", dsard_->daemon().port());
  EXPECT_EQ(Ctl({"--ca", certs_.File("ca.pem"), "--server-name", "localhost", "--token",
                 ::dsar::testing::kAuditorToken})
                .exit_code,
            0);
  // Unreadable files and a certificate without its key are usage errors.
  EXPECT_EQ(Ctl({"--ca", certs_.File("missing.pem")}).exit_code, 2);
  EXPECT_EQ(Ctl({"--ca", certs_.File("ca.pem"), "--cert", certs_.File("client.pem")}).exit_code, 2);
}

}  // namespace
}  // namespace dsar
