#include "lib/breach/breach_clocks.h"

#include "lib/breach/breach_rows.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"

namespace dsar::breach {
namespace {

using deadline::DeadlineKey;
using deadline::DeadlineState;

// The open deadline of `key`, or nullopt (none, or the latest is closed).
absl::StatusOr<std::optional<deadline::Deadline>> OpenDeadline(store::WriteTxn& txn,
                                                               const deadline::Deadlines& deadlines,
                                                               const DeadlineKey& key) {
  auto found = deadlines.Find(txn, key);
  if (absl::IsNotFound(found.status())) return std::nullopt;
  if (!found.ok()) return found.status();
  if (found->state != DeadlineState::kOpen) return std::nullopt;
  return *found;
}

bool ExemptDecision(const BreachDetails& d) {
  return (d.subject_decision == SubjectDecision::kExemptProtected ||
          d.subject_decision == SubjectDecision::kExemptMitigated) &&
         !d.subject_decision_reason.empty();
}

absl::StatusOr<bool> SyncAuthority(store::WriteTxn& txn, const deadline::Deadlines& deadlines,
                                   const TenantClockOptions& options, const Breach& b,
                                   AffectedTenant& at, absl::Time now) {
  if (at.authority_notified_at.has_value()) return false;  // met; nothing more to do
  const DeadlineKey key{at.tenant, deadline::kBreachAuthorityNotification, b.name()};
  const bool required = b.current_risk != RiskAssessment::kNoRisk;
  bool changed = false;
  if (!at.authority.due_at.has_value()) {
    std::optional<absl::Time> start;
    if (!b.processor_reported || options.authority_from_processor_awareness) {
      start = at.aware_at;
    } else if (at.controller_notified_at.has_value()) {
      start = *at.controller_notified_at;
    }
    if (!start.has_value()) return false;  // the controller does not know yet
    ASSIGN_OR_RETURN(deadline::Deadline d,
                     deadlines.Schedule(txn, {at.tenant, key.kind, key.resource, *start}, now));
    at.authority.start_at = start;
    at.authority.due_at = d.due_at;
    at.authority.deadline_id = d.deadline_id;
    at.authority.exempt_at.reset();
    changed = true;
  }
  if (at.authority.deadline_id.empty()) return changed;  // reported before these clocks
  if (!required && !at.authority.exempt_at.has_value()) {
    ASSIGN_OR_RETURN(std::optional<deadline::Deadline> open, OpenDeadline(txn, deadlines, key));
    if (open.has_value()) RETURN_IF_ERROR(deadlines.Complete(txn, key, now).status());
    at.authority.exempt_at = now;
    changed = true;
  } else if (required && at.authority.exempt_at.has_value()) {
    // Assessed as a risk after all: the 72 hours still run from awareness.
    ASSIGN_OR_RETURN(
        deadline::Deadline d,
        deadlines.Schedule(txn, {at.tenant, key.kind, key.resource, *at.authority.start_at}, now));
    at.authority.due_at = d.due_at;
    at.authority.deadline_id = d.deadline_id;
    at.authority.exempt_at.reset();
    changed = true;
  }
  return changed;
}

absl::StatusOr<bool> SyncSubjects(store::WriteTxn& txn, const deadline::Deadlines& deadlines,
                                  const TenantClockOptions& options, const Breach& b,
                                  AffectedTenant& at, absl::Time now) {
  if (at.subjects_notified_at.has_value()) return false;
  const DeadlineKey key{at.tenant, deadline::kBreachSubjectCommunication, b.name()};
  std::optional<deadline::Deadline> open;
  if (!at.subjects.deadline_id.empty()) {
    ASSIGN_OR_RETURN(open, OpenDeadline(txn, deadlines, key));
  }
  if (b.current_risk != RiskAssessment::kHighRisk) {
    // Not (or no longer) required: an open clock is cancelled.
    if (open.has_value()) RETURN_IF_ERROR(deadlines.Cancel(txn, key, now).status());
    return false;
  }
  const bool exempt = ExemptDecision(b.details);
  bool changed = false;
  if (!open.has_value() && !(exempt && at.subjects.exempt_at.has_value())) {
    // Assessed high now (first time, or again after it was lowered or an
    // exemption was withdrawn).
    ASSIGN_OR_RETURN(
        deadline::Deadline d,
        deadlines.Schedule(
            txn, {at.tenant, key.kind, key.resource, now, now + options.subject_communication},
            now));
    at.subjects.start_at = now;
    at.subjects.due_at = d.due_at;
    at.subjects.deadline_id = d.deadline_id;
    at.subjects.exempt_at.reset();
    open = d;
    changed = true;
  }
  if (exempt && open.has_value()) {
    RETURN_IF_ERROR(deadlines.Complete(txn, key, now).status());
    at.subjects.exempt_at = now;
    changed = true;
  }
  return changed;
}

}  // namespace

absl::Status SyncTenantClocks(store::WriteTxn& txn, const deadline::Deadlines& deadlines,
                              const TenantClockOptions& options, const Breach& breach,
                              AffectedTenant& tenant, absl::Time now) {
  if (breach.state != BreachState::kOpen) return absl::OkStatus();
  ASSIGN_OR_RETURN(bool authority, SyncAuthority(txn, deadlines, options, breach, tenant, now));
  ASSIGN_OR_RETURN(bool subjects, SyncSubjects(txn, deadlines, options, breach, tenant, now));
  if (authority || subjects) internal::UpdateTenantClocks(txn, breach.breach_id, tenant);
  return absl::OkStatus();
}

absl::Status CompleteTenantClock(store::WriteTxn& txn, const deadline::Deadlines& deadlines,
                                 const Breach& breach, const AffectedTenant& tenant,
                                 Recipient recipient, absl::Time notified_at) {
  const std::string* deadline_id = nullptr;
  const char* kind = nullptr;
  switch (recipient) {
    case Recipient::kController:
      deadline_id = &tenant.deadline_id;
      kind = deadline::kBreachControllerNotification;
      break;
    case Recipient::kSupervisoryAuthority:
      deadline_id = &tenant.authority.deadline_id;
      kind = deadline::kBreachAuthorityNotification;
      break;
    case Recipient::kDataSubjects:
      deadline_id = &tenant.subjects.deadline_id;
      kind = deadline::kBreachSubjectCommunication;
      break;
    case Recipient::kUnspecified:
      return absl::OkStatus();
  }
  if (deadline_id->empty()) return absl::OkStatus();
  const DeadlineKey key{tenant.tenant, kind, breach.name()};
  ASSIGN_OR_RETURN(std::optional<deadline::Deadline> open, OpenDeadline(txn, deadlines, key));
  if (!open.has_value()) return absl::OkStatus();
  // Met when the notification was made, never before the clock started.
  return deadlines.Complete(txn, key, std::max(notified_at, open->started_at)).status();
}

}  // namespace dsar::breach
