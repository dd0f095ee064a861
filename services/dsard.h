// Dsard: the daemon's wiring, apart from process concerns.
//
// Opens the store, builds every service and the gRPC server from a validated
// config, and shuts them down in the right order. main() adds flags, logging
// and signals; integration tests start a Dsard in-process on port 0.
#ifndef DSAR_SERVICES_DSARD_H_
#define DSAR_SERVICES_DSARD_H_

#include <memory>

#include "absl/status/statusor.h"
#include "dsar/config/v1/config.pb.h"

namespace dsar {

class AuditServiceImpl;
class OpsModule;
class BreachServiceImpl;
class PrivacyRequestServiceImpl;
class CallGate;
class Clock;
class ConnectorModule;
class ConsentServiceImpl;
class DeadlineServiceImpl;
class GrpcServer;
namespace consent {
class ConsentLedger;
class ConsentStateIndex;
class PurposeCatalog;
class SubjectKeyer;
}  // namespace consent
namespace deadline {
class AlertAcknowledgements;
class DeadlineModule;
class DeadlineQueries;
}  // namespace deadline
namespace connector {
class ConnectorRegistry;
class PayloadSealer;
}  // namespace connector
namespace privacy_requests {
class PrivacyRequestsModule;
}
namespace audit {
class AuditAnchor;
class ChainVerifier;
class RefusalRecorder;
}  // namespace audit
namespace breach {
class BreachRegister;
}
namespace workflow {
class ConsentPropagation;
class DeadLetterDeadlines;
class TaskOutcomeRouter;
}  // namespace workflow
namespace store {
class IdempotencyKeySweeper;
class Store;
}  // namespace store

class Dsard {
 public:
  // `clock` must outlive the daemon; null means the system clock.
  static absl::StatusOr<std::unique_ptr<Dsard>> Start(const config::v1::DsardConfig& config,
                                                      Clock* clock = nullptr);
  ~Dsard();

  int port() const;
  store::Store& store() { return *store_; }
  CallGate& call_gate() { return *call_gate_; }
  // Refused calls, counted for the audit log (Flush() writes them now).
  audit::RefusalRecorder& refusals() { return *refusals_; }
  // Deadlines, scheduler, alert sinks; always present.
  deadline::DeadlineModule* deadline_module() { return deadline_module_.get(); }
  // Null when no connectors are configured.
  ConnectorModule* connectors() { return connectors_.get(); }
  // Data-subject requests; null when no tenants are configured.
  privacy_requests::PrivacyRequestsModule* privacy_requests() { return privacy_requests_.get(); }
  // Metrics, admin endpoint, backups; always present.
  OpsModule* ops() { return ops_.get(); }

  // Applies what can change without a restart from a validated `fresh`
  // config (SIGHUP): the principals at once (new tokens and certificate
  // identities admitted, removed ones refused; calls in flight and open
  // connections untouched). TLS files are checked to be readable; the server
  // takes the new certificate through its file watcher (gRPC 1.51 cannot be
  // handed key material directly) within tls.refresh_interval_seconds.
  // Other changed fields need a restart and are logged as such.
  // FAILED_PRECONDITION (and nothing applied) when a TLS file cannot be read.
  absl::Status Reload(const config::v1::DsardConfig& fresh);

  // Stops accepting calls, lets in-flight calls finish within the configured
  // grace (then cancels them), flushes the writer and closes the database.
  // Idempotent.
  void Shutdown();

 private:
  Dsard() = default;
  config::v1::DsardConfig config_;
  std::unique_ptr<store::Store> store_;
  // CheckConsent's current consent states (from consent_events); null without tenants or
  // when consent_index_max_entries is -1. Changed by the store's writer.
  std::unique_ptr<consent::ConsentStateIndex> consent_index_;
  // Counts refused calls into coalesced audit rows; the gate records into it.
  std::unique_ptr<audit::RefusalRecorder> refusals_;
  std::unique_ptr<CallGate> call_gate_;
  // VerifyAuditLog's thread: incremental passes from the verified head.
  std::unique_ptr<audit::ChainVerifier> chain_verifier_;
  std::unique_ptr<AuditServiceImpl> audit_service_;
  std::unique_ptr<audit::AuditAnchor> audit_anchor_;
  std::unique_ptr<store::IdempotencyKeySweeper> idempotency_sweeper_;
  // Routes connector task outcomes to the module whose job a task serves.
  std::unique_ptr<workflow::TaskOutcomeRouter> task_router_;
  // A dead-lettered task opens a deadline; consent changes go to the systems.
  std::unique_ptr<workflow::DeadLetterDeadlines> dead_letter_deadlines_;
  std::unique_ptr<workflow::ConsentPropagation> consent_propagation_;
  // Shared objects, each built once here and lent to the modules: subject
  // keys and purposes (consent, privacy requests; absent without tenants), the
  // connector register and the sealer of identifiers at rest (connectors,
  // privacy requests).
  std::unique_ptr<consent::SubjectKeyer> subject_keyer_;
  std::unique_ptr<consent::PurposeCatalog> purpose_catalog_;
  std::unique_ptr<connector::ConnectorRegistry> connector_registry_;
  std::unique_ptr<connector::PayloadSealer> payload_sealer_;
  // Data-subject requests: the connector module's dispatcher reports to them.
  std::unique_ptr<privacy_requests::PrivacyRequestsModule> privacy_requests_;
  std::unique_ptr<PrivacyRequestServiceImpl> privacy_request_service_;
  // Consent ledger and its service; absent when no tenants are configured.
  std::unique_ptr<consent::ConsentLedger> consent_ledger_;
  std::unique_ptr<ConsentServiceImpl> consent_service_;
  // Connector registry, outbox and dispatcher; absent without connectors.
  std::unique_ptr<ConnectorModule> connectors_;
  // Deadline engine and its service.
  std::unique_ptr<deadline::DeadlineModule> deadline_module_;
  std::unique_ptr<deadline::DeadlineQueries> deadline_queries_;
  std::unique_ptr<deadline::AlertAcknowledgements> alert_acknowledgements_;
  std::unique_ptr<DeadlineServiceImpl> deadline_service_;
  // Breach register (schedules deadlines through deadline_module_) and its service.
  std::unique_ptr<breach::BreachRegister> breach_register_;
  std::unique_ptr<BreachServiceImpl> breach_service_;
  // Request metrics (an interceptor of server_), admin endpoint, backups.
  std::unique_ptr<OpsModule> ops_;
  // Last: the server stops (and drains calls into the members above) first.
  std::unique_ptr<GrpcServer> server_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_DSARD_H_
