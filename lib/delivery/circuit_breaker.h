// CircuitBreaker: stops calling a delivery target that keeps failing (a
// connector; a status-callback host), and probes it carefully before trusting
// it again.
//
//   closed --failure_threshold consecutive failures--> open
//   open --open_duration passed--> half-open (at most half_open_calls probes)
//   half-open --a probe succeeds--> closed;  --a probe fails--> open again
//
// Callers ask Acquire() for permission before each call and report every
// granted call's outcome exactly once (RecordSuccess / RecordFailure /
// Cancel), passing back the `probe` flag they were granted with, so results
// of calls started in an earlier state do not move the breaker. Time comes
// from the injected Clock. Thread-safe.
#ifndef DSAR_LIB_DELIVERY_CIRCUIT_BREAKER_H_
#define DSAR_LIB_DELIVERY_CIRCUIT_BREAKER_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/clock.h"

namespace dsar::delivery {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  struct Options {
    int failure_threshold = 5;
    absl::Duration open_duration = absl::Seconds(30);
    int half_open_calls = 1;
  };

  struct Grant {
    int calls = 0;       // how many of the wanted calls may start
    bool probe = false;  // they are half-open probes
  };

  CircuitBreaker(const Options& options, Clock* clock) : options_(options), clock_(clock) {}

  // Permission for up to `wanted` calls now: all of them when closed, none
  // when open, the free probe slots when half-open.
  Grant Acquire(int wanted);
  void RecordSuccess(bool probe);
  void RecordFailure(bool probe);
  // A granted call that was never made.
  void Cancel(bool probe);

  State state() const;
  // When an open breaker lets probes through; InfinitePast when not open.
  absl::Time open_until() const;
  int64_t times_opened() const;

 private:
  // Moves open -> half-open once open_until_ has passed.
  void Refresh() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Open() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kClosed;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int probes_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time open_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t times_opened_ ABSL_GUARDED_BY(mu_) = 0;
};

const char* BreakerStateName(CircuitBreaker::State state);  // "closed", "open", "half_open"

}  // namespace dsar::delivery

#endif  // DSAR_LIB_DELIVERY_CIRCUIT_BREAKER_H_
