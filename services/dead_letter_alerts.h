// DeadLetterAlerts: a dead-lettered connector task raises an alert through the
// deadline engine, exactly once, in the transaction that marks it dead.
//
// The alert is a connector.task_dead deadline due at once, so it reaches every
// sink (log, webhooks, WatchAlerts) like any other alert, reminds daily while
// the task stays dead, and is closed when the task is retried and finishes.
#ifndef DSAR_SERVICES_DEAD_LETTER_ALERTS_H_
#define DSAR_SERVICES_DEAD_LETTER_ALERTS_H_

#include "lib/connector/dispatcher.h"
#include "lib/deadline/deadlines.h"

namespace dsar {

class DeadLetterAlerts final : public connector::DeadLetterHook, public connector::TaskResultHook {
 public:
  explicit DeadLetterAlerts(const deadline::Deadlines* deadlines) : deadlines_(deadlines) {}

  absl::Status OnDeadLettered(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;
  absl::Status OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;

 private:
  const deadline::Deadlines* deadlines_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_DEAD_LETTER_ALERTS_H_
