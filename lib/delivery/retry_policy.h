// RetryPolicy: when a failed delivery is tried again, and when it is given up.
//
// The one backoff of dsar, used by the connector outbox (per connector), the
// alert webhooks and the status callbacks. Retry number n (n >= 1, the retry
// after the n-th failed attempt) waits at most
//   ceiling(n) = min(max, initial * 2^(n-1)),
// and the jitter decides how much of it:
//   kFull    uniformly in [0, ceiling)  ("full jitter", AWS Architecture Blog,
//            "Exponential Backoff And Jitter": failures that happened together
//            do not come back in lock-step);
//   kSpread  uniformly in [0.75, 1.25) * ceiling (a retry never comes at once;
//            the alert webhooks' choice);
//   kNone    exactly ceiling (the status callbacks: 1 s, 2 s, 4 s ...).
// The random draw is passed in (a RandomSource is injected where a delivery
// path draws), so tests get exact delays. Pure functions; DefaultRandomSource
// is thread-safe.
#ifndef DSAR_LIB_DELIVERY_RETRY_POLICY_H_
#define DSAR_LIB_DELIVERY_RETRY_POLICY_H_

#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dsar::delivery {

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
  double Uniform() override;

 private:
  absl::Mutex mu_;
  std::mt19937_64 engine_ ABSL_GUARDED_BY(mu_);
};

struct RetryPolicy {
  enum class Jitter { kFull, kSpread, kNone };

  absl::Duration initial = absl::Milliseconds(200);
  absl::Duration max = absl::Seconds(60);
  Jitter jitter = Jitter::kFull;
  int max_attempts = 0;  // attempts in all, the first included; 0: no limit

  // Upper bound of the delay before retry number `retry` (1-based) with
  // kFull; the delay itself with kNone.
  absl::Duration Ceiling(int retry) const;
  // The delay before retry number `retry`, given a uniform draw `u` in [0, 1)
  // (ignored by kNone).
  absl::Duration Delay(int retry, double u) const;
  // Whether a delivery that has been attempted `attempts` times is given up.
  bool OutOfAttempts(int attempts) const { return max_attempts > 0 && attempts >= max_attempts; }
};

}  // namespace dsar::delivery

#endif  // DSAR_LIB_DELIVERY_RETRY_POLICY_H_
