// dsar.v1.PrivacyRequestService through the real gRPC server (in-process, port
// 0, FakeClock) with two reference backends (booking, CRM) served in-process
// over real gRPC. Tests synchronise on signed status callbacks received by a
// loopback HTTP server, never on sleeps.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dsar/v1/connector_admin.grpc.pb.h"
#include "dsar/v1/consent.grpc.pb.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "lib/core/errors.h"
#include "lib/deadline/deadline_module.h"
#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/privacy_requests_module.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"
#include "tests/testing/ref_backend.h"
#include "tests/testing/status_callback_receiver.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subject_testing.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::InProcessRefBackend;
using ::dsar::testing::IsOk;
using ::dsar::testing::StatusCallbackReceiver;
using ::dsar::testing::StatusIs;
using ::dsar::testing::TestDsard;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

constexpr char kCallbackSecret[] = "callback-secret-for-tests-only";
constexpr int kPeople = 60;

std::string Email(int i) { return absl::StrFormat("person-%04d@example.invalid", i); }
std::string CustomerId(int i) { return absl::StrFormat("cust-%04d", i); }
std::string Phone(int i) { return absl::StrFormat("+467%08d", i); }

std::vector<std::string> FieldsOf(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

std::vector<std::string> PreconditionTypesOf(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : PreconditionViolationsOf(s)) out.push_back(v.type);
  return out;
}

struct Downloaded {
  absl::Status status;
  std::string data;
  v1::ExportDigest digest;
  int chunks = 0;
};

class PrivacyRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("callback.secret")) << kCallbackSecret;
    ASSERT_TRUE(booking_.Start());
    ASSERT_TRUE(crm_.Start());
  }

  // Starts dsard with both backends as connectors; `connector_tuning` goes
  // into each connector, `requests` into the requests section.
  void StartDsard(const std::string& connector_tuning = "", const std::string& requests = "") {
    auto connector = [&](const std::string& name, int port, const std::string& display,
                         const std::string& categories) {
      return absl::StrCat(
          "connectors { name: \"", name, "\" address: \"127.0.0.1:", port, "\" display_name: \"",
          display, "\" purposes: \"", name == "booking" ? "booking" : "customer_service",
          "\" purposes: \"marketing\" ", categories, " country: \"SE\" processor: \"Example ", name,
          " AB (synthetic)\" sub_processors { name: \"Example Hosting AB (synthetic)\" country: "
          "\"SE\" service: \"hosting\" } ",
          connector_tuning, " }\n");
    };
    std::string extra = absl::StrCat(
        connector("booking", booking_.port(), "Booking platform",
                  "categories: \"identity\" categories: \"booking\" categories: \"payment\""),
        connector("crm", crm_.port(), "Customer relations",
                  "categories: \"contact\" categories: \"email\""),
        "outbox { poll_interval_ms: 50 health_interval_ms: 60000 waiting_poll_ms: 50 }\n",
        "outbound { allowed_cidrs: \"127.0.0.0/8\" allowed_cidrs: \"::1/128\" }\n",
        "requests { callback_secret_file: \"", dir_.File("callback.secret"),
        "\" worker_poll_interval_ms: 50 notices { connector: \"booking\" retention: \"12 "
        "months after the customer relationship ends\" source: \"collected from you when you "
        "booked\" } ",
        requests, " }\n");
    dsard_ = std::make_unique<TestDsard>(extra);
    callbacks_.set_clock(&dsard_->clock());  // signature times come from the fake clock
    ASSERT_THAT(dsard_->Start(), IsOk());
    stub_ = v1::PrivacyRequestService::NewStub(dsard_->channel());
  }

  privacy_requests::PrivacyRequestsModule& module() { return *dsard_->daemon().privacy_requests(); }

  v1::CreatePrivacyRequestRequest NewRequest(v1::PrivacyRequestType type, int person,
                                             bool verified = false) {
    v1::CreatePrivacyRequestRequest r;
    r.set_request_id(absl::StrCat("create-", ++counter_));
    r.set_type(type);
    auto* email = r.add_identifiers();
    email->set_type(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL);
    email->set_value(Email(person));
    auto* customer = r.add_identifiers();
    customer->set_type(v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID);
    customer->set_value(CustomerId(person));
    r.mutable_requester()->set_relation(v1::REQUESTER_RELATION_DATA_SUBJECT);
    r.mutable_requester()->set_channel("web-form");
    r.mutable_requester()->set_reference(absl::StrCat("case-", counter_));
    r.set_status_callback_url(callbacks_.url());
    if (verified) {
      r.mutable_verification()->set_method(v1::VERIFICATION_METHOD_AUTHENTICATED_SESSION);
    }
    return r;
  }

  absl::StatusOr<v1::CreatePrivacyRequestResponse> Create(
      const v1::CreatePrivacyRequestRequest& request, const char* token = testing::kServiceToken) {
    v1::CreatePrivacyRequestResponse response;
    auto ctx = TestDsard::Context(token);
    grpc::Status s = stub_->CreatePrivacyRequest(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response;
  }

  absl::StatusOr<v1::PrivacyRequest> Get(const std::string& name,
                                         const char* token = testing::kDpoToken) {
    v1::GetPrivacyRequestRequest request;
    request.set_name(name);
    v1::GetPrivacyRequestResponse response;
    auto ctx = TestDsard::Context(token);
    grpc::Status s = stub_->GetPrivacyRequest(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response.privacy_request();
  }

  absl::StatusOr<v1::PrivacyRequest> Verify(const std::string& name,
                                            const std::string& request_id = "") {
    v1::VerifyIdentityRequest request;
    request.set_request_id(request_id.empty() ? absl::StrCat("verify-", ++counter_) : request_id);
    request.set_name(name);
    request.mutable_verification()->set_method(v1::VERIFICATION_METHOD_DOCUMENT_CHECK);
    v1::VerifyIdentityResponse response;
    auto ctx = TestDsard::Context(testing::kDpoToken);
    grpc::Status s = stub_->VerifyIdentity(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response.privacy_request();
  }

  absl::StatusOr<v1::PrivacyRequest> Reject(const std::string& name) {
    v1::RejectPrivacyRequestRequest request;
    request.set_request_id(absl::StrCat("reject-", ++counter_));
    request.set_name(name);
    request.set_reason(v1::REJECTION_REASON_EXCESSIVE);
    request.set_detail("the same request was answered last week");
    v1::RejectPrivacyRequestResponse response;
    auto ctx = TestDsard::Context(testing::kDpoToken);
    grpc::Status s = stub_->RejectPrivacyRequest(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response.privacy_request();
  }

  absl::StatusOr<v1::PrivacyRequest> Cancel(const std::string& name) {
    v1::CancelPrivacyRequestRequest request;
    request.set_request_id(absl::StrCat("cancel-", ++counter_));
    request.set_name(name);
    request.set_reason("the person withdrew the request");
    v1::CancelPrivacyRequestResponse response;
    auto ctx = TestDsard::Context(testing::kDpoToken);
    grpc::Status s = stub_->CancelPrivacyRequest(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response.privacy_request();
  }

  absl::StatusOr<v1::PrivacyRequest> Extend(const std::string& name,
                                            std::optional<absl::Time> gdpr_due = std::nullopt) {
    v1::ExtendPrivacyRequestRequest request;
    request.set_request_id(absl::StrCat("extend-", ++counter_));
    request.set_name(name);
    request.set_reason("complex request spanning several systems");
    SetTimestamp(dsard_->clock().Now(), request.mutable_subject_notify_time());
    if (gdpr_due) SetTimestamp(*gdpr_due, request.mutable_gdpr_due_time());
    v1::ExtendPrivacyRequestResponse response;
    auto ctx = TestDsard::Context(testing::kDpoToken);
    grpc::Status s = stub_->ExtendPrivacyRequest(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response.privacy_request();
  }

  Downloaded Download(const std::string& name,
                      v1::DisclosureRecipient recipient = v1::DISCLOSURE_RECIPIENT_DATA_SUBJECT) {
    v1::DownloadExportRequest request;
    request.set_name(name);
    request.set_recipient(recipient);
    auto ctx = TestDsard::Context(testing::kDpoToken);
    auto reader = stub_->DownloadExport(ctx.get(), request);
    Downloaded d;
    v1::DownloadExportResponse message;
    while (reader->Read(&message)) {
      ++d.chunks;
      if (message.has_digest()) {
        d.digest = message.digest();
      } else {
        d.data += message.chunk();
      }
    }
    grpc::Status s = reader->Finish();
    d.status = s.ok() ? absl::OkStatus() : FromGrpcStatus(s);
    return d;
  }

  // Creates (verified at filing) and waits for the request to complete.
  v1::PrivacyRequest CreateAndComplete(v1::PrivacyRequestType type, int person) {
    return Complete(NewRequest(type, person, /*verified=*/true));
  }
  // Creates `request` (verified at filing) and waits for it to complete.
  v1::PrivacyRequest Complete(const v1::CreatePrivacyRequestRequest& request) {
    // Skipping verification of an erasure is the DPO's permission.
    auto created = Create(request, request.type() == v1::PRIVACY_REQUEST_TYPE_ERASURE
                                       ? testing::kDpoToken
                                       : testing::kServiceToken);
    EXPECT_THAT(created, IsOk());
    if (!created.ok()) return {};
    const std::string name = created->privacy_request().name();
    EXPECT_TRUE(callbacks_.WaitForState(name, "COMPLETED"))
        << ::testing::PrintToString(callbacks_.States(name));
    auto r = Get(name);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *r : v1::PrivacyRequest();
  }

  // Creates a request naming the person by `subject` only (verified at
  // filing) and waits for it to complete.
  v1::PrivacyRequest CompleteBy(v1::PrivacyRequestType type, const v1::SubjectIdentifier& subject) {
    v1::CreatePrivacyRequestRequest request = NewRequest(type, 0, /*verified=*/true);
    request.clear_identifiers();
    *request.add_identifiers() = subject;
    return Complete(request);
  }

  // Matched identifier types of each system in `phase`.
  static std::map<std::string, std::vector<int>> MatchedTypes(const v1::PrivacyRequest& r,
                                                              v1::TaskPhase phase) {
    std::map<std::string, std::vector<int>> out;
    for (const auto& s : r.systems()) {
      if (s.phase() != phase) continue;
      out[s.connector()].assign(s.matched_identifier_types().begin(),
                                s.matched_identifier_types().end());
    }
    return out;
  }

  int64_t Count(const std::string& db, const std::string& sql) {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    return d.execAndGet(sql).getInt64();
  }
  int64_t DsardCount(const std::string& sql) { return Count(dsard_->DatabasePath(), sql); }

  std::string BundlePath(const std::string& name) {
    return dir_exports() + "/acme-travel/" + name.substr(std::string("privacyRequests/").size()) +
           "/bundle.enc";
  }
  std::string dir_exports() {
    return std::filesystem::path(dsard_->DatabasePath()).parent_path().string() + "/exports";
  }

  ::dsar::testing::TempDir dir_;
  InProcessRefBackend booking_{refbackend::Kind::kBooking, dir_.File("booking.db"), kPeople};
  InProcessRefBackend crm_{refbackend::Kind::kCrm, dir_.File("crm.db"), kPeople};
  StatusCallbackReceiver callbacks_{kCallbackSecret};
  std::unique_ptr<TestDsard> dsard_;
  std::unique_ptr<v1::PrivacyRequestService::Stub> stub_;
  int counter_ = 0;
};

TEST_F(PrivacyRequestTest, AccessExportHoldsBothSystemsRecordsOfThePersonAndNobodyElses) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  const std::set<std::string> booking_ids = booking_.RecordIds(Email(7));
  const std::set<std::string> crm_ids = crm_.RecordIds(Email(7));
  ASSERT_FALSE(booking_ids.empty());
  ASSERT_FALSE(crm_ids.empty());

  auto created = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 7));
  ASSERT_THAT(created, IsOk());
  const v1::PrivacyRequest& filed = created->privacy_request();
  EXPECT_FALSE(created->duplicate());
  EXPECT_EQ(filed.state(), v1::PRIVACY_REQUEST_STATE_RECEIVED);
  EXPECT_THAT(filed.identifier_types(), ElementsAre(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL,
                                                    v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID));
  const absl::Time received = FromTimestamp(filed.receive_time());
  EXPECT_EQ(FromTimestamp(filed.due_time()), received + absl::Hours(72));
  EXPECT_EQ(FromTimestamp(filed.gdpr_due_time()),
            absl::FromCivil(absl::CivilDay(2026, 2, 2), absl::UTCTimeZone()));
  const std::string name = filed.name();
  const std::string resource_filter = absl::StrCat("resource = '", name, "'");
  EXPECT_EQ(
      DsardCount("SELECT count(*) FROM deadlines WHERE state = 'open' AND " + resource_filter), 2);

  auto verified = Verify(name);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->state(), v1::PRIVACY_REQUEST_STATE_IN_PROGRESS);
  ASSERT_THAT(verified->systems(), SizeIs(2));
  ASSERT_TRUE(callbacks_.WaitForState(name, "COMPLETED"));
  EXPECT_THAT(callbacks_.States(name),
              ElementsAre("RECEIVED", "VERIFIED", "IN_PROGRESS", "COMPLETED"));
  EXPECT_EQ(callbacks_.forged(), 0);

  auto done = Get(name);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state(), v1::PRIVACY_REQUEST_STATE_COMPLETED);
  for (const auto& s : done->systems()) {
    EXPECT_EQ(s.state(), v1::CONNECTOR_TASK_STATE_DONE) << s.connector();
    EXPECT_EQ(s.phase(), v1::TASK_PHASE_EXPORT);
  }
  ASSERT_EQ(done->export_bundle().state(), v1::EXPORT_BUNDLE_STATE_AVAILABLE);
  EXPECT_EQ(done->export_bundle().record_count(),
            static_cast<int64_t>(booking_ids.size() + crm_ids.size()));
  EXPECT_EQ(FromTimestamp(done->export_bundle().expire_time()),
            FromTimestamp(done->export_bundle().create_time()) + absl::Hours(24 * 7));
  // Both clocks met; the identifiers are destroyed with the request closed.
  EXPECT_EQ(
      DsardCount("SELECT count(*) FROM deadlines WHERE state = 'completed' AND " + resource_filter),
      2);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE sealed_subject IS NOT NULL"),
            0);
  // Encrypted at rest: the person's e-mail is not in the file.
  {
    std::ifstream in(BundlePath(name), std::ios::binary);
    ASSERT_TRUE(in.good());
    std::stringstream raw;
    raw << in.rdbuf();
    EXPECT_EQ(raw.str().find(Email(7)), std::string::npos);
  }

  Downloaded d = Download(name);
  ASSERT_THAT(d.status, IsOk());
  EXPECT_GT(d.chunks, 1);
  privacy_requests::Sha256 sha;
  sha.Update(d.data);
  EXPECT_EQ(d.digest.sha256(), sha.HexDigest());
  EXPECT_EQ(d.digest.sha256(), done->export_bundle().sha256());
  EXPECT_EQ(d.digest.size_bytes(), static_cast<int64_t>(d.data.size()));

  auto bundle = nlohmann::json::parse(d.data, nullptr, false);
  ASSERT_TRUE(bundle.is_object());
  EXPECT_EQ(bundle["format"], "dsar-export/1");
  EXPECT_EQ(bundle["controller"]["name"], "Acme Travel AB (synthetic)");
  std::map<std::string, std::set<std::string>> ids;
  for (const auto& system : bundle["systems"]) {
    for (const auto& category : system["categories"]) {
      EXPECT_EQ(category["record_count"].get<size_t>(), category["records"].size());
      for (const auto& record : category["records"]) {
        ids[system["system"]].insert(record["record_id"].get<std::string>());
      }
    }
  }
  EXPECT_EQ(ids["booking"], booking_ids);
  EXPECT_EQ(ids["crm"], crm_ids);
  // Art. 15(1) information per system.
  const auto& booking = bundle["systems"][0];
  EXPECT_EQ(booking["system"], "booking");
  EXPECT_EQ(booking["information"]["retention"], "12 months after the customer relationship ends");
  EXPECT_EQ(booking["information"]["source"], "collected from you when you booked");
  EXPECT_EQ(booking["information"]["recipients"][0]["role"], "processor");
  EXPECT_EQ(booking["information"]["recipients"][1]["service"], "hosting");
  EXPECT_THAT(booking["information"]["purposes"], ::testing::Contains("booking"));
  // Nobody else's data: neighbours' e-mail addresses never appear.
  EXPECT_NE(d.data.find(Email(7)), std::string::npos);
  for (int other : {6, 8, 17, 70}) EXPECT_EQ(d.data.find(Email(other)), std::string::npos);

  // The download is a recorded, audited disclosure.
  auto after = Get(name);
  ASSERT_THAT(after, IsOk());
  ASSERT_THAT(after->disclosures(), SizeIs(1));
  EXPECT_EQ(after->disclosures(0).disclosure_id(), d.digest.disclosure_id());
  EXPECT_EQ(after->disclosures(0).recipient(), v1::DISCLOSURE_RECIPIENT_DATA_SUBJECT);
  EXPECT_EQ(after->disclosures(0).principal(), "dpo-acme");
  EXPECT_THAT(after->disclosures(0).what(), HasSubstr(d.digest.sha256()));
  EXPECT_EQ(after->export_bundle().download_count(), 1);
  EXPECT_EQ(DsardCount(absl::StrCat("SELECT count(*) FROM audit_events WHERE resource = '", name,
                                    "/export' AND method LIKE '%DownloadExport'")),
            1);

  // Whatever the test process' umask: the database, its WAL and every
  // directory and file of the export are owner-only.
  const std::string data_dir = std::filesystem::path(dsard_->DatabasePath()).parent_path().string();
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir)) {
    const auto perms = entry.status().permissions();
    const auto others = std::filesystem::perms::group_all | std::filesystem::perms::others_all;
    if (entry.path().filename() == "subject.key" || entry.path().extension() == ".textproto") {
      continue;  // the test's own inputs
    }
    EXPECT_EQ(perms & others, std::filesystem::perms::none) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 5);  // dsar.db, -wal, -shm, exports/, exports/acme-travel, ...
}

