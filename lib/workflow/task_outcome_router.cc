#include "lib/workflow/task_outcome_router.h"

#include "absl/strings/match.h"
#include "lib/core/status_macros.h"

namespace dsar::workflow {

void TaskOutcomeRouter::Register(absl::string_view collection, connector::TaskResultHook* results,
                                 connector::DeadLetterHook* dead_letters) {
  routes_.push_back(Route{std::string(collection), results, dead_letters});
}

void TaskOutcomeRouter::RegisterForAllDeadLetters(connector::DeadLetterHook* hook) {
  all_dead_letters_.push_back(hook);
}

void TaskOutcomeRouter::RegisterForAllResults(connector::TaskResultHook* hook) {
  all_results_.push_back(hook);
}

const TaskOutcomeRouter::Route* TaskOutcomeRouter::Find(const std::string& resource) const {
  for (const Route& r : routes_) {
    if (absl::StartsWith(resource, r.collection)) return &r;
  }
  return nullptr;
}

absl::Status TaskOutcomeRouter::OnTaskFinished(store::WriteTxn& txn,
                                               const connector::TaskInfo& task, absl::Time now) {
  for (auto* hook : all_results_) RETURN_IF_ERROR(hook->OnTaskFinished(txn, task, now));
  const Route* route = Find(task.resource);
  if (route == nullptr || route->results == nullptr) return absl::OkStatus();
  return route->results->OnTaskFinished(txn, task, now);
}

absl::Status TaskOutcomeRouter::OnDeadLettered(store::WriteTxn& txn,
                                               const connector::TaskInfo& task, absl::Time now) {
  for (auto* hook : all_dead_letters_) RETURN_IF_ERROR(hook->OnDeadLettered(txn, task, now));
  const Route* route = Find(task.resource);
  if (route == nullptr || route->dead_letters == nullptr) return absl::OkStatus();
  return route->dead_letters->OnDeadLettered(txn, task, now);
}

}  // namespace dsar::workflow
