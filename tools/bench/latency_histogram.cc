#include "tools/bench/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace dsar::bench {
namespace {

// Values below 128 ns get one bucket each; above, each power of two is split
// into 64 buckets that keep the top 7 significant bits.
constexpr int64_t kMaxNanos = int64_t{1} << 40;
constexpr int kMaxShift = 40 - 6;
constexpr int kBuckets = 64 * kMaxShift + 128;

int HighestBit(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(new std::atomic<int64_t>[kBuckets]) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

int LatencyHistogram::BucketOf(int64_t nanos) {
  if (nanos < 128) return static_cast<int>(std::max<int64_t>(nanos, 0));
  nanos = std::min(nanos, kMaxNanos - 1);
  int shift = HighestBit(static_cast<uint64_t>(nanos)) - 6;
  return 64 * shift + static_cast<int>(nanos >> shift);
}

int64_t LatencyHistogram::UpperBoundOf(int bucket) {
  if (bucket < 128) return bucket;
  int shift = bucket / 64 - 1;
  int64_t mantissa = bucket - 64 * shift;
  return ((mantissa + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t nanos) {
  buckets_[BucketOf(nanos)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  int64_t seen = max_nanos_.load(std::memory_order_relaxed);
  while (nanos > seen &&
         !max_nanos_.compare_exchange_weak(seen, nanos, std::memory_order_relaxed)) {
  }
}

absl::Duration LatencyHistogram::Percentile(double q) const {
  int64_t total = count();
  if (total == 0) return absl::ZeroDuration();
  q = std::clamp(q, 0.0, 1.0);
  int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * total)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      return absl::Nanoseconds(std::min(UpperBoundOf(i), max_nanos_.load()));
    }
  }
  return Max();
}

absl::Duration LatencyHistogram::Max() const { return absl::Nanoseconds(max_nanos_.load()); }

absl::Duration LatencyHistogram::Mean() const {
  int64_t total = count();
  if (total == 0) return absl::ZeroDuration();
  return absl::Nanoseconds(sum_nanos_.load() / total);
}

}  // namespace dsar::bench
