// PrivacyRequestsModule: the data-subject requests module of one dsard, built from its
// config: the API (PrivacyRequests), the connector hooks (TaskHooks), the
// export sinks (ExportSinks) and the worker, over one shared RequestEnv.
//
// Wiring order: Create() before the connector stack (whose dispatcher takes
// hooks() and sinks()), AttachOutbox() once the stack exists, Start() before
// serving; Stop() after the connector stack stopped (no more hook calls) and
// before the store closes.
//
// Thread-safe after Start().
#ifndef DSAR_LIB_PRIVACY_REQUESTS_PRIVACY_REQUESTS_MODULE_H_
#define DSAR_LIB_PRIVACY_REQUESTS_PRIVACY_REQUESTS_MODULE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/export_sinks.h"
#include "lib/privacy_requests/privacy_requests.h"
#include "lib/privacy_requests/request_env.h"
#include "lib/privacy_requests/request_worker.h"
#include "lib/privacy_requests/retention.h"
#include "lib/privacy_requests/task_hooks.h"

namespace dsar::privacy_requests {

struct ModuleDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  const deadline::Deadlines* deadlines = nullptr;
  const consent::SubjectKeyer* keyer = nullptr;
  const consent::PurposeCatalog* catalog = nullptr;     // may be null
  consent::ConsentStateIndex* consent_index = nullptr;  // may be null
  // Shared with the connector module (built once by the composition root).
  const connector::ConnectorRegistry* registry = nullptr;
  const connector::PayloadSealer* sealer = nullptr;
};

class PrivacyRequestsModule {
 public:
  // Reads config.requests and the key files. INVALID_ARGUMENT for a bad
  // option; FAILED_PRECONDITION when a key file cannot be read.
  static absl::StatusOr<std::unique_ptr<PrivacyRequestsModule>> Create(
      const config::v1::DsardConfig& config, ModuleDeps deps);
  ~PrivacyRequestsModule();

  // The outbox to fan work out to; null (no connectors) leaves requests
  // without systems to ask. Before Start().
  void AttachOutbox(connector::Outbox* outbox) { env_.outbox.store(outbox); }
  void Start() {
    worker_->Start();
    if (retention_) retention_->Start();
  }
  void Stop() {
    if (retention_) retention_->Stop();
    worker_->Stop();
  }

  PrivacyRequests& requests() { return *requests_; }
  TaskHooks& hooks() { return *hooks_; }
  ExportSinks& sinks() { return *sinks_; }
  RequestWorker& worker() { return *worker_; }
  // Null unless requests.retention_scan_interval_seconds is set.
  RetentionJob* retention() { return retention_.get(); }
  const RequestOptions& options() const { return env_.options; }

 private:
  PrivacyRequestsModule() = default;
  std::unique_ptr<KeyWrapper> key_wrapper_;
  RequestEnv env_;
  std::unique_ptr<PrivacyRequests> requests_;
  std::unique_ptr<TaskHooks> hooks_;
  std::unique_ptr<ExportSinks> sinks_;
  std::unique_ptr<RequestWorker> worker_;
  std::vector<std::unique_ptr<connector::ConnectorClient>> retention_clients_;
  std::unique_ptr<RetentionJob> retention_;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_PRIVACY_REQUESTS_MODULE_H_
