// Shared fixture for breach register tests: a real Store on a temporary
// SQLite file (dsard's migrations), a FakeClock, the deadline engine and a
// BreachRegister, with blocking wrappers around its callback API and helpers
// that read the deadlines its clocks wrote. Synthetic data only.
#ifndef DSAR_TESTS_UNIT_BREACH_BREACH_FIXTURE_H_
#define DSAR_TESTS_UNIT_BREACH_BREACH_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/breach/breach.h"
#include "lib/breach/breach_register.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"
#include "lib/store/store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar::breach::testing {

inline constexpr char kTenantA[] = "tenant-a";
inline constexpr char kTenantB[] = "tenant-b";
inline constexpr char kTenantC[] = "tenant-c";

// Details that satisfy every close precondition except the notifications.
inline BreachDetails CompleteDetails(RiskAssessment risk = RiskAssessment::kRisk,
                                     SubjectDecision decision = SubjectDecision::kNotRequired) {
  BreachDetails d;
  d.title = "Misconfigured storage bucket";
  d.nature = "A storage bucket was readable without authentication.";
  d.types = {BreachType::kConfidentiality};
  d.subject_categories = {"customers"};
  d.approx_subject_count = 120;
  d.record_categories = {"contact details"};
  d.approx_record_count = 240;
  d.affected_systems = {"storage-eu-1"};
  d.contact_point = "Data protection office, dpo@example.test";
  d.likely_consequences = "Unsolicited messages.";
  d.measures_taken = "Access was revoked.";
  d.circumstances = "A deployment changed the bucket policy.";
  d.effect = "Objects were listed by one unknown client.";
  d.corrective_actions = "Policy checks in the deployment pipeline.";
  d.risk = risk;
  d.risk_rationale = "Synthetic rationale.";
  d.subject_decision = decision;
  d.subject_decision_reason = "Synthetic reason.";
  return d;
}

// Title and nature only: what every version needs.
inline BreachDetails MinimalDetails() {
  BreachDetails d;
  d.title = "Lost laptop";
  d.nature = "An encrypted laptop was lost.";
  return d;
}

class BreachRegisterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions options;
    options.path = dir_.File("dsar.db");
    auto s = store::Store::Open(options);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto d = deadline::Deadlines::Create(deadline::DeadlineOptions{});
    ASSERT_TRUE(d.ok()) << d.status();
    deadlines_ = std::move(*d);
    MakeRegister();
  }

  void TearDown() override {
    register_.reset();
    if (store_) store_->Close();
  }

  // (Re)builds the register with `clocks_`.
  void MakeRegister() {
    register_ = std::make_unique<BreachRegister>(
        store_.get(), &clock_, deadlines_.get(),
        std::vector<std::string>{kTenantA, kTenantB, kTenantC}, clocks_);
  }

  // The processor: a principal of all tenants.
  CallContext Processor() {
    CallContext ctx;
    ctx.principal = "processor-dpo";
    ctx.role = Role::kDpo;
    ctx.tenant = kTenantA;
    ctx.all_tenants = true;
    ctx.idempotency_key = IdempotencyKey(absl::StrCat("req-", ++request_seq_));
    ctx.method = "/dsar.v1.BreachService/Test";
    return ctx;
  }

  // A controller's DPO: a principal of one tenant.
  CallContext Controller(const std::string& tenant = kTenantA) {
    CallContext ctx = Processor();
    ctx.principal = absl::StrCat(tenant, "-dpo");
    ctx.tenant = tenant;
    ctx.all_tenants = false;
    return ctx;
  }

  absl::StatusOr<Breach> Report(const CallContext& ctx, ReportInput in) {
    std::promise<absl::StatusOr<Breach>> p;
    register_->Report(ctx, std::move(in),
                      [&p](absl::StatusOr<Breach> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  // A processor-reported breach of `tenants`, aware now.
  absl::StatusOr<Breach> ReportAsProcessor(BreachDetails details,
                                           std::vector<std::string> tenants = {kTenantA}) {
    ReportInput in;
    in.aware_at = clock_.Now();
    in.details = std::move(details);
    in.affected_tenants = std::move(tenants);
    return Report(Processor(), std::move(in));
  }

  // A breach tenant A's controller reports itself, aware now.
  absl::StatusOr<Breach> ReportAsController(BreachDetails details) {
    ReportInput in;
    in.aware_at = clock_.Now();
    in.details = std::move(details);
    return Report(Controller(), std::move(in));
  }

  absl::StatusOr<Breach> Update(const CallContext& ctx, UpdateInput in) {
    std::promise<absl::StatusOr<Breach>> p;
    register_->Update(ctx, std::move(in),
                      [&p](absl::StatusOr<Breach> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  // Sets the named fields of `name` from `details`.
  absl::StatusOr<Breach> UpdateFields(const CallContext& ctx, const std::string& name,
                                      BreachDetails details, std::vector<std::string> mask,
                                      std::string note = "") {
    UpdateInput in;
    in.name = name;
    in.details = std::move(details);
    in.update_mask = std::move(mask);
    in.change_note = std::move(note);
    return Update(ctx, std::move(in));
  }

  absl::StatusOr<Breach> SetRisk(const CallContext& ctx, const std::string& name,
                                 RiskAssessment risk,
                                 SubjectDecision decision = SubjectDecision::kUnspecified) {
    BreachDetails d;
    d.risk = risk;
    d.risk_rationale = "Synthetic rationale.";
    d.subject_decision = decision;
    d.subject_decision_reason = decision == SubjectDecision::kUnspecified ? "" : "Synthetic.";
    return UpdateFields(ctx, name, d,
                        {"risk_assessment", "risk_rationale", "subject_notification_decision",
                         "subject_notification_reason"});
  }

  absl::StatusOr<Notification> Notify(const CallContext& ctx, NotificationInput in) {
    std::promise<absl::StatusOr<Notification>> p;
    register_->RecordNotification(
        ctx, std::move(in), [&p](absl::StatusOr<Notification> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  absl::StatusOr<Notification> Notify(const CallContext& ctx, const std::string& name,
                                      const std::string& tenant, Recipient recipient,
                                      std::optional<absl::Time> at = std::nullopt,
                                      std::string delay_reason = "") {
    NotificationInput in;
    in.name = name;
    in.tenant = tenant;
    in.recipient = recipient;
    in.notified_at = at;
    in.channel = "email";
    in.reference = absl::StrCat("case-", ++request_seq_);
    in.delay_reason = std::move(delay_reason);
    return Notify(ctx, std::move(in));
  }

  absl::StatusOr<Breach> Close(const CallContext& ctx, const std::string& name,
                               std::string note = "") {
    std::promise<absl::StatusOr<Breach>> p;
    register_->Close(ctx, CloseInput{name, std::move(note)},
                     [&p](absl::StatusOr<Breach> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  absl::StatusOr<Breach> Get(const CallContext& ctx, const std::string& name) {
    std::promise<absl::StatusOr<Breach>> p;
    register_->Get(ctx, name, [&p](absl::StatusOr<Breach> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  absl::StatusOr<RenderedReport> Export(const CallContext& ctx, ExportInput in) {
    std::promise<absl::StatusOr<RenderedReport>> p;
    register_->Export(ctx, std::move(in),
                      [&p](absl::StatusOr<RenderedReport> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  // The one affected tenant `tenant` of a processor's full view of `name`.
  AffectedTenant TenantOf(const std::string& name, const std::string& tenant = kTenantA) {
    auto b = Get(Processor(), name);
    EXPECT_TRUE(b.ok()) << b.status();
    if (b.ok()) {
      for (const auto& t : b->affected_tenants) {
        if (t.tenant == tenant) return t;
      }
    }
    ADD_FAILURE() << "tenant " << tenant << " not affected by " << name;
    return {};
  }

  // The open or latest deadline of `kind` for `name` and `tenant`.
  absl::StatusOr<deadline::Deadline> FindDeadline(const std::string& kind, const std::string& name,
                                                  const std::string& tenant = kTenantA) {
    absl::StatusOr<deadline::Deadline> out = absl::UnknownError("not run");
    absl::Status s = store_->Read([&](store::ReadTxn& txn) {
      out = deadlines_->Find(txn, deadline::DeadlineKey{tenant, kind, name});
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  BreachClockOptions clocks_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<deadline::Deadlines> deadlines_;
  std::unique_ptr<BreachRegister> register_;
  int request_seq_ = 0;
};

}  // namespace dsar::breach::testing

#endif  // DSAR_TESTS_UNIT_BREACH_BREACH_FIXTURE_H_
