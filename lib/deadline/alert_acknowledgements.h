// AlertAcknowledgements: the deadline module's entry point for acknowledging
// an alert by its resource name (dsar.v1.DeadlineService.AcknowledgeAlert):
// parses the name, runs AcknowledgeAlert (alerts.h) in a write of its own and
// hands the outcome over after the commit, so no caller's thread waits for
// the disk.
//
// Thread-safe: immutable after construction.
#ifndef DSAR_LIB_DEADLINE_ALERT_ACKNOWLEDGEMENTS_H_
#define DSAR_LIB_DEADLINE_ALERT_ACKNOWLEDGEMENTS_H_

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/deadline/alerts.h"
#include "lib/store/store.h"

namespace dsar::deadline {

class AlertAcknowledgements {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<Alert>)>;

  // Neither owned; both must outlive this object.
  AlertAcknowledgements(store::Store* store, Clock* clock) : store_(store), clock_(clock) {}

  // Acknowledges the alert named `alert_name` ("alerts/{alert_id}") for
  // ctx.principal: the first acknowledgement wins, idempotent on
  // ctx.idempotency_key, audited. `done` gets the alert, or INVALID_ARGUMENT
  // ("name", "request_id"), NOT_FOUND, or the write's error (e.g.
  // RESOURCE_EXHAUSTED when the writer's queue is full). It runs on the
  // store's completion thread after the commit, or on the caller's thread
  // for a bad name or a refused write.
  void Acknowledge(const CallContext& ctx, absl::string_view alert_name, Done done) const;

 private:
  store::Store* const store_;
  Clock* const clock_;
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_ALERT_ACKNOWLEDGEMENTS_H_
