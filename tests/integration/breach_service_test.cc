// dsar.v1.BreachService through a real in-process dsard on 127.0.0.1:0:
// report -> alerts -> notify -> close, late notifications, versions, closing
// preconditions, tenant isolation, idempotent retries and validation. Time is
// the daemon's FakeClock; the test drives the deadline scheduler with RunDue().
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "dsar/v1/breach.grpc.pb.h"
#include "dsar/v1/deadline.grpc.pb.h"
#include "lib/breach/breach.h"
#include "lib/core/errors.h"
#include "lib/deadline/deadline_module.h"
#include "lib/deadline/kinds.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::TestDsard;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kAcme[] = "acme-travel";
constexpr char kOther[] = "other-tenant";
// A DPO of other-tenant only (added to TestDsard's principals below).
constexpr char kOtherDpoToken[] = "test-token-dpo-other";
constexpr const char* kProcessor = ::dsar::testing::kAllTenantsDpoToken;
constexpr const char* kAcmeDpo = ::dsar::testing::kDpoToken;
constexpr const char* kAcmeAuditor = ::dsar::testing::kAuditorToken;

std::string ExtraPrincipals() {
  return absl::StrCat(
      "principals { name: \"dpo-other\" role: \"dpo\" tenant: \"other-tenant\" "
      "token_sha256: \"",
      CallGate::TokenHash(kOtherDpoToken), "\" }\n");
}

// A context for `token`; principals of all tenants name `tenant` (acme-travel
// unless told otherwise) in x-dsar-tenant.
std::unique_ptr<grpc::ClientContext> Ctx(const char* token, const char* tenant = nullptr) {
  auto ctx = TestDsard::Context(token);
  if (std::string(token) == kProcessor) ctx->AddMetadata("x-dsar-tenant", tenant ? tenant : kAcme);
  return ctx;
}

// Types ("MISSING_FIELD"...) and subjects of a status's PreconditionFailure.
std::vector<std::string> ViolationTypes(const grpc::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : PreconditionViolationsOf(FromGrpcStatus(s))) out.push_back(v.type);
  return out;
}
std::vector<std::string> ViolationSubjects(const grpc::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : PreconditionViolationsOf(FromGrpcStatus(s))) out.push_back(v.subject);
  return out;
}
std::vector<std::string> BadFields(const grpc::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : FieldViolationsOf(FromGrpcStatus(s))) out.push_back(v.field);
  return out;
}

std::vector<std::string> Names(const v1::ListBreachesResponse& r) {
  std::vector<std::string> out;
  for (const auto& b : r.breaches()) out.push_back(b.name());
  return out;
}

std::vector<std::string> Tenants(const v1::Breach& b) {
  std::vector<std::string> out;
  for (const auto& t : b.affected_tenants()) out.push_back(t.tenant());
  return out;
}

// Everything Art. 33(3)/(5) asks for, with a risk and an Art. 34 decision.
void FillCompleteDetails(v1::BreachDetails* d, v1::RiskAssessment risk,
                         v1::SubjectNotificationDecision decision) {
  d->set_title("Misdirected booking export");
  d->set_nature("A nightly booking export was sent to a wrong SFTP account (synthetic).");
  d->add_types(v1::BREACH_TYPE_CONFIDENTIALITY);
  d->add_subject_categories("customers");
  d->set_approx_subject_count(120);
  d->add_record_categories("contact details");
  d->add_record_categories("booking history");
  d->set_approx_record_count(480);
  d->add_affected_systems("booking");
  d->set_contact_point("DPO office, dpo@processor.example.invalid");
  d->set_likely_consequences("Unsolicited contact; low likelihood of misuse.");
  d->set_measures_taken("Account revoked; recipient confirmed deletion.");
  d->set_circumstances("A configuration change pointed the export at a test account.");
  d->set_effect("One export file readable by one external party for 3 hours.");
  d->set_corrective_actions("Four-eyes review of export targets; alerting on target changes.");
  d->set_risk_assessment(risk);
  d->set_risk_rationale("Contact data only, recipient known and cooperative.");
  d->set_subject_notification_decision(decision);
  d->set_subject_notification_reason("The risk is not high (Art. 34(1) not met).");
}

class BreachServiceTest : public ::testing::Test {
 protected:
  BreachServiceTest() : dsard_(ExtraPrincipals()) {}

  void SetUp() override {
    ASSERT_THAT(dsard_.Start(), IsOk());
    stub_ = v1::BreachService::NewStub(dsard_.channel());
    deadlines_ = v1::DeadlineService::NewStub(dsard_.channel());
    t0_ = dsard_.clock().Now();
  }

