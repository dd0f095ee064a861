#include "lib/connector/task.h"

#include "absl/strings/str_cat.h"

namespace dsar::connector {

std::string TaskName(absl::string_view task_id) {
  return absl::StrCat(kConnectorTasksCollection, task_id);
}

const char* TaskKindName(TaskKind kind) {
  switch (kind) {
    case TaskKind::kConsentApply:
      return "consent.apply";
    case TaskKind::kSubjectExport:
      return "subject.export";
    case TaskKind::kSubjectErase:
      return "subject.erase";
  }
  return "";
}

std::optional<TaskKind> ParseTaskKind(absl::string_view name) {
  for (TaskKind k : {TaskKind::kConsentApply, TaskKind::kSubjectExport, TaskKind::kSubjectErase}) {
    if (name == TaskKindName(k)) return k;
  }
  return std::nullopt;
}

const char* TaskStateName(TaskState state) {
  switch (state) {
    case TaskState::kPending:
      return "pending";
    case TaskState::kRunning:
      return "running";
    case TaskState::kDone:
      return "done";
    case TaskState::kSkipped:
      return "skipped";
    case TaskState::kWaiting:
      return "waiting";
    case TaskState::kFailed:
      return "failed";
    case TaskState::kDead:
      return "dead";
    case TaskState::kNoMatch:
      return "no_match";
  }
  return "";
}

std::optional<TaskState> ParseTaskState(absl::string_view name) {
  for (TaskState s :
       {TaskState::kPending, TaskState::kRunning, TaskState::kDone, TaskState::kSkipped,
        TaskState::kWaiting, TaskState::kFailed, TaskState::kDead, TaskState::kNoMatch}) {
    if (name == TaskStateName(s)) return s;
  }
  return std::nullopt;
}

}  // namespace dsar::connector
