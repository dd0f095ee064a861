// DeadlineModule: the deadline engine of one dsard, built from its config.
//
// Owns the pieces and starts and stops them in order: Deadlines (the API
// other modules call inside their transactions), the Scheduler (fires alert
// levels), the AlertForwarder (log and webhook sinks) and the AlertFeed
// (WatchAlerts streams). dsard creates one after opening the store and stops
// it after the gRPC server and before closing the store.
//
// Thread-safe; Start/Stop are called by one owner.
#ifndef DSAR_LIB_DEADLINE_DEADLINE_MODULE_H_
#define DSAR_LIB_DEADLINE_DEADLINE_MODULE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/core/clock.h"
#include "lib/deadline/alert_feed.h"
#include "lib/deadline/alert_forwarder.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/scheduler.h"
#include "lib/delivery/outbound_url.h"
#include "lib/store/store.h"

namespace dsar::deadline {

class DeadlineModule {
 public:
  // Builds everything from a validated config (defaults filled in here).
  // Errors: INVALID_ARGUMENT (bad zone, durations, webhook), NOT_FOUND (a
  // webhook secret file cannot be read). `outbound` says which addresses
  // the webhooks may reach (DsardConfig.outbound).
  static absl::StatusOr<std::unique_ptr<DeadlineModule>> Create(
      const config::v1::DeadlineConfig& config, store::Store* store, Clock* clock,
      const delivery::OutboundPolicy& outbound);
  ~DeadlineModule();

  // Starts the scheduler and forwarder threads. The first scheduler run
  // catches up on everything that came due while dsard was down.
  void Start();
  // Stops the threads; idempotent.
  void Stop();

  Deadlines& deadlines() { return *deadlines_; }
  Scheduler& scheduler() { return *scheduler_; }
  AlertForwarder& forwarder() { return *forwarder_; }
  AlertFeed& feed() { return feed_; }

 private:
  DeadlineModule() = default;
  std::unique_ptr<Deadlines> deadlines_;
  AlertFeed feed_;
  std::unique_ptr<AlertForwarder> forwarder_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_DEADLINE_MODULE_H_
