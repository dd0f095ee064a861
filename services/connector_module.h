// ConnectorModule: dsard's connector machinery, built from the config.
//
// Uses the registry (also the Art. 30 register) and the payload sealer that
// the composition root (services/dsard.cc) builds once; owns the outbox other
// modules enqueue into, one gRPC client per connector, the
// dispatcher that runs the tasks, and the ConnectorService adapter. Dsard
// creates it when connectors are configured and stops it after the server
// (no more RetryTask calls) and before the store closes. Thread-safe.
#ifndef DSAR_SERVICES_CONNECTOR_MODULE_H_
#define DSAR_SERVICES_CONNECTOR_MODULE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/connector/connector_admin.h"
#include "lib/connector/dispatcher.h"
#include "lib/connector/outbox.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/delivery/retry_policy.h"
#include "services/connector_service.h"

namespace dsar {

// What other modules plug into the dispatcher; each may be null.
struct ConnectorHooks {
  connector::DeadLetterHook* dead_letters = nullptr;  // e.g. the deadline engine's alerts
  connector::TaskResultHook* results = nullptr;
  connector::ExportSinkFactory* exports = nullptr;
};

class ConnectorModule {
 public:
  // Builds everything and starts the dispatcher. FAILED_PRECONDITION when a
  // connector's TLS/token file cannot be read. `registry` and `sealer` must
  // outlive the module.
  static absl::StatusOr<std::unique_ptr<ConnectorModule>> Start(
      const config::v1::DsardConfig& config, store::Store* store, Clock* clock,
      const connector::ConnectorRegistry* registry, const connector::PayloadSealer* sealer,
      ConnectorAdmitFn admit, ConnectorStartFn start, ConnectorHooks hooks = ConnectorHooks());
  ~ConnectorModule();

  // Stops the dispatcher (calls in flight get `grace`). Idempotent.
  void Stop(absl::Duration grace);

  connector::Outbox& outbox() { return *outbox_; }
  connector::Dispatcher& dispatcher() { return *dispatcher_; }
  grpc::Service* service() { return service_.get(); }

 private:
  ConnectorModule() = default;
  std::unique_ptr<connector::Outbox> outbox_;
  std::vector<std::unique_ptr<connector::ConnectorClient>> clients_;
  std::unique_ptr<delivery::DefaultRandomSource> random_;
  std::unique_ptr<connector::Dispatcher> dispatcher_;
  std::unique_ptr<connector::ConnectorAdmin> admin_;
  std::unique_ptr<ConnectorServiceImpl> service_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_CONNECTOR_MODULE_H_
