// MetricsInterceptorFactory: a gRPC server interceptor that records every
// call's method, status code and latency in ops::RequestMetrics.
//
// Per call it allocates one small interceptor (gRPC's interceptor API does),
// looks the method up once, and on PRE_SEND_STATUS records with relaxed
// atomic adds: no locks on the hot path. A call that ends without sending a
// status (cancelled by the client) is recorded as CANCELLED.
//
// Thread-safe; `metrics` must outlive the server.
#ifndef DSAR_SERVICES_METRICS_INTERCEPTOR_H_
#define DSAR_SERVICES_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "lib/ops/request_metrics.h"

namespace dsar {

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(ops::RequestMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  ops::RequestMetrics* metrics_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_METRICS_INTERCEPTOR_H_
