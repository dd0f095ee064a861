// DeadLetterDeadlines: a dead-lettered connector task opens a
// connector.task_dead deadline, exactly once, in the transaction that marks it
// dead; the task finishing (after RetryTask) completes it.
//
// The deadline is due at once, so its alert reaches every sink (log,
// webhooks, WatchAlerts) like any other alert and reminds daily while the task
// stays dead. The deadline's resource is the task's name
// ("connectorTasks/{task_id}"). Stateless apart from its pointer;
// thread-safe.
#ifndef DSAR_LIB_WORKFLOW_DEAD_LETTER_DEADLINES_H_
#define DSAR_LIB_WORKFLOW_DEAD_LETTER_DEADLINES_H_

#include "lib/connector/dispatcher.h"
#include "lib/deadline/deadlines.h"

namespace dsar::workflow {

class DeadLetterDeadlines final : public connector::DeadLetterHook,
                                  public connector::TaskResultHook {
 public:
  // `deadlines` is not owned and must outlive this object.
  explicit DeadLetterDeadlines(const deadline::Deadlines* deadlines) : deadlines_(deadlines) {}

  // Schedules the task's deadline; one still open from an earlier death of
  // the same task goes on (OK). Other errors are Deadlines::Schedule's.
  absl::Status OnDeadLettered(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;
  // Completes the task's deadline if one is open (OK when there is none: the
  // usual case, the task never died).
  absl::Status OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;

 private:
  const deadline::Deadlines* const deadlines_;
};

}  // namespace dsar::workflow

#endif  // DSAR_LIB_WORKFLOW_DEAD_LETTER_DEADLINES_H_
