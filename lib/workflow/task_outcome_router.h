// TaskOutcomeRouter: sends connector task outcomes to the module whose job
// the task serves, by the collection of the task's resource ("consents/",
// "privacyRequests/"). The dispatcher accepts one TaskResultHook and one
// DeadLetterHook; this is both, and fans them out.
//
// Register() all handlers before the dispatcher starts; afterwards the router
// is read-only and thread-safe.
#ifndef DSAR_LIB_WORKFLOW_TASK_OUTCOME_ROUTER_H_
#define DSAR_LIB_WORKFLOW_TASK_OUTCOME_ROUTER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/connector/dispatcher.h"

namespace dsar::workflow {

class TaskOutcomeRouter final : public connector::TaskResultHook, public connector::DeadLetterHook {
 public:
  // Tasks whose resource starts with `collection` (e.g. "consents/") go to
  // these hooks (either may be null); the first matching registration wins.
  // Not owned; they must outlive the router.
  void Register(absl::string_view collection, connector::TaskResultHook* results,
                connector::DeadLetterHook* dead_letters);
  // Every dead-lettered task also goes to `hook` (before its route's hook).
  void RegisterForAllDeadLetters(connector::DeadLetterHook* hook);
  // Every finished task also goes to `hook` (before its route's hook).
  void RegisterForAllResults(connector::TaskResultHook* hook);

  // The first hook's error stops the fan-out and rolls the outcome back.
  absl::Status OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;
  absl::Status OnDeadLettered(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;

 private:
  struct Route {
    std::string collection;
    connector::TaskResultHook* results;
    connector::DeadLetterHook* dead_letters;
  };
  const Route* Find(const std::string& resource) const;

  std::vector<Route> routes_;
  std::vector<connector::DeadLetterHook*> all_dead_letters_;
  std::vector<connector::TaskResultHook*> all_results_;
};

}  // namespace dsar::workflow

#endif  // DSAR_LIB_WORKFLOW_TASK_OUTCOME_ROUTER_H_
