// Clock: the one way dsar code asks what time it is.
//
// Domain code never calls std::chrono::system_clock or absl::Now() directly; it
// is handed a Clock so that tests can drive time with FakeClock (deadlines of
// 72 hours are tested without sleeping). Modelled on leveldb's Env and envoy's
// TimeSource. All implementations are thread-safe.
#ifndef DSAR_LIB_CORE_CLOCK_H_
#define DSAR_LIB_CORE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dsar {

class Clock {
 public:
  virtual ~Clock() = default;
  // Current wall-clock time.
  virtual absl::Time Now() const = 0;
};

// SystemClock reads the real wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance; never destroyed.
  static Clock* Default();
};

// FakeClock only moves when a test tells it to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600))  // 2026-01-01Z
      : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void SetTime(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dsar

#endif  // DSAR_LIB_CORE_CLOCK_H_
