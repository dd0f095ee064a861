#include "lib/delivery/retry_policy.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace dsar::delivery {
namespace {

using Jitter = RetryPolicy::Jitter;

TEST(RetryPolicyTest, CeilingDoublesPerRetryUpToTheMax) {
  RetryPolicy p{absl::Milliseconds(100), absl::Milliseconds(1000)};
  EXPECT_EQ(p.Ceiling(1), absl::Milliseconds(100));
  EXPECT_EQ(p.Ceiling(2), absl::Milliseconds(200));
  EXPECT_EQ(p.Ceiling(3), absl::Milliseconds(400));
  EXPECT_EQ(p.Ceiling(4), absl::Milliseconds(800));
  EXPECT_EQ(p.Ceiling(5), absl::Milliseconds(1000));
  EXPECT_EQ(p.Ceiling(500), absl::Milliseconds(1000));
}

TEST(RetryPolicyTest, FullJitterScalesTheCeilingByTheDraw) {
  RetryPolicy p{absl::Milliseconds(100), absl::Seconds(60), Jitter::kFull};
  EXPECT_EQ(p.Delay(3, 0.0), absl::ZeroDuration());
  EXPECT_EQ(p.Delay(3, 0.5), absl::Milliseconds(200));
  EXPECT_EQ(p.Delay(3, 0.25), absl::Milliseconds(100));
  EXPECT_LT(p.Delay(3, 0.999999), absl::Milliseconds(400));
}

TEST(RetryPolicyTest, SpreadJitterStaysWithinAQuarterOfTheCeiling) {
  RetryPolicy p{absl::Seconds(10), absl::Minutes(5), Jitter::kSpread};
  EXPECT_EQ(p.Delay(1, 0.0), absl::Milliseconds(7500));
  EXPECT_EQ(p.Delay(1, 0.5), absl::Seconds(10));
  EXPECT_LT(p.Delay(1, 0.999999), absl::Milliseconds(12500));
  EXPECT_EQ(p.Delay(2, 0.5), absl::Seconds(20));
}

TEST(RetryPolicyTest, NoJitterIsTheCeilingWhateverTheDraw) {
  // The status callbacks' schedule: 1 s, 2 s, 4 s ... capped at 10 minutes.
  RetryPolicy p{absl::Seconds(1), absl::Minutes(10), Jitter::kNone};
  EXPECT_EQ(p.Delay(1, 0.1), absl::Seconds(1));
  EXPECT_EQ(p.Delay(2, 0.9), absl::Seconds(2));
  EXPECT_EQ(p.Delay(10, 0.0), absl::Seconds(512));
  EXPECT_EQ(p.Delay(11, 0.0), absl::Minutes(10));
}

TEST(RetryPolicyTest, DrawsOutsideTheUnitIntervalAreClamped) {
  RetryPolicy p{absl::Seconds(1), absl::Seconds(8), Jitter::kFull};
  EXPECT_EQ(p.Delay(1, -3.0), absl::ZeroDuration());
  EXPECT_EQ(p.Delay(1, 7.0), absl::Seconds(1));
}

TEST(RetryPolicyTest, MaxAttemptsCountsTheFirstAttemptAndZeroMeansNoLimit) {
  RetryPolicy limited;
  limited.max_attempts = 3;
  EXPECT_FALSE(limited.OutOfAttempts(2));
  EXPECT_TRUE(limited.OutOfAttempts(3));
  EXPECT_TRUE(limited.OutOfAttempts(4));
  RetryPolicy unlimited;
  EXPECT_FALSE(unlimited.OutOfAttempts(1000000));
}

TEST(RetryPolicyTest, DefaultRandomSourceStaysInTheUnitInterval) {
  DefaultRandomSource random(42);
  double lo = 1, hi = 0;
  for (int i = 0; i < 10000; ++i) {
    double u = random.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_LT(lo, 0.01);
  EXPECT_GT(hi, 0.99);
}

}  // namespace
}  // namespace dsar::delivery
