#include "lib/workflow/consent_propagation.h"

#include "lib/connector/task_store.h"
#include "lib/consent/receipt_name.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/kinds.h"

namespace dsar::workflow {

absl::Status ConsentPropagation::OnChanged(store::WriteTxn& txn, const CallContext& ctx,
                                           const consent::ConsentReceipt& receipt,
                                           consent::ConsentAction action,
                                           const SubjectIdentifier& subject, absl::Time change_time,
                                           absl::Time now) {
  if (outbox_ == nullptr) return absl::OkStatus();
  connector::TaskSpec spec;
  spec.tenant = ctx.tenant;
  spec.kind = connector::TaskKind::kConsentApply;
  spec.resource = consent::ReceiptName(receipt.receipt_id);
  spec.subject.push_back(subject);
  spec.purpose = receipt.purpose;
  spec.consent_given = action == consent::ConsentAction::kGiven;
  spec.change_time = change_time;
  ASSIGN_OR_RETURN(std::vector<std::string> task_ids, outbox_->EnqueueFanOut(txn, spec, now));
  if (task_ids.empty()) return absl::OkStatus();    // no connector declares the purpose
  if (spec.consent_given) return absl::OkStatus();  // no deadline for a grant
  deadline::ScheduleRequest deadline;
  deadline.tenant = ctx.tenant;
  deadline.kind = deadline::kConsentWithdrawalPropagation;
  deadline.resource = spec.resource;
  deadline.start = now;
  return deadlines_->Schedule(txn, deadline, now).status();
}

absl::Status ConsentPropagation::ReadPropagation(store::ReadTxn& txn,
                                                 consent::ConsentReceipt* receipt) {
  connector::task_store::ListQuery query;
  query.tenant = receipt->tenant;
  query.resource = consent::ReceiptName(receipt->receipt_id);
  query.page_size = 500;
  ASSIGN_OR_RETURN(connector::task_store::TaskPage page, connector::task_store::List(txn, query));
  for (auto it = page.tasks.rbegin(); it != page.tasks.rend(); ++it) {  // oldest first
    const connector::TaskInfo& t = *it;
    consent::Propagation p;
    p.connector = t.connector;
    p.action = receipt->withdrawn_at.has_value() && t.created >= *receipt->withdrawn_at
                   ? consent::ConsentAction::kWithdrawn
                   : consent::ConsentAction::kGiven;
    p.state = connector::TaskStateName(t.state);
    p.task_id = t.task_id;
    p.updated = t.updated;
    receipt->propagation.push_back(std::move(p));
  }
  return absl::OkStatus();
}

void ConsentPropagation::Committed() {
  if (outbox_ != nullptr) outbox_->Notify();
}

absl::Status ConsentPropagation::OnTaskFinished(store::WriteTxn& txn,
                                                const connector::TaskInfo& task, absl::Time now) {
  if (task.kind != connector::TaskKind::kConsentApply) return absl::OkStatus();
  // This task is already recorded as finished in `txn`; any other task of the
  // same withdrawal still open keeps the deadline running.
  const int64_t still_open =
      connector::task_store::CountOpenTasksForResource(txn, task.tenant, task.resource);
  if (still_open > 0) return absl::OkStatus();
  auto completed = deadlines_->Complete(
      txn, {task.tenant, deadline::kConsentWithdrawalPropagation, task.resource}, now);
  // Already completed (e.g. a task re-run after RetryTask) or never scheduled.
  if (absl::IsNotFound(completed.status()) || absl::IsFailedPrecondition(completed.status())) {
    return absl::OkStatus();
  }
  return completed.status();
}

}  // namespace dsar::workflow