TEST_F(PrivacyRequestTest, ExpiredExportIsNotFoundAndItsKeyAndFileAreDestroyed) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  v1::PrivacyRequest downloaded_once = CreateAndComplete(v1::PRIVACY_REQUEST_TYPE_PORTABILITY, 11);
  v1::PrivacyRequest never_downloaded = CreateAndComplete(v1::PRIVACY_REQUEST_TYPE_ACCESS, 12);
  ASSERT_THAT(Download(downloaded_once.name()).status, IsOk());
  ASSERT_TRUE(std::filesystem::exists(BundlePath(downloaded_once.name())));
  ASSERT_TRUE(std::filesystem::exists(BundlePath(never_downloaded.name())));

  dsard_->clock().Advance(absl::Hours(24 * 7) + absl::Seconds(1));
  // Downloading an expired bundle destroys it and answers NOT_FOUND.
  EXPECT_THAT(Download(downloaded_once.name()).status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(BundlePath(downloaded_once.name())));
  // The sweep destroys bundles nobody asked for.
  module().worker().RunOnce();
  EXPECT_FALSE(std::filesystem::exists(BundlePath(never_downloaded.name())));
  EXPECT_THAT(Download(never_downloaded.name()).status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE export_key IS NOT NULL"), 0);
  auto r = Get(never_downloaded.name());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->export_bundle().state(), v1::EXPORT_BUNDLE_STATE_EXPIRED);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM audit_events WHERE method = "
                       "'dsard/requests.ExpireExport'"),
            2);
}

TEST_F(PrivacyRequestTest, ErasureDeletesEverywhereKeepsStatisticsAnonymisedAndLeavesNoIdentifier) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  // The person gave marketing consent through dsard's ledger.
  auto consent_stub = v1::ConsentService::NewStub(dsard_->channel());
  v1::RecordConsentRequest consent;
  consent.set_request_id("consent-9");
  *consent.mutable_subject() = ::dsar::testing::EmailSubject(Email(9));
  consent.set_purpose("marketing");
  consent.set_notice_version("v7");
  consent.set_language("sv-SE");
  consent.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
  consent.set_channel("web-booking");
  v1::RecordConsentResponse consent_response;
  auto ctx = TestDsard::Context();
  ASSERT_TRUE(consent_stub->RecordConsent(ctx.get(), consent, &consent_response).ok());
  const char* kAnonymousRows =
      "SELECT (SELECT count(*) FROM bookings WHERE person_id IS NULL) + "
      "(SELECT count(*) FROM payments WHERE person_id IS NULL)";
  const int64_t bookings_before = Count(dir_.File("booking.db"), "SELECT count(*) FROM bookings");
  const int64_t anonymous_before = Count(dir_.File("booking.db"), kAnonymousRows);

  v1::PrivacyRequest r = CreateAndComplete(v1::PRIVACY_REQUEST_TYPE_ERASURE, 9);
  EXPECT_EQ(r.state(), v1::PRIVACY_REQUEST_STATE_COMPLETED);
  std::map<std::string, v1::SystemProgress> erase, verify;
  for (const auto& s : r.systems()) {
    EXPECT_EQ(s.state(), v1::CONNECTOR_TASK_STATE_DONE) << s.connector();
    (s.phase() == v1::TASK_PHASE_ERASE ? erase : verify)[s.connector()] = s;
  }
  ASSERT_THAT(erase, SizeIs(2));
  ASSERT_THAT(verify, SizeIs(2));
  EXPECT_GT(erase["booking"].anonymised_count(), 0);
  EXPECT_GT(erase["booking"].deleted_count(), 0);
  EXPECT_GT(erase["crm"].deleted_count(), 0);
  EXPECT_EQ(verify["booking"].record_count(), 0);
  EXPECT_EQ(verify["crm"].record_count(), 0);
  EXPECT_THAT(r.history().rbegin()->detail(), HasSubstr("verified"));

  // The backends hold nothing identifying the person; statistics rows stay.
  const std::string booking_db = dir_.File("booking.db"), crm_db = dir_.File("crm.db");
  EXPECT_EQ(Count(booking_db, "SELECT count(*) FROM people WHERE email = '" + Email(9) +
                                  "' OR customer_id = '" + CustomerId(9) + "'"),
            0);
  EXPECT_EQ(
      Count(booking_db, "SELECT count(*) FROM payments WHERE payer_email = '" + Email(9) + "'"), 0);
  EXPECT_EQ(Count(crm_db, "SELECT count(*) FROM contacts WHERE email = '" + Email(9) + "'"), 0);
  EXPECT_EQ(Count(crm_db, "SELECT count(*) FROM emails WHERE address = '" + Email(9) + "'"), 0);
  EXPECT_EQ(Count(booking_db, "SELECT count(*) FROM bookings"), bookings_before);
  EXPECT_EQ(Count(booking_db, kAnonymousRows),
            anonymous_before + erase["booking"].anonymised_count());
  EXPECT_TRUE(booking_.RecordIds(Email(9)).empty());

  // dsard's own records: consent history anonymised, no identifier in clear.
  v1::CheckConsentRequest check;
  *check.mutable_subject() = ::dsar::testing::EmailSubject(Email(9));
  check.set_purpose("marketing");
  v1::CheckConsentResponse checked;
  ctx = TestDsard::Context();
  ASSERT_TRUE(consent_stub->CheckConsent(ctx.get(), check, &checked).ok());
  EXPECT_EQ(checked.state(), v1::CONSENT_STATE_NONE);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM consent_events"), 1);  // kept as a statistic
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_request_subjects"), 0);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE sealed_subject IS NOT NULL"),
            0);
  dsard_->Stop();  // checkpoint nothing away: read the main file and the WAL as they are
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(dsard_->DatabasePath() + suffix, std::ios::binary);
    std::stringstream raw;
    raw << in.rdbuf();
    EXPECT_EQ(raw.str().find(Email(9)), std::string::npos) << suffix;
    EXPECT_EQ(raw.str().find(CustomerId(9)), std::string::npos) << suffix;
  }
}

