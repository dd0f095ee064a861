// ConsentServiceImpl: the gRPC adapter for dsar.v1.ConsentService.
//
// Each handler admits the call (CallGate), converts the request to the
// ledger's input, calls ConsentLedger and finishes the reactor from the
// ledger's callback, so no gRPC thread waits on a commit. No rules here.
#ifndef DSAR_SERVICES_CONSENT_SERVICE_H_
#define DSAR_SERVICES_CONSENT_SERVICE_H_

#include "dsar/v1/consent.grpc.pb.h"

namespace dsar {

class CallGate;
namespace consent {
class ConsentLedger;
class PurposeCatalog;
}  // namespace consent

class ConsentServiceImpl final : public dsar::v1::ConsentService::CallbackService {
 public:
  ConsentServiceImpl(CallGate* gate, consent::ConsentLedger* ledger,
                     const consent::PurposeCatalog* catalog)
      : gate_(gate), ledger_(ledger), catalog_(catalog) {}

  grpc::ServerUnaryReactor* RecordConsent(grpc::CallbackServerContext* context,
                                          const v1::RecordConsentRequest* request,
                                          v1::RecordConsentResponse* response) override;
  grpc::ServerUnaryReactor* WithdrawConsent(grpc::CallbackServerContext* context,
                                            const v1::WithdrawConsentRequest* request,
                                            v1::WithdrawConsentResponse* response) override;
  grpc::ServerUnaryReactor* CheckConsent(grpc::CallbackServerContext* context,
                                         const v1::CheckConsentRequest* request,
                                         v1::CheckConsentResponse* response) override;
  grpc::ServerUnaryReactor* ListConsentEvents(grpc::CallbackServerContext* context,
                                              const v1::ListConsentEventsRequest* request,
                                              v1::ListConsentEventsResponse* response) override;
  grpc::ServerUnaryReactor* GetConsentReceipt(grpc::CallbackServerContext* context,
                                              const v1::GetConsentReceiptRequest* request,
                                              v1::GetConsentReceiptResponse* response) override;

 private:
  CallGate* gate_;
  consent::ConsentLedger* ledger_;
  const consent::PurposeCatalog* catalog_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_CONSENT_SERVICE_H_
