// FaultInjector: the reference backend's fault injection (latency, error
// rate, crash after N data calls), as the CallPolicy of the shared connector
// server, so dsard's retries, breaker and dead letters can be tested against
// a real gRPC server. Thread-safe.
#ifndef DSAR_TOOLS_REFBACKEND_FAULT_INJECTOR_H_
#define DSAR_TOOLS_REFBACKEND_FAULT_INJECTOR_H_

#include <atomic>
#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/connector_kit/data_source.h"

namespace dsar::refbackend {

struct FaultOptions {
  absl::Duration latency = absl::ZeroDuration();  // added to every call
  double error_rate = 0;                          // probability a data call fails with UNAVAILABLE
  int64_t crash_after = 0;                        // > 0: _exit(3) when data call number N+1 arrives
  uint64_t seed = 1;                              // for the error draws
  // ListEndedRelationships ignores end_time_before and lists every ended
  // relationship, recent ones too (a faulty connector, for dsard's own check).
  bool list_every_ended = false;
};

class FaultInjector final : public connector_kit::CallPolicy {
 public:
  explicit FaultInjector(const FaultOptions& options) : options_(options), rng_(options.seed) {}
  absl::Duration latency() const override { return options_.latency; }
  bool list_every_ended() const { return options_.list_every_ended; }
  // For a data call: may never return (crash), or return UNAVAILABLE.
  absl::Status BeforeDataCall() override;
  int64_t data_calls() const { return calls_.load(); }

 private:
  const FaultOptions options_;
  std::atomic<int64_t> calls_{0};
  absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dsar::refbackend

#endif  // DSAR_TOOLS_REFBACKEND_FAULT_INJECTOR_H_
