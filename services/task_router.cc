#include "services/task_router.h"

#include "absl/strings/match.h"
#include "lib/core/status_macros.h"

namespace dsar {

void TaskRouter::Register(std::string prefix, connector::TaskResultHook* results,
                          connector::DeadLetterHook* dead_letters) {
  routes_.push_back(Route{std::move(prefix), results, dead_letters});
}

void TaskRouter::RegisterForAllDeadLetters(connector::DeadLetterHook* hook) {
  all_dead_letters_.push_back(hook);
}

void TaskRouter::RegisterForAllResults(connector::TaskResultHook* hook) {
  all_results_.push_back(hook);
}

const TaskRouter::Route* TaskRouter::Find(const std::string& resource) const {
  for (const Route& r : routes_) {
    if (absl::StartsWith(resource, r.prefix)) return &r;
  }
  return nullptr;
}

absl::Status TaskRouter::OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                                        absl::Time now) {
  for (auto* hook : all_results_) RETURN_IF_ERROR(hook->OnTaskFinished(txn, task, now));
  const Route* route = Find(task.resource);
  if (route == nullptr || route->results == nullptr) return absl::OkStatus();
  return route->results->OnTaskFinished(txn, task, now);
}

absl::Status TaskRouter::OnDeadLettered(store::WriteTxn& txn, const connector::TaskInfo& task,
                                        absl::Time now) {
  for (auto* hook : all_dead_letters_) RETURN_IF_ERROR(hook->OnDeadLettered(txn, task, now));
  const Route* route = Find(task.resource);
  if (route == nullptr || route->dead_letters == nullptr) return absl::OkStatus();
  return route->dead_letters->OnDeadLettered(txn, task, now);
}

}  // namespace dsar
