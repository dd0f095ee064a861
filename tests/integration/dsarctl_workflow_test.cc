// dsarctl's requests and breaches commands against a real in-process dsard
// with two reference backends (booking, CRM) served in-process over gRPC:
// file a request, follow it to COMPLETED (synchronised on its signed status
// callbacks), download the export with its digest checked; report a breach
// from a file, update it in phases, record notifications, export the report,
// close it. Tables, JSON and exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/dsarctl_runner.h"
#include "tests/testing/ref_backend.h"
#include "tests/testing/status_callback_receiver.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::CommandResult;
using ::dsar::testing::DsarctlRunner;
using ::dsar::testing::InProcessRefBackend;
using ::dsar::testing::IsOk;
using ::dsar::testing::StatusCallbackReceiver;
using ::dsar::testing::TestDsard;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kCallbackSecret[] = "callback-secret-for-tests-only";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

class DsarctlRequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("callback.secret")) << kCallbackSecret;
    ASSERT_TRUE(booking_.Start());
    ASSERT_TRUE(crm_.Start());
    auto connector = [](const std::string& name, int port, const std::string& categories) {
      return absl::StrCat("connectors { name: \"", name, "\" address: \"127.0.0.1:", port,
                          "\" purposes: \"marketing\" ", categories,
                          " country: \"SE\" processor: \"Example ", name,
                          " AB (synthetic)\" call_timeout_ms: 2000 }\n");
    };
    dsard_ = std::make_unique<TestDsard>(absl::StrCat(
        connector("booking", booking_.port(), "categories: \"identity\" categories: \"booking\""),
        connector("crm", crm_.port(), "categories: \"contact\""),
        "outbox { poll_interval_ms: 50 health_interval_ms: 60000 waiting_poll_ms: 50 }\n",
        "outbound { allowed_cidrs: \"127.0.0.0/8\" allowed_cidrs: \"::1/128\" }\n",
        "requests { callback_secret_file: \"", dir_.File("callback.secret"),
        "\" worker_poll_interval_ms: 50 }\n"));
    callbacks_.set_clock(&dsard_->clock());  // signature times come from the fake clock
    ASSERT_THAT(dsard_->Start(), IsOk());
    ctl_.set_server(absl::StrCat("127.0.0.1:", dsard_->daemon().port()));
  }

  CommandResult Ctl(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    return ctl_.Run(args, ::dsar::testing::kDpoToken, stdin_text);
  }

  // Files an access request for person 3 of the synthetic data, verified at
  // filing, and returns its name.
  std::string FileRequest(const std::string& type, bool verified) {
    std::vector<std::string> args = {"requests",
                                     "create",
                                     "--type",
                                     type,
                                     "--identifiers-file",
                                     "-",
                                     "--channel",
                                     "email",
                                     "--callback-url",
                                     callbacks_.url(),
                                     "-o",
                                     "json"};
    if (verified) {
      args.insert(args.end(), {"--verified", "document-check", "--verification-note", "seen"});
    }
    auto r = Ctl(args, "email: person-0003@example.invalid\ncustomer-id: cust-0003\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return DsarctlRunner::Json(r)["privacyRequest"].value("name", "");
  }

  ::dsar::testing::TempDir dir_;
  InProcessRefBackend booking_{refbackend::Kind::kBooking, dir_.File("booking.db"), 20};
  InProcessRefBackend crm_{refbackend::Kind::kCrm, dir_.File("crm.db"), 20};
  StatusCallbackReceiver callbacks_{kCallbackSecret};
  std::unique_ptr<TestDsard> dsard_;
  DsarctlRunner ctl_;
};

