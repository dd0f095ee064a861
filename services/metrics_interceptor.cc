#include "services/metrics_interceptor.h"

#include <chrono>

namespace dsar {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(ops::RequestMetrics* metrics, int method_index)
      : metrics_(metrics), method_index_(method_index), start_(std::chrono::steady_clock::now()) {}

  ~MetricsInterceptor() override {
    if (!recorded_) Record(static_cast<int>(grpc::StatusCode::CANCELLED));
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // Only this hook point touches recorded_ (before the destructor).
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !recorded_) {
      Record(static_cast<int>(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  void Record(int code) {
    recorded_ = true;
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    metrics_->Record(method_index_, code, absl::FromChrono(elapsed));
  }

  ops::RequestMetrics* const metrics_;
  const int method_index_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

}  // namespace

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MetricsInterceptor(metrics_, metrics_->MethodIndex(info->method()));
}

}  // namespace dsar
