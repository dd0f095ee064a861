// Baseline: a bare callback-API echo server in-process on 127.0.0.1:0, driven
// by the load generator with the run's client settings (default 16
// connections × 32 calls in flight). Every other RPC figure is reported as a
// ratio to `echo` measured in the same run.
#include "absl/strings/str_cat.h"
#include "tools/bench/bench_config.h"
#include "tools/bench/echo_server.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/report.h"

namespace dsar::bench {
namespace {

void BM_Echo(benchmark::State& state) {
  const BenchConfig& config = Config();
  absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Start();
  if (!server.ok()) return Fail(state, server.status());
  for (auto _ : state) {
    absl::StatusOr<LoadResult> result =
        RunLoad(config.Load(), InsecureChannelFactory((*server)->target()),
                EchoClient(config.payload_bytes));
    if (!result.ok()) return Fail(state, result.status());
    ReportLoad(state, *result);
  }
}

// Latency of the same echo server paced at half of its closed-loop peak.
void BM_EchoHalfPeak(benchmark::State& state) {
  const BenchConfig& config = Config();
  absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Start();
  if (!server.ok()) return Fail(state, server.status());
  for (auto _ : state) {
    absl::StatusOr<PacedResult> result =
        RunLoadAtFractionOfPeak(config.Load(), 0.5, InsecureChannelFactory((*server)->target()),
                                EchoClient(config.payload_bytes));
    if (!result.ok()) return Fail(state, result.status());
    ReportLoad(state, result->paced);
    state.counters["target_qps"] = result->target_qps;
    state.counters["peak_qps"] = result->peak.qps;
  }
}

}  // namespace

void RegisterEchoBenchmarks() {
  RegisterOnce("echo", BM_Echo);
  RegisterOnce("echo/half_peak", BM_EchoHalfPeak);
}

}  // namespace dsar::bench
