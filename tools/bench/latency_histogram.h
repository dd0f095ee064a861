// LatencyHistogram: a fixed-size log-linear histogram of durations for
// benchmarks (HdrHistogram-style, < 1% relative error, 1 ns .. ~18 min).
//
// Record() is lock-free and may be called from any number of threads at once
// (relaxed atomic counters); read the percentiles after the recording threads
// are done.
#ifndef DSAR_TOOLS_BENCH_LATENCY_HISTOGRAM_H_
#define DSAR_TOOLS_BENCH_LATENCY_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/time/time.h"

namespace dsar::bench {

class LatencyHistogram {
 public:
  LatencyHistogram();
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  void Record(int64_t nanos);
  void Record(absl::Duration d) { Record(absl::ToInt64Nanoseconds(d)); }

  int64_t count() const { return count_.load(std::memory_order_relaxed); }
  // The smallest recorded bucket bound at or above quantile q in [0, 1]
  // (0 when empty); never above the largest recorded value.
  absl::Duration Percentile(double q) const;
  absl::Duration Max() const;
  absl::Duration Mean() const;

 private:
  static int BucketOf(int64_t nanos);
  static int64_t UpperBoundOf(int bucket);

  std::unique_ptr<std::atomic<int64_t>[]> buckets_;
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_nanos_{0};
  std::atomic<int64_t> max_nanos_{0};
};

}  // namespace dsar::bench

#endif  // DSAR_TOOLS_BENCH_LATENCY_HISTOGRAM_H_
