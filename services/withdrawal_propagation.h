// WithdrawalPropagation: what a consent change (a grant or a withdrawal) sets
// in motion.
//
// Inside the change's transaction: one consent.apply task per connector that
// declares the purpose (the outbox fan-out), carrying the typed identifier
// the caller gave, the direction and the change's time (connectors apply a
// change only if it is newer than what they hold, so reordered or retried
// deliveries end on the latest state). A withdrawal with at least one task
// also gets a 72-hour consent.withdrawal_propagation deadline; when the last
// task of the consent finishes (done, skipped or no matching record) the
// deadline is completed in the same transaction that records the task.
// Thread-safe.
#ifndef DSAR_SERVICES_WITHDRAWAL_PROPAGATION_H_
#define DSAR_SERVICES_WITHDRAWAL_PROPAGATION_H_

#include "lib/connector/dispatcher.h"
#include "lib/connector/outbox.h"
#include "lib/consent/consent_ledger.h"
#include "lib/deadline/deadlines.h"

namespace dsar {

class WithdrawalPropagation final : public consent::ConsentFollowUp,
                                    public connector::TaskResultHook {
 public:
  explicit WithdrawalPropagation(const deadline::Deadlines* deadlines) : deadlines_(deadlines) {}
  // Set once, before any withdrawal (the outbox exists only once the
  // connector stack has started, which needs this object as a hook). Without
  // an outbox (no connectors configured) there is nothing to propagate.
  void set_outbox(const connector::Outbox* outbox) { outbox_ = outbox; }

  absl::Status OnChanged(store::WriteTxn& txn, const CallContext& ctx,
                         const consent::ConsentReceipt& receipt, consent::ConsentAction action,
                         const SubjectIdentifier& subject, absl::Time change_time,
                         absl::Time now) override;
  void Committed() override;
  // The consent.apply tasks of the receipt: grants are those enqueued before
  // its withdrawal time, withdrawals those at or after it.
  absl::Status ReadPropagation(store::ReadTxn& txn, consent::ConsentReceipt* receipt) override;
  absl::Status OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;

 private:
  const connector::Outbox* outbox_ = nullptr;
  const deadline::Deadlines* deadlines_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_WITHDRAWAL_PROPAGATION_H_