// Identity resolution (issue 18): the systems report every identifier they
// know the person by; an erasure filed by e-mail reaches consent recorded by
// customer number and phone, and destroys the bundle of an earlier access
// request filed by customer number.
TEST_F(PrivacyRequestTest, ErasureByEmailReachesEveryIdentifierOfThePerson) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  constexpr int kPerson = 12;
  auto consent_stub = v1::ConsentService::NewStub(dsard_->channel());
  int n = 0;
  for (const v1::SubjectIdentifier& subject :
       {::dsar::testing::CustomerSubject(CustomerId(kPerson)),
        ::dsar::testing::PhoneSubject(Phone(kPerson))}) {
    v1::RecordConsentRequest consent;
    consent.set_request_id(absl::StrCat("consent-", ++n));
    *consent.mutable_subject() = subject;
    consent.set_purpose("marketing");
    consent.set_notice_version("v7");
    consent.set_language("sv-SE");
    consent.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
    consent.set_channel("web-booking");
    v1::RecordConsentResponse recorded;
    auto ctx = TestDsard::Context();
    ASSERT_TRUE(consent_stub->RecordConsent(ctx.get(), consent, &recorded).ok());
  }
  // An earlier portability request by phone, not yet verified.
  v1::CreatePrivacyRequestRequest earlier = NewRequest(v1::PRIVACY_REQUEST_TYPE_PORTABILITY, 0);
  earlier.clear_identifiers();
  *earlier.add_identifiers() = ::dsar::testing::PhoneSubject(Phone(kPerson));
  auto filed = Create(earlier);
  ASSERT_THAT(filed, IsOk());
  const std::string earlier_name = filed->privacy_request().name();
  // An access request by customer number: both systems matched that type.
  v1::PrivacyRequest access = CompleteBy(v1::PRIVACY_REQUEST_TYPE_ACCESS,
                                         ::dsar::testing::CustomerSubject(CustomerId(kPerson)));
  ASSERT_EQ(access.state(), v1::PRIVACY_REQUEST_STATE_COMPLETED);
  const std::vector<int> customer = {v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID};
  EXPECT_EQ(MatchedTypes(access, v1::TASK_PHASE_EXPORT),
            (std::map<std::string, std::vector<int>>{{"booking", customer}, {"crm", customer}}));
  Downloaded exported = Download(access.name());
  ASSERT_THAT(exported.status, IsOk());
  // The export holds dsard's own records of the person under every identifier
  // the systems know: the consents by customer number and by phone, and the
  // earlier request (filed by phone).
  const nlohmann::json bundle = nlohmann::json::parse(exported.data, nullptr, false);
  ASSERT_TRUE(bundle.is_object());
  const nlohmann::json& own = bundle["dsard"];
  ASSERT_TRUE(own.is_object()) << exported.data.substr(0, 200);
  ASSERT_EQ(own["consent_events"].size(), 2u) << own.dump();
  EXPECT_EQ(own["consent_events"][0].value("purpose", ""), "marketing");
  EXPECT_EQ(own["consent_events"][0].value("action", ""), "given");
  ASSERT_EQ(own["requests"].size(), 1u) << own.dump();
  EXPECT_EQ(own["requests"][0].value("name", ""), earlier_name);
  EXPECT_EQ(own["requests"][0].value("type", ""), "PORTABILITY");
  ASSERT_THAT(Cancel(earlier_name), IsOk());
  ASSERT_TRUE(std::filesystem::exists(BundlePath(access.name())));

  // The erasure, by e-mail only.
  v1::PrivacyRequest erasure =
      CompleteBy(v1::PRIVACY_REQUEST_TYPE_ERASURE, ::dsar::testing::EmailSubject(Email(kPerson)));
  ASSERT_EQ(erasure.state(), v1::PRIVACY_REQUEST_STATE_COMPLETED);
  const std::vector<int> email = {v1::SUBJECT_IDENTIFIER_TYPE_EMAIL};
  EXPECT_EQ(MatchedTypes(erasure, v1::TASK_PHASE_ERASE),
            (std::map<std::string, std::vector<int>>{{"booking", email}, {"crm", email}}));
  EXPECT_THAT(erasure.history().rbegin()->detail(),
              AllOf(HasSubstr("2 consent records anonymised"),
                    HasSubstr("1 export bundle(s) of earlier requests destroyed")));

  // Consent under the customer number and the phone is gone.
  for (const v1::SubjectIdentifier& subject :
       {::dsar::testing::CustomerSubject(CustomerId(kPerson)),
        ::dsar::testing::PhoneSubject(Phone(kPerson))}) {
    SCOPED_TRACE(subject.value());
    v1::CheckConsentRequest check;
    *check.mutable_subject() = subject;
    check.set_purpose("marketing");
    v1::CheckConsentResponse checked;
    auto ctx = TestDsard::Context();
    ASSERT_TRUE(consent_stub->CheckConsent(ctx.get(), check, &checked).ok());
    EXPECT_EQ(checked.state(), v1::CONSENT_STATE_NONE);
    v1::ListConsentEventsRequest list;
    *list.mutable_subject() = subject;
    v1::ListConsentEventsResponse events;
    ctx = TestDsard::Context(testing::kDpoToken);
    ASSERT_TRUE(consent_stub->ListConsentEvents(ctx.get(), list, &events).ok());
    EXPECT_THAT(events.events(), IsEmpty());
  }
  EXPECT_EQ(DsardCount("SELECT count(*) FROM consent_events"), 2);  // kept as statistics

  // The earlier access export is destroyed: NOT_FOUND saying why, file gone.
  Downloaded gone = Download(access.name());
  EXPECT_THAT(gone.status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(gone.status.message(), HasSubstr("the person was erased"));
  EXPECT_FALSE(std::filesystem::exists(BundlePath(access.name())));
  auto after = Get(access.name());
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->export_bundle().state(), v1::EXPORT_BUNDLE_STATE_ERASED);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_request_subjects"), 0);

  dsard_->Stop();
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(dsard_->DatabasePath() + suffix, std::ios::binary);
    std::stringstream raw;
    raw << in.rdbuf();
    for (const std::string& id : {Email(kPerson), CustomerId(kPerson), Phone(kPerson)}) {
      EXPECT_EQ(raw.str().find(id), std::string::npos) << suffix << " " << id;
    }
  }
}

