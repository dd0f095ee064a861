#include "lib/breach/breach_register.h"

#include <algorithm>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/audit/audit_log.h"
#include "lib/breach/breach_clocks.h"
#include "lib/breach/breach_report.h"
#include "lib/breach/breach_rows.h"
#include "lib/breach/breach_validation.h"
#include "lib/core/errors.h"
#include "lib/core/ids.h"
#include "lib/core/log.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"
#include "lib/store/idempotency.h"
#include "lib/store/page_token.h"

namespace dsar::breach {
namespace {

using internal::Scope;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

Scope ScopeOf(const CallContext& ctx) { return Scope{ctx.tenant, ctx.all_tenants}; }
const Scope& AllTenants() {
  static const Scope* const scope = new Scope{"", true};
  return *scope;
}

absl::Status Denied(absl::string_view message) {
  return WithErrorInfo(absl::PermissionDeniedError(message), "TENANT_NOT_ALLOWED");
}

std::string OptMicros(const std::optional<absl::Time>& t) {
  return t.has_value() ? absl::StrCat(absl::ToUnixMicros(*t)) : "";
}

// What an idempotent mutation stores as its response: the breach and the
// version it produced.
std::string VersionRef(absl::string_view breach_id, int version) {
  return absl::StrCat(breach_id, ":", version);
}

absl::StatusOr<Breach> LoadRef(store::WriteTxn& txn, absl::string_view ref, const Scope& scope,
                               absl::Time now) {
  std::vector<std::string> parts = absl::StrSplit(ref, ':');
  int version = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &version)) {
    return absl::InternalError("stored breach response is malformed");
  }
  return internal::LoadView(txn, parts[0], scope, {version, /*full=*/false}, now);
}

absl::Status CheckOpen(const Breach& b) {
  if (b.state == BreachState::kOpen) return absl::OkStatus();
  return FailedPreconditionWithViolations(
      absl::StrCat(b.name(), " is closed"),
      {{"STATE", b.name(), "the breach is closed and can no longer change"}});
}

// Changing a breach the processor reported needs a principal of all tenants.
absl::Status CheckManages(const CallContext& ctx, const Breach& b) {
  if (!b.processor_reported || ctx.all_tenants) return absl::OkStatus();
  return Denied(
      "the processor manages this breach: only a principal of all tenants may "
      "change it");
}

std::vector<std::string> TenantIds(const std::vector<AffectedTenant>& tenants) {
  std::vector<std::string> out;
  for (const auto& t : tenants) out.push_back(t.tenant);
  return out;
}

// One audit event per tenant concerned and one for the caller's tenant, so
// each controller's audit log shows changes to breaches affecting it.
absl::Status AuditMutation(store::WriteTxn& txn, const CallContext& ctx,
                           const std::string& resource, std::vector<std::string> tenants,
                           absl::Time now) {
  tenants.push_back(ctx.tenant);
  std::sort(tenants.begin(), tenants.end());
  tenants.erase(std::unique(tenants.begin(), tenants.end()), tenants.end());
  CallContext per_tenant = ctx;
  for (const auto& tenant : tenants) {
    per_tenant.tenant = tenant;
    RETURN_IF_ERROR(audit::Append(txn, per_tenant, resource, "OK", now));
  }
  return absl::OkStatus();
}

void AddRequestIdErrors(const CallContext& ctx, FieldErrors& errors) {
  if (absl::Status id = store::ValidateIdempotencyKey(ctx.idempotency_key); !id.ok()) {
    for (auto& v : FieldViolationsOf(id)) errors.Add(v.field, v.description);
  }
}

std::string BreachIdOrError(absl::string_view name, const char* field, FieldErrors& errors) {
  std::string id = BreachIdFromName(name);
  if (id.empty()) errors.Add(field, "required: a breach name \"breaches/{breach_id}\"");
  return id;
}

std::string FilterTag(const internal::ListFilter& f, bool all_tenants) {
  return store::PageFilterTag({absl::StrCat(static_cast<int>(f.state)), f.tenant,
                               f.overdue_only ? "1" : "0", all_tenants ? "all" : "one"});
}

std::string FormatHours(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Minutes(d) / 60, "h", absl::ToInt64Minutes(d) % 60, "m");
}

}  // namespace

