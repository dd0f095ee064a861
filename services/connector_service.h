// ConnectorServiceImpl: the gRPC adapter for dsar.v1.ConnectorService.
//
// Each handler admits the call, converts the request, calls ConnectorAdmin and
// finishes the reactor (RetryTask from the store's completion callback, so no
// gRPC thread waits on a commit). No rules here.
//
// Admission is injected as a function so this adapter does not depend on the
// shape of the authentication layer; dsard wires it to CallGate. (A seam to
// swap for services/call_context.h once that lands.)
#ifndef DSAR_SERVICES_CONNECTOR_SERVICE_H_
#define DSAR_SERVICES_CONNECTOR_SERVICE_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "dsar/v1/connector_admin.grpc.pb.h"
#include "lib/core/call_context.h"
#include "services/metered_reactor.h"

namespace dsar {

namespace connector {
class ConnectorAdmin;
}

// An admitted call: its context, and whatever must stay alive until the call
// is answered (e.g. a concurrency slot).
struct ConnectorCall {
  CallContext ctx;
  std::shared_ptr<void> hold;
};

// Authenticates and authorises `method`; the refusal status otherwise.
using ConnectorAdmitFn = std::function<absl::StatusOr<ConnectorCall>(
    grpc::CallbackServerContext* context, absl::string_view method, absl::string_view request_id)>;
// The reactor a unary handler answers through (CallGate::StartCall).
using ConnectorStartFn = std::function<MeteredReactor*(absl::string_view method)>;

class ConnectorServiceImpl final : public dsar::v1::ConnectorService::CallbackService {
 public:
  // `admin` must outlive the service.
  ConnectorServiceImpl(ConnectorAdmitFn admit, ConnectorStartFn start,
                       connector::ConnectorAdmin* admin)
      : admit_(std::move(admit)), start_(std::move(start)), admin_(admin) {}

  grpc::ServerUnaryReactor* ListConnectors(grpc::CallbackServerContext* context,
                                           const v1::ListConnectorsRequest* request,
                                           v1::ListConnectorsResponse* response) override;
  grpc::ServerUnaryReactor* GetConnectorHealth(grpc::CallbackServerContext* context,
                                               const v1::GetConnectorHealthRequest* request,
                                               v1::GetConnectorHealthResponse* response) override;
  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* context,
                                      const v1::ListTasksRequest* request,
                                      v1::ListTasksResponse* response) override;
  grpc::ServerUnaryReactor* RetryTask(grpc::CallbackServerContext* context,
                                      const v1::RetryTaskRequest* request,
                                      v1::RetryTaskResponse* response) override;

 private:
  ConnectorAdmitFn admit_;
  ConnectorStartFn start_;
  connector::ConnectorAdmin* admin_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_CONNECTOR_SERVICE_H_
