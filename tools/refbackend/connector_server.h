// ConnectorServer: the reference backend's dsar.connector.v1.DataSourceConnector
// (gRPC callback API) over a Backend, with fault injection.
//
// Handlers never block gRPC's threads: each call's work is scheduled on a
// WorkQueue, delayed by the injected latency. Faults apply to data calls
// (Export, Erase, ApplyConsentChange, ListEndedRelationships); Describe only
// gets the latency, so a health probe tells "reachable but failing" from
// "down". Thread-safe.
#ifndef DSAR_TOOLS_REFBACKEND_CONNECTOR_SERVER_H_
#define DSAR_TOOLS_REFBACKEND_CONNECTOR_SERVER_H_

#include <atomic>
#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dsar/connector/v1/connector.grpc.pb.h"
#include "tools/refbackend/backend.h"
#include "tools/refbackend/work_queue.h"

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

// Decides, per call, whether to fail or crash. Thread-safe.
class FaultInjector {
 public:
  explicit FaultInjector(const FaultOptions& options) : options_(options), rng_(options.seed) {}
  absl::Duration latency() const { return options_.latency; }
  bool list_every_ended() const { return options_.list_every_ended; }
  // For a data call: may never return (crash), or return UNAVAILABLE.
  absl::Status BeforeDataCall();
  int64_t data_calls() const { return calls_.load(); }

 private:
  const FaultOptions options_;
  std::atomic<int64_t> calls_{0};
  absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

class ConnectorServer final : public connector::v1::DataSourceConnector::CallbackService {
 public:
  // Pointers are not owned and must outlive the server.
  ConnectorServer(Backend* backend, WorkQueue* queue, FaultInjector* faults)
      : backend_(backend), queue_(queue), faults_(faults) {}

  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* ctx,
                                     const connector::v1::DescribeRequest* request,
                                     connector::v1::DescribeResponse* response) override;
  grpc::ServerWriteReactor<connector::v1::ExportSubjectDataResponse>* ExportSubjectData(
      grpc::CallbackServerContext* ctx,
      const connector::v1::ExportSubjectDataRequest* request) override;
  grpc::ServerUnaryReactor* EraseSubjectData(
      grpc::CallbackServerContext* ctx, const connector::v1::EraseSubjectDataRequest* request,
      connector::v1::EraseSubjectDataResponse* response) override;
  grpc::ServerUnaryReactor* ApplyConsentChange(
      grpc::CallbackServerContext* ctx, const connector::v1::ApplyConsentChangeRequest* request,
      connector::v1::ApplyConsentChangeResponse* response) override;
  grpc::ServerUnaryReactor* ListEndedRelationships(
      grpc::CallbackServerContext* ctx, const connector::v1::ListEndedRelationshipsRequest* request,
      connector::v1::ListEndedRelationshipsResponse* response) override;

 private:
  Backend* const backend_;
  WorkQueue* const queue_;
  FaultInjector* const faults_;
};

}  // namespace dsar::refbackend

#endif  // DSAR_TOOLS_REFBACKEND_CONNECTOR_SERVER_H_