BreachRegister::BreachRegister(store::Store* store, Clock* clock,
                               const deadline::Deadlines* deadlines,
                               std::vector<std::string> tenants, BreachClockOptions clocks)
    : store_(store),
      clock_(clock),
      deadlines_(deadlines),
      tenants_(tenants.begin(), tenants.end()),
      clocks_(std::move(clocks)) {}

absl::StatusOr<std::string> BreachRegister::CallTenant(const CallContext& ctx,
                                                       const std::string& requested) const {
  if (requested.empty()) return ctx.tenant;
  if (!ctx.all_tenants && requested != ctx.tenant) {
    return Denied("principal may not act for another tenant");
  }
  return requested;
}

void BreachRegister::CheckTenants(const CallContext& ctx, const std::vector<std::string>& tenants,
                                  const char* field, FieldErrors& errors) const {
  if (static_cast<int>(tenants.size()) > kMaxAffectedTenants) {
    errors.Add(field, absl::StrCat("at most ", kMaxAffectedTenants, " tenants"));
    return;
  }
  for (size_t i = 0; i < tenants.size(); ++i) {
    const std::string entry = absl::StrCat(field, "[", i, "]");
    const bool known = tenants_.contains(tenants[i]) || tenants[i] == ctx.tenant;
    if (!known || tenants[i].size() > kMaxTenantIdLength) {
      errors.Add(entry, "not a configured tenant");
    }
    for (size_t j = 0; j < i; ++j) {
      if (tenants[j] == tenants[i]) {
        errors.Add(entry, "duplicate tenant");
        break;
      }
    }
  }
}

template <typename T>
void BreachRegister::AuditRead(const CallContext& ctx, std::string resource, T result,
                               absl::AnyInvocable<void(absl::StatusOr<T>)> done) {
  auto value = std::make_shared<T>(std::move(result));
  const absl::Time now = clock_->Now();
  store_->Write([ctx, resource = std::move(resource), now](
                    store::WriteTxn& txn) { return audit::Append(txn, ctx, resource, "OK", now); },
                [value, done = std::move(done)](absl::Status status) mutable {
                  if (!status.ok()) {
                    done(status);
                  } else {
                    done(std::move(*value));
                  }
                });
}

