// A load generator for gRPC benchmarks: C connections (separate channels, no
// shared subchannel, so C real HTTP/2 connections) × S outstanding calls each.
//
// Closed loop (default): every slot starts its next call as soon as the
// previous one completes, so the figure is the peak rate the server sustains
// with C×S calls in flight. Paced (`target_qps` > 0): calls are started on a
// fixed schedule, at most C×S in flight, and latency is measured from each
// call's scheduled start (so queueing behind a slow server is counted, not
// hidden) — use it for "latency at half of peak rate".
//
// Calls are made by a caller-supplied CallFn, normally a callback-API unary
// call (see StartUnaryCall). Only calls completing inside the measured window
// (after the warm-up) count; a call whose status is not OK counts as an error
// by code, never as a success, and only successes enter the latency
// percentiles. Each run is bounded by `duration` and optionally by
// `max_requests`.
//
// RunLoad blocks the calling thread; it is safe to call from any thread that
// is not a gRPC callback thread. CallFns are invoked concurrently.
#ifndef DSAR_TOOLS_BENCH_LOAD_GENERATOR_H_
#define DSAR_TOOLS_BENCH_LOAD_GENERATOR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dsar::bench {

// Receives the outcome of one call; call it exactly once, from any thread.
using CallDone = std::function<void(const grpc::Status&)>;
// Starts one call (sequence number `seq`, unique within a run) without
// blocking and arranges for `done` to run when it completes.
using CallFn = std::function<void(int64_t seq, CallDone done)>;
// Called once per connection with its channel; returns that connection's
// CallFn (typically capturing a stub made from the channel).
using ClientFactory = std::function<CallFn(const std::shared_ptr<grpc::Channel>& channel)>;
// Makes one channel from the arguments the generator chose for it (they keep
// every channel on its own connection).
using ChannelFactory =
    std::function<std::shared_ptr<grpc::Channel>(const grpc::ChannelArguments& args)>;

// Plaintext channels to `target` (e.g. "127.0.0.1:1234").
ChannelFactory InsecureChannelFactory(std::string target);

struct LoadOptions {
  int connections = 16;
  int outstanding_per_connection = 32;  // in-flight calls (HTTP/2 streams) per connection
  absl::Duration warmup = absl::Milliseconds(500);
  absl::Duration duration = absl::Seconds(3);  // measured window, upper bound
  int64_t max_requests = 0;                    // measured calls; 0: bounded by duration only
  double target_qps = 0;                       // 0: closed loop; > 0: paced at this rate
  absl::Duration connect_timeout = absl::Seconds(10);
  // After the window, outstanding calls get this long to finish (CallFns
  // should set deadlines shorter than this).
  absl::Duration drain_timeout = absl::Seconds(30);
};

struct LoadResult {
  int64_t ok = 0;      // successful calls completed in the window
  int64_t errors = 0;  // failed calls completed in the window
  std::map<grpc::StatusCode, int64_t> errors_by_code;
  absl::Duration elapsed;                         // measured window
  double qps = 0;                                 // ok / elapsed
  absl::Duration p50, p90, p99, p999, max, mean;  // successful calls only
  // CPU time of this whole process (client and any in-process server, all
  // threads) during the window: cpu / ok is the cost of one call, which other
  // processes on a shared machine do not change the way they change qps.
  absl::Duration process_cpu;

  // "UNAVAILABLE=3 DEADLINE_EXCEEDED=1", or "" without errors.
  std::string ErrorSummary() const;
};

// Connects, warms up, measures, drains. UNAVAILABLE when a channel does not
// connect within connect_timeout; DEADLINE_EXCEEDED when calls are still
// outstanding after drain_timeout; INVALID_ARGUMENT for bad options.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const ChannelFactory& channels,
                                   const ClientFactory& clients);

// Latency at a fraction of peak: a closed-loop run (`options` with
// target_qps ignored) finds the peak, then a paced run at `fraction` × peak
// with the same connections measures latency there.
struct PacedResult {
  LoadResult peak;
  LoadResult paced;
  double target_qps = 0;
};
absl::StatusOr<PacedResult> RunLoadAtFractionOfPeak(const LoadOptions& options, double fraction,
                                                    const ChannelFactory& channels,
                                                    const ClientFactory& clients);

// Name of a status code, e.g. "DEADLINE_EXCEEDED".
const char* StatusCodeName(grpc::StatusCode code);

// One callback-API unary call with its own context, request and response.
// `invoke(context, request, response, on_done)` must start the call, e.g.
//   stub->async()->Echo(context, request, response, std::move(on_done));
// `check(response)` may turn an OK reply into an error (a wrong answer is
// not a success). `done` gets the final status.
template <typename Request, typename Response, typename Invoke, typename Check>
void StartUnaryCall(Request request, absl::Duration timeout, Invoke&& invoke, Check check,
                    CallDone done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
    CallDone done;
  };
  auto* call = new Call;
  call->request = std::move(request);
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  invoke(&call->context, &call->request, &call->response,
         std::function<void(grpc::Status)>([call, check](grpc::Status status) {
           if (status.ok()) status = check(call->response);
           CallDone done = std::move(call->done);
           delete call;
           done(status);
         }));
}

template <typename Request, typename Response, typename Invoke>
void StartUnaryCall(Request request, absl::Duration timeout, Invoke&& invoke, CallDone done) {
  StartUnaryCall<Request, Response>(
      std::move(request), timeout, std::forward<Invoke>(invoke),
      [](const Response&) { return grpc::Status::OK; }, std::move(done));
}

}  // namespace dsar::bench

#endif  // DSAR_TOOLS_BENCH_LOAD_GENERATOR_H_