TEST_F(PrivacyRequestTest, ErasureOfAPersonUnderLegalHoldReportsKeptRecordsWithTheirReason) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  v1::PrivacyRequest r = CreateAndComplete(v1::PRIVACY_REQUEST_TYPE_ERASURE, 50);
  EXPECT_EQ(r.state(), v1::PRIVACY_REQUEST_STATE_COMPLETED);
  int64_t kept = 0;
  for (const auto& s : r.systems()) {
    if (s.phase() != v1::TASK_PHASE_ERASE) continue;
    for (const auto& k : s.kept_records()) {
      EXPECT_EQ(k.reason(), "legal_hold");
      ++kept;
    }
  }
  EXPECT_GT(kept, 0);
  // The verification export found exactly the kept records, nothing else.
  EXPECT_EQ(Count(dir_.File("booking.db"),
                  "SELECT count(*) FROM people WHERE customer_id = '" + CustomerId(50) + "'"),
            1);
}

TEST_F(PrivacyRequestTest, IllegalTransitionsAreFailedPreconditionAndChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  v1::PrivacyRequest done = CreateAndComplete(v1::PRIVACY_REQUEST_TYPE_ACCESS, 21);
  const std::string name = done.name();
  auto verify = Verify(name);
  EXPECT_THAT(verify, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(PreconditionTypesOf(verify.status()), ElementsAre("STATE"));
  EXPECT_THAT(Reject(name), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Cancel(name), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Extend(name), StatusIs(absl::StatusCode::kFailedPrecondition));
  auto still = Get(name);
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(still->state(), v1::PRIVACY_REQUEST_STATE_COMPLETED);
  EXPECT_EQ(still->history_size(), done.history_size());

  // Not yet verified: no export to download.
  auto pending = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 22));
  ASSERT_THAT(pending, IsOk());
  EXPECT_THAT(Download(pending->privacy_request().name()).status,
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Rejected: final.
  ASSERT_THAT(Reject(pending->privacy_request().name()), IsOk());
  EXPECT_THAT(Verify(pending->privacy_request().name()),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // An erasure under way cannot be cancelled: its tasks were sent.
  booking_.Stop();  // keep it in progress: the booking task cannot finish
  auto erasure = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ERASURE, 23, /*verified=*/true),
                        testing::kDpoToken);
  ASSERT_THAT(erasure, IsOk());
  ASSERT_EQ(erasure->privacy_request().state(), v1::PRIVACY_REQUEST_STATE_IN_PROGRESS);
  auto cancel = Cancel(erasure->privacy_request().name());
  EXPECT_THAT(cancel, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(PreconditionTypesOf(cancel.status()), ElementsAre("ERASURE_STARTED"));
  // Unknown request: NOT_FOUND; another tenant's: NOT_FOUND too.
  EXPECT_THAT(Verify("privacyRequests/pr_doesnotexist"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get(name, testing::kOtherTenantToken), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PrivacyRequestTest, InvalidInputGetsPreciseErrorsAndWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  auto bad_type = NewRequest(v1::PRIVACY_REQUEST_TYPE_UNSPECIFIED, 1);
  EXPECT_THAT(FieldsOf(Create(bad_type).status()), ElementsAre("type"));
  auto no_identity = NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 1);
  no_identity.clear_identifiers();
  EXPECT_THAT(FieldsOf(Create(no_identity).status()), ElementsAre("identifiers"));
  auto bad_email = NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 1);
  bad_email.mutable_identifiers(0)->set_value("person-0001.example.invalid");
  auto status = Create(bad_email).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(status), ElementsAre("identifiers[0].value"));
  auto bad_phone = NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 1);
  auto* phone = bad_phone.add_identifiers();
  phone->set_type(v1::SUBJECT_IDENTIFIER_TYPE_PHONE);
  phone->set_value("0700-000001");
  EXPECT_THAT(FieldsOf(Create(bad_phone).status()), ElementsAre("identifiers[2].value"));
  auto bad_callback = NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 1);
  bad_callback.set_status_callback_url("http://controller.example.invalid/dsr");
  EXPECT_THAT(FieldsOf(Create(bad_callback).status()), ElementsAre("status_callback_url"));
  auto future = NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 1);
  SetTimestamp(dsard_->clock().Now() + absl::Hours(1), future.mutable_receive_time());
  EXPECT_THAT(FieldsOf(Create(future).status()), ElementsAre("receive_time"));
  auto no_request_id = NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 1);
  no_request_id.clear_request_id();
  EXPECT_THAT(FieldsOf(Create(no_request_id).status()), ElementsAre("request_id"));
  auto several = NewRequest(v1::PRIVACY_REQUEST_TYPE_UNSPECIFIED, 1);
  several.mutable_identifiers(0)->set_value("not-an-address");
  EXPECT_THAT(FieldsOf(Create(several).status()), ElementsAre("type", "identifiers[0].value"));

  // Other calls validate too.
  auto filed = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 2));
  ASSERT_THAT(filed, IsOk());
  v1::RejectPrivacyRequestRequest reject;
  reject.set_request_id("reject-bad");
  reject.set_name(filed->privacy_request().name());
  v1::RejectPrivacyRequestResponse rejected;
  auto ctx = TestDsard::Context(testing::kDpoToken);
  grpc::Status s = stub_->RejectPrivacyRequest(ctx.get(), reject, &rejected);
  EXPECT_THAT(FieldsOf(FromGrpcStatus(s)), ElementsAre("reason", "detail"));
  v1::GetPrivacyRequestRequest bad_name;
  bad_name.set_name("requests/../../etc");
  v1::GetPrivacyRequestResponse got;
  ctx = TestDsard::Context(testing::kDpoToken);
  EXPECT_THAT(FieldsOf(FromGrpcStatus(stub_->GetPrivacyRequest(ctx.get(), bad_name, &got))),
              ElementsAre("name"));

  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests"), 1);
  EXPECT_EQ(Get(filed->privacy_request().name())->state(), v1::PRIVACY_REQUEST_STATE_RECEIVED);
}