  // Reports a breach as the processor (or `token`), aware at `aware`.
  v1::Breach Report(const std::string& request_id, absl::Time aware,
                    std::vector<std::string> tenants, const char* token = kProcessor,
                    v1::RiskAssessment risk = v1::RISK_ASSESSMENT_RISK) {
    v1::ReportBreachRequest request;
    request.set_request_id(request_id);
    SetTimestamp(aware, request.mutable_aware_time());
    request.mutable_details()->set_title("Lost laptop " + request_id);
    request.mutable_details()->set_nature("An unencrypted laptop was lost (synthetic).");
    request.mutable_details()->set_risk_assessment(risk);
    for (const auto& t : tenants) request.add_affected_tenants(t);
    v1::ReportBreachResponse response;
    auto ctx = Ctx(token);
    grpc::Status s = stub_->ReportBreach(ctx.get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.breach();
  }

  grpc::Status Notify(const std::string& name, const std::string& request_id,
                      v1::NotificationRecipient recipient, const std::string& tenant,
                      const std::string& delay_reason = "",
                      v1::RecordNotificationResponse* response = nullptr,
                      const char* token = kProcessor) {
    v1::RecordNotificationRequest request;
    request.set_name(name);
    request.set_request_id(request_id);
    request.set_recipient(recipient);
    request.set_tenant(tenant);
    request.set_channel("email");
    request.set_reference("case-" + request_id);
    request.set_delay_reason(delay_reason);
    v1::RecordNotificationResponse unused;
    auto ctx = Ctx(token);
    return stub_->RecordNotification(ctx.get(), request, response ? response : &unused);
  }

  grpc::Status Update(const std::string& name, const std::string& request_id,
                      const v1::BreachDetails& details, std::vector<std::string> paths,
                      v1::UpdateBreachResponse* response = nullptr,
                      const char* token = kProcessor) {
    v1::UpdateBreachRequest request;
    request.set_name(name);
    request.set_request_id(request_id);
    *request.mutable_details() = details;
    for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
    v1::UpdateBreachResponse unused;
    auto ctx = Ctx(token);
    return stub_->UpdateBreach(ctx.get(), request, response ? response : &unused);
  }

  grpc::Status Close(const std::string& name, const std::string& request_id,
                     v1::CloseBreachResponse* response = nullptr, const char* token = kProcessor) {
    v1::CloseBreachRequest request;
    request.set_name(name);
    request.set_request_id(request_id);
    request.set_close_note("Reviewed by the DPO.");
    v1::CloseBreachResponse unused;
    auto ctx = Ctx(token);
    return stub_->CloseBreach(ctx.get(), request, response ? response : &unused);
  }

  v1::Breach Get(const std::string& name, const char* token = kProcessor) {
    v1::GetBreachRequest request;
    request.set_name(name);
    v1::GetBreachResponse response;
    auto ctx = Ctx(token);
    grpc::Status s = stub_->GetBreach(ctx.get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.breach();
  }

  grpc::Status List(const v1::ListBreachesRequest& request, v1::ListBreachesResponse* response,
                    const char* token = kProcessor) {
    auto ctx = Ctx(token);
    return stub_->ListBreaches(ctx.get(), request, response);
  }

  // Open deadlines of the caller's tenant for breaches, by resource.
  std::vector<std::string> BreachDeadlines(const char* token, v1::DeadlineState state) {
    v1::ListDeadlinesRequest request;
    request.set_kind(deadline::kBreachControllerNotification);
    request.set_state(state);
    v1::ListDeadlinesResponse response;
    auto ctx = Ctx(token);
    grpc::Status s = deadlines_->ListDeadlines(ctx.get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const auto& d : response.deadlines()) out.push_back(d.resource());
    return out;
  }

  // Deadlines of `kind` of the caller's tenant: open, completed, cancelled.
  std::vector<v1::Deadline> DeadlinesOf(const char* token, const std::string& kind) {
    std::vector<v1::Deadline> out;
    for (v1::DeadlineState state :
         {v1::DEADLINE_STATE_OPEN, v1::DEADLINE_STATE_COMPLETED, v1::DEADLINE_STATE_CANCELLED}) {
      v1::ListDeadlinesRequest request;
      request.set_kind(kind);
      request.set_state(state);
      v1::ListDeadlinesResponse response;
      auto ctx = Ctx(token);
      grpc::Status s = deadlines_->ListDeadlines(ctx.get(), request, &response);
      EXPECT_TRUE(s.ok()) << s.error_message();
      out.insert(out.end(), response.deadlines().begin(), response.deadlines().end());
    }
    return out;
  }

  // The caller's SLA entry of `kind` over the 30 days up to a minute from now
  // (the window's end is exclusive).
  v1::KindSla Sla(const char* token, const std::string& kind) {
    v1::GetSlaReportRequest request;
    request.set_kind(kind);
    SetTimestamp(dsard_.clock().Now() + absl::Minutes(1), request.mutable_end_time());
    v1::GetSlaReportResponse response;
    auto ctx = Ctx(token);
    grpc::Status s = deadlines_->GetSlaReport(ctx.get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& k : response.kinds()) {
      if (k.kind() == kind) return k;
    }
    return v1::KindSla();
  }

  // Alerts fired for one deadline ("deadlines/dl_...").
  int64_t AlertsOf(const std::string& deadline_name) {
    return Count("SELECT count(*) FROM deadline_alerts WHERE deadline_id = '" +
                 deadline_name.substr(std::string("deadlines/").size()) + "'");
  }

  void AdvanceTo(absl::Time t) {
    dsard_.clock().SetTime(t);
    ASSERT_THAT(dsard_.daemon().deadline_module()->scheduler().RunDue(), IsOk());
  }

  int64_t Count(const std::string& sql) {
    // Every acknowledged write is committed; a fresh read connection sees it.
    SQLite::Database db(dsard_.DatabasePath(), SQLite::OPEN_READONLY);
    return db.execAndGet(sql).getInt64();
  }

  static std::vector<v1::Alert> ReadAlerts(grpc::ClientReader<v1::WatchAlertsResponse>& reader,
                                           int n) {
    std::vector<v1::Alert> out;
    v1::WatchAlertsResponse response;
    while (static_cast<int>(out.size()) < n && reader.Read(&response)) {
      out.push_back(response.alert());
    }
    return out;
  }

  // Watches the acme-travel DPO's alert stream while the clock passes the
  // T-24h and T-4h levels of a deadline due at `due` (and a minute after the
  // first, when nothing new may fire): exactly those two alerts arrive, of
  // `kind` for `resource`.
  void ExpectWarningsStreamed(absl::Time due, const std::string& kind,
                              const std::string& resource) {
    auto watch = Ctx(kAcmeDpo);
    watch->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = deadlines_->WatchAlerts(watch.get(), v1::WatchAlertsRequest());
    AdvanceTo(due - absl::Hours(24) + absl::Minutes(1));
    AdvanceTo(due - absl::Hours(24) + absl::Minutes(2));
    AdvanceTo(due - absl::Hours(4) + absl::Minutes(1));
    auto alerts = ReadAlerts(*reader, 2);
    ASSERT_EQ(alerts.size(), 2u);
    EXPECT_EQ(alerts[0].level_label(), "T-24h");
    EXPECT_EQ(alerts[1].level_label(), "T-4h");
    for (const auto& a : alerts) {
      EXPECT_EQ(a.kind(), kind);
      EXPECT_EQ(a.resource(), resource);
    }
    watch->TryCancel();
    reader->Finish();
  }

  TestDsard dsard_;
  std::unique_ptr<v1::BreachService::Stub> stub_;
  std::unique_ptr<v1::DeadlineService::Stub> deadlines_;
  absl::Time t0_;
};

TEST_F(BreachServiceTest, ReportAlertsNotifyAndClose) {
  const absl::Time aware = t0_ - absl::Hours(1);
  v1::Breach b = Report("report-1", aware, {kAcme});
  EXPECT_EQ(b.state(), v1::BREACH_STATE_OPEN);
  EXPECT_EQ(b.version(), 1);
  EXPECT_TRUE(b.processor_reported());
  ASSERT_EQ(b.affected_tenants_size(), 1);
  EXPECT_EQ(b.affected_tenants(0).notification_due_time().seconds(),
            absl::ToUnixSeconds(aware + absl::Hours(72)));
  EXPECT_THAT(b.affected_tenants(0).deadline(), HasSubstr("deadlines/"));
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_OPEN), ElementsAre(b.name()));

  // The controller's DPO watches its alerts: T-24h and T-4h of the 72 hours.
  ExpectWarningsStreamed(aware + absl::Hours(72), deadline::kBreachControllerNotification,
                         b.name());

