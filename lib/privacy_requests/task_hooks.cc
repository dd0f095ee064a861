#include "lib/privacy_requests/task_hooks.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/core/status_macros.h"
#include "lib/privacy_requests/identifiers.h"
#include "lib/privacy_requests/request.h"
#include "lib/privacy_requests/request_rows.h"
#include "lib/privacy_requests/transitions.h"

namespace dsar::privacy_requests {
namespace {

Stage StageOf(TaskPhase phase) {
  switch (phase) {
    case TaskPhase::kExport:
      return Stage::kCollecting;
    case TaskPhase::kErase:
      return Stage::kErasing;
    case TaskPhase::kVerify:
      return Stage::kVerifying;
    case TaskPhase::kUnspecified:
      break;
  }
  return Stage::kNone;
}

// Identity resolution: the identifiers a system reported for the person are
// normalised and keyed (SubjectKey) into privacy_request_subjects beside the
// request's own, so the erasure and later lookups work on the union; the
// request's identifier types the system matched are recorded (types only).
// Invalid reported values are skipped. Values are wiped afterwards.
std::vector<IdentifierType> ResolveIdentities(store::WriteTxn& txn, RequestEnv& env,
                                              const PrivacyRequest& r,
                                              std::vector<SubjectIdentifier> resolved) {
  std::vector<SubjectIdentifier> valid;
  for (auto& id : resolved) {
    FieldErrors ignored;
    if (NormaliseIdentifier(id, "resolved", ignored)) valid.push_back(std::move(id));
  }
  std::vector<IdentifierType> matched;
  if (valid.empty()) return matched;
  rows::InsertSubjectKeys(txn, r.tenant, r.id, r.type, SubjectKeys(*env.keyer, r.tenant, valid));
  if (auto subject = internal::OpenSubject(txn, env, r); subject.ok()) {
    for (auto& own : *subject) {
      for (const auto& found : valid) {
        if (found.type == own.type && found.value == own.value &&
            std::find(matched.begin(), matched.end(), own.type) == matched.end()) {
          matched.push_back(own.type);
        }
      }
      sodium_memzero(own.value.data(), own.value.size());
    }
  }
  for (auto& id : valid) sodium_memzero(id.value.data(), id.value.size());
  return matched;
}

}  // namespace

absl::Status TaskHooks::OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                                       absl::Time now) {
  if (!absl::StartsWith(task.resource, kPrivacyRequestsCollection)) return absl::OkStatus();
  const std::string id = task.resource.substr(kPrivacyRequestsCollection.size());
  std::optional<PrivacyRequest> r = rows::Load(txn, task.tenant, id);
  std::optional<SystemProgress> row = rows::LoadTask(txn, task.tenant, id, task.task_id);
  if (!r.has_value() || !row.has_value()) return absl::OkStatus();  // not one of ours
  row->state = task.state;
  row->records = task.result.records;
  row->deleted = task.result.deleted;
  row->anonymised = task.result.anonymised;
  row->kept.clear();
  for (const auto& k : task.result.kept) {
    row->kept.push_back({k.record_id, k.category, k.reason, k.detail});
  }
  row->skip_reason = task.result.skip_reason;
  row->last_error.clear();
  if (IsOpen(r->state) && !task.result.resolved.empty()) {
    row->matched_types = ResolveIdentities(txn, *env_, *r, task.result.resolved);
  }
  rows::UpdateTask(txn, task.tenant, id, *row, now);

  if (!IsOpen(r->state)) {
    // Closed while the task ran (e.g. cancelled): drop what it produced.
    if (row->phase == TaskPhase::kExport) env_->cleanup.Add(task.tenant, id);
    return absl::OkStatus();
  }
  if (r->stage != StageOf(row->phase)) return absl::OkStatus();  // a stale phase
  bool all_finished = true, any_skipped = false;
  std::string skipped_by;
  for (const SystemProgress& t : rows::ListTasks(txn, task.tenant, id)) {
    if (t.phase != row->phase) continue;
    if (!Finished(t.state)) all_finished = false;
    if (t.state == connector::TaskState::kSkipped) {
      any_skipped = true;
      absl::StrAppend(&skipped_by, skipped_by.empty() ? "" : ", ", t.connector);
    }
  }
  if (!all_finished) return absl::OkStatus();

  if (r->state == RequestState::kFailed) {
    RETURN_IF_ERROR(
        internal::Transition(txn, *env_, *r, RequestState::kInProgress, internal::kSystemActor,
                             "the failed connector task was retried and finished", now));
  }
  switch (row->phase) {
    case TaskPhase::kExport:
      r->stage = Stage::kAssembling;
      r->needs_work = true;
      break;
    case TaskPhase::kErase:
      if (any_skipped) {
        // A system that cannot erase leaves the person's data behind: not
        // a completed erasure. The DPO erases there by hand, then retries.
        r->failure_reason = absl::StrCat("connector(s) ", skipped_by,
                                         " do not implement erasure: erase there by hand, then "
                                         "retry the skipped task");
        RETURN_IF_ERROR(internal::Transition(txn, *env_, *r, RequestState::kFailed,
                                             internal::kSystemActor, r->failure_reason, now));
        return audit::Append(txn, internal::SystemContext(r->tenant, "Fail"), r->name(),
                             "FAILED_PRECONDITION", now);
      }
      r->stage = Stage::kErased;
      r->needs_work = true;
      break;
    case TaskPhase::kVerify:
      r->stage = Stage::kVerified;
      r->needs_work = true;
      break;
    case TaskPhase::kUnspecified:
      return absl::OkStatus();
  }
  r->updated_at = now;
  rows::Save(txn, *r);
  env_->signal.Wake(/*after_commit=*/true);
  return absl::OkStatus();
}

absl::Status TaskHooks::OnDeadLettered(store::WriteTxn& txn, const connector::TaskInfo& task,
                                       absl::Time now) {
  if (!absl::StartsWith(task.resource, kPrivacyRequestsCollection)) return absl::OkStatus();
  const std::string id = task.resource.substr(kPrivacyRequestsCollection.size());
  std::optional<PrivacyRequest> r = rows::Load(txn, task.tenant, id);
  std::optional<SystemProgress> row = rows::LoadTask(txn, task.tenant, id, task.task_id);
  if (!r.has_value() || !row.has_value()) return absl::OkStatus();
  row->state = connector::TaskState::kDead;
  row->last_error = task.last_error;
  rows::UpdateTask(txn, task.tenant, id, *row, now);
  if (r->state != RequestState::kInProgress || r->stage != StageOf(row->phase)) {
    return absl::OkStatus();  // closed, already failed, or a stale phase
  }
  r->failure_reason = absl::StrCat(
      "connector ", row->connector, ": ", TaskPhaseName(row->phase), " task ", task.task_id,
      " dead-lettered after ", task.attempts, task.attempts == 1 ? " attempt" : " attempts",
      task.last_error.empty() ? "" : absl::StrCat(" (", task.last_error, ")"));
  RETURN_IF_ERROR(internal::Transition(txn, *env_, *r, RequestState::kFailed,
                                       internal::kSystemActor, r->failure_reason, now));
  env_->signal.WakeCallbacks();
  return audit::Append(txn, internal::SystemContext(r->tenant, "Fail"), r->name(),
                       "FAILED_PRECONDITION", now);
}

}  // namespace dsar::privacy_requests
