// Outbox: how other modules ask connectors to do something, reliably.
//
// A module that needs a connector call (a consent withdrawal to propagate, a
// subject to export or erase) enqueues a task *inside its own write
// transaction*, so the change and the task commit or roll back together and no
// task is ever lost or orphaned. The Dispatcher (dispatcher.h) runs the task
// later, retrying until it is done or dead-lettered, across restarts.
//
//   store.Write([&](store::WriteTxn& txn) -> absl::Status {
//     ... the module's own rows ...
//     ASSIGN_OR_RETURN(auto ids, outbox.EnqueueFanOut(txn, spec, now));
//     return absl::OkStatus();
//   }, [&](absl::Status s) { if (s.ok()) outbox.Notify(); ... });
//
// Subject identifiers are sealed (payload.h) before they reach the table.
// Enqueue* run on the store's writer thread; Notify from any thread.
// Thread-safe.
#ifndef DSAR_LIB_CONNECTOR_OUTBOX_H_
#define DSAR_LIB_CONNECTOR_OUTBOX_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/connector/task.h"
#include "lib/store/txn.h"

namespace dsar::connector {

class Outbox {
 public:
  // Pointers are not owned and must outlive the outbox.
  Outbox(const ConnectorRegistry* registry, const PayloadSealer* sealer)
      : registry_(registry), sealer_(sealer) {}

  // Writes one pending task for spec.connector inside `txn` and returns its
  // id. Errors: INVALID_ARGUMENT naming the field (no tenant, no subject
  // identifier, bad task_id, consent.apply without purpose); NOT_FOUND for an
  // unknown connector; FAILED_PRECONDITION when the connector does not serve
  // the tenant or take the kind; ALREADY_EXISTS for a reused task_id.
  absl::StatusOr<std::string> EnqueueTask(store::WriteTxn& txn, const TaskSpec& spec,
                                          absl::Time now) const;

  // One task per connector that must see this job (Registry::Targets), all
  // sharing spec.resource; spec.connector and spec.task_id are ignored. May
  // return no ids when no connector qualifies.
  absl::StatusOr<std::vector<std::string>> EnqueueFanOut(store::WriteTxn& txn, const TaskSpec& spec,
                                                         absl::Time now) const;

  // Call after the enqueuing transaction committed: the dispatcher starts the
  // new tasks now instead of at its next poll.
  void Notify() const;

  // The dispatcher registers how to wake it. Null clears it.
  void SetWakeup(absl::AnyInvocable<void()> wakeup);

  const ConnectorRegistry& registry() const { return *registry_; }

 private:
  const ConnectorRegistry* const registry_;
  const PayloadSealer* const sealer_;
  mutable absl::Mutex mu_;
  mutable absl::AnyInvocable<void()> wakeup_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_OUTBOX_H_
