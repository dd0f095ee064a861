// dsar.v1.ConsentService through the real gRPC server (in-process, port 0).
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "dsar/v1/consent.grpc.pb.h"
#include "lib/audit/refusal_recorder.h"
#include "lib/core/errors.h"
#include "lib/store/store.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subject_testing.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::dsar::testing::TestDsard;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class ConsentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(dsard_.Start(), IsOk());
    stub_ = v1::ConsentService::NewStub(dsard_.channel());
  }

  v1::RecordConsentRequest ValidRecord(const std::string& subject = "subject-0001",
                                       const std::string& purpose = "booking") {
    v1::RecordConsentRequest r;
    r.set_request_id("req-" + std::to_string(++request_counter_));
    *r.mutable_subject() = ::dsar::testing::CustomerSubject(subject);
    r.set_purpose(purpose);
    r.set_notice_version(purpose == "booking" ? "2026-03" : "v7");
    r.set_language("sv-SE");
    r.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
    r.set_channel("web-booking");
    return r;
  }

  absl::StatusOr<v1::ConsentReceipt> Record(const v1::RecordConsentRequest& request,
                                            const char* token = testing::kServiceToken) {
    v1::RecordConsentResponse response;
    auto ctx = TestDsard::Context(token);
    grpc::Status s = stub_->RecordConsent(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response.receipt();
  }

  absl::StatusOr<v1::ConsentReceipt> Withdraw(const std::string& subject,
                                              const std::string& purpose,
                                              std::string request_id = "") {
    v1::WithdrawConsentRequest request;
    request.set_request_id(request_id.empty() ? "wd-" + std::to_string(++request_counter_)
                                              : request_id);
    *request.mutable_subject() = ::dsar::testing::CustomerSubject(subject);
    request.set_purpose(purpose);
    request.set_channel("account-settings");
    v1::WithdrawConsentResponse response;
    auto ctx = TestDsard::Context();
    grpc::Status s = stub_->WithdrawConsent(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response.receipt();
  }

  absl::StatusOr<v1::CheckConsentResponse> Check(const std::string& subject,
                                                 const std::string& purpose) {
    v1::CheckConsentRequest request;
    *request.mutable_subject() = ::dsar::testing::CustomerSubject(subject);
    request.set_purpose(purpose);
    v1::CheckConsentResponse response;
    auto ctx = TestDsard::Context();
    grpc::Status s = stub_->CheckConsent(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response;
  }

  absl::StatusOr<v1::ListConsentEventsResponse> List(const std::string& subject, int page_size,
                                                     const std::string& token = "",
                                                     const std::string& purpose = "") {
    v1::ListConsentEventsRequest request;
    *request.mutable_subject() = ::dsar::testing::CustomerSubject(subject);
    request.set_page_size(page_size);
    request.set_page_token(token);
    request.set_purpose(purpose);
    v1::ListConsentEventsResponse response;
    auto ctx = TestDsard::Context(testing::kDpoToken);
    grpc::Status s = stub_->ListConsentEvents(ctx.get(), request, &response);
    if (!s.ok()) return FromGrpcStatus(s);
    return response;
  }

  // Row counts of every table a consent call may touch, read from the file.
  std::map<std::string, int64_t> RowCounts() {
    SQLite::Database db(dsard_.DatabasePath(), SQLite::OPEN_READONLY);
    std::map<std::string, int64_t> counts;
    for (const char* table :
         {"consent_events", "audit_events", "idempotency_keys", "outbox_tasks"}) {
      counts[table] = db.execAndGet(std::string("SELECT count(*) FROM ") + table).getInt64();
    }
    return counts;
  }

  TestDsard dsard_;
  std::unique_ptr<v1::ConsentService::Stub> stub_;
  int request_counter_ = 0;
};

TEST_F(ConsentServiceTest, RecordCheckWithdrawCheck) {
  auto receipt = Record(ValidRecord());
  ASSERT_THAT(receipt, IsOk());
  EXPECT_THAT(receipt->receipt_id(), HasSubstr("rcpt_"));
  EXPECT_EQ(receipt->tenant(), "acme-travel");
  EXPECT_EQ(receipt->state(), v1::CONSENT_STATE_GRANTED);
  EXPECT_EQ(receipt->actor(), "svc-booking");
  EXPECT_THAT(receipt->subject_pseudonym(), HasSubstr("hmac-sha256:"));

  auto granted = Check("subject-0001", "booking");
  ASSERT_THAT(granted, IsOk());
  EXPECT_EQ(granted->state(), v1::CONSENT_STATE_GRANTED);
  EXPECT_EQ(granted->receipt_id(), receipt->receipt_id());
  EXPECT_FALSE(granted->reconsent_required());

  dsard_.clock().Advance(absl::Hours(1));
  auto withdrawn = Withdraw("subject-0001", "booking");
  ASSERT_THAT(withdrawn, IsOk());
  EXPECT_EQ(withdrawn->state(), v1::CONSENT_STATE_WITHDRAWN);
  EXPECT_EQ(withdrawn->receipt_id(), receipt->receipt_id());
  EXPECT_EQ(withdrawn->withdraw_time().seconds() - withdrawn->give_time().seconds(), 3600);

  // The withdrawal has returned, so a check starting now must see it.
  auto after = Check("subject-0001", "booking");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->state(), v1::CONSENT_STATE_WITHDRAWN);

  // Other purposes and subjects are untouched.
  auto none = Check("subject-0002", "booking");
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(none->state(), v1::CONSENT_STATE_NONE);
}

TEST_F(ConsentServiceTest, AnsweredCallsGiveBackTheirAdmissionSlots) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(Record(ValidRecord("subject-" + std::to_string(i % 3))), IsOk());
    if (i % 4 == 0) {
      ASSERT_THAT(Withdraw("subject-" + std::to_string(i % 3), "booking"), IsOk());
    }
    ASSERT_THAT(Check("subject-0001", "booking"), IsOk());
    EXPECT_THAT(Record(ValidRecord("")), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  ASSERT_THAT(List("subject-1", 5), IsOk());
  EXPECT_EQ(dsard_.daemon().call_gate().in_flight(), 0);
}

TEST_F(ConsentServiceTest, WithdrawingTwiceIsANoOpAndUnknownConsentIsNotFound) {
  ASSERT_THAT(Record(ValidRecord()), IsOk());
  auto first = Withdraw("subject-0001", "booking");
  ASSERT_THAT(first, IsOk());
  auto events_before = RowCounts()["consent_events"];
  auto second = Withdraw("subject-0001", "booking");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->withdraw_time().seconds(), first->withdraw_time().seconds());
  EXPECT_EQ(RowCounts()["consent_events"], events_before);
  EXPECT_THAT(Withdraw("subject-9999", "booking"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ConsentServiceTest, EachInvalidFieldIsNamedAndChangesNothing) {
  ASSERT_THAT(Record(ValidRecord("subject-0001")), IsOk());
  const auto before = RowCounts();
  struct Case {
    std::string field;
    std::function<void(v1::RecordConsentRequest&)> spoil;
  };
  std::vector<Case> cases = {
      {"request_id", [](auto& r) { r.clear_request_id(); }},
      {"request_id", [](auto& r) { r.set_request_id("has space"); }},
      {"subject.type", [](auto& r) { r.clear_subject(); }},
      {"subject.type", [](auto& r) { r.mutable_subject()->clear_type(); }},
      {"subject.value",
       [](auto& r) {
         *r.mutable_subject() = ::dsar::testing::CustomerSubject(std::string(300, 's'));
       }},
      {"subject.value",
       [](auto& r) { *r.mutable_subject() = ::dsar::testing::EmailSubject("not-an-address"); }},
      {"subject.value",
       [](auto& r) { *r.mutable_subject() = ::dsar::testing::PhoneSubject("0700000001"); }},
      {"purpose", [](auto& r) { r.clear_purpose(); }},
      {"purpose", [](auto& r) { r.set_purpose("astrology"); }},
      {"notice_version", [](auto& r) { r.clear_notice_version(); }},
      {"notice_version", [](auto& r) { r.set_notice_version("1999-01"); }},
      {"language", [](auto& r) { r.clear_language(); }},
      {"language", [](auto& r) { r.set_language("swedish!"); }},
      {"language", [](auto& r) { r.set_language("sv-"); }},
      {"lawful_basis", [](auto& r) { r.set_lawful_basis(v1::LAWFUL_BASIS_UNSPECIFIED); }},
      {"lawful_basis", [](auto& r) { r.set_lawful_basis(static_cast<v1::LawfulBasis>(42)); }},
      {"channel", [](auto& r) { r.clear_channel(); }},
      {"give_time",
       [this](auto& r) {
         r.mutable_give_time()->set_seconds(
             absl::ToUnixSeconds(dsard_.clock().Now() + absl::Hours(24)));
       }},
  };
  for (const auto& c : cases) {
    auto request = ValidRecord("subject-0002");
    c.spoil(request);
    auto result = Record(request);
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument)) << c.field;
    EXPECT_THAT(FieldViolationsOf(result.status()),
                ElementsAre(Field(&FieldViolation::field, c.field)))
        << c.field << ": " << result.status();
  }
  EXPECT_EQ(RowCounts(), before);
}

