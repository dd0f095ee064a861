// WithdrawalPropagation: what a consent withdrawal sets in motion.
//
// Inside the withdrawal's transaction: one consent.apply task per connector
// that declares the purpose (the outbox fan-out), and, when there is at least
// one, a 72-hour consent.withdrawal_propagation deadline. When the last of
// those tasks finishes (done or skipped), the deadline is completed in the
// same transaction that records the task. Connectors learn the subject by the
// typed identifier the caller gave. Thread-safe.
#ifndef DSAR_SERVICES_WITHDRAWAL_PROPAGATION_H_
#define DSAR_SERVICES_WITHDRAWAL_PROPAGATION_H_

#include "lib/connector/dispatcher.h"
#include "lib/connector/outbox.h"
#include "lib/consent/consent_ledger.h"
#include "lib/deadline/deadlines.h"

namespace dsar {

class WithdrawalPropagation final : public consent::WithdrawalFollowUp,
                                    public connector::TaskResultHook {
 public:
  explicit WithdrawalPropagation(const deadline::Deadlines* deadlines)
      : deadlines_(deadlines) {}
  // Set once, before any withdrawal (the outbox exists only once the
  // connector stack has started, which needs this object as a hook). Without
  // an outbox (no connectors configured) there is nothing to propagate.
  void set_outbox(const connector::Outbox* outbox) { outbox_ = outbox; }

  absl::Status OnWithdrawn(store::WriteTxn& txn, const RequestContext& ctx,
                           const consent::ConsentReceipt& receipt,
                           const SubjectIdentifier& subject, absl::Time now) override;
  void Committed() override;
  absl::Status OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;

 private:
  const connector::Outbox* outbox_ = nullptr;
  const deadline::Deadlines* deadlines_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_WITHDRAWAL_PROPAGATION_H_