  // The processor notifies the controller in time: the deadline is met.
  v1::RecordNotificationResponse notified;
  ASSERT_TRUE(
      Notify(b.name(), "notify-1", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme, "", &notified)
          .ok());
  EXPECT_FALSE(notified.notification().late());
  EXPECT_EQ(notified.notification().content_version(), 1);
  EXPECT_THAT(notified.notification().name(), HasSubstr(b.name() + "/notifications/"));
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_OPEN), ElementsAre());
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_COMPLETED), ElementsAre(b.name()));
  // No "due" alert once notified.
  AdvanceTo(aware + absl::Hours(80));
  EXPECT_EQ(Count("SELECT count(*) FROM deadline_alerts a JOIN deadlines d ON d.tenant_id = "
                  "a.tenant_id AND d.deadline_id = a.deadline_id WHERE d.resource = '" +
                  b.name() + "'"),
            2);

  // Phase 2: the full documentation; then the authority is told; then close.
  v1::BreachDetails details;
  FillCompleteDetails(&details, v1::RISK_ASSESSMENT_RISK,
                      v1::SUBJECT_NOTIFICATION_DECISION_NOT_REQUIRED);
  std::vector<std::string> all_fields;
  for (int i = 0; i < v1::BreachDetails::descriptor()->field_count(); ++i) {
    all_fields.push_back(v1::BreachDetails::descriptor()->field(i)->name());
  }
  ASSERT_TRUE(Update(b.name(), "update-1", details, all_fields).ok());
  grpc::Status early_close = Close(b.name(), "close-0");
  EXPECT_EQ(early_close.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(ViolationSubjects(early_close),
              ElementsAre(b.name() + "/tenants/acme-travel/supervisory_authority"));
  ASSERT_TRUE(Notify(b.name(), "notify-2", v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, kAcme,
                     "Waited for the controller's instruction.")
                  .ok());
  v1::CloseBreachResponse closed;
  ASSERT_TRUE(Close(b.name(), "close-1", &closed).ok());
  EXPECT_EQ(closed.breach().state(), v1::BREACH_STATE_CLOSED);
  EXPECT_EQ(closed.breach().closed_by(), "dpo-all");

  v1::Breach got = Get(b.name(), kAcmeAuditor);
  EXPECT_EQ(got.state(), v1::BREACH_STATE_CLOSED);
  EXPECT_EQ(got.versions_size(), 2);
  EXPECT_EQ(got.notifications_size(), 2);
  EXPECT_FALSE(got.notification_overdue());
  // Nothing changes after closing.
  EXPECT_EQ(Update(b.name(), "update-2", details, {"effect"}).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(
      Notify(b.name(), "notify-3", v1::NOTIFICATION_RECIPIENT_DATA_SUBJECTS, kAcme).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);

  // The controller's documentation, as JSON and Markdown.
  v1::ExportBreachReportRequest export_request;
  export_request.set_name(b.name());
  export_request.set_format(v1::BREACH_REPORT_FORMAT_JSON);
  v1::ExportBreachReportResponse exported;
  auto ctx = Ctx(kAcmeDpo);
  ASSERT_TRUE(stub_->ExportBreachReport(ctx.get(), export_request, &exported).ok());
  EXPECT_EQ(exported.media_type(), "application/json");
  auto report = nlohmann::json::parse(exported.content());
  EXPECT_EQ(report["breach"], b.name());
  EXPECT_EQ(report["controller"], kAcme);
  EXPECT_EQ(report["state"], "closed");
  EXPECT_EQ(report["details"]["corrective_actions"], details.corrective_actions());
  EXPECT_EQ(report["notifications"].size(), 2u);
  EXPECT_EQ(report["versions"].size(), 2u);
  export_request.set_format(v1::BREACH_REPORT_FORMAT_MARKDOWN);
  ctx = Ctx(kAcmeDpo);
  ASSERT_TRUE(stub_->ExportBreachReport(ctx.get(), export_request, &exported).ok());
  EXPECT_EQ(exported.media_type(), "text/markdown; charset=utf-8");
  EXPECT_THAT(exported.content(), HasSubstr("# Personal data breach: Misdirected booking export"));
  EXPECT_THAT(exported.content(), HasSubstr("### Corrective actions"));
  EXPECT_THAT(exported.content(), HasSubstr("supervisory_authority"));
  export_request.clear_format();
  ctx = Ctx(kAcmeDpo);
  EXPECT_EQ(stub_->ExportBreachReport(ctx.get(), export_request, &exported).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BreachServiceTest, LateFirstNotificationNeedsAReasonForTheDelay) {
  const absl::Time aware = t0_ - absl::Hours(80);
  v1::Breach b = Report("late-1", aware, {kAcme});
  EXPECT_TRUE(b.notification_overdue());
  v1::ListBreachesRequest overdue;
  overdue.set_notification_overdue_only(true);
  v1::ListBreachesResponse listed;
  ASSERT_TRUE(List(overdue, &listed).ok());
  EXPECT_THAT(Names(listed), ElementsAre(b.name()));

  // Without a reason: refused, nothing recorded, the deadline still open.
  grpc::Status refused = Notify(b.name(), "late-n1", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(ViolationTypes(refused), ElementsAre("DELAY_REASON"));
  EXPECT_EQ(Get(b.name()).notifications_size(), 0);
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_OPEN), ElementsAre(b.name()));

  // With a reason: accepted, marked late, the deadline completed (late).
  v1::RecordNotificationResponse accepted;
  ASSERT_TRUE(Notify(b.name(), "late-n2", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme,
                     "Forensics needed 80 hours to establish which tenant was affected.", &accepted)
                  .ok());
  EXPECT_TRUE(accepted.notification().late());
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_COMPLETED), ElementsAre(b.name()));
  // The controller's own 72 hours towards the authority started when it was
  // told (now): its notification is on time and needs no reason.
  v1::RecordNotificationResponse authority;
  ASSERT_TRUE(Notify(b.name(), "late-n4", v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, kAcme,
                     "", &authority)
                  .ok());
  EXPECT_FALSE(authority.notification().late());
  // A follow-up (phased information) needs no reason.
  v1::RecordNotificationResponse follow_up;
  ASSERT_TRUE(
      Notify(b.name(), "late-n5", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme, "", &follow_up)
          .ok());
  EXPECT_FALSE(follow_up.notification().late());
  listed.Clear();
  ASSERT_TRUE(List(overdue, &listed).ok());
  EXPECT_THAT(Names(listed), ElementsAre());
}

TEST_F(BreachServiceTest, NotificationMadeInTimeButRecordedLateIsOnTime) {
  const absl::Time aware = t0_ - absl::Hours(80);
  v1::Breach b = Report("intime-1", aware, {kAcme});
  v1::RecordNotificationRequest request;
  request.set_name(b.name());
  request.set_request_id("intime-n1");
  request.set_recipient(v1::NOTIFICATION_RECIPIENT_CONTROLLER);
  request.set_channel("phone");
  request.set_reference("call-log-0001");
  SetTimestamp(aware + absl::Hours(70), request.mutable_notify_time());
  v1::RecordNotificationResponse response;
  auto ctx = Ctx(kProcessor);
  ASSERT_TRUE(stub_->RecordNotification(ctx.get(), request, &response).ok());
  EXPECT_FALSE(response.notification().late());
  // The deadline counts as met when the notification was made.
  v1::ListDeadlinesRequest deadlines;
  deadlines.set_state(v1::DEADLINE_STATE_COMPLETED);
  v1::ListDeadlinesResponse listed;
  ctx = Ctx(kAcmeDpo);
  ASSERT_TRUE(deadlines_->ListDeadlines(ctx.get(), deadlines, &listed).ok());
  ASSERT_EQ(listed.deadlines_size(), 1);
  EXPECT_EQ(listed.deadlines(0).close_time().seconds(),
            absl::ToUnixSeconds(aware + absl::Hours(70)));
  // Before awareness is impossible.
  request.set_request_id("intime-n2");
  request.set_recipient(v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY);
  SetTimestamp(aware - absl::Hours(1), request.mutable_notify_time());
  ctx = Ctx(kProcessor);
  grpc::Status s = stub_->RecordNotification(ctx.get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(s), ElementsAre("notify_time"));
}

