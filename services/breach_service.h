// BreachServiceImpl: the gRPC adapter for dsar.v1.BreachService.
//
// Each handler admits the call (CallGate), converts the request to the
// register's input, calls BreachRegister and finishes the reactor from its
// callback, so no gRPC thread waits on a commit. No rules here: scoping,
// validation and clocks live in lib/breach.
#ifndef DSAR_SERVICES_BREACH_SERVICE_H_
#define DSAR_SERVICES_BREACH_SERVICE_H_

#include "dsar/v1/breach.grpc.pb.h"

namespace dsar {

class CallGate;
namespace breach {
class BreachRegister;
}

class BreachServiceImpl final : public dsar::v1::BreachService::CallbackService {
 public:
  // Pointers are not owned and must outlive the service.
  BreachServiceImpl(CallGate* gate, breach::BreachRegister* breaches)
      : gate_(gate), register_(breaches) {}

  grpc::ServerUnaryReactor* ReportBreach(grpc::CallbackServerContext* context,
                                         const v1::ReportBreachRequest* request,
                                         v1::ReportBreachResponse* response) override;
  grpc::ServerUnaryReactor* UpdateBreach(grpc::CallbackServerContext* context,
                                         const v1::UpdateBreachRequest* request,
                                         v1::UpdateBreachResponse* response) override;
  grpc::ServerUnaryReactor* RecordNotification(grpc::CallbackServerContext* context,
                                               const v1::RecordNotificationRequest* request,
                                               v1::RecordNotificationResponse* response) override;
  grpc::ServerUnaryReactor* GetBreach(grpc::CallbackServerContext* context,
                                      const v1::GetBreachRequest* request,
                                      v1::GetBreachResponse* response) override;
  grpc::ServerUnaryReactor* ListBreaches(grpc::CallbackServerContext* context,
                                         const v1::ListBreachesRequest* request,
                                         v1::ListBreachesResponse* response) override;
  grpc::ServerUnaryReactor* CloseBreach(grpc::CallbackServerContext* context,
                                        const v1::CloseBreachRequest* request,
                                        v1::CloseBreachResponse* response) override;
  grpc::ServerUnaryReactor* ExportBreachReport(grpc::CallbackServerContext* context,
                                               const v1::ExportBreachReportRequest* request,
                                               v1::ExportBreachReportResponse* response) override;

 private:
  CallGate* gate_;
  breach::BreachRegister* register_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_BREACH_SERVICE_H_
