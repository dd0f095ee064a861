// RequestMetrics: calls handled by the gRPC server, per method and status
// code, with a latency histogram each — cheap enough to record every call.
//
// The method table is fixed at construction (every method the server
// registers), so recording needs no lock and no allocation: one hash lookup
// of the method name (done once per call by the caller) and two relaxed
// atomic adds. Calls to methods outside the table are counted as method
// "unknown". Knows nothing of gRPC beyond canonical code numbers.
//
// Thread-safe.
#ifndef DSAR_LIB_OPS_REQUEST_METRICS_H_
#define DSAR_LIB_OPS_REQUEST_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/ops/prometheus_text.h"

namespace dsar::ops {

class RequestMetrics {
 public:
  static constexpr int kCodes = 17;  // canonical codes 0 (OK) .. 16
  static constexpr std::array<double, 14> kLatencyBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  // `methods` are full gRPC method names, "/package.Service/Method".
  explicit RequestMetrics(const std::vector<std::string>& methods);

  // Index to pass to Record: the method's, or the "unknown" slot's.
  int MethodIndex(absl::string_view full_method) const;
  // Records one finished call. `code` outside 0..16 counts as UNKNOWN (2).
  void Record(int method_index, int code, absl::Duration latency);

  // Appends dsar_grpc_server_handled_total and
  // dsar_grpc_server_handling_seconds (labels grpc_service, grpc_method,
  // grpc_code) for every (method, code) seen at least once.
  void WriteTo(PrometheusText& out) const;

  // Calls recorded for a method and code (for tests).
  uint64_t Count(absl::string_view full_method, int code) const;

 private:
  struct CodeStats {
    std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> buckets{};
    std::atomic<uint64_t> sum_micros{0};
  };
  struct MethodStats {
    std::string service;  // "dsar.v1.ConsentService"
    std::string method;   // "CheckConsent"
    std::array<CodeStats, kCodes> codes;
  };

  std::vector<std::unique_ptr<MethodStats>> methods_;  // last: "unknown"
  absl::flat_hash_map<std::string, int> index_;
};

}  // namespace dsar::ops

#endif  // DSAR_LIB_OPS_REQUEST_METRICS_H_
