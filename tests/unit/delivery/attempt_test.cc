// delivery::JudgeAttempt: the one rule every delivery path (connector tasks,
// alerts, status callbacks) applies to an attempt's status.
#include "lib/delivery/attempt.h"

#include <gtest/gtest.h>

namespace dsar::delivery {
namespace {

const absl::Time kAt = absl::FromUnixSeconds(1767225600);

RetryPolicy Policy(int max_attempts) {
  return RetryPolicy{absl::Seconds(1), absl::Minutes(1), RetryPolicy::Jitter::kNone, max_attempts};
}

TEST(JudgeAttemptTest, OkIsDeliveredAtTheAttemptsEnd) {
  const AttemptOutcome o = JudgeAttempt(Policy(3), 2, absl::OkStatus(), kAt, 0.5);
  EXPECT_EQ(o.state, DeliveryState::kDelivered);
  EXPECT_EQ(o.attempts, 2);
  EXPECT_EQ(o.at, kAt);
  EXPECT_EQ(o.error, "");
  EXPECT_FALSE(o.rejected);
}

TEST(JudgeAttemptTest, TransientFailureIsRetriedAfterThePolicysBackoff) {
  const AttemptOutcome o = JudgeAttempt(Policy(5), 3, absl::UnavailableError("HTTP 503"), kAt, 0.0);
  EXPECT_EQ(o.state, DeliveryState::kPending);
  EXPECT_EQ(o.at, kAt + absl::Seconds(4));  // 1 s, 2 s, 4 s: the third retry
  EXPECT_EQ(o.error, "HTTP 503");
  EXPECT_FALSE(o.rejected);
}

TEST(JudgeAttemptTest, TransientFailureWithTheAttemptsSpentIsGivenUp) {
  const AttemptOutcome o = JudgeAttempt(Policy(3), 3, absl::DeadlineExceededError("slow"), kAt, 0);
  EXPECT_EQ(o.state, DeliveryState::kFailed);
  EXPECT_EQ(o.at, kAt);
  EXPECT_FALSE(o.rejected);
  // No limit: never out of attempts.
  EXPECT_EQ(JudgeAttempt(Policy(0), 1000, absl::UnavailableError("x"), kAt, 0).state,
            DeliveryState::kPending);
}

TEST(JudgeAttemptTest, PermanentFailureIsGivenUpAtOnce) {
  for (const absl::Status& s :
       {absl::InvalidArgumentError("HTTP 410"), absl::FailedPreconditionError("no secret"),
        absl::NotFoundError("no such person"), absl::PermissionDeniedError("denied")}) {
    const AttemptOutcome o = JudgeAttempt(Policy(10), 1, s, kAt, 0.5);
    EXPECT_EQ(o.state, DeliveryState::kFailed) << s;
    EXPECT_TRUE(o.rejected) << s;
    EXPECT_EQ(o.error, s.message());
  }
}

TEST(JudgeAttemptTest, TransientCodesAreTheOnesARetryCanCure) {
  for (absl::StatusCode c :
       {absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded,
        absl::StatusCode::kResourceExhausted, absl::StatusCode::kAborted,
        absl::StatusCode::kInternal, absl::StatusCode::kUnknown, absl::StatusCode::kCancelled}) {
    EXPECT_TRUE(IsTransient(c)) << absl::StatusCodeToString(c);
  }
  for (absl::StatusCode c :
       {absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
        absl::StatusCode::kFailedPrecondition, absl::StatusCode::kUnimplemented,
        absl::StatusCode::kPermissionDenied, absl::StatusCode::kAlreadyExists}) {
    EXPECT_FALSE(IsTransient(c)) << absl::StatusCodeToString(c);
  }
}

TEST(JudgeAttemptTest, LongErrorsAreCut) {
  const AttemptOutcome o =
      JudgeAttempt(Policy(2), 1, absl::UnavailableError(std::string(2000, 'x')), kAt, 0);
  EXPECT_EQ(o.error.size(), 500u);
}

}  // namespace
}  // namespace dsar::delivery
