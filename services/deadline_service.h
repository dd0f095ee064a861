// DeadlineServiceImpl: the gRPC adapter for dsar.v1.DeadlineService.
//
// Each handler admits the call (CallGate: principal, role, tenant), converts
// the request, calls lib/deadline and maps the result or status. Reads run on
// the store's read pool; AcknowledgeAlert finishes from the write's
// completion, so no gRPC thread waits for a commit. WatchAlerts is a
// server-streaming reactor that first replays stored alerts after the client's
// sequence number and then follows the AlertFeed. No rules here.
#ifndef DSAR_SERVICES_DEADLINE_SERVICE_H_
#define DSAR_SERVICES_DEADLINE_SERVICE_H_

#include <string>
#include <vector>

#include "dsar/v1/deadline.grpc.pb.h"

namespace dsar {

class CallGate;
class Clock;
namespace store {
class Store;
}
namespace deadline {
class DeadlineModule;
}

class DeadlineServiceImpl final : public dsar::v1::DeadlineService::CallbackService {
 public:
  // None owned; all must outlive the service (and the gRPC server).
  // `tenants`: the configured tenant ids (an all-tenants SLA report).
  DeadlineServiceImpl(CallGate* gate, store::Store* store, Clock* clock,
                      deadline::DeadlineModule* engine, std::vector<std::string> tenants = {})
      : gate_(gate), store_(store), clock_(clock), engine_(engine), tenants_(std::move(tenants)) {}

  grpc::ServerUnaryReactor* ListDeadlines(grpc::CallbackServerContext* context,
                                          const v1::ListDeadlinesRequest* request,
                                          v1::ListDeadlinesResponse* response) override;
  grpc::ServerUnaryReactor* GetSlaReport(grpc::CallbackServerContext* context,
                                         const v1::GetSlaReportRequest* request,
                                         v1::GetSlaReportResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchAlertsResponse>* WatchAlerts(
      grpc::CallbackServerContext* context, const v1::WatchAlertsRequest* request) override;
  grpc::ServerUnaryReactor* AcknowledgeAlert(grpc::CallbackServerContext* context,
                                             const v1::AcknowledgeAlertRequest* request,
                                             v1::AcknowledgeAlertResponse* response) override;

 private:
  CallGate* gate_;
  store::Store* store_;
  Clock* clock_;
  deadline::DeadlineModule* engine_;
  const std::vector<std::string> tenants_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_DEADLINE_SERVICE_H_
