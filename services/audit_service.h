// AuditServiceImpl: the gRPC adapter for dsar.v1.AuditService over lib/audit.
#ifndef DSAR_SERVICES_AUDIT_SERVICE_H_
#define DSAR_SERVICES_AUDIT_SERVICE_H_

#include "dsar/v1/audit.grpc.pb.h"

namespace dsar {

class CallGate;
namespace store {
class Store;
}

class AuditServiceImpl final : public dsar::v1::AuditService::CallbackService {
 public:
  AuditServiceImpl(CallGate* gate, store::Store* store) : gate_(gate), store_(store) {}

  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* context,
                                            const v1::ListAuditEventsRequest* request,
                                            v1::ListAuditEventsResponse* response) override;
  grpc::ServerUnaryReactor* VerifyAuditLog(grpc::CallbackServerContext* context,
                                           const v1::VerifyAuditLogRequest* request,
                                           v1::VerifyAuditLogResponse* response) override;

 private:
  CallGate* gate_;
  store::Store* store_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_AUDIT_SERVICE_H_