TEST_F(ConsentServiceTest, OutdatedNoticeVersionIsFailedPreconditionWithDetails) {
  auto request = ValidRecord();
  request.set_notice_version("2025-01");
  auto result = Record(request);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("2026-03")));
  auto violations = PreconditionViolationsOf(result.status());
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].type, "NOTICE_VERSION");
  EXPECT_EQ(violations[0].subject, "purposes/booking");
}

TEST_F(ConsentServiceTest, HistoryPagesAreCompleteAndStableWhileNewEventsArrive) {
  const std::string subject = "subject-0042";
  for (int i = 0; i < 12; ++i) {
    ASSERT_THAT(Record(ValidRecord(subject, i % 2 ? "marketing" : "booking")), IsOk());
    dsard_.clock().Advance(absl::Minutes(1));
    if (i % 3 == 0) {
      ASSERT_THAT(Withdraw(subject, i % 2 ? "marketing" : "booking"), IsOk());
    }
  }
  auto all = List(subject, 1000);
  ASSERT_THAT(all, IsOk());
  const int total = all->events_size();
  ASSERT_EQ(total, 16);
  std::vector<std::string> expected;
  for (const auto& e : all->events()) expected.push_back(e.event_id());

  std::vector<std::string> paged;
  std::string token;
  int page_number = 0;
  do {
    auto page = List(subject, 5, token);
    ASSERT_THAT(page, IsOk());
    for (const auto& e : page->events()) paged.push_back(e.event_id());
    token = page->next_page_token();
    // New events arrive between pages; they must not shift later pages.
    ASSERT_THAT(Record(ValidRecord(subject, "marketing")), IsOk());
    ++page_number;
  } while (!token.empty() && page_number < 10);
  EXPECT_EQ(paged, expected);

  // Newest first.
  auto first = List(subject, 3);
  ASSERT_THAT(first, IsOk());
  EXPECT_GE(first->events(0).record_time().seconds(), first->events(2).record_time().seconds());
  // A token is bound to its subject.
  EXPECT_THAT(List("subject-0043", 5, first->next_page_token()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Purpose filter.
  auto marketing = List(subject, 1000, "", "marketing");
  ASSERT_THAT(marketing, IsOk());
  for (const auto& e : marketing->events()) EXPECT_EQ(e.purpose(), "marketing");
}

TEST_F(ConsentServiceTest, RetryAfterRestartReturnsTheSameReceiptAndWritesNothing) {
  auto request = ValidRecord();
  auto first = Record(request);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(dsard_.Restart(), IsOk());
  stub_ = v1::ConsentService::NewStub(dsard_.channel());
  const auto before = RowCounts();
  auto retry = Record(request);
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->receipt_id(), first->receipt_id());
  EXPECT_EQ(retry->record_time().seconds(), first->record_time().seconds());
  EXPECT_EQ(RowCounts(), before);
  // Same id, different content: refused, naming request_id.
  request.set_channel("kiosk");
  auto reused = Record(request);
  EXPECT_THAT(reused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldViolationsOf(reused.status()),
              ElementsAre(Field(&FieldViolation::field, "request_id")));
}

TEST_F(ConsentServiceTest, ChecksAfterARestartAnswerWhatWasCommittedBeforeIt) {
  // Check answers from memory (ConsentStateIndex): after a restart that copy
  // is loaded from the file, and must agree with what was answered before.
  ASSERT_THAT(Record(ValidRecord("subject-0001", "booking")), IsOk());
  ASSERT_THAT(Record(ValidRecord("subject-0001", "marketing")), IsOk());
  auto given = Record(ValidRecord("subject-0002", "booking"));
  ASSERT_THAT(given, IsOk());
  ASSERT_THAT(Withdraw("subject-0001", "marketing"), IsOk());
  std::map<std::string, v1::CheckConsentResponse> before;
  for (const char* subject : {"subject-0001", "subject-0002", "subject-0003"}) {
    for (const char* purpose : {"booking", "marketing"}) {
      auto check = Check(subject, purpose);
      ASSERT_THAT(check, IsOk());
      before[std::string(subject) + "/" + purpose] = *check;
    }
  }
  EXPECT_EQ(before["subject-0001/marketing"].state(), v1::CONSENT_STATE_WITHDRAWN);
  EXPECT_EQ(before["subject-0002/booking"].receipt_id(), given->receipt_id());
  EXPECT_EQ(before["subject-0003/booking"].state(), v1::CONSENT_STATE_NONE);

  ASSERT_THAT(dsard_.Restart(), IsOk());
  stub_ = v1::ConsentService::NewStub(dsard_.channel());
  for (const auto& [key, was] : before) {
    const std::string subject = key.substr(0, key.find('/'));
    auto now = Check(subject, key.substr(key.find('/') + 1));
    ASSERT_THAT(now, IsOk());
    EXPECT_EQ(now->SerializeAsString(), was.SerializeAsString()) << key;
  }
  // And it keeps following writes after the restart.
  ASSERT_THAT(Withdraw("subject-0002", "booking"), IsOk());
  auto withdrawn = Check("subject-0002", "booking");
  ASSERT_THAT(withdrawn, IsOk());
  EXPECT_EQ(withdrawn->state(), v1::CONSENT_STATE_WITHDRAWN);
  EXPECT_EQ(withdrawn->receipt_id(), given->receipt_id());
}

TEST_F(ConsentServiceTest, ConcurrentClientsLeaveStateEqualToTheLastEventOfEachHistory) {
  constexpr int kClients = 32;
  constexpr int kOpsPerClient = 40;
  constexpr int kSubjects = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = v1::ConsentService::NewStub(dsard_.channel());
      for (int i = 0; i < kOpsPerClient; ++i) {
        std::string subject = "subject-" + std::to_string((c + i) % kSubjects);
        std::string purpose = (i % 2) ? "marketing" : "booking";
        std::string rid = "c" + std::to_string(c) + "-" + std::to_string(i);
        auto ctx = TestDsard::Context();
        grpc::Status s;
        if ((c + i) % 3 == 0) {
          v1::WithdrawConsentRequest w;
          w.set_request_id(rid);
          *w.mutable_subject() = ::dsar::testing::CustomerSubject(subject);
          w.set_purpose(purpose);
          w.set_channel("app");
          v1::WithdrawConsentResponse resp;
          s = stub->WithdrawConsent(ctx.get(), w, &resp);
          if (s.error_code() == grpc::StatusCode::NOT_FOUND) s = grpc::Status::OK;
        } else {
          v1::RecordConsentRequest r;
          r.set_request_id(rid);
          *r.mutable_subject() = ::dsar::testing::CustomerSubject(subject);
          r.set_purpose(purpose);
          r.set_notice_version(purpose == "booking" ? "2026-03" : "v7");
          r.set_language("en-GB");
          r.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
          r.set_channel("app");
          v1::RecordConsentResponse resp;
          s = stub->RecordConsent(ctx.get(), r, &resp);
        }
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);

  for (int s = 0; s < kSubjects; ++s) {
    for (const char* purpose : {"booking", "marketing"}) {
      std::string subject = "subject-" + std::to_string(s);
      auto history = List(subject, 1, "", purpose);
      ASSERT_THAT(history, IsOk());
      auto check = Check(subject, purpose);
      ASSERT_THAT(check, IsOk());
      if (history->events_size() == 0) {
        EXPECT_EQ(check->state(), v1::CONSENT_STATE_NONE);
        continue;
      }
      const auto& last = history->events(0);
      EXPECT_EQ(check->receipt_id(), last.receipt_id()) << subject << "/" << purpose;
      EXPECT_EQ(check->state(), last.action() == v1::CONSENT_ACTION_GIVEN
                                    ? v1::CONSENT_STATE_GRANTED
                                    : v1::CONSENT_STATE_WITHDRAWN)
          << subject << "/" << purpose;
    }
  }
}

TEST_F(ConsentServiceTest, NoSubjectIdInClearInTheDatabaseOrTheLogs) {
  // Capture everything dsard logs during the calls.
  std::string log_path = dsard_.dir().File("stderr.log");
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  FILE* log_file = fopen(log_path.c_str(), "w");
  ASSERT_NE(log_file, nullptr);
  dup2(fileno(log_file), STDERR_FILENO);
  const std::string subject = "person-7731@example.invalid";
  ASSERT_THAT(Record(ValidRecord(subject)), IsOk());
  ASSERT_THAT(Withdraw(subject, "booking"), IsOk());
  ASSERT_THAT(List(subject, 10), IsOk());
  ASSERT_THAT(Check(subject, "booking"), IsOk());
  dsard_.Stop();  // flushes the WAL into the database file too
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  fclose(log_file);

  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  std::string logs = slurp(log_path);
  EXPECT_THAT(logs, HasSubstr("store_closed"));  // the capture worked
  EXPECT_EQ(logs.find(subject), std::string::npos);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string bytes = slurp(dsard_.DatabasePath() + suffix);
    EXPECT_EQ(bytes.find(subject), std::string::npos) << "found in dsar.db" << suffix;
    EXPECT_EQ(bytes.find("person-7731"), std::string::npos) << "found in dsar.db" << suffix;
  }
}

