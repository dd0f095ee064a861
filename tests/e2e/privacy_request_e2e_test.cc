// Data-subject requests end to end with real processes: dsard and two
// refbackends (booking, CRM) on loopback, driven through PrivacyRequestService.
// The expected records and the effect of an erasure are read from the
// backends' own SQLite files. Synchronisation: signed status callbacks to a
// receiver in this process, and the processes' JSON log lines (each process's
// output is drained by a thread so a chatty process never blocks), never
// sleeps.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "lib/privacy_requests/export_crypto.h"
#include "services/call_gate.h"
#include "tests/testing/child_process.h"
#include "tests/testing/drained_process.h"
#include "tests/testing/status_callback_receiver.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::ChildProcess;
using ::dsar::testing::DrainedProcess;
using ::dsar::testing::StatusCallbackReceiver;

constexpr char kServiceToken[] = "e2e-token-svc";
constexpr char kDpoToken[] = "e2e-token-dpo";
constexpr char kCallbackSecret[] = "e2e-callback-secret-0123456789";

std::string Email(int i) { return absl::StrFormat("person-%04d@example.invalid", i); }
std::string CustomerId(int i) { return absl::StrFormat("cust-%04d", i); }

class PrivacyRequestE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("subject.key")) << "e2e-subject-key-0123456789abcdef0123456789";
    std::ofstream(dir_.File("callback.secret")) << kCallbackSecret;
  }

  int StartBackend(const std::string& kind, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {REFBACKEND_PATH,
                                     "--kind=" + kind,
                                     "--listen=127.0.0.1:0",
                                     "--db=" + dir_.File(kind + ".db"),
                                     "--seed=7",
                                     "--people=60"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto& proc = backends_[kind];
    proc = std::make_unique<DrainedProcess>(argv);
    return ports_[kind] = proc->WaitReady();
  }

  void WriteConfig() {
    auto principal = [](const char* name, const char* role, const char* token) {
      return absl::StrCat("principals { name: \"", name, "\" role: \"", role,
                          "\" tenant: \"acme-travel\" token_sha256: \"", CallGate::TokenHash(token),
                          "\" }\n");
    };
    auto connector = [&](const std::string& name) {
      return absl::StrCat("connectors { name: \"", name, "\" address: \"127.0.0.1:", ports_[name],
                          "\" display_name: \"Reference ", name, "\" purposes: \"", name,
                          "\" categories: \"identity\" country: \"SE\" processor: \"Example ", name,
                          " AB (synthetic)\" max_attempts: 20 initial_backoff_ms: 10 ",
                          "max_backoff_ms: 200 call_timeout_ms: 5000 }\n");
    };
    std::ofstream(dir_.File("dsard.textproto")) << absl::StrCat(
        "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 2000\n",
        "database_path: \"", dir_.File("dsar.db"), "\"\nsubject_key_file: \"",
        dir_.File("subject.key"), "\"\n",
        "tenants { id: \"acme-travel\" controller_name: \"Acme Travel AB (synthetic)\" "
        "purposes { name: \"marketing\" current_notice_version: \"v1\" } }\n",
        principal("svc-booking", "service", kServiceToken), principal("dpo-acme", "dpo", kDpoToken),
        connector("booking"), connector("crm"),
        "outbox { poll_interval_ms: 50 health_interval_ms: 60000 waiting_poll_ms: 50 }\n",
        "outbound { allowed_cidrs: \"127.0.0.0/8\" allowed_cidrs: \"::1/128\" }\n",
        "requests { callback_secret_file: \"", dir_.File("callback.secret"),
        "\" worker_poll_interval_ms: 100 }\n");
  }

  bool StartDsard() {
    dsard_ = std::make_unique<DrainedProcess>(
        std::vector<std::string>{DSARD_PATH, "--config", dir_.File("dsard.textproto")});
    int port = dsard_->WaitReady();
    if (port <= 0) return false;
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::PrivacyRequestService::NewStub(channel_);
    return true;
  }

  std::unique_ptr<grpc::ClientContext> Context(const char* token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  // Files a request the service has already verified (signed-in customer).
  std::string File(v1::PrivacyRequestType type, int person) {
    v1::CreatePrivacyRequestRequest r;
    r.set_request_id(absl::StrCat("e2e-", static_cast<int>(type), "-", person));
    r.set_type(type);
    auto* email = r.add_identifiers();
    email->set_type(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL);
    email->set_value(Email(person));
    auto* customer = r.add_identifiers();
    customer->set_type(v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID);
    customer->set_value(CustomerId(person));
    r.set_status_callback_url(callbacks_.url());
    r.mutable_verification()->set_method(v1::VERIFICATION_METHOD_AUTHENTICATED_SESSION);
    v1::CreatePrivacyRequestResponse response;
    // Skipping verification of an erasure is the DPO's permission.
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
    grpc::Status s = stub_->GetPrivacyRequest(ctx.get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.privacy_request();
  }

  std::set<std::string> Ids(const std::string& db, const std::string& sql) {
    SQLite::Database conn(dir_.File(db), SQLite::OPEN_READONLY);
    SQLite::Statement q(conn, sql);
    std::set<std::string> out;
    while (q.executeStep()) out.insert(q.getColumn(0).getString());
    return out;
  }
  int64_t Count(const std::string& db, const std::string& sql) {
    SQLite::Database conn(dir_.File(db), SQLite::OPEN_READONLY);
    return conn.execAndGet(sql).getInt64();
  }

  // What each backend holds about person `i`, as record ids.
  std::set<std::string> BookingIds(int i) {
    const std::string person =
        absl::StrCat("(SELECT id FROM people WHERE email = '", Email(i), "')");
    return Ids(
        "booking.db",
        absl::StrCat("SELECT 'people/' || id FROM people WHERE id = ", person,
                     " UNION SELECT 'bookings/' || id FROM bookings WHERE person_id = ", person,
                     " UNION SELECT 'payments/' || id FROM payments WHERE person_id = ", person,
                     " UNION SELECT 'consents/' || id FROM consents WHERE person_id = ", person));
  }
  std::set<std::string> CrmIds(int i) {
    const std::string contact =
        absl::StrCat("(SELECT id FROM contacts WHERE email = '", Email(i), "')");
    std::string sql = absl::StrCat("SELECT 'contacts/' || id FROM contacts WHERE id = ", contact);
    for (const char* t : {"notes", "emails", "documents", "consents"}) {
      absl::StrAppend(&sql, " UNION SELECT '", t, "/' || id FROM ", t,
                      " WHERE contact_id = ", contact);
    }
    return Ids("crm.db", sql);
  }

  ::dsar::testing::TempDir dir_;
  StatusCallbackReceiver callbacks_{kCallbackSecret};
  std::map<std::string, std::unique_ptr<DrainedProcess>> backends_;
  std::map<std::string, int> ports_;
  std::unique_ptr<DrainedProcess> dsard_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PrivacyRequestService::Stub> stub_;
};

TEST_F(PrivacyRequestE2eTest, AccessExportHoldsExactlyThePersonsRecordsFromBothBackends) {
  ASSERT_GT(StartBackend("booking"), 0);
  ASSERT_GT(StartBackend("crm"), 0);
  WriteConfig();
  ASSERT_TRUE(StartDsard());
  const std::set<std::string> booking = BookingIds(7), crm = CrmIds(7);
  ASSERT_GT(booking.size(), 2u);
  ASSERT_GT(crm.size(), 1u);

  const std::string name = File(v1::PRIVACY_REQUEST_TYPE_ACCESS, 7);
  ASSERT_TRUE(callbacks_.WaitForState(name, "COMPLETED")) << dsard_->Output();

  v1::DownloadExportRequest request;
  request.set_name(name);
  request.set_recipient(v1::DISCLOSURE_RECIPIENT_DATA_SUBJECT);
  auto ctx = Context(kDpoToken);
  auto reader = stub_->DownloadExport(ctx.get(), request);
  std::string data;
  v1::ExportDigest digest;
  v1::DownloadExportResponse message;
  while (reader->Read(&message)) {
    if (message.has_digest()) {
      digest = message.digest();
    } else {
      data += message.chunk();
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  privacy_requests::Sha256 sha;
  sha.Update(data);
  EXPECT_EQ(digest.sha256(), sha.HexDigest());
  EXPECT_EQ(digest.sha256(), Get(name).export_bundle().sha256());

  auto bundle = nlohmann::json::parse(data, nullptr, false);
  ASSERT_TRUE(bundle.is_object());
  std::map<std::string, std::set<std::string>> ids;
  for (const auto& system : bundle["systems"]) {
    for (const auto& category : system["categories"]) {
      for (const auto& record : category["records"]) {
        ids[system["system"]].insert(record["record_id"].get<std::string>());
      }
    }
  }
  EXPECT_EQ(ids["booking"], booking);
  EXPECT_EQ(ids["crm"], crm);
  for (int other = 1; other <= 60; ++other) {
    if (other == 7) continue;
    EXPECT_EQ(data.find(Email(other)), std::string::npos) << other;
  }
}

TEST_F(PrivacyRequestE2eTest, ErasureLeavesNoIdentifyingRowAndKeepsStatisticsAnonymised) {
  ASSERT_GT(StartBackend("booking"), 0);
  ASSERT_GT(StartBackend("crm"), 0);
  WriteConfig();
  ASSERT_TRUE(StartDsard());
  const int64_t bookings = Count("booking.db", "SELECT count(*) FROM bookings");
  const int64_t person_bookings = Count(
      "booking.db", absl::StrCat("SELECT count(*) FROM bookings WHERE person_id = (SELECT id FROM "
                                 "people WHERE email = '",
                                 Email(9), "')"));
  ASSERT_GT(person_bookings, 0);
  const int64_t contacts = Count("crm.db", "SELECT count(*) FROM contacts");

  const std::string name = File(v1::PRIVACY_REQUEST_TYPE_ERASURE, 9);
  ASSERT_TRUE(callbacks_.WaitForState(name, "COMPLETED")) << dsard_->Output();
  v1::PrivacyRequest done = Get(name);
  int verified = 0;
  for (const auto& s : done.systems()) {
    EXPECT_EQ(s.state(), v1::CONNECTOR_TASK_STATE_DONE);
    if (s.phase() == v1::TASK_PHASE_VERIFY) ++verified;
  }
  EXPECT_EQ(verified, 2);

  // No row identifies the person in either backend.
  const std::string e = Email(9), c = CustomerId(9), p = "+46700000009";
  EXPECT_EQ(Count("booking.db", absl::StrCat("SELECT count(*) FROM people WHERE email = '", e,
                                             "' OR customer_id = '", c, "' OR phone = '", p, "'")),
            0);
  EXPECT_EQ(Count("booking.db",
                  absl::StrCat("SELECT count(*) FROM payments WHERE payer_email = '", e, "'")),
            0);
  EXPECT_EQ(Count("booking.db", "SELECT count(*) FROM bookings WHERE guest_name = 'Person 0009'"),
            0);
  EXPECT_EQ(Count("crm.db", absl::StrCat("SELECT count(*) FROM contacts WHERE email = '", e,
                                         "' OR customer_id = '", c, "' OR phone = '", p, "'")),
            0);
  EXPECT_EQ(Count("crm.db", absl::StrCat("SELECT count(*) FROM emails WHERE address = '", e, "'")),
            0);
  EXPECT_EQ(Count("crm.db", "SELECT count(*) FROM notes WHERE body LIKE '%Person 0009%'"), 0);
  // Statistics rows remain, with the person removed.
  EXPECT_EQ(Count("booking.db", "SELECT count(*) FROM bookings"), bookings);
  EXPECT_GE(Count("booking.db", "SELECT count(*) FROM bookings WHERE person_id IS NULL"),
            person_bookings);
  EXPECT_EQ(Count("crm.db", "SELECT count(*) FROM contacts"), contacts);

  // dsard's database holds none of the identifiers in clear text.
  dsard_->Signal(SIGTERM);
  EXPECT_EQ(dsard_->Reap(), 0);
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(dir_.File("dsar.db") + suffix, std::ios::binary);
    std::stringstream raw;
    raw << in.rdbuf();
    for (const std::string& needle : {e, c, p}) {
      EXPECT_EQ(raw.str().find(needle), std::string::npos) << needle << suffix;
    }
  }
}

TEST_F(PrivacyRequestE2eTest, SigkillMidRequestResumesAndCompletesAfterRestart) {
  ASSERT_GT(StartBackend("booking", {"--latency-ms=200"}), 0);
  ASSERT_GT(StartBackend("crm", {"--latency-ms=200"}), 0);
  WriteConfig();
  ASSERT_TRUE(StartDsard());
  std::vector<std::string> names;
  for (int person = 20; person < 26; ++person) {
    names.push_back(File(
        person % 2 ? v1::PRIVACY_REQUEST_TYPE_ERASURE : v1::PRIVACY_REQUEST_TYPE_ACCESS, person));
  }
  // Kill dsard as soon as the first connector task finished: the rest are
  // in flight or queued.
  ASSERT_TRUE(dsard_->WaitForLine({"\"event\":\"connector_task_finished\""})) << dsard_->Output();
  dsard_->Signal(SIGKILL);
  EXPECT_EQ(dsard_->Reap(), 128 + SIGKILL);
  int completed_before = 0;
  for (const auto& n : names)
    completed_before += callbacks_.WaitForState(n, "COMPLETED", absl::ZeroDuration());
  EXPECT_LT(completed_before, static_cast<int>(names.size()));

  ASSERT_TRUE(StartDsard());
  for (const auto& n : names) {
    ASSERT_TRUE(callbacks_.WaitForState(n, "COMPLETED")) << n << "\n" << dsard_->Output();
    EXPECT_EQ(Get(n).state(), v1::PRIVACY_REQUEST_STATE_COMPLETED);
  }
  // Each erasure acted once per task in each backend; persons erased.
  for (int person = 21; person < 26; person += 2) {
    EXPECT_EQ(Count("crm.db", absl::StrCat("SELECT count(*) FROM contacts WHERE email = '",
                                           Email(person), "'")),
              0);
  }
  EXPECT_EQ(Count("booking.db", "SELECT count(*) FROM processed_tasks"), 3);
  EXPECT_EQ(Count("crm.db", "SELECT count(*) FROM processed_tasks"), 3);
}

}  // namespace
}  // namespace dsar
