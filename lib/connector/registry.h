// ConnectorRegistry: the data systems dsard reaches, from its config.
//
// Each entry holds the endpoint, the retry/breaker tuning, and the Art. 30
// register facts (purposes, data categories, country, processor and
// sub-processors), so the registry is also the register of processing that
// ConnectorService.ListConnectors shows. Fan-out asks it which connectors a
// task of some kind for some tenant (and purpose) must reach. Immutable after
// construction; thread-safe.
#ifndef DSAR_LIB_CONNECTOR_REGISTRY_H_
#define DSAR_LIB_CONNECTOR_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/connector/connector_client.h"
#include "lib/connector/grpc_connector_client.h"
#include "lib/connector/task.h"
#include "lib/delivery/circuit_breaker.h"
#include "lib/delivery/retry_policy.h"

namespace dsar::connector {

struct ConnectorInfo {
  std::string name;
  std::string tenant;  // empty: serves every tenant
  GrpcEndpoint endpoint;
  absl::Duration call_timeout = absl::Seconds(5);
  absl::Duration export_timeout = absl::Minutes(5);
  int max_concurrency = 4;
  // Full jitter; max_attempts (8 by default) is the attempt budget before a
  // task is dead-lettered.
  delivery::RetryPolicy backoff{absl::Milliseconds(200), absl::Seconds(60),
                                delivery::RetryPolicy::Jitter::kFull, 8};
  delivery::CircuitBreaker::Options breaker;
  std::vector<TaskKind> kinds;  // task kinds accepted

  // Art. 30 register.
  std::string display_name;
  std::vector<std::string> purposes;
  std::vector<std::string> categories;
  std::string country;
  std::string processor;
  std::vector<SubProcessor> sub_processors;

  bool Serves(absl::string_view tenant_id) const { return tenant.empty() || tenant == tenant_id; }
  bool Accepts(TaskKind kind) const;
  bool DeclaresPurpose(absl::string_view purpose) const;
};

class ConnectorRegistry {
 public:
  // From a validated config (defaults applied).
  static ConnectorRegistry FromConfig(const config::v1::DsardConfig& config);
  explicit ConnectorRegistry(std::vector<ConnectorInfo> connectors)
      : connectors_(std::move(connectors)) {}

  const std::vector<ConnectorInfo>& connectors() const { return connectors_; }
  // Null when no connector has that name.
  const ConnectorInfo* Find(absl::string_view name) const;
  // Connectors a task of `kind` for `tenant` goes to; for consent.apply only
  // those declaring `purpose`.
  std::vector<const ConnectorInfo*> Targets(absl::string_view tenant, TaskKind kind,
                                            absl::string_view purpose) const;

 private:
  std::vector<ConnectorInfo> connectors_;
};

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_REGISTRY_H_
