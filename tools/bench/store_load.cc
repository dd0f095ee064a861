#include "tools/bench/store_load.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tools/bench/latency_histogram.h"

namespace dsar::bench {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

enum Phase : int { kWarmup, kMeasure, kStop };

}  // namespace

std::string StoreLoadResult::ErrorSummary() const {
  std::string out;
  for (const auto& [code, n] : errors_by_code) {
    absl::StrAppend(&out, out.empty() ? "" : " ", absl::StatusCodeToString(code), "=", n);
  }
  return out;
}

StoreLoadResult RunStoreLoad(
    store::Store& store,
    const std::function<store::WriteFn(int submitter, int64_t seq)>& make_write,
    const StoreLoadOptions& options) {
  std::atomic<int> phase{kWarmup};
  std::atomic<int64_t> ok{0};
  std::atomic<int64_t> measured{0};
  LatencyHistogram latency;
  absl::Mutex mu;
  bool count_reached = false;                  // guarded by mu
  std::map<absl::StatusCode, int64_t> errors;  // guarded by mu

  std::vector<std::thread> threads;
  threads.reserve(options.submitters);
  for (int t = 0; t < options.submitters; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t seq = 0; phase.load(std::memory_order_acquire) != kStop; ++seq) {
        int64_t start = NowNanos();
        absl::Status status = store.WriteAndWait(make_write(t, seq));
        int64_t end = NowNanos();
        if (phase.load(std::memory_order_acquire) != kMeasure) continue;
        if (status.ok()) {
          ok.fetch_add(1, std::memory_order_relaxed);
          latency.Record(end - start);
        } else {
          absl::MutexLock lock(&mu);
          ++errors[status.code()];
        }
        int64_t n = measured.fetch_add(1, std::memory_order_relaxed) + 1;
        if (options.max_writes > 0 && n == options.max_writes) {
          absl::MutexLock lock(&mu);
          count_reached = true;
        }
      }
    });
  }

  absl::SleepFor(options.warmup);
  store::WriterStats before = store.writer_stats();
  int64_t t0 = NowNanos();
  phase.store(kMeasure, std::memory_order_release);
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(&count_reached), options.duration);
  }
  phase.store(kStop, std::memory_order_release);
  int64_t t1 = NowNanos();
  store::WriterStats after = store.writer_stats();
  for (auto& thread : threads) thread.join();

  StoreLoadResult r;
  r.ok = ok.load();
  {
    absl::MutexLock lock(&mu);
    r.errors_by_code = errors;
  }
  for (const auto& [code, n] : r.errors_by_code) r.errors += n;
  r.elapsed = absl::Nanoseconds(t1 - t0);
  double seconds = absl::ToDoubleSeconds(r.elapsed);
  r.writes_per_second = seconds > 0 ? static_cast<double>(r.ok) / seconds : 0;
  r.p50 = latency.Percentile(0.50);
  r.p99 = latency.Percentile(0.99);
  r.max = latency.Max();
  r.groups = after.groups_committed - before.groups_committed;
  int64_t committed = after.writes_committed - before.writes_committed;
  r.mean_group = r.groups > 0 ? static_cast<double>(committed) / r.groups : 0;
  r.largest_group = after.largest_group;
  return r;
}

}  // namespace dsar::bench