TEST_F(PrivacyRequestTest, RetriesAndDuplicateFilingsMakeOneRequest) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  auto first = NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 31);
  auto a = Create(first);
  auto again = Create(first);  // the same request_id: the first answer
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(a->privacy_request().name(), again->privacy_request().name());
  EXPECT_FALSE(again->duplicate());
  // The same request_id with other content is refused.
  auto changed = first;
  changed.set_type(v1::PRIVACY_REQUEST_TYPE_ERASURE);
  EXPECT_THAT(FieldsOf(Create(changed).status()), ElementsAre("request_id"));

  // Another filing for the same person (any shared identifier) and type:
  // linked to the open request, not run twice.
  auto second = NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 31);
  second.mutable_identifiers()->DeleteSubrange(1, 1);  // e-mail only, upper case
  second.mutable_identifiers(0)->set_value("Person-0031@Example.INVALID");
  auto dup = Create(second);
  ASSERT_THAT(dup, IsOk());
  EXPECT_TRUE(dup->duplicate());
  EXPECT_EQ(dup->privacy_request().name(), a->privacy_request().name());
  EXPECT_EQ(dup->privacy_request().duplicate_count(), 1);
  // A different type is a different request.
  auto erasure = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ERASURE, 31));
  ASSERT_THAT(erasure, IsOk());
  EXPECT_FALSE(erasure->duplicate());
  EXPECT_NE(erasure->privacy_request().name(), a->privacy_request().name());
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests"), 2);

  // The same Verify retried: one verification, one fan-out.
  auto v1_ = Verify(a->privacy_request().name(), "verify-once");
  auto v2_ = Verify(a->privacy_request().name(), "verify-once");
  ASSERT_THAT(v1_, IsOk());
  ASSERT_THAT(v2_, IsOk());
  EXPECT_EQ(DsardCount(absl::StrCat("SELECT count(*) FROM outbox_tasks WHERE resource = '",
                                    a->privacy_request().name(), "'")),
            2);
  ASSERT_TRUE(callbacks_.WaitForState(a->privacy_request().name(), "COMPLETED"));
  // Once it is closed, a new filing opens a new request.
  auto later = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 31));
  ASSERT_THAT(later, IsOk());
  EXPECT_FALSE(later->duplicate());
  EXPECT_NE(later->privacy_request().name(), a->privacy_request().name());
}

TEST_F(PrivacyRequestTest, ClocksPauseWhileIdentityIsPendingWhenConfigured) {
  ASSERT_NO_FATAL_FAILURE(StartDsard("", "pause_clock_until_verified: true"));
  auto created = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 41));
  ASSERT_THAT(created, IsOk());
  EXPECT_TRUE(created->privacy_request().clock_paused());
  const absl::Time received = FromTimestamp(created->privacy_request().receive_time());
  EXPECT_EQ(DsardCount("SELECT count(*) FROM deadlines WHERE paused_at_us IS NOT NULL"), 2);
  dsard_->clock().Advance(absl::Hours(30));
  auto verified = Verify(created->privacy_request().name());
  ASSERT_THAT(verified, IsOk());
  EXPECT_FALSE(verified->clock_paused());
  EXPECT_EQ(FromTimestamp(verified->due_time()), received + absl::Hours(72 + 30));
}

TEST_F(PrivacyRequestTest, ExtensionMovesTheGdprClockWithinThreeMonthsAndRecordsTheReason) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  auto created = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ERASURE, 42));
  ASSERT_THAT(created, IsOk());
  const std::string name = created->privacy_request().name();
  auto extended = Extend(name);
  ASSERT_THAT(extended, IsOk());
  EXPECT_EQ(FromTimestamp(extended->gdpr_due_time()),
            absl::FromCivil(absl::CivilDay(2026, 4, 2), absl::UTCTimeZone()));
  EXPECT_EQ(extended->extension().count(), 1);
  EXPECT_EQ(extended->extension().reason(), "complex request spanning several systems");
  EXPECT_TRUE(extended->extension().has_subject_notify_time());
  // Beyond the limit: the field is named.
  auto beyond = Extend(name, absl::FromCivil(absl::CivilDay(2026, 6, 1), absl::UTCTimeZone()));
  EXPECT_THAT(FieldsOf(beyond.status()), ElementsAre("gdpr_due_time"));
  // Missing notify time.
  v1::ExtendPrivacyRequestRequest request;
  request.set_request_id("extend-no-time");
  request.set_name(name);
  request.set_reason("complex");
  v1::ExtendPrivacyRequestResponse response;
  auto ctx = TestDsard::Context(testing::kDpoToken);
  EXPECT_THAT(FieldsOf(FromGrpcStatus(stub_->ExtendPrivacyRequest(ctx.get(), request, &response))),
              ElementsAre("subject_notify_time"));
}

TEST_F(PrivacyRequestTest, RejectionMeetsAndCancellationCancelsTheClocks) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  auto rejected = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 43));
  auto cancelled = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ERASURE, 44));
  ASSERT_THAT(rejected, IsOk());
  ASSERT_THAT(cancelled, IsOk());
  auto r = Reject(rejected->privacy_request().name());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->state(), v1::PRIVACY_REQUEST_STATE_REJECTED);
  EXPECT_EQ(r->rejection().reason(), v1::REJECTION_REASON_EXCESSIVE);
  auto c = Cancel(cancelled->privacy_request().name());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->state(), v1::PRIVACY_REQUEST_STATE_CANCELLED);
  EXPECT_EQ(DsardCount(absl::StrCat("SELECT count(*) FROM deadlines WHERE state = 'completed' "
                                    "AND resource = '",
                                    r->name(), "'")),
            2);
  EXPECT_EQ(DsardCount(absl::StrCat("SELECT count(*) FROM deadlines WHERE state = 'cancelled' "
                                    "AND resource = '",
                                    c->name(), "'")),
            2);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE sealed_subject IS NOT NULL"),
            0);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM outbox_tasks"), 0);

  // Filtered listing.
  v1::ListPrivacyRequestsRequest list;
  list.set_state(v1::PRIVACY_REQUEST_STATE_REJECTED);
  v1::ListPrivacyRequestsResponse page;
  auto ctx = TestDsard::Context(testing::kDpoToken);
  ASSERT_TRUE(stub_->ListPrivacyRequests(ctx.get(), list, &page).ok());
  ASSERT_THAT(page.privacy_requests(), SizeIs(1));
  EXPECT_EQ(page.privacy_requests(0).name(), r->name());
}

TEST_F(PrivacyRequestTest, ListPagesNewestFirstWithFilters) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    dsard_->clock().Advance(absl::Seconds(1));
    auto created = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ERASURE, 45 + i));
    ASSERT_THAT(created, IsOk());
    names.push_back(created->privacy_request().name());
  }
  std::vector<std::string> seen;
  std::string token;
  do {
    v1::ListPrivacyRequestsRequest list;
    list.set_page_size(2);
    list.set_type(v1::PRIVACY_REQUEST_TYPE_ERASURE);
    list.set_page_token(token);
    v1::ListPrivacyRequestsResponse page;
    auto ctx = TestDsard::Context(testing::kServiceToken);
    ASSERT_TRUE(stub_->ListPrivacyRequests(ctx.get(), list, &page).ok());
    for (const auto& r : page.privacy_requests()) seen.push_back(r.name());
    token = page.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(seen, std::vector<std::string>(names.rbegin(), names.rend()));
  // Due before: only open requests due before the time.
  v1::ListPrivacyRequestsRequest due;
  SetTimestamp(dsard_->clock().Now() + absl::Hours(72) - absl::Seconds(2),
               due.mutable_due_before());
  v1::ListPrivacyRequestsResponse page;
  auto ctx = TestDsard::Context(testing::kServiceToken);
  ASSERT_TRUE(stub_->ListPrivacyRequests(ctx.get(), due, &page).ok());
  EXPECT_THAT(page.privacy_requests(), SizeIs(2));
  // A token used with other filters is refused.
  v1::ListPrivacyRequestsRequest bad;
  bad.set_page_token(page.next_page_token().empty() ? "bm90LWEtdG9rZW4" : page.next_page_token());
  ctx = TestDsard::Context(testing::kServiceToken);
  EXPECT_THAT(FieldsOf(FromGrpcStatus(stub_->ListPrivacyRequests(ctx.get(), bad, &page))),
              ElementsAre("page_token"));
}

