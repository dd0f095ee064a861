#include "services/metered_reactor.h"

#include "absl/time/time.h"
#include "lib/ops/request_metrics.h"

namespace dsar {

CallMeter::CallMeter(ops::RequestMetrics* metrics, absl::string_view full_method)
    : metrics_(metrics),
      method_index_(metrics != nullptr ? metrics->MethodIndex(full_method) : 0),
      start_(std::chrono::steady_clock::now()) {}

void CallMeter::Record(grpc::StatusCode code) {
  // Finish and OnDone may run on different threads, OnDone always after
  // Finish has returned: the flag needs no atomic.
  if (metrics_ == nullptr || recorded_) return;
  recorded_ = true;
  metrics_->Record(method_index_, static_cast<int>(code),
                   absl::FromChrono(std::chrono::steady_clock::now() - start_));
}

}  // namespace dsar
