// TaskRouter: sends connector task outcomes to the module whose job the task
// serves, by the prefix of the task's resource ("consents/",
// "privacy_requests/"). The dispatcher accepts one TaskResultHook and one
// DeadLetterHook; this is both, and fans them out.
//
// Register() all handlers before the dispatcher starts; afterwards the router
// is read-only and thread-safe.
#ifndef DSAR_SERVICES_TASK_ROUTER_H_
#define DSAR_SERVICES_TASK_ROUTER_H_

#include <string>
#include <vector>

#include "lib/connector/dispatcher.h"

namespace dsar {

class TaskRouter final : public connector::TaskResultHook, public connector::DeadLetterHook {
 public:
  // Tasks whose resource starts with `prefix` go to these hooks (either may be
  // null). Dead-lettered tasks also go to every `all_dead_letters` hook.
  void Register(std::string prefix, connector::TaskResultHook* results,
                connector::DeadLetterHook* dead_letters);
  void RegisterForAllDeadLetters(connector::DeadLetterHook* hook);
  // Every finished task also goes to `hook` (before its route's hook).
  void RegisterForAllResults(connector::TaskResultHook* hook);

  absl::Status OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;
  absl::Status OnDeadLettered(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;

 private:
  struct Route {
    std::string prefix;
    connector::TaskResultHook* results;
    connector::DeadLetterHook* dead_letters;
  };
  const Route* Find(const std::string& resource) const;

  std::vector<Route> routes_;
  std::vector<connector::DeadLetterHook*> all_dead_letters_;
  std::vector<connector::TaskResultHook*> all_results_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_TASK_ROUTER_H_