TEST_F(PrivacyRequestTest, ADeadLetteredTaskFailsTheRequestAndRetryingItCompletesIt) {
  const int booking_port = booking_.port();
  booking_.Stop();
  ASSERT_NO_FATAL_FAILURE(
      StartDsard("max_attempts: 1 call_timeout_ms: 1000 export_timeout_ms: 1000"));
  auto created = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 51, /*verified=*/true));
  ASSERT_THAT(created, IsOk());
  const std::string name = created->privacy_request().name();
  ASSERT_TRUE(callbacks_.WaitForState(name, "FAILED"));
  auto failed = Get(name);
  ASSERT_THAT(failed, IsOk());
  EXPECT_EQ(failed->state(), v1::PRIVACY_REQUEST_STATE_FAILED);
  EXPECT_THAT(failed->failure_reason(), HasSubstr("connector booking"));
  std::string booking_task;
  for (const auto& s : failed->systems()) {
    if (s.connector() == "booking") booking_task = s.task_id();
  }
  ASSERT_FALSE(booking_task.empty());
  // The deadlines keep running while it is failed.
  EXPECT_EQ(DsardCount("SELECT count(*) FROM deadlines WHERE state = 'open' AND resource = '" +
                       name + "'"),
            2);

  // The system is back; dsard restarts (fresh connections) and the DPO
  // retries the dead task.
  ASSERT_TRUE(booking_.Start(booking_port));
  ASSERT_THAT(dsard_->Restart(), IsOk());
  stub_ = v1::PrivacyRequestService::NewStub(dsard_->channel());
  auto admin = v1::ConnectorService::NewStub(dsard_->channel());
  v1::RetryTaskRequest retry;
  retry.set_request_id("retry-booking");
  retry.set_task_id(booking_task);
  v1::RetryTaskResponse retried;
  auto ctx = TestDsard::Context(testing::kDpoToken);
  grpc::Status s = admin->RetryTask(ctx.get(), retry, &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(callbacks_.WaitForState(name, "COMPLETED"));
  auto done = Get(name);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state(), v1::PRIVACY_REQUEST_STATE_COMPLETED);
  EXPECT_GT(done->export_bundle().record_count(), 0);
  std::vector<v1::PrivacyRequestState> states;
  for (const auto& h : done->history()) states.push_back(h.to_state());
  EXPECT_THAT(
      states,
      ElementsAre(v1::PRIVACY_REQUEST_STATE_RECEIVED, v1::PRIVACY_REQUEST_STATE_VERIFIED,
                  v1::PRIVACY_REQUEST_STATE_IN_PROGRESS, v1::PRIVACY_REQUEST_STATE_FAILED,
                  v1::PRIVACY_REQUEST_STATE_IN_PROGRESS, v1::PRIVACY_REQUEST_STATE_COMPLETED));
}

TEST_F(PrivacyRequestTest, RetentionFilesOneErasurePerPersonWhoseRelationshipEndedLongAgo) {
  // Each system knows when its own relationship with a person ended.
  const absl::Time cutoff = absl::FromUnixSeconds(1767225600) - absl::Hours(24 * 365);
  auto ended = [&](const std::string& db, const std::string& table) {
    SQLite::Database d(dir_.File(db), SQLite::OPEN_READONLY);
    SQLite::Statement q(
        d, absl::StrCat("SELECT email FROM ", table, " WHERE ended_at_us > 0 AND ended_at_us < ",
                        absl::ToUnixMicros(cutoff)));
    std::set<std::string> out;
    while (q.executeStep()) out.insert(q.getColumn(0).getString());
    return out;
  };
  std::set<std::string> people = ended("booking.db", "people");
  for (const auto& e : ended("crm.db", "contacts")) people.insert(e);
  ASSERT_FALSE(people.empty());

  ASSERT_NO_FATAL_FAILURE(
      StartDsard("", "retention_scan_interval_seconds: 86400 relationship_retention_days: 365"));
  auto* retention = module().retention();
  ASSERT_NE(retention, nullptr);
  // The scan started with dsard may have run first (and erased some people
  // already); filings are idempotent by person, so after this scan each
  // person is filed exactly once either way.
  auto scan = retention->RunOnce();
  EXPECT_EQ(scan.failed, 0);
  EXPECT_EQ(retention->RunOnce().failed, 0);
  v1::ListPrivacyRequestsRequest list;
  list.set_type(v1::PRIVACY_REQUEST_TYPE_ERASURE);
  v1::ListPrivacyRequestsResponse page;
  auto ctx = TestDsard::Context(testing::kDpoToken);
  ASSERT_TRUE(stub_->ListPrivacyRequests(ctx.get(), list, &page).ok());
  ASSERT_EQ(page.privacy_requests_size(), static_cast<int>(people.size()));
  for (const auto& r : page.privacy_requests()) {
    EXPECT_EQ(r.source(), v1::PRIVACY_REQUEST_SOURCE_RETENTION);
    EXPECT_EQ(r.requester().relation(), v1::REQUESTER_RELATION_CONTROLLER);
    EXPECT_NE(r.state(), v1::PRIVACY_REQUEST_STATE_RECEIVED);  // no identity to verify
  }
  // (Connectors without a tenant serve every tenant, so other-tenant's scan
  // files its own requests.)
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE tenant_id = 'acme-travel'"),
            static_cast<int64_t>(people.size()));
}

// E-mail addresses of the rows `where` selects from a backend's own table.
std::set<std::string> EmailsWhere(const std::string& db, const std::string& table,
                                  const std::string& where) {
  SQLite::Database d(db, SQLite::OPEN_READONLY);
  SQLite::Statement q(d, absl::StrCat("SELECT email FROM ", table, " WHERE ", where));
  std::set<std::string> out;
  while (q.executeStep()) out.insert(q.getColumn(0).getString());
  return out;
}

// The fake clock's start (1 January 2026) less 365 days: the retention cut-off.
absl::Time RetentionCutoff() { return absl::FromUnixSeconds(1767225600) - absl::Hours(24 * 365); }

