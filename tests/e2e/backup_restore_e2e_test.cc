// The documented backup and restore (docs/operations.md) with real processes:
// dsard serving, `dsarctl backup create`, more writes, SIGTERM, the database
// and its -wal/-shm moved aside, the backup copied in place next to the same
// key file, dsard started again: what was acknowledged before the backup is
// there, what came after is not, and `dsarctl audit verify` passes. Also the
// metrics endpoint of a real process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/call_gate.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dsarctl_runner.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::ChildProcess;
using ::dsar::testing::CommandResult;
using ::dsar::testing::DsarctlRunner;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr char kServiceToken[] = "e2e-token-svc";
constexpr char kDpoToken[] = "e2e-token-dpo";
constexpr char kAdminToken[] = "e2e-token-admin";

class BackupRestoreE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("subject.key")) << "e2e-subject-key-0123456789abcdef0123456789";
    auto principal = [](const char* name, const char* role, const char* token) {
      return absl::StrCat("principals { name: \"", name, "\" role: \"", role,
                          "\" tenant: \"acme-travel\" token_sha256: \"", CallGate::TokenHash(token),
                          "\" }\n");
    };
    std::ofstream(dir_.File("dsard.textproto")) << absl::StrCat(
        "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 1000\n",
        "admin_listen_address: \"127.0.0.1:0\"\n", "database_path: \"", dir_.File("var/dsar.db"),
        "\"\nsubject_key_file: \"", dir_.File("subject.key"), "\"\n",
        "tenants { id: \"acme-travel\" purposes { name: \"marketing\" current_notice_version: "
        "\"v1\" } }\n",
        principal("svc-booking", "service", kServiceToken), principal("dpo-acme", "dpo", kDpoToken),
        principal("ops-admin", "admin", kAdminToken));
  }

  // Starts dsard; returns after its "ready" line with ctl_ pointed at it.
  std::unique_ptr<ChildProcess> StartDsard() {
    auto dsard = std::make_unique<ChildProcess>(
        std::vector<std::string>{DSARD_PATH, "--config", dir_.File("dsard.textproto")});
    auto admin = dsard->WaitForLine("\"event\":\"admin_listening\"");
    auto ready = dsard->WaitForLine("\"event\":\"ready\"");
    EXPECT_TRUE(admin && ready) << dsard->output();
    if (!admin || !ready) return dsard;
    admin_port_ = json::parse(*admin).value("port", 0);
    ctl_.set_server(absl::StrCat("127.0.0.1:", json::parse(*ready).value("port", 0)));
    return dsard;
  }

  CommandResult Record(const std::string& subject) {
    return ctl_.Run({"consent", "record", "marketing", "--customer-id", subject, "--notice-version",
                     "v1", "--language", "sv-SE", "--channel", "web"},
                    kServiceToken);
  }
  std::string State(const std::string& subject) {
    auto r = ctl_.Run({"consent", "check", "marketing", "--customer-id", subject, "-o", "json"},
                      kDpoToken);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return DsarctlRunner::Json(r).value("state", "");
  }

  ::dsar::testing::TempDir dir_;
  DsarctlRunner ctl_;
  int admin_port_ = 0;
};

TEST_F(BackupRestoreE2eTest, RestoredBackupHasEveryWriteAcknowledgedBeforeIt) {
  auto dsard = StartDsard();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Record(absl::StrCat("subject-000", i)).exit_code, 0);
  auto backup = ctl_.Run({"backup", "create", "-o", "json"}, kAdminToken);
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  const std::string path = DsarctlRunner::Json(backup)["backup"].value("path", "");
  ASSERT_TRUE(fs::exists(path));
  ASSERT_EQ(Record("subject-0009").exit_code, 0);  // after the backup

  // The metrics endpoint of the real process counted the calls.
  httplib::Client client("127.0.0.1", admin_port_);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body,
              HasSubstr("dsar_grpc_server_handled_total{grpc_service=\"dsar.v1.ConsentService\","
                        "grpc_method=\"RecordConsent\",grpc_code=\"OK\"} 4\n"));
  EXPECT_THAT(metrics->body, HasSubstr("dsar_backups_total{outcome=\"ok\"} 1\n"));

  dsard->Signal(SIGTERM);
  ASSERT_EQ(dsard->Wait(), 0) << dsard->output();

  // Restore as documented: move the database and its WAL aside, copy the
  // backup in place; the key file stays.
  const fs::path var = dir_.File("var");
  fs::create_directories(var / "replaced");
  for (const char* f : {"dsar.db", "dsar.db-wal", "dsar.db-shm"}) {
    if (fs::exists(var / f)) fs::rename(var / f, var / "replaced" / f);
  }
  fs::copy_file(path, var / "dsar.db");

  dsard = StartDsard();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(State(absl::StrCat("subject-000", i)), "CONSENT_STATE_GRANTED") << i;
  }
  EXPECT_EQ(State("subject-0009"), "CONSENT_STATE_NONE");
  auto verify = ctl_.Run({"audit", "verify", "-o", "json"}, kDpoToken);
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_TRUE(DsarctlRunner::Json(verify).value("intact", false));
  dsard->Signal(SIGTERM);
  EXPECT_EQ(dsard->Wait(), 0);
}

}  // namespace
}  // namespace dsar
