// OpsModule: what operators need from a running dsard, built from its config.
//
// - Request metrics: calls and latencies per method and status code
//   (ops::RequestMetrics), recorded by the handlers' MeteredReactors.
// - The admin HTTP endpoint on its own (loopback) port: /metrics in
//   Prometheus text format (requests, writer groups and commit latency, calls
//   in flight, tasks and deadlines by state, alerts fired, backups) and
//   /healthz. Off when admin_listen_address is empty.
// - Online backups: ops::BackupManager (on request and on a schedule) and the
//   AdminService adapter.
//
// Dsard creates it before the gRPC server (its service is registered with
// it, and the call gate records into its metrics), calls Start() once the
// server listens and Stop() after
// the server stopped and before the store closes. Thread-safe.
#ifndef DSAR_SERVICES_OPS_MODULE_H_
#define DSAR_SERVICES_OPS_MODULE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dsar/config/v1/config.pb.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace dsar {

class AdminHttpServer;
class AdminServiceImpl;
class CallGate;
class Clock;
namespace consent {
class ConsentStateIndex;
}  // namespace consent
namespace ops {
class BackupManager;
class RequestMetrics;
}  // namespace ops
namespace store {
class Store;
}

class OpsModule {
 public:
  // None is owned; all must outlive the stack. INVALID_ARGUMENT for a bad
  // admin address (normally caught by config validation).
  static absl::StatusOr<std::unique_ptr<OpsModule>> Create(const config::v1::DsardConfig& config,
                                                           store::Store* store, CallGate* gate,
                                                           Clock* clock);
  ~OpsModule();

  grpc::Service* admin_service();

  // Starts backups and the admin endpoint. UNAVAILABLE when the admin
  // address cannot be bound.
  absl::Status Start();
  // Stops the admin endpoint and the backup thread. Idempotent.
  void Stop();

  // Bound admin port; 0 when the endpoint is off.
  int admin_port() const;
  // The /metrics text.
  std::string RenderMetrics();

  ops::RequestMetrics& request_metrics() { return *request_metrics_; }
  // CheckConsent's in-memory index, for its size and state in /metrics; set
  // once before Start(). May stay null (no tenants, or turned off).
  void set_consent_index(const consent::ConsentStateIndex* index) { consent_index_ = index; }
  ops::BackupManager& backups() { return *backups_; }

 private:
  OpsModule() = default;
  std::string admin_address_;
  store::Store* store_ = nullptr;
  CallGate* gate_ = nullptr;
  const consent::ConsentStateIndex* consent_index_ = nullptr;
  Clock* clock_ = nullptr;
  absl::Time start_time_;
  std::unique_ptr<ops::RequestMetrics> request_metrics_;
  std::unique_ptr<ops::BackupManager> backups_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<AdminHttpServer> admin_http_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_OPS_MODULE_H_