void BreachRegister::Report(const CallContext& ctx, ReportInput input, BreachDone done) {
  const absl::Time now = clock_->Now();
  if (!ctx.all_tenants) {
    if (input.affected_tenants.empty()) input.affected_tenants.push_back(ctx.tenant);
    for (const auto& t : input.affected_tenants) {
      if (t != ctx.tenant) {
        done(Denied("a tenant's principal may report breaches of its own tenant only"));
        return;
      }
    }
  }
  FieldErrors errors;
  AddRequestIdErrors(ctx, errors);
  if (!input.aware_at.has_value()) {
    errors.Add("aware_time", "required: when the organisation became aware of the breach");
  } else if (*input.aware_at > now + kClockSkew || *input.aware_at < absl::UnixEpoch()) {
    errors.Add("aware_time", "must lie between 1970 and now");
  }
  CheckDetailFields(input.details, DetailFieldNames(), "details.", now, errors);
  CheckDetailInvariants(input.details, input.aware_at.value_or(absl::InfiniteFuture()), "details.",
                        errors);
  if (input.affected_tenants.empty()) {
    errors.Add("affected_tenants", "required: at least one affected tenant");
  }
  CheckTenants(ctx, input.affected_tenants, "affected_tenants", errors);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid breach report"));
    return;
  }
  struct Op {
    CallContext ctx;
    ReportInput in;
    absl::Time now;
    Breach result;
  };
  auto op = std::make_shared<Op>(Op{ctx, std::move(input), now, {}});
  const deadline::Deadlines* deadlines = deadlines_;
  const BreachClockOptions* clocks = &clocks_;
  store_->Write(
      [op, deadlines, clocks](store::WriteTxn& txn) -> absl::Status {
        const ReportInput& in = op->in;
        const std::string fingerprint =
            store::FingerprintOf({internal::DetailsToJson(in.details), OptMicros(in.aware_at),
                                  absl::StrJoin(in.affected_tenants, ",")});
        ASSIGN_OR_RETURN(
            std::string ref,
            store::RunIdempotent(
                txn, op->ctx.tenant, op->ctx.idempotency_key, op->ctx.method, fingerprint, op->now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  Breach b;
                  b.breach_id = NewId("br");
                  b.owner_tenant = op->ctx.tenant;
                  b.state = BreachState::kOpen;
                  b.aware_at = *in.aware_at;
                  b.reported_at = op->now;
                  b.reported_by = op->ctx.principal;
                  b.processor_reported = op->ctx.all_tenants;
                  b.version = b.current_version = 1;
                  b.details = in.details;
                  b.version_recorded_at = op->now;
                  b.current_risk = in.details.risk;
                  const int64_t seq = internal::InsertBreach(t, b);
                  internal::InsertVersion(t, b,
                                          BreachVersion{1, in.details, SetDetailFields(in.details),
                                                        "", op->ctx.principal, op->now});
                  for (const std::string& tenant : in.affected_tenants) {
                    AffectedTenant at;
                    at.tenant = tenant;
                    at.aware_at = b.aware_at;
                    if (b.processor_reported) {
                      ASSIGN_OR_RETURN(
                          deadline::Deadline d,
                          deadlines->Schedule(t,
                                              deadline::ScheduleRequest{
                                                  tenant, deadline::kBreachControllerNotification,
                                                  b.name(), b.aware_at},
                                              op->now));
                      at.deadline_id = d.deadline_id;
                      at.due_at = d.due_at;
                    } else {
                      ASSIGN_OR_RETURN(
                          at.due_at,
                          deadlines->DueFor(deadline::kBreachControllerNotification, b.aware_at));
                    }
                    internal::InsertAffected(t, b, seq, at, op->now);
                    RETURN_IF_ERROR(
                        SyncTenantClocks(t, *deadlines, clocks->For(tenant), b, at, op->now));
                  }
                  RETURN_IF_ERROR(
                      AuditMutation(t, op->ctx, b.name(), in.affected_tenants, op->now));
                  return VersionRef(b.breach_id, 1);
                }));
        ASSIGN_OR_RETURN(op->result, LoadRef(txn, ref, ScopeOf(op->ctx), op->now));
        return absl::OkStatus();
      },
      [op, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          done(status);
          return;
        }
        log::Info("breach_reported",
                  {{"breach", op->result.breach_id},
                   {"tenants", static_cast<int64_t>(op->in.affected_tenants.size())},
                   {"processor_reported", op->result.processor_reported}});
        done(std::move(op->result));
      });
}

