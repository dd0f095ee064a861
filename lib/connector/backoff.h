// Retry delays: exponential backoff with full jitter.
//
// The n-th retry (n >= 1) waits a uniformly random time in
// [0, min(max, initial * 2^(n-1))] ("full jitter", AWS Architecture Blog,
// "Exponential Backoff And Jitter"), so many tasks failing together against
// one backend do not come back in lock-step. The random source is injected so
// tests get exact delays. Pure functions and a thread-safe random source.
#ifndef DSAR_LIB_CONNECTOR_BACKOFF_H_
#define DSAR_LIB_CONNECTOR_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dsar::connector {

// Source of uniform numbers in [0, 1).
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual double Uniform() = 0;
};

// A seeded Mersenne Twister behind a mutex. Thread-safe.
class DefaultRandomSource final : public RandomSource {
 public:
  explicit DefaultRandomSource(uint64_t seed = std::random_device{}()) : engine_(seed) {}
  double Uniform() override {
    absl::MutexLock lock(&mu_);
    return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
  }

 private:
  absl::Mutex mu_;
  std::mt19937_64 engine_ ABSL_GUARDED_BY(mu_);
};

struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(200);
  absl::Duration max = absl::Seconds(60);
};

// Upper bound of the delay before retry number `retry` (1-based).
absl::Duration BackoffCeiling(const BackoffPolicy& policy, int retry);

// The delay before retry number `retry`, given a uniform draw `u` in [0, 1).
absl::Duration BackoffDelay(const BackoffPolicy& policy, int retry, double u);

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_BACKOFF_H_