TEST_F(ConsentServiceTest, ReceiptHasKantaraShapeAndIsAudited) {
  auto receipt = Record(ValidRecord());
  ASSERT_THAT(receipt, IsOk());
  ASSERT_THAT(Withdraw("subject-0001", "booking"), IsOk());
  v1::GetConsentReceiptRequest request;
  request.set_receipt_id(receipt->receipt_id());
  v1::GetConsentReceiptResponse response;
  auto ctx = TestDsard::Context(testing::kAuditorToken);
  ASSERT_TRUE(stub_->GetConsentReceipt(ctx.get(), request, &response).ok());
  EXPECT_EQ(response.receipt().state(), v1::CONSENT_STATE_WITHDRAWN);
  auto json = nlohmann::json::parse(response.kantara_json());
  EXPECT_EQ(json["version"], "KI-CR-v1.1.0");
  EXPECT_EQ(json["consentReceiptID"], receipt->receipt_id());
  EXPECT_EQ(json["language"], "sv-SE");
  EXPECT_EQ(json["jurisdiction"], "SE");
  EXPECT_EQ(json["lawfulBasis"], "consent");
  EXPECT_EQ(json["noticeVersion"], "2026-03");
  EXPECT_EQ(json["piiControllers"][0]["piiController"], "Acme Travel AB (synthetic)");
  EXPECT_TRUE(json.contains("withdrawalTimestamp"));
  EXPECT_EQ(json["piiPrincipalId"], receipt->subject_pseudonym());

  SQLite::Database db(dsard_.DatabasePath(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db,
                      "SELECT count(*) FROM audit_events WHERE method LIKE '%GetConsentReceipt' "
                      "AND principal = 'auditor-acme'");
  ASSERT_TRUE(q.executeStep());
  EXPECT_EQ(q.getColumn(0).getInt(), 1);

  // Unknown receipt.
  request.set_receipt_id("rcpt_doesnotexist");
  auto ctx2 = TestDsard::Context(testing::kAuditorToken);
  EXPECT_EQ(stub_->GetConsentReceipt(ctx2.get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ConsentServiceTest, TenantsAreIsolated) {
  auto receipt = Record(ValidRecord("subject-0001", "marketing"));
  ASSERT_THAT(receipt, IsOk());
  // The other tenant's principal sees no consent and cannot fetch the receipt.
  v1::CheckConsentRequest check;
  *check.mutable_subject() = ::dsar::testing::CustomerSubject("subject-0001");
  check.set_purpose("marketing");
  v1::CheckConsentResponse check_response;
  auto ctx = TestDsard::Context(testing::kOtherTenantToken);
  ASSERT_TRUE(stub_->CheckConsent(ctx.get(), check, &check_response).ok());
  EXPECT_EQ(check_response.state(), v1::CONSENT_STATE_NONE);
  v1::GetConsentReceiptRequest get;
  get.set_receipt_id(receipt->receipt_id());
  v1::GetConsentReceiptResponse get_response;
  auto ctx2 = TestDsard::Context(testing::kOtherTenantToken);
  EXPECT_EQ(stub_->GetConsentReceipt(ctx2.get(), get, &get_response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ConsentServiceTest, CallsNeedAValidTokenAndAnAllowedRole) {
  const auto before = RowCounts();
  v1::RecordConsentResponse response;
  grpc::ClientContext no_token;
  EXPECT_EQ(stub_->RecordConsent(&no_token, ValidRecord(), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto wrong = TestDsard::Context("not-a-token");
  EXPECT_EQ(stub_->RecordConsent(wrong.get(), ValidRecord(), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto connector = TestDsard::Context(testing::kConnectorToken);
  EXPECT_EQ(stub_->RecordConsent(connector.get(), ValidRecord(), &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  auto auditor = TestDsard::Context(testing::kAuditorToken);
  EXPECT_EQ(stub_->RecordConsent(auditor.get(), ValidRecord(), &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Refusals are counted and written as one row per caller and reason at
  // the end of a window; Flush ends it now. Nothing else changed.
  ASSERT_THAT(dsard_.daemon().refusals().Flush(), IsOk());
  auto after = RowCounts();
  EXPECT_EQ(after["audit_events"], before.at("audit_events") + 4);
  after["audit_events"] = before.at("audit_events");
  EXPECT_EQ(after, before);
}

TEST_F(ConsentServiceTest, EveryServedDsarMethodHasAnAccessRule) {
  auto services = ::dsar::testing::ListServicesByReflection(dsard_.channel());
  ASSERT_THAT(services, IsOk());
  int methods = 0;
  for (const auto& name : *services) {
    if (name.rfind("dsar.v1.", 0) != 0) continue;
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      std::string method = "/" + name + "/" + service->method(i)->name();
      EXPECT_TRUE(MethodPolicy::Default().HasEntry(method)) << method << " has no role entry";
      ++methods;
    }
  }
  EXPECT_GE(methods, 5);
}

}  // namespace
}  // namespace dsar
