// DeadlineServiceImpl: the gRPC adapter for dsar.v1.DeadlineService.
//
// Each handler admits the call (CallGate: principal, role, tenant), converts
// the request, calls one lib/deadline entry point (DeadlineQueries,
// AlertAcknowledgements) and maps the result or status. AcknowledgeAlert
// finishes from the write's completion, so no gRPC thread waits for a
// commit. WatchAlerts is a server-streaming reactor that first replays stored
// alerts after the client's sequence number and then follows the AlertFeed.
// No SQL, transactions, names or rules here.
#ifndef DSAR_SERVICES_DEADLINE_SERVICE_H_
#define DSAR_SERVICES_DEADLINE_SERVICE_H_

#include "dsar/v1/deadline.grpc.pb.h"

namespace dsar {

class CallGate;
namespace deadline {
class AlertAcknowledgements;
class AlertFeed;
class DeadlineQueries;
}  // namespace deadline

class DeadlineServiceImpl final : public dsar::v1::DeadlineService::CallbackService {
 public:
  // None owned; all must outlive the service (and the gRPC server).
  DeadlineServiceImpl(CallGate* gate, const deadline::DeadlineQueries* queries,
                      const deadline::AlertAcknowledgements* acknowledgements,
                      deadline::AlertFeed* feed)
      : gate_(gate), queries_(queries), acknowledgements_(acknowledgements), feed_(feed) {}

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
  CallGate* const gate_;
  const deadline::DeadlineQueries* const queries_;
  const deadline::AlertAcknowledgements* const acknowledgements_;
  deadline::AlertFeed* const feed_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_DEADLINE_SERVICE_H_
