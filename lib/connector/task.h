// Connector tasks: what other modules ask the connectors to do, and the
// states a task moves through in the outbox.
//
// A task is one call to one connector on behalf of one tenant (e.g. "erase
// subject S in the CRM for privacy request R"). A job that must reach every
// system (an erasure, a consent withdrawal) is a fan-out of tasks sharing the
// same `resource`. Plain values; no gRPC types.
//
//   pending --claim--> running --ok--> done
//                         |----------> skipped (reason: connector does not
//                         |            implement it / not configured)
//                         |----------> waiting (asynchronous backend; asked
//                         |            again later, attempts not counted)
//                         |--error---> failed (retry after backoff)
//                         `--error, attempts used up / permanent--> dead
//   failed | waiting | running with an expired lease --claim--> running
//   dead | failed | skipped --RetryTask--> pending (attempts reset)
#ifndef DSAR_LIB_CONNECTOR_TASK_H_
#define DSAR_LIB_CONNECTOR_TASK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/core/subject_identifier.h"

namespace dsar::connector {

enum class TaskKind { kConsentApply, kSubjectExport, kSubjectErase };

// "consent.apply", "subject.export", "subject.erase".
const char* TaskKindName(TaskKind kind);
std::optional<TaskKind> ParseTaskKind(absl::string_view name);

// kNoMatch: finished, but the system holds no record under any of the
// subject's identifiers (a consent change it could not apply to anyone).
enum class TaskState { kPending, kRunning, kDone, kSkipped, kWaiting, kFailed, kDead, kNoMatch };

// "pending", "running", "done", "skipped", "waiting", "failed", "dead", "no_match".
const char* TaskStateName(TaskState state);
// Done, skipped or no_match: the task has its outcome and runs no more.
inline bool Finished(TaskState state) {
  return state == TaskState::kDone || state == TaskState::kSkipped || state == TaskState::kNoMatch;
}
std::optional<TaskState> ParseTaskState(absl::string_view name);

using IdentifierType = ::dsar::IdentifierType;        // lib/core/subject_identifier.h
using SubjectIdentifier = ::dsar::SubjectIdentifier;  // sealed at rest, never logged

// The collection of connector tasks: "connectorTasks/{task_id}".
inline constexpr absl::string_view kConnectorTasksCollection = "connectorTasks/";
std::string TaskName(absl::string_view task_id);

// What a module asks for. Personal data (the subject) is sealed in the task's
// payload and wiped when the task is done.
struct TaskSpec {
  std::string tenant;  // required
  TaskKind kind = TaskKind::kSubjectErase;
  std::string connector;  // registry name; EnqueueFanOut fills it in
  // What the task serves, e.g. "privacyRequests/pr_x" or "consents/rcpt_y";
  // no personal data. Tasks of one job share it.
  std::string resource;
  std::vector<SubjectIdentifier> subject;  // at least one identifier
  // consent.apply only.
  std::string purpose;
  bool consent_given = false;
  absl::Time change_time = absl::InfinitePast();  // InfinitePast: enqueue time
  // Optional stable id (1-128 printable ASCII); a new "task_..." id when empty.
  // Re-enqueueing an existing id is ALREADY_EXISTS.
  std::string task_id;
};

// What a connector reported for a finished task. No personal data is stored
// (`resolved` is not persisted).
struct KeptRecord {
  std::string record_id;
  std::string category;
  std::string reason;  // "legal_hold", "legal_obligation", "legal_claims"
  std::string detail;
};

struct TaskResult {
  int64_t deleted = 0;           // subject.erase
  int64_t anonymised = 0;        // subject.erase
  std::vector<KeptRecord> kept;  // subject.erase
  int64_t affected = 0;          // consent.apply
  int64_t records = 0;           // subject.export
  bool replayed = false;         // the connector answered a repeated task id
  std::string skip_reason;       // skipped
  // subject.erase / subject.export: the identifiers under which the system
  // knows the person. Personal data: handed to TaskResultHook in the
  // transaction that records the outcome, never stored with the task.
  std::vector<SubjectIdentifier> resolved;
};

// A task as stored (payload excluded).
struct TaskInfo {
  std::string task_id;
  std::string tenant;
  TaskKind kind = TaskKind::kSubjectErase;
  std::string connector;
  std::string resource;
  TaskState state = TaskState::kPending;
  int attempts = 0;
  absl::Time next_attempt;  // retry time; lease expiry while running
  std::string last_error;   // code and message of the last failed attempt
  TaskResult result;
  absl::Time created;
  absl::Time updated;
};

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_TASK_H_