TEST_F(PrivacyRequestTest, RetentionIgnoresEndDatesAConnectorReportsTooEarly) {
  // Both systems list every ended relationship, however recent.
  booking_.Stop();
  crm_.Stop();
  refbackend::FaultOptions faulty;
  faulty.list_every_ended = true;
  booking_.set_fault_options(faulty);
  crm_.set_fault_options(faulty);
  ASSERT_TRUE(booking_.Start());
  ASSERT_TRUE(crm_.Start());
  const std::string before =
      absl::StrCat("ended_at_us > 0 AND ended_at_us < ", absl::ToUnixMicros(RetentionCutoff()));
  const std::string recent = absl::StrCat("ended_at_us >= ", absl::ToUnixMicros(RetentionCutoff()));
  const auto booking_old = EmailsWhere(dir_.File("booking.db"), "people", before);
  const auto crm_old = EmailsWhere(dir_.File("crm.db"), "contacts", before);
  std::set<std::string> people = booking_old;
  people.insert(crm_old.begin(), crm_old.end());
  ASSERT_FALSE(people.empty());
  ASSERT_FALSE(EmailsWhere(dir_.File("booking.db"), "people", recent).empty() &&
               EmailsWhere(dir_.File("crm.db"), "contacts", recent).empty());

  ASSERT_NO_FATAL_FAILURE(StartDsard("", "retention_scan_interval_seconds: 86400"));
  auto scan = module().retention()->RunOnce();
  EXPECT_EQ(scan.failed, 0);
  EXPECT_GT(scan.ignored, 0);  // the recent ones, named by the connectors, were not filed
  // One erasure per person who ended long ago in some system, sent only to
  // the systems where it ended long ago.
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE tenant_id = 'acme-travel'"),
            static_cast<int64_t>(people.size()));
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE tenant_id = 'acme-travel' "
                       "AND ',' || only_systems || ',' LIKE '%,booking,%'"),
            static_cast<int64_t>(booking_old.size()));
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE tenant_id = 'acme-travel' "
                       "AND ',' || only_systems || ',' LIKE '%,crm,%'"),
            static_cast<int64_t>(crm_old.size()));
}

TEST_F(PrivacyRequestTest, RetentionOverTheCapHoldsEverythingForReviewWithOneAlert) {
  const std::string before =
      absl::StrCat("ended_at_us > 0 AND ended_at_us < ", absl::ToUnixMicros(RetentionCutoff()));
  std::set<std::string> people = EmailsWhere(dir_.File("booking.db"), "people", before);
  for (const auto& e : EmailsWhere(dir_.File("crm.db"), "contacts", before)) people.insert(e);
  ASSERT_GT(people.size(), 2u);
  const int64_t booking_people = Count(dir_.File("booking.db"), "SELECT count(*) FROM people");
  const int64_t crm_named =
      Count(dir_.File("crm.db"), "SELECT count(*) FROM contacts WHERE email IS NOT NULL");

  ASSERT_NO_FATAL_FAILURE(
      StartDsard("", "retention_scan_interval_seconds: 86400 retention_max_erasures_per_scan: 2"));
  auto* retention = module().retention();
  auto scan = retention->RunOnce();
  EXPECT_EQ(scan.failed, 0);
  EXPECT_GE(scan.capped_tenants, 1);
  EXPECT_EQ(scan.held, scan.filed + scan.duplicates);
  // Every one held for the DPO; no connector task was sent; nothing erased.
  const std::string acme = "SELECT count(*) FROM privacy_requests WHERE tenant_id = 'acme-travel'";
  EXPECT_EQ(DsardCount(acme), static_cast<int64_t>(people.size()));
  EXPECT_EQ(DsardCount(acme + " AND state = 1 AND source = 2"),
            static_cast<int64_t>(people.size()));
  EXPECT_EQ(DsardCount("SELECT count(*) FROM outbox_tasks"), 0);
  EXPECT_EQ(Count(dir_.File("booking.db"), "SELECT count(*) FROM people"), booking_people);
  EXPECT_EQ(Count(dir_.File("crm.db"), "SELECT count(*) FROM contacts WHERE email IS NOT NULL"),
            crm_named);

  // One alert for the tenant, however many scans find it so.
  EXPECT_EQ(retention->RunOnce().capped_tenants, scan.capped_tenants);
  dsard_->clock().Advance(absl::Seconds(2));
  ASSERT_THAT(dsard_->daemon().deadline_module()->scheduler().RunDue(), IsOk());
  const std::string alerts =
      "SELECT count(*) FROM deadline_alerts a JOIN deadlines d ON d.tenant_id = a.tenant_id AND "
      "d.deadline_id = a.deadline_id WHERE d.tenant_id = 'acme-travel' AND d.kind = "
      "'retention.review'";
  EXPECT_EQ(DsardCount(alerts), 1);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM deadlines WHERE tenant_id = 'acme-travel' AND kind = "
                       "'retention.review' AND state = 'open'"),
            1);
  EXPECT_EQ(DsardCount(acme), static_cast<int64_t>(people.size()));

  // The DPO approves one held erasure: it starts.
  v1::ListPrivacyRequestsRequest list;
  list.set_state(v1::PRIVACY_REQUEST_STATE_RECEIVED);
  v1::ListPrivacyRequestsResponse page;
  auto ctx = TestDsard::Context(testing::kDpoToken);
  ASSERT_TRUE(stub_->ListPrivacyRequests(ctx.get(), list, &page).ok());
  ASSERT_GT(page.privacy_requests_size(), 0);
  // The DPO sees where each would erase: the systems that listed the person.
  for (const auto& held : page.privacy_requests()) {
    EXPECT_THAT(held.only_systems(), ::testing::Not(IsEmpty()));
    for (const auto& system : held.only_systems()) {
      EXPECT_TRUE(system == "booking" || system == "crm") << system;
    }
  }
  auto approved = Verify(page.privacy_requests(0).name());
  ASSERT_THAT(approved, IsOk());
  EXPECT_NE(approved->state(), v1::PRIVACY_REQUEST_STATE_RECEIVED);
}

TEST_F(PrivacyRequestTest, RetentionInReviewModeWaitsForTheDpo) {
  ASSERT_NO_FATAL_FAILURE(
      StartDsard("", "retention_scan_interval_seconds: 86400 retention_mode: \"review\""));
  auto scan = module().retention()->RunOnce();
  EXPECT_EQ(scan.failed, 0);
  EXPECT_EQ(scan.capped_tenants, 0);
  EXPECT_GT(DsardCount("SELECT count(*) FROM privacy_requests WHERE source = 2"), 0);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests WHERE state <> 1"), 0);
  EXPECT_EQ(DsardCount("SELECT count(*) FROM deadlines WHERE kind = 'retention.review'"), 0);
}

TEST_F(PrivacyRequestTest, RolesAreEnforced) {
  ASSERT_NO_FATAL_FAILURE(StartDsard());
  auto created = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 52));
  ASSERT_THAT(created, IsOk());
  v1::VerifyIdentityRequest request;
  request.set_request_id("verify-by-service");
  request.set_name(created->privacy_request().name());
  request.mutable_verification()->set_method(v1::VERIFICATION_METHOD_DOCUMENT_CHECK);
  v1::VerifyIdentityResponse response;
  auto ctx = TestDsard::Context(testing::kServiceToken);
  EXPECT_EQ(stub_->VerifyIdentity(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 53), testing::kAuditorToken),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // A service may not skip verification of an erasure (it cannot be undone);
  // its pre-verified access requests still run, its erasures wait for the DPO.
  const int64_t filed = DsardCount("SELECT count(*) FROM privacy_requests");
  EXPECT_THAT(Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ERASURE, 54, /*verified=*/true)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(DsardCount("SELECT count(*) FROM privacy_requests"), filed);
  auto access = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ACCESS, 54, /*verified=*/true));
  ASSERT_THAT(access, IsOk());
  EXPECT_NE(access->privacy_request().state(), v1::PRIVACY_REQUEST_STATE_RECEIVED);
  auto erasure = Create(NewRequest(v1::PRIVACY_REQUEST_TYPE_ERASURE, 54));
  ASSERT_THAT(erasure, IsOk());
  EXPECT_EQ(erasure->privacy_request().state(), v1::PRIVACY_REQUEST_STATE_RECEIVED);
}

}  // namespace
}  // namespace dsar