void BreachRegister::Update(const CallContext& ctx, UpdateInput input, BreachDone done) {
  const absl::Time now = clock_->Now();
  if (!ctx.all_tenants && !input.add_affected_tenants.empty()) {
    done(Denied("only a principal of all tenants may add affected tenants"));
    return;
  }
  FieldErrors errors;
  AddRequestIdErrors(ctx, errors);
  const std::string breach_id = BreachIdOrError(input.name, "name", errors);
  std::vector<std::string> fields;  // the mask, deduplicated, in declaration order
  for (size_t i = 0; i < input.update_mask.size(); ++i) {
    if (!IsDetailField(input.update_mask[i])) {
      errors.Add(absl::StrCat("update_mask.paths[", i, "]"),
                 "not a field of BreachDetails (e.g. \"effect\", \"approx_subject_count\")");
    }
  }
  for (const auto& name : DetailFieldNames()) {
    if (std::find(input.update_mask.begin(), input.update_mask.end(), name) !=
        input.update_mask.end()) {
      fields.push_back(name);
    }
  }
  if (input.update_mask.empty() && input.add_affected_tenants.empty()) {
    errors.Add("update_mask", "required: the fields to change (or add_affected_tenants)");
  }
  CheckDetailFields(input.details, fields, "details.", now, errors);
  CheckTenants(ctx, input.add_affected_tenants, "add_affected_tenants", errors);
  CheckText("change_note", input.change_note, kMaxChangeNoteLength, errors);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid breach update"));
    return;
  }
  struct Op {
    CallContext ctx;
    UpdateInput in;
    std::string breach_id;
    std::vector<std::string> fields;
    absl::Time now;
    Breach result;
  };
  auto op = std::make_shared<Op>(Op{ctx, std::move(input), breach_id, std::move(fields), now, {}});
  const deadline::Deadlines* deadlines = deadlines_;
  const BreachClockOptions* clocks = &clocks_;
  store_->Write(
      [op, deadlines, clocks](store::WriteTxn& txn) -> absl::Status {
        const UpdateInput& in = op->in;
        const std::string fingerprint = store::FingerprintOf(
            {op->breach_id, internal::DetailsToJson(in.details), absl::StrJoin(op->fields, ","),
             absl::StrJoin(in.add_affected_tenants, ","), in.change_note});
        ASSIGN_OR_RETURN(
            std::string ref,
            store::RunIdempotent(
                txn, op->ctx.tenant, op->ctx.idempotency_key, op->ctx.method, fingerprint, op->now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  ASSIGN_OR_RETURN(Breach b, internal::LoadView(t, op->breach_id, ScopeOf(op->ctx),
                                                                {}, op->now));
                  RETURN_IF_ERROR(CheckManages(op->ctx, b));
                  RETURN_IF_ERROR(CheckOpen(b));
                  if (b.current_version >= kMaxVersions) {
                    return FailedPreconditionWithViolations(
                        "too many versions",
                        {{"VERSION_LIMIT", b.name(),
                          absl::StrCat("a breach keeps at most ", kMaxVersions, " versions")}});
                  }
                  std::vector<std::string> tenants =
                      TenantIds(internal::LoadAffected(t, b, AllTenants(), op->now));
                  FieldErrors errors;
                  BreachDetails merged = b.details;
                  for (const auto& f : op->fields) CopyDetailField(f, in.details, &merged);
                  CheckDetailInvariants(merged, b.aware_at, "details.", errors);
                  if (!in.add_affected_tenants.empty() && !b.processor_reported) {
                    errors.Add("add_affected_tenants",
                               "a breach a controller reported concerns only that controller");
                  }
                  for (size_t i = 0; i < in.add_affected_tenants.size(); ++i) {
                    if (std::find(tenants.begin(), tenants.end(), in.add_affected_tenants[i]) !=
                        tenants.end()) {
                      errors.Add(absl::StrCat("add_affected_tenants[", i, "]"), "already affected");
                    }
                  }
                  if (static_cast<int>(tenants.size() + in.add_affected_tenants.size()) >
                      kMaxAffectedTenants) {
                    errors.Add(
                        "add_affected_tenants",
                        absl::StrCat("a breach affects at most ", kMaxAffectedTenants, " tenants"));
                  }
                  RETURN_IF_ERROR(errors.ToStatus("invalid breach update"));

                  b.details = merged;
                  b.version = b.current_version = b.current_version + 1;
                  b.current_risk = merged.risk;
                  b.version_recorded_at = op->now;
                  internal::InsertVersion(
                      t, b,
                      BreachVersion{b.version, merged, op->fields, in.change_note,
                                    op->ctx.principal, op->now});
                  internal::UpdateBreachRow(t, b);
                  if (!in.add_affected_tenants.empty()) {
                    const int64_t seq = internal::BreachSeq(t, b.breach_id);
                    for (const std::string& tenant : in.add_affected_tenants) {
                      // This tenant's clock starts when it was found to be affected.
                      ASSIGN_OR_RETURN(
                          deadline::Deadline d,
                          deadlines->Schedule(t,
                                              deadline::ScheduleRequest{
                                                  tenant, deadline::kBreachControllerNotification,
                                                  b.name(), op->now},
                                              op->now));
                      AffectedTenant at;
                      at.tenant = tenant;
                      at.aware_at = op->now;
                      at.due_at = d.due_at;
                      at.deadline_id = d.deadline_id;
                      internal::InsertAffected(t, b, seq, at, op->now);
                      tenants.push_back(tenant);
                    }
                  }
                  // The risk or the Art. 34 decision may have started, closed or
                  // re-opened a clock; an added tenant gets its clocks.
                  for (AffectedTenant& at : internal::LoadAffected(t, b, AllTenants(), op->now)) {
                    RETURN_IF_ERROR(
                        SyncTenantClocks(t, *deadlines, clocks->For(at.tenant), b, at, op->now));
                  }
                  RETURN_IF_ERROR(AuditMutation(t, op->ctx, b.name(), tenants, op->now));
                  return VersionRef(b.breach_id, b.version);
                }));
        ASSIGN_OR_RETURN(op->result, LoadRef(txn, ref, ScopeOf(op->ctx), op->now));
        return absl::OkStatus();
      },
      [op, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          done(status);
          return;
        }
        log::Info("breach_updated", {{"breach", op->result.breach_id},
                                     {"version", op->result.version},
                                     {"fields", static_cast<int64_t>(op->fields.size())}});
        done(std::move(op->result));
      });
}

