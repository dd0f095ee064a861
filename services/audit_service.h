// AuditServiceImpl: the gRPC adapter for dsar.v1.AuditService over lib/audit.
#ifndef DSAR_SERVICES_AUDIT_SERVICE_H_
#define DSAR_SERVICES_AUDIT_SERVICE_H_

#include "dsar/v1/audit.grpc.pb.h"

namespace dsar {

class CallGate;
namespace store {
class Store;
}
namespace audit {
class ChainVerifier;
}

class AuditServiceImpl final : public dsar::v1::AuditService::CallbackService {
 public:
  // `verifier` runs VerifyAuditLog's work; all three must outlive the service.
  AuditServiceImpl(CallGate* gate, store::Store* store, audit::ChainVerifier* verifier)
      : gate_(gate), store_(store), verifier_(verifier) {}

  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* context,
                                            const v1::ListAuditEventsRequest* request,
                                            v1::ListAuditEventsResponse* response) override;
  grpc::ServerUnaryReactor* VerifyAuditLog(grpc::CallbackServerContext* context,
                                           const v1::VerifyAuditLogRequest* request,
                                           v1::VerifyAuditLogResponse* response) override;

 private:
  CallGate* gate_;
  store::Store* store_;
  audit::ChainVerifier* verifier_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_AUDIT_SERVICE_H_
