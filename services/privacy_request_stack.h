// PrivacyRequestStack: dsard's data-subject request machinery, built from the
// config: the requests module (lib/requests) with its own subject keyer and
// controller catalog (from the same config and key file as the consent
// ledger's), and the PrivacyRequestService adapter.
//
// Wiring (services/dsard.cc): Create() before the connector stack, whose
// dispatcher takes hooks() (through the TaskRouter, prefix
// "privacy_requests/") and sinks(); AttachOutbox() once the connector stack
// exists; Start() once the server serves; Stop() after the connector stack
// stopped and before the store closes. Thread-safe after Start().
#ifndef DSAR_SERVICES_PRIVACY_REQUEST_STACK_H_
#define DSAR_SERVICES_PRIVACY_REQUEST_STACK_H_

#include <memory>

#include "absl/status/statusor.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/consent/purpose_catalog.h"
#include "lib/consent/subject_keyer.h"
#include "lib/requests/module.h"
#include "services/privacy_request_service.h"

namespace dsar {

class CallGate;
namespace consent {
class ConsentStateIndex;
}  // namespace consent

class PrivacyRequestStack {
 public:
  // FAILED_PRECONDITION when a key file cannot be read; INVALID_ARGUMENT for
  // a bad requests option.
  static absl::StatusOr<std::unique_ptr<PrivacyRequestStack>> Create(
      const config::v1::DsardConfig& config, store::Store* store, Clock* clock,
      const deadline::Deadlines* deadlines, CallGate* gate,
      consent::ConsentStateIndex* consent_index = nullptr);
  ~PrivacyRequestStack();

  void AttachOutbox(connector::Outbox* outbox) { module_->AttachOutbox(outbox); }
  void Start() { module_->Start(); }
  // Stops the worker; idempotent.
  void Stop() { module_->Stop(); }

  requests::TaskHooks& hooks() { return module_->hooks(); }
  requests::ExportSinks& sinks() { return module_->sinks(); }
  requests::RequestModule& module() { return *module_; }
  grpc::Service* service() { return service_.get(); }

 private:
  PrivacyRequestStack() = default;
  std::unique_ptr<consent::SubjectKeyer> keyer_;
  std::unique_ptr<consent::PurposeCatalog> catalog_;
  std::unique_ptr<requests::RequestModule> module_;
  std::unique_ptr<PrivacyRequestServiceImpl> service_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_PRIVACY_REQUEST_STACK_H_