void BreachRegister::RecordNotification(const CallContext& ctx, NotificationInput input,
                                        NotificationDone done) {
  const absl::Time now = clock_->Now();
  auto tenant = CallTenant(ctx, input.tenant);
  if (!tenant.ok()) {
    done(tenant.status());
    return;
  }
  FieldErrors errors;
  AddRequestIdErrors(ctx, errors);
  const std::string breach_id = BreachIdOrError(input.name, "name", errors);
  if (ctx.all_tenants && !input.tenant.empty() && !tenants_.contains(input.tenant)) {
    errors.Add("tenant", "not a configured tenant");
  }
  const int recipient = static_cast<int>(input.recipient);
  if (recipient < 1 || recipient > 3) {
    errors.Add("recipient", "required: one of the NOTIFICATION_RECIPIENT_ values");
  }
  if (input.notified_at.has_value() &&
      (*input.notified_at > now + kClockSkew || *input.notified_at < absl::UnixEpoch())) {
    errors.Add("notify_time", "must lie between 1970 and now");
  }
  if (input.channel.empty()) {
    errors.Add("channel", "required, e.g. \"email\" or \"authority-portal\"");
  } else {
    CheckLabel("channel", input.channel, kMaxChannelLength, errors);
  }
  if (input.reference.empty()) {
    errors.Add("reference", "required: a ticket, case or message id");
  } else {
    CheckLabel("reference", input.reference, kMaxReferenceLength, errors);
  }
  if (input.content_version < 0) errors.Add("content_version", "must not be negative");
  CheckText("delay_reason", input.delay_reason, kMaxDelayReasonLength, errors);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid notification"));
    return;
  }
  struct Op {
    CallContext ctx;
    NotificationInput in;
    std::string breach_id;
    std::string tenant;
    absl::Time now;
    Notification result;
  };
  auto op = std::make_shared<Op>(Op{ctx, std::move(input), breach_id, std::move(*tenant), now, {}});
  const deadline::Deadlines* deadlines = deadlines_;
  const BreachClockOptions* clocks = &clocks_;
  store_->Write(
      [op, deadlines, clocks](store::WriteTxn& txn) -> absl::Status {
        const NotificationInput& in = op->in;
        const std::string fingerprint = store::FingerprintOf(
            {op->breach_id, op->tenant, absl::StrCat(static_cast<int>(in.recipient)),
             OptMicros(in.notified_at), in.channel, in.reference, absl::StrCat(in.content_version),
             in.delay_reason});
        const Scope scope = ScopeOf(op->ctx);
        ASSIGN_OR_RETURN(
            std::string notification_id,
            store::RunIdempotent(
                txn, op->ctx.tenant, op->ctx.idempotency_key, op->ctx.method, fingerprint, op->now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  ASSIGN_OR_RETURN(Breach b,
                                   internal::LoadView(t, op->breach_id, scope, {}, op->now));
                  RETURN_IF_ERROR(CheckOpen(b));
                  if (in.recipient == Recipient::kController) {
                    if (!b.processor_reported) {
                      return InvalidField("recipient",
                                          "the controller reported this breach itself; there "
                                          "is no controller to notify");
                    }
                    if (!op->ctx.all_tenants) {
                      return Denied("the processor records its notifications of controllers");
                    }
                  }
                  const auto affected = internal::LoadAffected(t, b, AllTenants(), op->now);
                  auto it =
                      std::find_if(affected.begin(), affected.end(),
                                   [&](const AffectedTenant& a) { return a.tenant == op->tenant; });
                  if (it == affected.end()) {
                    return InvalidField("tenant", "not affected by this breach");
                  }
                  AffectedTenant at = *it;
                  const absl::Time notified_at = in.notified_at.value_or(op->now);
                  FieldErrors errors;
                  if (notified_at < at.aware_at) {
                    errors.Add("notify_time", "must not be before the tenant's aware_time");
                  }
                  const int content_version =
                      in.content_version == 0 ? b.current_version : in.content_version;
                  if (content_version > b.current_version) {
                    errors.Add("content_version",
                               absl::StrCat("the breach has versions 1 to ", b.current_version));
                  }
                  RETURN_IF_ERROR(errors.ToStatus("invalid notification"));
                  if (internal::CountNotifications(t, b.breach_id) >= kMaxNotifications) {
                    return FailedPreconditionWithViolations(
                        "too many notifications",
                        {{"NOTIFICATION_LIMIT", b.name(),
                          absl::StrCat("a breach keeps at most ", kMaxNotifications,
                                       " notifications")}});
                  }
                  const bool first = !at.NotifiedAt(in.recipient).has_value();
                  // The clock this recipient's first notification answers, if running.
                  std::optional<absl::Time> start, due;
                  if (in.recipient == Recipient::kController) {
                    start = at.aware_at;
                    due = at.due_at;
                  } else if (in.recipient == Recipient::kSupervisoryAuthority &&
                             AuthorityClockState(at) == ClockState::kOpen) {
                    start = at.authority.start_at;
                    due = at.authority.due_at;
                  } else if (in.recipient == Recipient::kDataSubjects &&
                             SubjectClockState(at, b.current_risk) == ClockState::kOpen) {
                    start = at.subjects.start_at;
                    due = at.subjects.due_at;
                  }
                  const bool late = first && due.has_value() && notified_at > *due;
                  // Art. 33(1) asks the reasons for a late notification; Art. 34
                  // has no such rule (the notification is still marked late).
                  if (late && in.recipient != Recipient::kDataSubjects && in.delay_reason.empty()) {
                    return FailedPreconditionWithViolations(
                        "a notification made after 72 hours must give the reasons for the delay",
                        {{"DELAY_REASON",
                          absl::StrCat(b.name(), "/tenants/", at.tenant, "/",
                                       RecipientName(in.recipient)),
                          absl::StrCat("first notification of the ", RecipientName(in.recipient),
                                       " made ",
                                       FormatHours(notified_at - start.value_or(at.aware_at)),
                                       " after its clock started (due after ",
                                       FormatHours(*due - start.value_or(at.aware_at)),
                                       "): set delay_reason (Art. 33(1))")}});
                  }
                  Notification n;
                  n.notification_id = NewId("bn");
                  n.breach_id = b.breach_id;
                  n.tenant = at.tenant;
                  n.recipient = in.recipient;
                  n.notified_at = notified_at;
                  n.channel = in.channel;
                  n.reference = in.reference;
                  n.content_version = content_version;
                  n.delay_reason = in.delay_reason;
                  n.late = late;
                  n.recorded_by = op->ctx.principal;
                  n.recorded_at = op->now;
                  internal::InsertNotification(t, n);
                  internal::SetFirstNotified(t, at.tenant, b.breach_id, in.recipient, notified_at);
                  if (first) {
                    RETURN_IF_ERROR(CompleteTenantClock(t, *deadlines, b, at, in.recipient,
                                                        std::min(notified_at, op->now)));
                  }
                  if (in.recipient == Recipient::kController && first) {
                    // The controller is aware now: its clock towards the authority starts.
                    at.controller_notified_at = notified_at;
                    RETURN_IF_ERROR(
                        SyncTenantClocks(t, *deadlines, clocks->For(at.tenant), b, at, op->now));
                  }
                  RETURN_IF_ERROR(AuditMutation(t, op->ctx, n.name(), {at.tenant}, op->now));
                  return n.notification_id;
                }));
        auto n = internal::LoadNotification(txn, op->breach_id, notification_id, scope);
        if (!n.has_value()) {
          return absl::NotFoundError(absl::StrCat("notification ", notification_id, " not found"));
        }
        op->result = std::move(*n);
        return absl::OkStatus();
      },
      [op, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          done(status);
          return;
        }
        log::Info("breach_notification_recorded",
                  {{"breach", op->result.breach_id},
                   {"notification", op->result.notification_id},
                   {"recipient", RecipientName(op->result.recipient)},
                   {"late", op->result.late}});
        done(std::move(op->result));
      });
}

