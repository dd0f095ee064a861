// Turning load results into Google Benchmark counters, the same way in every
// dsar-bench benchmark so tools/bench/run can tabulate them: items_per_second
// (QPS or writes/s over the measured window), ok, errors, p50_us/p90_us/p99_us.
// The iteration time is the measured window (use ->UseManualTime()).
#ifndef DSAR_TOOLS_BENCH_REPORT_H_
#define DSAR_TOOLS_BENCH_REPORT_H_

#include <benchmark/benchmark.h>

#include <string>

#include "absl/status/status.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/store_load.h"

namespace dsar::bench {

// Sets the counters; marks the run failed (and says so in the label) when
// there were errors or no successful call.
void ReportLoad(benchmark::State& state, const LoadResult& result);
void ReportStoreLoad(benchmark::State& state, const StoreLoadResult& result);

// Skips the benchmark with `status` and marks the run failed.
void Fail(benchmark::State& state, const absl::Status& status);

// Name of the benchmark running now (Google Benchmark 1.7 has no State::name).
std::string& CurrentBenchmarkName();

// Registers `fn` to run once, timed by its measured window, in milliseconds.
template <typename Fn>
benchmark::internal::Benchmark* RegisterOnce(const std::string& name, Fn fn) {
  return benchmark::RegisterBenchmark(name.c_str(),
                                      [name, fn](benchmark::State& state) {
                                        CurrentBenchmarkName() = name;
                                        fn(state);
                                      })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace dsar::bench

#endif  // DSAR_TOOLS_BENCH_REPORT_H_
