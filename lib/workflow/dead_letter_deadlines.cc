#include "lib/workflow/dead_letter_deadlines.h"

#include "lib/deadline/kinds.h"

namespace dsar::workflow {

absl::Status DeadLetterDeadlines::OnDeadLettered(store::WriteTxn& txn,
                                                 const connector::TaskInfo& task, absl::Time now) {
  deadline::ScheduleRequest request;
  request.tenant = task.tenant;
  request.kind = deadline::kConnectorTaskDead;
  request.resource = connector::TaskName(task.task_id);
  request.start = now;
  auto scheduled = deadlines_->Schedule(txn, request, now);
  // Still open from an earlier death of the same task: its alerts go on.
  if (absl::IsAlreadyExists(scheduled.status())) return absl::OkStatus();
  return scheduled.status();
}

absl::Status DeadLetterDeadlines::OnTaskFinished(store::WriteTxn& txn,
                                                 const connector::TaskInfo& task, absl::Time now) {
  auto completed = deadlines_->Complete(
      txn, {task.tenant, deadline::kConnectorTaskDead, connector::TaskName(task.task_id)}, now);
  // The usual case: the task never died.
  if (absl::IsNotFound(completed.status()) || absl::IsFailedPrecondition(completed.status())) {
    return absl::OkStatus();
  }
  return completed.status();
}

}  // namespace dsar::workflow