void BreachRegister::Close(const CallContext& ctx, CloseInput input, BreachDone done) {
  const absl::Time now = clock_->Now();
  FieldErrors errors;
  AddRequestIdErrors(ctx, errors);
  const std::string breach_id = BreachIdOrError(input.name, "name", errors);
  CheckText("close_note", input.close_note, kMaxCloseNoteLength, errors);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid close request"));
    return;
  }
  struct Op {
    CallContext ctx;
    CloseInput in;
    std::string breach_id;
    absl::Time now;
    Breach result;
  };
  auto op = std::make_shared<Op>(Op{ctx, std::move(input), breach_id, now, {}});
  store_->Write(
      [op](store::WriteTxn& txn) -> absl::Status {
        const std::string fingerprint = store::FingerprintOf({op->breach_id, op->in.close_note});
        ASSIGN_OR_RETURN(
            std::string ref,
            store::RunIdempotent(
                txn, op->ctx.tenant, op->ctx.idempotency_key, op->ctx.method, fingerprint, op->now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  ASSIGN_OR_RETURN(Breach b, internal::LoadView(t, op->breach_id, ScopeOf(op->ctx),
                                                                {}, op->now));
                  RETURN_IF_ERROR(CheckManages(op->ctx, b));
                  RETURN_IF_ERROR(CheckOpen(b));
                  b.affected_tenants = internal::LoadAffected(t, b, AllTenants(), op->now);
                  std::vector<PreconditionViolation> missing = CloseViolations(b);
                  if (!missing.empty()) {
                    return FailedPreconditionWithViolations(
                        absl::StrCat(b.name(), " cannot be closed yet: ", missing.size(),
                                     " item(s) missing"),
                        missing);
                  }
                  b.state = BreachState::kClosed;
                  b.closed_at = op->now;
                  b.closed_by = op->ctx.principal;
                  b.close_note = op->in.close_note;
                  internal::UpdateBreachRow(t, b);
                  RETURN_IF_ERROR(
                      AuditMutation(t, op->ctx, b.name(), TenantIds(b.affected_tenants), op->now));
                  return VersionRef(b.breach_id, b.current_version);
                }));
        ASSIGN_OR_RETURN(op->result, LoadRef(txn, ref, ScopeOf(op->ctx), op->now));
        return absl::OkStatus();
      },
      [op, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          done(status);
          return;
        }
        log::Info("breach_closed",
                  {{"breach", op->result.breach_id}, {"version", op->result.version}});
        done(std::move(op->result));
      });
}

