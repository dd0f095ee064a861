#include "lib/delivery/circuit_breaker.h"

#include <gtest/gtest.h>

namespace dsar::delivery {
namespace {

using State = CircuitBreaker::State;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerTest() : breaker_(Options(), &clock_) {}
  static CircuitBreaker::Options Options() {
    CircuitBreaker::Options o;
    o.failure_threshold = 3;
    o.open_duration = absl::Seconds(10);
    o.half_open_calls = 2;
    return o;
  }
  void Fail(int n) {
    for (int i = 0; i < n; ++i) {
      auto g = breaker_.Acquire(1);
      ASSERT_EQ(g.calls, 1);
      breaker_.RecordFailure(g.probe);
    }
  }

  FakeClock clock_;
  CircuitBreaker breaker_;
};

TEST_F(CircuitBreakerTest, ClosedGrantsEverythingAsked) {
  auto g = breaker_.Acquire(7);
  EXPECT_EQ(g.calls, 7);
  EXPECT_FALSE(g.probe);
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  Fail(2);
  EXPECT_EQ(breaker_.state(), State::kClosed);
  Fail(1);
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_EQ(breaker_.Acquire(5).calls, 0);
  EXPECT_EQ(breaker_.open_until(), clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(breaker_.times_opened(), 1);
}

TEST_F(CircuitBreakerTest, SuccessResetsTheFailureCount) {
  Fail(2);
  breaker_.RecordSuccess(false);
  Fail(2);
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, HalfOpenAfterOpenDurationAllowsOnlyProbeSlots) {
  Fail(3);
  clock_.Advance(absl::Seconds(10) - absl::Microseconds(1));
  EXPECT_EQ(breaker_.Acquire(1).calls, 0);
  clock_.Advance(absl::Microseconds(1));
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
  auto g = breaker_.Acquire(5);
  EXPECT_EQ(g.calls, 2);
  EXPECT_TRUE(g.probe);
  EXPECT_EQ(breaker_.Acquire(5).calls, 0);  // both probe slots taken
  breaker_.Cancel(true);                    // one probe never ran
  EXPECT_EQ(breaker_.Acquire(5).calls, 1);
}

TEST_F(CircuitBreakerTest, ProbeSuccessCloses) {
  Fail(3);
  clock_.Advance(absl::Seconds(10));
  auto g = breaker_.Acquire(1);
  breaker_.RecordSuccess(g.probe);
  EXPECT_EQ(breaker_.state(), State::kClosed);
  EXPECT_EQ(breaker_.Acquire(4).calls, 4);
}

TEST_F(CircuitBreakerTest, ProbeFailureReopensForAnotherPeriod) {
  Fail(3);
  clock_.Advance(absl::Seconds(10));
  auto g = breaker_.Acquire(1);
  breaker_.RecordFailure(g.probe);
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_EQ(breaker_.open_until(), clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(breaker_.times_opened(), 2);
}

TEST_F(CircuitBreakerTest, LateResultsOfCallsStartedWhileClosedDoNotMoveAnOpenBreaker) {
  auto early = breaker_.Acquire(1);  // started while closed
  Fail(3);
  ASSERT_EQ(breaker_.state(), State::kOpen);
  breaker_.RecordSuccess(early.probe);
  EXPECT_EQ(breaker_.state(), State::kOpen);
  clock_.Advance(absl::Seconds(10));
  auto probe = breaker_.Acquire(1);
  breaker_.RecordFailure(false);  // another late non-probe failure
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
  breaker_.RecordSuccess(probe.probe);
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

}  // namespace
}  // namespace dsar::delivery
