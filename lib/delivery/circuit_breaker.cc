#include "lib/delivery/circuit_breaker.h"

#include <algorithm>

namespace dsar::delivery {

const char* BreakerStateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

void CircuitBreaker::Refresh() {
  if (state_ == State::kOpen && clock_->Now() >= open_until_) {
    state_ = State::kHalfOpen;
    probes_in_flight_ = 0;
  }
}

void CircuitBreaker::Open() {
  state_ = State::kOpen;
  open_until_ = clock_->Now() + options_.open_duration;
  probes_in_flight_ = 0;
  ++times_opened_;
}

CircuitBreaker::Grant CircuitBreaker::Acquire(int wanted) {
  absl::MutexLock lock(&mu_);
  Refresh();
  if (wanted <= 0) return {};
  switch (state_) {
    case State::kClosed:
      return {wanted, false};
    case State::kOpen:
      return {};
    case State::kHalfOpen: {
      int calls = std::min(wanted, std::max(0, options_.half_open_calls - probes_in_flight_));
      probes_in_flight_ += calls;
      return {calls, true};
    }
  }
  return {};
}

void CircuitBreaker::RecordSuccess(bool probe) {
  absl::MutexLock lock(&mu_);
  Refresh();
  if (probe) {
    if (state_ == State::kHalfOpen) {
      state_ = State::kClosed;
      consecutive_failures_ = 0;
      probes_in_flight_ = 0;
    }
    return;
  }
  if (state_ == State::kClosed) consecutive_failures_ = 0;
}

void CircuitBreaker::RecordFailure(bool probe) {
  absl::MutexLock lock(&mu_);
  Refresh();
  if (probe) {
    if (state_ == State::kHalfOpen) Open();
    return;
  }
  if (state_ == State::kClosed && ++consecutive_failures_ >= options_.failure_threshold) {
    consecutive_failures_ = 0;
    Open();
  }
}

void CircuitBreaker::Cancel(bool probe) {
  absl::MutexLock lock(&mu_);
  if (probe && state_ == State::kHalfOpen && probes_in_flight_ > 0) --probes_in_flight_;
}

CircuitBreaker::State CircuitBreaker::state() const {
  absl::MutexLock lock(&mu_);
  // Refresh() without mutating: an elapsed open period reads as half-open.
  if (state_ == State::kOpen && clock_->Now() >= open_until_) return State::kHalfOpen;
  return state_;
}

absl::Time CircuitBreaker::open_until() const {
  absl::MutexLock lock(&mu_);
  return state_ == State::kOpen && clock_->Now() < open_until_ ? open_until_ : absl::InfinitePast();
}

int64_t CircuitBreaker::times_opened() const {
  absl::MutexLock lock(&mu_);
  return times_opened_;
}

}  // namespace dsar::delivery
