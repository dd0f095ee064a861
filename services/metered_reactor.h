// Request metrics without a gRPC interceptor.
//
// Every dsar call is counted in ops::RequestMetrics by method, status code
// and latency (dsar_grpc_server_handled_total / _handling_seconds). A gRPC
// server interceptor did this until it was measured: gRPC 1.51 runs every
// call's operation batches through its interception machinery once any
// interceptor is installed, about 10 µs of CPU per call (~10 % of a
// CheckConsent; docs/benchmarks-history.md). Instead each handler answers through a
// MeteredReactor (unary) or records through its CallMeter (streams).
//
// Calls that reach no dsar handler (unknown methods, grpc.health,
// reflection) are not counted.
#ifndef DSAR_SERVICES_METERED_REACTOR_H_
#define DSAR_SERVICES_METERED_REACTOR_H_

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <chrono>

#include "absl/strings/string_view.h"

namespace dsar {
namespace ops {
class RequestMetrics;
}

// One call's entry in the metrics: created when the handler starts, recorded
// once with the call's final code. Default-constructed: records nothing.
class CallMeter {
 public:
  CallMeter() = default;
  CallMeter(ops::RequestMetrics* metrics, absl::string_view full_method);
  // Records `code` and the time since construction; later calls do nothing.
  void Record(grpc::StatusCode code);

 private:
  ops::RequestMetrics* metrics_ = nullptr;
  int method_index_ = 0;
  std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

// A unary call's reactor that records its call as it finishes (before the
// status is sent, so a client that has its answer also finds it counted).
// Handlers answer through MeteredReactor::Finish, never through a
// grpc::ServerUnaryReactor pointer (whose Finish records nothing); a call
// that never finished (client gone) counts as CANCELLED. Deletes itself when
// gRPC is done with it.
class MeteredReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit MeteredReactor(CallMeter meter) : meter_(meter) {}
  void Finish(grpc::Status status) {
    meter_.Record(status.error_code());
    grpc::ServerUnaryReactor::Finish(std::move(status));
  }
  void OnDone() override {
    meter_.Record(grpc::StatusCode::CANCELLED);  // no-op when finished
    delete this;
  }
  // gRPC runs OnDone/OnCancel of a reactor that is not "inlineable" through
  // its executor: a wake-up of an executor thread (futex, context switch) for
  // every call, ~30 % of all futex calls of a CheckConsent load. Its own
  // default reactor (what context->DefaultReactor() returns) is inlineable.
  // Both reactions here are trivial (a counter, a delete; OnCancel does
  // nothing), so they may run on whichever gRPC thread ends the call. The
  // hook is marked "not API" in grpcpp/support/server_callback.h (gRPC
  // 1.51): measured in docs/benchmarks-history.md; re-check on a gRPC upgrade.
  bool InternalInlineable() override { return true; }

 private:
  CallMeter meter_;
};

// The same for server-streaming calls: reactors derive from this instead of
// grpc::ServerWriteReactor, finish through Finish / StartWriteAndFinish (which
// record), and call RecordDone() from their OnDone() (CANCELLED when they
// never finished).
template <typename Response>
class MeteredWriteReactor : public grpc::ServerWriteReactor<Response> {
 public:
  explicit MeteredWriteReactor(CallMeter meter) : meter_(meter) {}

 protected:
  void Finish(grpc::Status status) {
    meter_.Record(status.error_code());
    grpc::ServerWriteReactor<Response>::Finish(std::move(status));
  }
  void StartWriteAndFinish(const Response* response, grpc::WriteOptions options,
                           grpc::Status status) {
    meter_.Record(status.error_code());
    grpc::ServerWriteReactor<Response>::StartWriteAndFinish(response, options, std::move(status));
  }
  void RecordDone() { meter_.Record(grpc::StatusCode::CANCELLED); }

 private:
  CallMeter meter_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_METERED_REACTOR_H_