TEST_F(DsarctlRequestsTest, FileFollowAndDownloadAnAccessRequest) {
  const std::string name = FileRequest("access", /*verified=*/true);
  ASSERT_THAT(name, HasSubstr("privacyRequests/"));
  ASSERT_TRUE(callbacks_.WaitForState(name, "COMPLETED"));
  const std::string id = name.substr(name.find('/') + 1);

  auto list = Ctl({"requests", "list", "--state", "completed"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, AllOf(HasSubstr("REQUEST"), HasSubstr(id), HasSubstr("access"),
                              HasSubstr("completed")));
  // Found by any identifier of the person, also one only the systems knew
  // (the phone), through its keyed HMAC; not by someone else's.
  for (const std::vector<std::string>& by :
       {std::vector<std::string>{"--email", "Person-0003@example.invalid"},
        std::vector<std::string>{"--phone", "+46700000003"}}) {
    std::vector<std::string> args = {"requests", "list", "-o", "json"};
    args.insert(args.end(), by.begin(), by.end());
    auto mine = Ctl(args);
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
    const json found = DsarctlRunner::Json(mine)["privacyRequests"];
    ASSERT_EQ(found.size(), 1u) << mine.out;
    EXPECT_EQ(found[0].value("name", ""), name);
  }
  auto others = Ctl({"requests", "list", "--customer-id", "cust-0004", "-o", "json"});
  ASSERT_EQ(others.exit_code, 0) << others.err;
  EXPECT_TRUE(DsarctlRunner::Json(others)["privacyRequests"].empty()) << others.out;
  EXPECT_EQ(Ctl({"requests", "list", "--email", "a@example.invalid", "--phone", "+46700000003"})
                .exit_code,
            2);
  EXPECT_EQ(Ctl({"requests", "list", "--phone", "0700"}).exit_code, 4);  // INVALID_ARGUMENT
  auto show = Ctl({"requests", "show", id});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, AllOf(HasSubstr("state:"), HasSubstr("completed"), HasSubstr("booking"),
                              HasSubstr("crm"), HasSubstr("export"), HasSubstr("available"),
                              Not(HasSubstr("person-0003"))));
  auto shown = Ctl({"requests", "show", name, "-o", "json"});
  ASSERT_EQ(shown.exit_code, 0);
  const json bundle = DsarctlRunner::Json(shown)["privacyRequest"]["exportBundle"];

  // The export lands owner-only, digest checked, and matches the bundle.
  const std::string file = dir_.File("export.json");
  auto download = Ctl({"requests", "download", id, "--to", file});
  ASSERT_EQ(download.exit_code, 0) << download.err;
  EXPECT_THAT(download.out, AllOf(HasSubstr("digest:"), HasSubstr("verified")));
  const std::string data = Slurp(file);
  EXPECT_EQ(Sha256Hex(data), bundle.value("sha256", ""));
  EXPECT_TRUE(json::parse(data, nullptr, false).is_object());
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // Never over an existing file without --force; JSON output names the digest.
  EXPECT_EQ(Ctl({"requests", "download", id, "--to", file}).exit_code, 2);
  auto again = Ctl({"requests", "download", id, "--to", file, "--force", "-o", "json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(DsarctlRunner::Json(again).value("verified", false));

  // A completed request cannot be rejected (failed precondition: 4); an
  // unknown one is not found (3), and nothing is written for it.
  auto reject =
      Ctl({"requests", "reject", id, "--reason", "excessive", "--detail", "third this week"});
  EXPECT_EQ(reject.exit_code, 4);
  EXPECT_THAT(reject.err, HasSubstr("precondition STATE"));
  EXPECT_EQ(Ctl({"requests", "download", "pr_missing", "--to", dir_.File("none.json")}).exit_code,
            3);
  EXPECT_FALSE(std::ifstream(dir_.File("none.json")).good());
}

TEST_F(DsarctlRequestsTest, VerifyExtendCancelAndInvalidFilings) {
  const std::string name = FileRequest("erasure", /*verified=*/false);
  const std::string id = name.substr(name.find('/') + 1);
  auto extend = Ctl({"requests", "extend", id, "--reason", "many requests this month",
                     "--notified-at", "2026-01-01T00:00:00Z", "-o", "json"});
  ASSERT_EQ(extend.exit_code, 0) << extend.err;
  EXPECT_EQ(DsarctlRunner::Json(extend)["privacyRequest"]["extension"].value("count", 0), 1);
  auto cancel = Ctl({"requests", "cancel", id, "--reason", "withdrawn by the person"});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_THAT(cancel.out, AllOf(HasSubstr("cancelled"), HasSubstr("withdrawn by the person")));
  EXPECT_EQ(Ctl({"requests", "verify", id, "--method", "document-check"}).exit_code, 4);

  const std::string other = FileRequest("portability", /*verified=*/false);
  auto verify = Ctl({"requests", "verify", other, "--method", "known-contact-channel"});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("known-contact-channel by dpo-acme"));

  // No identifier: the server names the field.
  auto empty = Ctl({"requests", "create", "--type", "access"});
  EXPECT_EQ(empty.exit_code, 4);
  EXPECT_THAT(empty.err, HasSubstr("field identifiers"));
  auto bad_line =
      Ctl({"requests", "create", "--type", "access", "--identifiers-file", "-"}, "passport 123\n");
  EXPECT_EQ(bad_line.exit_code, 2);
  EXPECT_EQ(
      Ctl({"requests", "create", "--type", "deletion", "--email", "a@example.invalid"}).exit_code,
      2);
}

class DsarctlBreachesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(dsard_.Start(), IsOk());
    ctl_.set_server(absl::StrCat("127.0.0.1:", dsard_.daemon().port()));
  }
  // As the DPO of all tenants, acting for acme-travel (x-dsar-tenant).
  CommandResult Ctl(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.end(), {"--tenant", "acme-travel"});
    return ctl_.Run(args, ::dsar::testing::kAllTenantsDpoToken, stdin_text);
  }

  ::dsar::testing::TempDir dir_;
  TestDsard dsard_;
  DsarctlRunner ctl_;
};

