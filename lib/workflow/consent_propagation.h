// ConsentPropagation: what a consent change (a grant or a withdrawal) sets in
// motion in the connected systems, and the clock that watches a withdrawal.
//
// Inside the change's transaction: one consent.apply task per connector that
// declares the purpose (the outbox fan-out), carrying the typed identifier
// the caller gave, the direction and the change's time (connectors apply a
// change only if it is newer than what they hold, so reordered or retried
// deliveries end on the latest state). A withdrawal with at least one task
// also gets a 72-hour consent.withdrawal_propagation deadline; when the last
// task of the consent finishes (done, skipped or no matching record) the
// deadline is completed in the same transaction that records the task.
//
// It is the ledger's ConsentFollowUp and the TaskResultHook of the tasks of
// resources "consents/..." (TaskOutcomeRouter). Thread-safe.
#ifndef DSAR_LIB_WORKFLOW_CONSENT_PROPAGATION_H_
#define DSAR_LIB_WORKFLOW_CONSENT_PROPAGATION_H_

#include "lib/connector/dispatcher.h"
#include "lib/connector/outbox.h"
#include "lib/consent/consent_ledger.h"
#include "lib/deadline/deadlines.h"

namespace dsar::workflow {

class ConsentPropagation final : public consent::ConsentFollowUp, public connector::TaskResultHook {
 public:
  // `deadlines` is not owned and must outlive this object.
  explicit ConsentPropagation(const deadline::Deadlines* deadlines) : deadlines_(deadlines) {}
  // Set once, before any consent change (the outbox exists only once the
  // connector module has started, which needs this object as a hook). Without
  // an outbox (no connectors configured) there is nothing to propagate.
  void set_outbox(const connector::Outbox* outbox) { outbox_ = outbox; }

  // Enqueues the change's tasks and, for a withdrawal with tasks, schedules
  // its deadline. Errors are the outbox's and Deadlines::Schedule's; any
  // error rolls the consent change back.
  absl::Status OnChanged(store::WriteTxn& txn, const CallContext& ctx,
                         const consent::ConsentReceipt& receipt, consent::ConsentAction action,
                         const SubjectIdentifier& subject, absl::Time change_time,
                         absl::Time now) override;
  // Wakes the dispatcher.
  void Committed() override;
  // The consent.apply tasks of the receipt, oldest first: grants are those
  // enqueued before its withdrawal time, withdrawals those at or after it.
  absl::Status ReadPropagation(store::ReadTxn& txn, consent::ConsentReceipt* receipt) override;
  // A consent.apply task finished: completes the withdrawal's deadline once
  // no task of that consent is still open. Other kinds are ignored.
  absl::Status OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;

 private:
  const connector::Outbox* outbox_ = nullptr;
  const deadline::Deadlines* const deadlines_;
};

}  // namespace dsar::workflow

#endif  // DSAR_LIB_WORKFLOW_CONSENT_PROPAGATION_H_