TEST_F(BreachServiceTest, EveryUpdateIsANewVersionKeptInOrder) {
  v1::Breach b = Report("versions-1", t0_, {kAcme});
  v1::BreachDetails d;
  d.set_approx_subject_count(10);
  v1::UpdateBreachResponse r;
  ASSERT_TRUE(Update(b.name(), "versions-u1", d, {"approx_subject_count"}, &r).ok());
  EXPECT_EQ(r.breach().version(), 2);
  d.set_approx_subject_count(250);
  d.set_effect("Wider than first thought.");
  ASSERT_TRUE(Update(b.name(), "versions-u2", d, {"approx_subject_count", "effect"}, &r).ok());
  EXPECT_EQ(r.breach().version(), 3);
  d.Clear();
  ASSERT_TRUE(Update(b.name(), "versions-u3", d, {"approx_subject_count"}, &r).ok());
  EXPECT_FALSE(r.breach().details().has_approx_subject_count());          // back to unknown
  EXPECT_EQ(r.breach().details().effect(), "Wider than first thought.");  // kept

  v1::Breach got = Get(b.name());
  ASSERT_EQ(got.versions_size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got.versions(i).version(), i + 1);
  EXPECT_FALSE(got.versions(0).details().has_approx_subject_count());
  EXPECT_THAT(got.versions(0).changed_fields(), ElementsAre("title", "nature", "risk_assessment"));
  EXPECT_EQ(got.versions(1).details().approx_subject_count(), 10);
  EXPECT_THAT(got.versions(1).changed_fields(), ElementsAre("approx_subject_count"));
  EXPECT_EQ(got.versions(2).details().approx_subject_count(), 250);
  EXPECT_THAT(got.versions(2).changed_fields(), ElementsAre("approx_subject_count", "effect"));
  EXPECT_FALSE(got.versions(3).details().has_approx_subject_count());
  EXPECT_EQ(got.versions(3).author(), "dpo-all");
  EXPECT_EQ(got.version(), 4);

  // Notifications name the version they communicated.
  v1::RecordNotificationRequest n;
  n.set_name(b.name());
  n.set_request_id("versions-n1");
  n.set_recipient(v1::NOTIFICATION_RECIPIENT_CONTROLLER);
  n.set_channel("email");
  n.set_reference("msg-0001");
  n.set_content_version(2);
  v1::RecordNotificationResponse nr;
  auto ctx = Ctx(kProcessor);
  ASSERT_TRUE(stub_->RecordNotification(ctx.get(), n, &nr).ok());
  EXPECT_EQ(nr.notification().content_version(), 2);
  n.set_request_id("versions-n2");
  n.set_content_version(5);
  ctx = Ctx(kProcessor);
  grpc::Status s = stub_->RecordNotification(ctx.get(), n, &nr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(s), ElementsAre("content_version"));
  // Title and nature stay required; unknown mask paths are refused.
  d.Clear();
  s = Update(b.name(), "versions-u4", d, {"title"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(s), ElementsAre("details.title"));
  s = Update(b.name(), "versions-u5", d, {"no_such_field"});
  EXPECT_THAT(BadFields(s), ElementsAre("update_mask.paths[0]"));
  EXPECT_EQ(Get(b.name()).versions_size(), 4);
}

TEST_F(BreachServiceTest, CloseListsEverythingMissing) {
  v1::Breach b =
      Report("close-1", t0_, {kAcme, kOther}, kProcessor, v1::RISK_ASSESSMENT_UNSPECIFIED);
  grpc::Status s = Close(b.name(), "close-c1");
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  const auto subjects = ViolationSubjects(s);
  for (const char* missing : {"/tenants/acme-travel/controller", "/tenants/other-tenant/controller",
                              "/tenants/acme-travel/supervisory_authority",
                              "/tenants/other-tenant/supervisory_authority"}) {
    EXPECT_THAT(subjects, Contains(b.name() + missing));
  }
  std::vector<std::string> missing_fields;
  for (const auto& v : PreconditionViolationsOf(FromGrpcStatus(s))) {
    if (v.type == "MISSING_FIELD") missing_fields.push_back(v.description);
  }
  EXPECT_EQ(missing_fields.size(), 13u);  // all but nature
  EXPECT_THAT(missing_fields, Contains(HasSubstr("details.corrective_actions")));
  EXPECT_THAT(missing_fields, Contains(HasSubstr("details.circumstances")));
  EXPECT_THAT(missing_fields, Contains(HasSubstr("details.effect")));
  EXPECT_THAT(missing_fields, Contains(HasSubstr("details.risk_assessment")));

  // High risk without informing the subjects is refused; notifying them is required.
  v1::BreachDetails d;
  FillCompleteDetails(&d, v1::RISK_ASSESSMENT_HIGH_RISK,
                      v1::SUBJECT_NOTIFICATION_DECISION_NOT_REQUIRED);
  std::vector<std::string> all_fields;
  for (int i = 0; i < v1::BreachDetails::descriptor()->field_count(); ++i) {
    all_fields.push_back(v1::BreachDetails::descriptor()->field(i)->name());
  }
  ASSERT_TRUE(Update(b.name(), "close-u1", d, all_fields).ok());
  for (const char* tenant : {kAcme, kOther}) {
    ASSERT_TRUE(Notify(b.name(), std::string("close-nc-") + tenant,
                       v1::NOTIFICATION_RECIPIENT_CONTROLLER, tenant)
                    .ok());
    ASSERT_TRUE(Notify(b.name(), std::string("close-na-") + tenant,
                       v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, tenant)
                    .ok());
  }
  s = Close(b.name(), "close-c2");
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(ViolationTypes(s), ElementsAre("SUBJECT_NOTIFICATION"));
  d.set_subject_notification_decision(v1::SUBJECT_NOTIFICATION_DECISION_NOTIFY);
  d.set_subject_notification_reason("High risk: customers are told to expect phishing.");
  ASSERT_TRUE(Update(b.name(), "close-u2", d,
                     {"subject_notification_decision", "subject_notification_reason"})
                  .ok());
  s = Close(b.name(), "close-c3");
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(ViolationSubjects(s),
              UnorderedElementsAre(b.name() + "/tenants/acme-travel/data_subjects",
                                   b.name() + "/tenants/other-tenant/data_subjects"));
  EXPECT_EQ(Get(b.name()).state(), v1::BREACH_STATE_OPEN);
  for (const char* tenant : {kAcme, kOther}) {
    ASSERT_TRUE(Notify(b.name(), std::string("close-ns-") + tenant,
                       v1::NOTIFICATION_RECIPIENT_DATA_SUBJECTS, tenant)
                    .ok());
  }
  EXPECT_TRUE(Close(b.name(), "close-c4").ok());
}

TEST_F(BreachServiceTest, ControllersSeeOnlyTheirOwnPartOfABreach) {
  v1::Breach both = Report("iso-1", t0_, {kAcme, kOther});
  v1::Breach other_only = Report("iso-2", t0_, {kOther});
  // Each affected controller has its own 72-hour deadline.
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_OPEN), ElementsAre(both.name()));
  EXPECT_THAT(BreachDeadlines(kOtherDpoToken, v1::DEADLINE_STATE_OPEN),
              UnorderedElementsAre(both.name(), other_only.name()));
  ASSERT_TRUE(Notify(both.name(), "iso-n1", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme).ok());
  ASSERT_TRUE(Notify(both.name(), "iso-n2", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kOther).ok());
  // Notifying A completed only A's deadline.
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_OPEN), ElementsAre());
  EXPECT_THAT(BreachDeadlines(kOtherDpoToken, v1::DEADLINE_STATE_OPEN),
              ElementsAre(other_only.name()));

  // A's principal: only breaches affecting A; within them only A's part.
  v1::ListBreachesResponse listed;
  ASSERT_TRUE(List(v1::ListBreachesRequest(), &listed, kAcmeDpo).ok());
  EXPECT_THAT(Names(listed), ElementsAre(both.name()));
  v1::Breach seen_by_a = Get(both.name(), kAcmeAuditor);
  EXPECT_THAT(Tenants(seen_by_a), ElementsAre(kAcme));
  ASSERT_EQ(seen_by_a.notifications_size(), 1);
  EXPECT_EQ(seen_by_a.notifications(0).tenant(), kAcme);
  v1::Breach seen_by_b = Get(both.name(), kOtherDpoToken);
  EXPECT_THAT(Tenants(seen_by_b), ElementsAre(kOther));
  ASSERT_EQ(seen_by_b.notifications_size(), 1);
  EXPECT_EQ(seen_by_b.notifications(0).tenant(), kOther);
  v1::GetBreachRequest get;
  get.set_name(other_only.name());
  v1::GetBreachResponse unused;
  auto ctx = Ctx(kAcmeDpo);
  EXPECT_EQ(stub_->GetBreach(ctx.get(), get, &unused).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ExportBreachReportRequest export_request;
  export_request.set_name(both.name());
  export_request.set_format(v1::BREACH_REPORT_FORMAT_MARKDOWN);
  v1::ExportBreachReportResponse exported;
  ctx = Ctx(kAcmeDpo);
  ASSERT_TRUE(stub_->ExportBreachReport(ctx.get(), export_request, &exported).ok());
  EXPECT_THAT(exported.content(), Not(HasSubstr(kOther)));
  EXPECT_THAT(exported.content(), Not(HasSubstr("case-iso-n2")));  // B's reference

  // A's principal may not act for B or change what the processor manages.
  v1::ListBreachesRequest for_b;
  for_b.set_tenant(kOther);
  EXPECT_EQ(List(for_b, &listed, kAcmeDpo).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Notify(both.name(), "iso-n3", v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, kOther,
                   "", nullptr, kAcmeDpo)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Notify(both.name(), "iso-n4", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme, "", nullptr,
                   kAcmeDpo)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::BreachDetails d;
  d.set_effect("changed by a controller");
  EXPECT_EQ(Update(both.name(), "iso-u1", d, {"effect"}, nullptr, kAcmeDpo).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Update(other_only.name(), "iso-u2", d, {"effect"}, nullptr, kAcmeDpo).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // ... but records its own notification of the authority.
  EXPECT_TRUE(Notify(both.name(), "iso-n5", v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, "",
                     "", nullptr, kAcmeDpo)
                  .ok());
  EXPECT_EQ(Get(both.name(), kOtherDpoToken).notifications_size(), 1);

  // The processor sees everything, whatever tenant its call names.
  listed.Clear();
  ASSERT_TRUE(List(v1::ListBreachesRequest(), &listed).ok());
  EXPECT_THAT(Names(listed), ElementsAre(other_only.name(), both.name()));
  listed.Clear();
  for_b.set_tenant(kOther);
  ASSERT_TRUE(List(for_b, &listed).ok());
  EXPECT_THAT(Names(listed), ElementsAre(other_only.name(), both.name()));
  v1::Breach seen_by_processor = Get(both.name());
  EXPECT_THAT(Tenants(seen_by_processor), ElementsAre(kAcme, kOther));
  EXPECT_EQ(seen_by_processor.notifications_size(), 3);
  // Each controller's audit log shows the changes to breaches affecting it.
  EXPECT_GE(Count("SELECT count(*) FROM audit_events WHERE tenant_id = 'other-tenant' AND "
                  "resource = '" +
                  both.name() + "'"),
            1);
  // An auditor reads but may not report.
  v1::ReportBreachRequest report;
  v1::ReportBreachResponse reported;
  ctx = Ctx(kAcmeAuditor);
  EXPECT_EQ(stub_->ReportBreach(ctx.get(), report, &reported).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(BreachServiceTest, AControllerDocumentsItsOwnBreach) {
  // A controller's DPO reports a breach of its own tenant; naming another is refused.
  v1::ReportBreachRequest request;
  request.set_request_id("own-1");
  SetTimestamp(t0_, request.mutable_aware_time());
  request.mutable_details()->set_title("Phishing of a staff mailbox");
  request.mutable_details()->set_nature("Credentials phished (synthetic).");
  request.add_affected_tenants(kOther);
  v1::ReportBreachResponse response;
  auto ctx = Ctx(kAcmeDpo);
  EXPECT_EQ(stub_->ReportBreach(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  request.clear_affected_tenants();
  ctx = Ctx(kAcmeDpo);
  ASSERT_TRUE(stub_->ReportBreach(ctx.get(), request, &response).ok());
  const v1::Breach& b = response.breach();
  EXPECT_FALSE(b.processor_reported());
  EXPECT_THAT(Tenants(b), ElementsAre(kAcme));
  EXPECT_EQ(b.affected_tenants(0).deadline(), "");
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_OPEN), ElementsAre());
  // There is no controller to notify; the authority and the documentation are needed.
  EXPECT_EQ(
      Notify(b.name(), "own-n1", v1::NOTIFICATION_RECIPIENT_CONTROLLER, "", "", nullptr, kAcmeDpo)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  v1::BreachDetails d;
  FillCompleteDetails(&d, v1::RISK_ASSESSMENT_RISK, v1::SUBJECT_NOTIFICATION_DECISION_NOT_REQUIRED);
  ASSERT_TRUE(
      Update(b.name(), "own-u1", d,
             {"subject_categories", "approx_subject_count", "record_categories",
              "approx_record_count", "contact_point", "likely_consequences", "measures_taken",
              "circumstances", "effect", "corrective_actions", "risk_assessment",
              "subject_notification_decision", "subject_notification_reason"},
             nullptr, kAcmeDpo)
          .ok());
  grpc::Status s = Close(b.name(), "own-c1", nullptr, kAcmeDpo);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(ViolationSubjects(s),
              ElementsAre(b.name() + "/tenants/acme-travel/supervisory_authority"));
  ASSERT_TRUE(Notify(b.name(), "own-n2", v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, "", "",
                     nullptr, kAcmeDpo)
                  .ok());
  EXPECT_TRUE(Close(b.name(), "own-c2", nullptr, kAcmeDpo).ok());
  // Invisible to the other tenant.
  v1::ListBreachesResponse listed;
  ASSERT_TRUE(List(v1::ListBreachesRequest(), &listed, kOtherDpoToken).ok());
  EXPECT_EQ(listed.breaches_size(), 0);
}

TEST_F(BreachServiceTest, RetriesReturnTheFirstResult) {
  v1::Breach first = Report("retry-1", t0_, {kAcme});
  v1::Breach again = Report("retry-1", t0_, {kAcme});
  EXPECT_EQ(again.name(), first.name());
  EXPECT_EQ(Count("SELECT count(*) FROM breaches"), 1);
  // The same id for different content is refused.
  v1::ReportBreachRequest different;
  different.set_request_id("retry-1");
  SetTimestamp(t0_, different.mutable_aware_time());
  different.mutable_details()->set_title("Another breach");
  different.mutable_details()->set_nature("Different.");
  different.add_affected_tenants(kAcme);
  v1::ReportBreachResponse unused;
  auto ctx = Ctx(kProcessor);
  grpc::Status s = stub_->ReportBreach(ctx.get(), different, &unused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(s), ElementsAre("request_id"));

  v1::BreachDetails d;
  d.set_effect("First effect.");
  v1::UpdateBreachResponse u1, u2;
  ASSERT_TRUE(Update(first.name(), "retry-u1", d, {"effect"}, &u1).ok());
  ASSERT_TRUE(Update(first.name(), "retry-u1", d, {"effect"}, &u2).ok());
  EXPECT_EQ(u1.breach().version(), 2);
  EXPECT_EQ(u2.breach().version(), 2);
  EXPECT_EQ(Get(first.name()).versions_size(), 2);
  // A retried report still answers with version 1.
  EXPECT_EQ(Report("retry-1", t0_, {kAcme}).version(), 1);

  v1::RecordNotificationResponse n1, n2;
  ASSERT_TRUE(
      Notify(first.name(), "retry-n1", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme, "", &n1).ok());
  dsard_.clock().Advance(absl::Hours(1));
  ASSERT_TRUE(
      Notify(first.name(), "retry-n1", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme, "", &n2).ok());
  EXPECT_EQ(n1.notification().name(), n2.notification().name());
  EXPECT_EQ(n2.notification().notify_time().seconds(), absl::ToUnixSeconds(t0_));
  EXPECT_EQ(Get(first.name()).notifications_size(), 1);

  d.Clear();
  FillCompleteDetails(&d, v1::RISK_ASSESSMENT_NO_RISK,
                      v1::SUBJECT_NOTIFICATION_DECISION_NOT_REQUIRED);
  std::vector<std::string> all_fields;
  for (int i = 0; i < v1::BreachDetails::descriptor()->field_count(); ++i) {
    all_fields.push_back(v1::BreachDetails::descriptor()->field(i)->name());
  }
  ASSERT_TRUE(Update(first.name(), "retry-u2", d, all_fields).ok());
  v1::CloseBreachResponse c1, c2;
  ASSERT_TRUE(Close(first.name(), "retry-c1", &c1).ok());  // no authority needed: no risk
  ASSERT_TRUE(Close(first.name(), "retry-c1", &c2).ok());
  EXPECT_EQ(c2.breach().close_time().seconds(), c1.breach().close_time().seconds());
  EXPECT_EQ(Close(first.name(), "retry-c2").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // Survives a restart.
  ASSERT_THAT(dsard_.Restart(), IsOk());
  stub_ = v1::BreachService::NewStub(dsard_.channel());
  EXPECT_EQ(Report("retry-1", t0_, {kAcme}).name(), first.name());
  EXPECT_EQ(Count("SELECT count(*) FROM breaches"), 1);
}

TEST_F(BreachServiceTest, BadInputIsRefusedAndChangesNothing) {
  auto report = [&](const std::function<void(v1::ReportBreachRequest&)>& mutate) {
    v1::ReportBreachRequest r;
    r.set_request_id("bad-1");
    SetTimestamp(t0_, r.mutable_aware_time());
    r.mutable_details()->set_title("Valid title");
    r.mutable_details()->set_nature("Valid nature.");
    r.add_affected_tenants(kAcme);
    mutate(r);
    v1::ReportBreachResponse unused;
    auto ctx = Ctx(kProcessor);
    grpc::Status s = stub_->ReportBreach(ctx.get(), r, &unused);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    return BadFields(s);
  };
  EXPECT_THAT(report([](auto& r) { r.clear_request_id(); }), ElementsAre("request_id"));
  EXPECT_THAT(report([](auto& r) { r.clear_aware_time(); }), ElementsAre("aware_time"));
  EXPECT_THAT(report([&](auto& r) { SetTimestamp(t0_ + absl::Hours(2), r.mutable_aware_time()); }),
              ElementsAre("aware_time"));
  EXPECT_THAT(report([&](auto& r) {
                SetTimestamp(t0_ + absl::Minutes(1), r.mutable_details()->mutable_occur_time());
              }),
              ElementsAre("details.occur_time"));
  EXPECT_THAT(report([](auto& r) { r.mutable_details()->set_approx_subject_count(-1); }),
              ElementsAre("details.approx_subject_count"));
  EXPECT_THAT(report([](auto& r) { r.mutable_details()->set_approx_record_count(-5); }),
              ElementsAre("details.approx_record_count"));
  EXPECT_THAT(report([](auto& r) {
                r.mutable_details()->set_risk_assessment(static_cast<v1::RiskAssessment>(9));
              }),
              ElementsAre("details.risk_assessment"));
  EXPECT_THAT(report([](auto& r) {
                r.mutable_details()->set_subject_notification_decision(
                    static_cast<v1::SubjectNotificationDecision>(-2));
              }),
              ElementsAre("details.subject_notification_decision"));
  EXPECT_THAT(
      report([](auto& r) { r.mutable_details()->add_types(static_cast<v1::BreachType>(7)); }),
      ElementsAre("details.types[0]"));
  EXPECT_THAT(report([](auto& r) { r.mutable_details()->set_title(std::string(201, 'x')); }),
              ElementsAre("details.title"));
  EXPECT_THAT(report([](auto& r) { r.mutable_details()->set_title("two\nlines"); }),
              ElementsAre("details.title"));
  EXPECT_THAT(report([](auto& r) { r.mutable_details()->set_nature(std::string(8001, 'x')); }),
              ElementsAre("details.nature"));
  EXPECT_THAT(report([](auto& r) { r.mutable_details()->clear_nature(); }),
              ElementsAre("details.nature"));
  EXPECT_THAT(report([](auto& r) {
                for (int i = 0; i < 51; ++i)
                  r.mutable_details()->add_subject_categories("category-" + std::to_string(i));
              }),
              ElementsAre("details.subject_categories"));
  EXPECT_THAT(report([](auto& r) { r.clear_affected_tenants(); }), ElementsAre("affected_tenants"));
  EXPECT_THAT(report([](auto& r) { r.add_affected_tenants("no-such-tenant"); }),
              ElementsAre("affected_tenants[1]"));
  EXPECT_THAT(report([](auto& r) { r.add_affected_tenants(kAcme); }),
              ElementsAre("affected_tenants[1]"));
  EXPECT_THAT(report([](auto& r) {
                r.clear_request_id();
                r.mutable_details()->set_approx_subject_count(-1);
                r.clear_affected_tenants();
              }),
              ElementsAre("request_id", "details.approx_subject_count", "affected_tenants"));
  EXPECT_EQ(Count("SELECT count(*) FROM breaches"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM deadlines"), 0);

  // Notifications: unknown recipient, missing channel and reference, bad name.
  v1::Breach b = Report("bad-ok", t0_, {kAcme});
  v1::RecordNotificationRequest n;
  n.set_name(b.name());
  n.set_request_id("bad-n1");
  n.set_recipient(static_cast<v1::NotificationRecipient>(4));
  n.set_content_version(-1);
  v1::RecordNotificationResponse nr;
  auto ctx = Ctx(kProcessor);
  grpc::Status s = stub_->RecordNotification(ctx.get(), n, &nr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(s), ElementsAre("recipient", "channel", "reference", "content_version"));
  n.set_name("requests/x");
  n.set_recipient(v1::NOTIFICATION_RECIPIENT_CONTROLLER);
  n.set_channel("email");
  n.set_reference("ref");
  n.set_content_version(0);
  ctx = Ctx(kProcessor);
  s = stub_->RecordNotification(ctx.get(), n, &nr);
  EXPECT_THAT(BadFields(s), ElementsAre("name"));
  n.set_name(b.name());
  n.set_tenant(kOther);  // configured, but not affected
  ctx = Ctx(kProcessor);
  s = stub_->RecordNotification(ctx.get(), n, &nr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(s), ElementsAre("tenant"));
  n.set_name("breaches/br_doesnotexist");
  n.clear_tenant();
  ctx = Ctx(kProcessor);
  EXPECT_EQ(stub_->RecordNotification(ctx.get(), n, &nr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Count("SELECT count(*) FROM breach_notifications"), 0);

  // List: bad page size and page tokens.
  v1::ListBreachesRequest list;
  v1::ListBreachesResponse listed;
  list.set_page_size(501);
  EXPECT_EQ(List(list, &listed).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  list.set_page_size(0);
  list.set_page_token("garbage");
  EXPECT_EQ(List(list, &listed).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BreachServiceTest, ListPagesNewestFirstAndFiltersByState) {
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    names.push_back(Report("page-" + std::to_string(i), t0_, {kAcme}).name());
  }
  // Close the second one (no risk, all documented, controller notified).
  v1::BreachDetails d;
  FillCompleteDetails(&d, v1::RISK_ASSESSMENT_NO_RISK,
                      v1::SUBJECT_NOTIFICATION_DECISION_NOT_REQUIRED);
  std::vector<std::string> all_fields;
  for (int i = 0; i < v1::BreachDetails::descriptor()->field_count(); ++i) {
    all_fields.push_back(v1::BreachDetails::descriptor()->field(i)->name());
  }
  ASSERT_TRUE(Update(names[1], "page-u", d, all_fields).ok());
  ASSERT_TRUE(Notify(names[1], "page-n", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme).ok());
  ASSERT_TRUE(Close(names[1], "page-c").ok());

  v1::ListBreachesRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    v1::ListBreachesResponse response;
    ASSERT_TRUE(List(request, &response, kAcmeAuditor).ok());
    for (const auto& b : response.breaches()) {
      seen.push_back(b.name());
      EXPECT_EQ(b.versions_size(), 0);  // summaries only
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(seen, ElementsAre(names[4], names[3], names[2], names[1], names[0]));
  // A token belongs to its query.
  request.set_state(v1::BREACH_STATE_CLOSED);
  v1::ListBreachesResponse response;
  EXPECT_EQ(List(request, &response, kAcmeAuditor).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.clear_page_token();
  ASSERT_TRUE(List(request, &response, kAcmeAuditor).ok());
  EXPECT_THAT(Names(response), ElementsAre(names[1]));
  request.set_state(v1::BREACH_STATE_OPEN);
  response.Clear();
  ASSERT_TRUE(List(request, &response, kAcmeAuditor).ok());
  EXPECT_EQ(response.breaches_size(), 2);
}

TEST_F(BreachServiceTest, MarkdownReportEscapesCallerText) {
  v1::ReportBreachRequest request;
  request.set_request_id("md-1");
  SetTimestamp(t0_, request.mutable_aware_time());
  request.mutable_details()->set_title("<script>alert(1)</script> | # heading");
  request.mutable_details()->set_nature("line one\n# not a heading\n[link](http://x.invalid)");
  request.add_affected_tenants(kAcme);
  v1::ReportBreachResponse reported;
  auto ctx = Ctx(kProcessor);
  ASSERT_TRUE(stub_->ReportBreach(ctx.get(), request, &reported).ok());
  v1::ExportBreachReportRequest export_request;
  export_request.set_name(reported.breach().name());
  export_request.set_format(v1::BREACH_REPORT_FORMAT_MARKDOWN);
  v1::ExportBreachReportResponse exported;
  ctx = Ctx(kProcessor);
  ASSERT_TRUE(stub_->ExportBreachReport(ctx.get(), export_request, &exported).ok());
  EXPECT_THAT(exported.content(), Not(HasSubstr("<script>")));
  EXPECT_THAT(exported.content(), HasSubstr("&lt;script&gt;"));
  EXPECT_THAT(exported.content(), HasSubstr("\\# not a heading"));
  EXPECT_THAT(exported.content(), HasSubstr("\\[link\\]"));
  // Open items list what is still missing.
  EXPECT_THAT(exported.content(), HasSubstr("## Open items"));
  EXPECT_THAT(exported.content(), HasSubstr("details.corrective\\_actions"));
  EXPECT_EQ(exported.file_name(), "breach-" + reported.breach().name().substr(9) + ".md");
}

// Update masks and changed_fields use the proto's field names: the domain's
// list must follow dsar.v1.BreachDetails exactly.
TEST(BreachDetailFieldsTest, MatchTheProtoFieldNamesInOrder) {
  std::vector<std::string> proto_fields;
  for (int i = 0; i < v1::BreachDetails::descriptor()->field_count(); ++i) {
    proto_fields.push_back(v1::BreachDetails::descriptor()->field(i)->name());
  }
  EXPECT_EQ(breach::DetailFieldNames(), proto_fields);
}

// ---- The controller's Art. 33(1) clock and the Art. 34 clock (issue 19) ----

TEST_F(BreachServiceTest, ControllerReportedBreachRunsTheAuthorityClock) {
  const absl::Time aware = t0_ - absl::Hours(1);
  v1::Breach b = Report("own-clock-1", aware, {kAcme}, kAcmeDpo);
  ASSERT_EQ(b.affected_tenants_size(), 1);
  const v1::BreachClock& clock = b.affected_tenants(0).authority_clock();
  EXPECT_EQ(clock.state(), v1::BREACH_CLOCK_STATE_OPEN);
  EXPECT_EQ(clock.start_time().seconds(), absl::ToUnixSeconds(aware));
  EXPECT_EQ(clock.due_time().seconds(), absl::ToUnixSeconds(aware + absl::Hours(72)));
  EXPECT_EQ(b.affected_tenants(0).subject_clock().state(), v1::BREACH_CLOCK_STATE_NOT_STARTED);
  auto listed = DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name(), clock.deadline());
  EXPECT_EQ(listed[0].resource(), b.name());
  EXPECT_EQ(listed[0].due_time().seconds(), absl::ToUnixSeconds(aware + absl::Hours(72)));

  // Alerts at the configured levels, each once, on the controller's stream.
  ExpectWarningsStreamed(aware + absl::Hours(72), deadline::kBreachAuthorityNotification, b.name());
  EXPECT_EQ(AlertsOf(clock.deadline()), 2);

  // The authority is notified in time: the clock is met, nothing more fires.
  v1::RecordNotificationResponse notified;
  ASSERT_TRUE(Notify(b.name(), "own-clock-n1", v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, "",
                     "", &notified, kAcmeDpo)
                  .ok());
  EXPECT_FALSE(notified.notification().late());
  listed = DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state(), v1::DEADLINE_STATE_COMPLETED);
  EXPECT_EQ(Get(b.name(), kAcmeDpo).affected_tenants(0).authority_clock().state(),
            v1::BREACH_CLOCK_STATE_MET);
  AdvanceTo(aware + absl::Hours(100));
  EXPECT_EQ(AlertsOf(clock.deadline()), 2);
  v1::KindSla sla = Sla(kAcmeDpo, deadline::kBreachAuthorityNotification);
  EXPECT_EQ(sla.completed_count(), 1);
  EXPECT_EQ(sla.completed_on_time_count(), 1);
}

TEST_F(BreachServiceTest, LateAuthorityNotificationNeedsAReasonAndCountsLate) {
  const absl::Time aware = t0_ - absl::Hours(80);
  v1::Breach b = Report("own-late-1", aware, {kAcme}, kAcmeDpo);
  EXPECT_TRUE(b.notification_overdue());
  EXPECT_TRUE(b.affected_tenants(0).notification_overdue());
  // Scheduled 80 hours late: the current level ("due") fires at once, once.
  AdvanceTo(t0_);
  const std::string deadline = b.affected_tenants(0).authority_clock().deadline();
  EXPECT_EQ(AlertsOf(deadline), 1);
  EXPECT_EQ(Sla(kAcmeDpo, deadline::kBreachAuthorityNotification).overdue_count(), 1);

  grpc::Status refused =
      Notify(b.name(), "own-late-n1", v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, "", "",
             nullptr, kAcmeDpo);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(ViolationTypes(refused), ElementsAre("DELAY_REASON"));
  EXPECT_EQ(Get(b.name(), kAcmeDpo).notifications_size(), 0);

  v1::RecordNotificationResponse accepted;
  ASSERT_TRUE(Notify(b.name(), "own-late-n2", v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY, "",
                     "The affected systems were identified only after 78 hours.", &accepted,
                     kAcmeDpo)
                  .ok());
  EXPECT_TRUE(accepted.notification().late());
  v1::KindSla sla = Sla(kAcmeDpo, deadline::kBreachAuthorityNotification);
  EXPECT_EQ(sla.completed_count(), 1);
  EXPECT_EQ(sla.completed_on_time_count(), 0);
  EXPECT_EQ(sla.on_time_rate(), 0);
  EXPECT_EQ(sla.overdue_count(), 0);
  EXPECT_FALSE(Get(b.name(), kAcmeDpo).notification_overdue());
}

TEST_F(BreachServiceTest, NoRiskClosesTheAuthorityClockWithItsReason) {
  v1::Breach b = Report("norisk-1", t0_ - absl::Hours(2), {kAcme}, kAcmeDpo);
  const std::string first = b.affected_tenants(0).authority_clock().deadline();
  ASSERT_FALSE(first.empty());
  v1::BreachDetails d;
  d.set_risk_assessment(v1::RISK_ASSESSMENT_NO_RISK);
  // The exemption needs its reason; without one nothing changes.
  grpc::Status refused = Update(b.name(), "norisk-u1", d, {"risk_assessment"}, nullptr, kAcmeDpo);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(refused), ElementsAre("details.risk_rationale"));
  EXPECT_EQ(DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification)[0].state(),
            v1::DEADLINE_STATE_OPEN);

  d.set_risk_rationale("Encrypted backup tape, key not exposed (synthetic).");
  v1::UpdateBreachResponse updated;
  ASSERT_TRUE(
      Update(b.name(), "norisk-u2", d, {"risk_assessment", "risk_rationale"}, &updated, kAcmeDpo)
          .ok());
  const v1::BreachClock exempt = updated.breach().affected_tenants(0).authority_clock();
  EXPECT_EQ(exempt.state(), v1::BREACH_CLOCK_STATE_EXEMPT);
  EXPECT_EQ(exempt.exempt_time().seconds(), absl::ToUnixSeconds(t0_));
  auto listed = DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state(), v1::DEADLINE_STATE_COMPLETED);
  EXPECT_FALSE(updated.breach().notification_overdue());

  // The reason is in the Art. 33(5) documentation.
  v1::ExportBreachReportRequest export_request;
  export_request.set_name(b.name());
  export_request.set_format(v1::BREACH_REPORT_FORMAT_JSON);
  v1::ExportBreachReportResponse exported;
  auto ctx = Ctx(kAcmeDpo);
  ASSERT_TRUE(stub_->ExportBreachReport(ctx.get(), export_request, &exported).ok());
  auto report = nlohmann::json::parse(exported.content());
  EXPECT_EQ(report["affected_tenants"][0]["authority_clock"]["state"], "exempt");
  EXPECT_EQ(report["details"]["risk_rationale"], d.risk_rationale());

  // Assessed as a risk after all: the clock runs again from awareness.
  d.set_risk_assessment(v1::RISK_ASSESSMENT_RISK);
  ASSERT_TRUE(Update(b.name(), "norisk-u3", d, {"risk_assessment"}, &updated, kAcmeDpo).ok());
  const v1::BreachClock& reopened = updated.breach().affected_tenants(0).authority_clock();
  EXPECT_EQ(reopened.state(), v1::BREACH_CLOCK_STATE_OPEN);
  EXPECT_NE(reopened.deadline(), first);
  EXPECT_EQ(reopened.due_time().seconds(), exempt.due_time().seconds());
  listed = DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification);
  ASSERT_EQ(listed.size(), 2u);
}

// The acme-travel tenant gives itself 48 hours to inform data subjects.
class BreachClockConfigTest : public BreachServiceTest {
 protected:
  void SetUp() override {
    dsard_.set_acme_tenant_extra("breach_subject_communication_hours: 48\n");
    BreachServiceTest::SetUp();
  }
};

TEST_F(BreachClockConfigTest, ProcessorReportedHighRiskBreachRunsEveryClockInOrder) {
  const absl::Time aware = t0_ - absl::Hours(2);
  v1::Breach b = Report("chain-1", aware, {kAcme}, kProcessor, v1::RISK_ASSESSMENT_HIGH_RISK);
  ASSERT_EQ(b.affected_tenants_size(), 1);
  // First the processor's clock towards the controller; the controller's own
  // clock towards the authority waits until it is told.
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_OPEN), ElementsAre(b.name()));
  EXPECT_EQ(b.affected_tenants(0).authority_clock().state(), v1::BREACH_CLOCK_STATE_NOT_STARTED);
  EXPECT_THAT(DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification), ::testing::IsEmpty());
  // High risk: the data subjects' clock, 48 hours from the assessment.
  const v1::BreachClock& subjects = b.affected_tenants(0).subject_clock();
  EXPECT_EQ(subjects.state(), v1::BREACH_CLOCK_STATE_OPEN);
  EXPECT_EQ(subjects.start_time().seconds(), absl::ToUnixSeconds(t0_));
  EXPECT_EQ(subjects.due_time().seconds(), absl::ToUnixSeconds(t0_ + absl::Hours(48)));
  ASSERT_EQ(DeadlinesOf(kAcmeDpo, deadline::kBreachSubjectCommunication).size(), 1u);

  // The processor tells the controller an hour later: that clock is met and
  // the authority clock starts then.
  AdvanceTo(t0_ + absl::Hours(1));
  ASSERT_TRUE(Notify(b.name(), "chain-n1", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme).ok());
  EXPECT_THAT(BreachDeadlines(kAcmeDpo, v1::DEADLINE_STATE_COMPLETED), ElementsAre(b.name()));
  v1::Breach after = Get(b.name(), kAcmeDpo);
  const v1::BreachClock& authority = after.affected_tenants(0).authority_clock();
  EXPECT_EQ(authority.state(), v1::BREACH_CLOCK_STATE_OPEN);
  EXPECT_EQ(authority.start_time().seconds(), absl::ToUnixSeconds(t0_ + absl::Hours(1)));
  EXPECT_EQ(authority.due_time().seconds(), absl::ToUnixSeconds(t0_ + absl::Hours(73)));
  auto authority_deadlines = DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification);
  ASSERT_EQ(authority_deadlines.size(), 1u);
  EXPECT_EQ(authority_deadlines[0].state(), v1::DEADLINE_STATE_OPEN);
  // A retry of the controller notification starts nothing twice.
  ASSERT_TRUE(Notify(b.name(), "chain-n1", v1::NOTIFICATION_RECIPIENT_CONTROLLER, kAcme).ok());
  EXPECT_EQ(DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification).size(), 1u);

  // An Art. 34(3)(a) exemption with its reason closes the data subjects' clock.
  v1::BreachDetails d;
  d.set_subject_notification_decision(v1::SUBJECT_NOTIFICATION_DECISION_EXEMPT_PROTECTED);
  EXPECT_EQ(Update(b.name(), "chain-u0", d, {"subject_notification_decision"}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  d.set_subject_notification_reason("The exported file was encrypted; the key was not exposed.");
  v1::UpdateBreachResponse updated;
  ASSERT_TRUE(Update(b.name(), "chain-u1", d,
                     {"subject_notification_decision", "subject_notification_reason"}, &updated)
                  .ok());
  EXPECT_EQ(updated.breach().affected_tenants(0).subject_clock().state(),
            v1::BREACH_CLOCK_STATE_EXEMPT);
  auto subject_deadlines = DeadlinesOf(kAcmeDpo, deadline::kBreachSubjectCommunication);
  ASSERT_EQ(subject_deadlines.size(), 1u);
  EXPECT_EQ(subject_deadlines[0].state(), v1::DEADLINE_STATE_COMPLETED);
  EXPECT_EQ(Sla(kAcmeDpo, deadline::kBreachSubjectCommunication).completed_on_time_count(), 1);
}

TEST_F(BreachServiceTest, DataSubjectNotificationMeetsTheSubjectClock) {
  v1::Breach b = Report("subj-1", t0_, {kAcme}, kAcmeDpo, v1::RISK_ASSESSMENT_RISK);
  EXPECT_EQ(b.affected_tenants(0).subject_clock().state(), v1::BREACH_CLOCK_STATE_NOT_STARTED);
  EXPECT_THAT(DeadlinesOf(kAcmeDpo, deadline::kBreachSubjectCommunication), ::testing::IsEmpty());
  // Raised to high an hour later: 72 hours (the default) from then.
  AdvanceTo(t0_ + absl::Hours(1));
  v1::BreachDetails d;
  d.set_risk_assessment(v1::RISK_ASSESSMENT_HIGH_RISK);
  v1::UpdateBreachResponse updated;
  ASSERT_TRUE(Update(b.name(), "subj-u1", d, {"risk_assessment"}, &updated, kAcmeDpo).ok());
  EXPECT_EQ(updated.breach().affected_tenants(0).subject_clock().due_time().seconds(),
            absl::ToUnixSeconds(t0_ + absl::Hours(73)));
  // Lowered again: no longer required (cancelled); raised again: a new clock.
  d.set_risk_assessment(v1::RISK_ASSESSMENT_RISK);
  ASSERT_TRUE(Update(b.name(), "subj-u2", d, {"risk_assessment"}, &updated, kAcmeDpo).ok());
  EXPECT_EQ(updated.breach().affected_tenants(0).subject_clock().state(),
            v1::BREACH_CLOCK_STATE_NOT_REQUIRED);
  AdvanceTo(t0_ + absl::Hours(2));
  d.set_risk_assessment(v1::RISK_ASSESSMENT_HIGH_RISK);
  ASSERT_TRUE(Update(b.name(), "subj-u3", d, {"risk_assessment"}, &updated, kAcmeDpo).ok());
  EXPECT_EQ(updated.breach().affected_tenants(0).subject_clock().due_time().seconds(),
            absl::ToUnixSeconds(t0_ + absl::Hours(74)));
  auto listed = DeadlinesOf(kAcmeDpo, deadline::kBreachSubjectCommunication);
  ASSERT_EQ(listed.size(), 2u);
  std::multiset<int> states;
  for (const auto& dl : listed) states.insert(dl.state());
  EXPECT_THAT(states, UnorderedElementsAre(v1::DEADLINE_STATE_CANCELLED, v1::DEADLINE_STATE_OPEN));

  ASSERT_TRUE(Notify(b.name(), "subj-n1", v1::NOTIFICATION_RECIPIENT_DATA_SUBJECTS, "", "", nullptr,
                     kAcmeDpo)
                  .ok());
  v1::Breach got = Get(b.name(), kAcmeDpo);
  EXPECT_EQ(got.affected_tenants(0).subject_clock().state(), v1::BREACH_CLOCK_STATE_MET);
  v1::KindSla sla = Sla(kAcmeDpo, deadline::kBreachSubjectCommunication);
  EXPECT_EQ(sla.completed_count(), 1);
  EXPECT_EQ(sla.cancelled_count(), 1);
  EXPECT_EQ(sla.open_count(), 0);
}

class StrictAuthorityClockTest : public BreachServiceTest {
 protected:
  void SetUp() override {
    dsard_.set_acme_tenant_extra("breach_authority_clock_from_processor_awareness: true\n");
    BreachServiceTest::SetUp();
  }
};

TEST_F(StrictAuthorityClockTest, AuthorityClockStartsAtTheProcessorsAwareness) {
  const absl::Time aware = t0_ - absl::Hours(5);
  v1::Breach b = Report("strict-1", aware, {kAcme, kOther});
  ASSERT_EQ(b.affected_tenants_size(), 2);
  for (const auto& t : b.affected_tenants()) {
    if (t.tenant() == kAcme) {
      EXPECT_EQ(t.authority_clock().state(), v1::BREACH_CLOCK_STATE_OPEN);
      EXPECT_EQ(t.authority_clock().due_time().seconds(),
                absl::ToUnixSeconds(aware + absl::Hours(72)));
    } else {  // other-tenant keeps the default reading
      EXPECT_EQ(t.authority_clock().state(), v1::BREACH_CLOCK_STATE_NOT_STARTED);
    }
  }
  EXPECT_EQ(DeadlinesOf(kAcmeDpo, deadline::kBreachAuthorityNotification).size(), 1u);
}

}  // namespace
}  // namespace dsar