absl::StatusOr<Breach> BreachRegister::ReadFullView(const CallContext& ctx,
                                                    const std::string& breach_id,
                                                    absl::Time now) const {
  absl::StatusOr<Breach> view;
  absl::Status read = store_->Read([&](store::ReadTxn& txn) {
    view = internal::LoadView(txn, breach_id, ScopeOf(ctx), {0, /*full=*/true}, now);
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  return view;
}

void BreachRegister::Get(const CallContext& ctx, std::string name, BreachDone done) {
  FieldErrors errors;
  const std::string breach_id = BreachIdOrError(name, "name", errors);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid request"));
    return;
  }
  const absl::Time now = clock_->Now();
  absl::StatusOr<Breach> view = ReadFullView(ctx, breach_id, now);
  if (!view.ok()) {
    done(view.status());
    return;
  }
  std::string resource = view->name();
  AuditRead<Breach>(ctx, std::move(resource), std::move(*view), std::move(done));
}

void BreachRegister::List(const CallContext& ctx, ListInput input, PageDone done) {
  internal::ListFilter filter;
  filter.state = input.state;
  filter.overdue_only = input.overdue_only;
  if (ctx.all_tenants) {
    filter.tenant = input.tenant;
  } else {
    auto tenant = CallTenant(ctx, input.tenant);
    if (!tenant.ok()) {
      done(tenant.status());
      return;
    }
    filter.tenant = *tenant;
  }
  FieldErrors errors;
  const int state = static_cast<int>(input.state);
  if (state < 0 || state > 2) errors.Add("state", "must be one of the BREACH_STATE_ values");
  if (ctx.all_tenants && !input.tenant.empty() && !tenants_.contains(input.tenant)) {
    errors.Add("tenant", "not a configured tenant");
  }
  if (input.page_size < 0 || input.page_size > kMaxPageSize) {
    errors.Add("page_size", absl::StrCat("must be between 0 and ", kMaxPageSize));
  }
  const std::string tag = FilterTag(filter, ctx.all_tenants);
  int64_t before_seq = INT64_MAX;
  if (!input.page_token.empty()) {
    std::optional<int64_t> seq = store::DecodeSeqPageToken(input.page_token, tag);
    if (seq.has_value()) {
      before_seq = *seq;
    } else {
      errors.Add("page_token", "not a token issued for this query");
    }
  }
  if (!errors.empty()) {
    done(errors.ToStatus("invalid list request"));
    return;
  }
  const int page_size = input.page_size == 0 ? kDefaultPageSize : input.page_size;
  const absl::Time now = clock_->Now();
  BreachPage page;
  absl::Status read = store_->Read([&](store::ReadTxn& txn) -> absl::Status {
    auto ids = internal::ListBreachIds(txn, filter, before_seq, page_size + 1, now);
    for (size_t i = 0; i < ids.size() && static_cast<int>(i) < page_size; ++i) {
      ASSIGN_OR_RETURN(Breach b, internal::LoadView(txn, ids[i].second, ScopeOf(ctx), {}, now));
      page.breaches.push_back(std::move(b));
    }
    if (static_cast<int>(ids.size()) > page_size) {
      page.next_page_token = store::EncodePageToken({absl::StrCat(ids[page_size - 1].first)}, tag);
    }
    return absl::OkStatus();
  });
  if (!read.ok()) {
    done(read);
    return;
  }
  AuditRead<BreachPage>(ctx, "breaches", std::move(page), std::move(done));
}

void BreachRegister::Export(const CallContext& ctx, ExportInput input, ReportDone done) {
  auto tenant =
      ctx.all_tenants ? absl::StatusOr<std::string>(input.tenant) : CallTenant(ctx, input.tenant);
  if (!tenant.ok()) {
    done(tenant.status());
    return;
  }
  FieldErrors errors;
  const std::string breach_id = BreachIdOrError(input.name, "name", errors);
  if (input.format != ReportFormat::kJson && input.format != ReportFormat::kMarkdown) {
    errors.Add("format", "required: BREACH_REPORT_FORMAT_JSON or BREACH_REPORT_FORMAT_MARKDOWN");
  }
  if (!errors.empty()) {
    done(errors.ToStatus("invalid export request"));
    return;
  }
  const absl::Time now = clock_->Now();
  absl::StatusOr<Breach> view = ReadFullView(ctx, breach_id, now);
  if (!view.ok()) {
    done(view.status());
    return;
  }
  Breach& b = *view;
  const std::string& controller = *tenant;
  if (!controller.empty()) {
    // A processor's report for one controller shows only that controller.
    auto& ts = b.affected_tenants;
    ts.erase(std::remove_if(ts.begin(), ts.end(),
                            [&](const AffectedTenant& t) { return t.tenant != controller; }),
             ts.end());
    if (ts.empty()) {
      done(InvalidField("tenant", "the breach does not affect this tenant"));
      return;
    }
    auto& ns = b.notifications;
    ns.erase(std::remove_if(ns.begin(), ns.end(),
                            [&](const Notification& n) { return n.tenant != controller; }),
             ns.end());
    b.notification_overdue = ts.front().overdue;
  }
  RenderedReport report;
  const std::string base =
      absl::StrCat("breach-", b.breach_id, controller.empty() ? "" : "-", controller);
  if (input.format == ReportFormat::kJson) {
    report.content = RenderReportJson(b, controller, now);
    report.media_type = "application/json";
    report.file_name = base + ".json";
  } else {
    report.content = RenderReportMarkdown(b, controller, now);
    report.media_type = "text/markdown; charset=utf-8";
    report.file_name = base + ".md";
  }
  AuditRead<RenderedReport>(ctx, b.name(), std::move(report), std::move(done));
}

}  // namespace dsar::breach
