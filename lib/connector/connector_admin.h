// ConnectorAdmin: what the DPO may see and do about connectors and their
// tasks (ConnectorService), scoped to the caller's tenant.
//
// The register (ListConnectors) and health come from the registry and the
// dispatcher; tasks from the outbox table. RetryTask is a mutation: it runs
// idempotently by request_id (store::RunIdempotent) and writes an audit event
// in the same transaction, then wakes the dispatcher. Task listings hold no
// personal data (payloads are never shown). Thread-safe.
#ifndef DSAR_LIB_CONNECTOR_CONNECTOR_ADMIN_H_
#define DSAR_LIB_CONNECTOR_CONNECTOR_ADMIN_H_

#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "lib/connector/dispatcher.h"
#include "lib/connector/registry.h"
#include "lib/connector/task_store.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/store/store.h"

namespace dsar::connector {

class ConnectorAdmin {
 public:
  using TaskDone = absl::AnyInvocable<void(absl::StatusOr<TaskInfo>)>;

  // Pointers are not owned; `dispatcher` may be null (no health, no wake-up).
  ConnectorAdmin(store::Store* store, Clock* clock, const ConnectorRegistry* registry,
                 Dispatcher* dispatcher)
      : store_(store), clock_(clock), registry_(registry), dispatcher_(dispatcher) {}

  // Connectors serving the caller's tenant, in configuration order.
  std::vector<const ConnectorInfo*> ListConnectors(const CallContext& ctx) const;
  // NOT_FOUND when no such connector serves the caller's tenant;
  // UNAVAILABLE when the dispatcher is not running.
  absl::StatusOr<ConnectorHealth> GetHealth(const CallContext& ctx, absl::string_view name) const;
  // The tenant is the caller's (query.tenant is overwritten).
  absl::StatusOr<task_store::TaskPage> ListTasks(const CallContext& ctx,
                                                 task_store::ListQuery query) const;
  // `done` runs on the store's completion thread with the re-queued task,
  // or INVALID_ARGUMENT (request_id / task_id), NOT_FOUND, FAILED_PRECONDITION.
  void RetryTask(const CallContext& ctx, std::string task_id, TaskDone done);

 private:
  store::Store* const store_;
  Clock* const clock_;
  const ConnectorRegistry* const registry_;
  Dispatcher* const dispatcher_;
};

// A task's listing fields as JSON and back (the stored answer of RetryTask).
std::string TaskInfoToJson(const TaskInfo& task);
absl::StatusOr<TaskInfo> TaskInfoFromJson(absl::string_view json);

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_CONNECTOR_ADMIN_H_