TEST_F(DsarctlBreachesTest, ReportUpdateNotifyExportAndClose) {
  const std::string report_file = dir_.File("breach.json");
  std::ofstream(report_file) << R"json({
    "requestId": "breach-report-1",
    "awareTime": "2025-12-31T23:00:00Z",
    "details": {
      "title": "Misdirected booking export (synthetic)",
      "nature": "A nightly export went to a wrong SFTP account.",
      "types": ["BREACH_TYPE_CONFIDENTIALITY"],
      "riskAssessment": "RISK_ASSESSMENT_RISK"
    },
    "affectedTenants": ["acme-travel"]
  })json";
  auto reported = Ctl({"breaches", "report", "--file", report_file, "-o", "json"});
  ASSERT_EQ(reported.exit_code, 0) << reported.err;
  const json breach = DsarctlRunner::Json(reported)["breach"];
  const std::string name = breach.value("name", "");
  ASSERT_THAT(name, HasSubstr("breaches/"));
  EXPECT_EQ(breach.value("version", 0), 1);
  // The same file again is the same report (idempotent by its requestId).
  auto retried = Ctl({"breaches", "report", "--file", report_file, "-o", "json"});
  EXPECT_EQ(DsarctlRunner::Json(retried)["breach"].value("name", ""), name);

  auto list = Ctl({"breaches", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, AllOf(HasSubstr("BREACH"), HasSubstr("Misdirected booking export"),
                              HasSubstr("open")));

  // Phase 2 from stdin: only the fields in the file change.
  auto updated = Ctl({"breaches", "update", name, "--file", "-", "--note", "phase 2"},
                     R"({"approxSubjectCount": "120", "contactPoint": "DPO office",
                         "likelyConsequences": "Unsolicited contact.",
                         "measuresTaken": "Account revoked."})");
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_THAT(updated.out, AllOf(HasSubstr("version:"), HasSubstr("~120"),
                                 HasSubstr("A nightly export went to a wrong SFTP account.")));

  auto notified = Ctl({"breaches", "notify", name, "--for-tenant", "acme-travel", "--recipient",
                       "controller", "--channel", "email", "--reference", "case-0001"});
  ASSERT_EQ(notified.exit_code, 0) << notified.err;
  EXPECT_THAT(notified.out,
              AllOf(HasSubstr("recipient:"), HasSubstr("controller"), HasSubstr("late:")));
  auto show = Ctl({"breaches", "show", name});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, AllOf(HasSubstr("TENANT"), HasSubstr("acme-travel"), HasSubstr("RECIPIENT"),
                              HasSubstr("case-0001")));

  auto markdown = Ctl({"breaches", "export", name});
  ASSERT_EQ(markdown.exit_code, 0) << markdown.err;
  EXPECT_THAT(markdown.out, HasSubstr("Misdirected booking export"));
  const std::string report_json = dir_.File("report.json");
  ASSERT_EQ(Ctl({"breaches", "export", name, "--format", "json", "--to", report_json}).exit_code,
            0);
  EXPECT_TRUE(json::parse(Slurp(report_json), nullptr, false).is_object());

  // Closing before the documentation is complete is a failed precondition.
  auto early = Ctl({"breaches", "close", name, "--note", "done"});
  EXPECT_EQ(early.exit_code, 4);
  EXPECT_THAT(early.err, HasSubstr("precondition"));
  EXPECT_EQ(Ctl({"breaches", "show", "br_missing"}).exit_code, 3);
  auto bad_file = Ctl({"breaches", "report", "--file", "-"}, "{\"details\": 7}");
  EXPECT_EQ(bad_file.exit_code, 2);
  EXPECT_THAT(bad_file.err, HasSubstr("ReportBreachRequest"));
}

}  // namespace
}  // namespace dsar
