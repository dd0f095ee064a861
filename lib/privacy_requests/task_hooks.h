// TaskHooks: advances privacy requests as their connector tasks end.
//
// The dispatcher calls these inside the transaction that records a task's
// outcome (through workflow::TaskOutcomeRouter, for resources "privacyRequests/..."), so
// a request's progress and its task's outcome commit together. When the last
// task of a phase is done the request moves to the next stage; the work of
// that stage (building the bundle, sending verification exports, completing
// an erasure) is the RequestWorker's, woken after the commit. A dead-lettered
// task, or an erasure a connector does not implement, fails the request;
// retrying the task (ConnectorService.RetryTask) resumes it.
//
// Thread-safe (stateless besides the shared RequestEnv).
#ifndef DSAR_LIB_PRIVACY_REQUESTS_TASK_HOOKS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_TASK_HOOKS_H_

#include "lib/connector/dispatcher.h"
#include "lib/privacy_requests/request_env.h"

namespace dsar::privacy_requests {

class TaskHooks final : public connector::TaskResultHook, public connector::DeadLetterHook {
 public:
  explicit TaskHooks(RequestEnv* env) : env_(env) {}

  absl::Status OnTaskFinished(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;
  absl::Status OnDeadLettered(store::WriteTxn& txn, const connector::TaskInfo& task,
                              absl::Time now) override;

 private:
  RequestEnv* const env_;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_TASK_HOOKS_H_
