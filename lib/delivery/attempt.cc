#include "lib/delivery/attempt.h"

namespace dsar::delivery {

const char* DeliveryStateName(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kDelivered:
      return "delivered";
    case DeliveryState::kFailed:
      return "failed";
  }
  return "pending";
}

bool IsTransient(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

AttemptOutcome JudgeAttempt(const RetryPolicy& policy, int attempt, const absl::Status& result,
                            absl::Time at, double u) {
  AttemptOutcome out;
  out.attempts = attempt;
  out.at = at;
  if (result.ok()) {
    out.state = DeliveryState::kDelivered;
    return out;
  }
  out.error = std::string(result.message().substr(0, 500));
  if (!IsTransient(result.code())) {
    out.state = DeliveryState::kFailed;
    out.rejected = true;
    return out;
  }
  if (policy.OutOfAttempts(attempt)) {
    out.state = DeliveryState::kFailed;
    return out;
  }
  out.state = DeliveryState::kPending;
  out.at = at + policy.Delay(attempt, u);
  return out;
}

}  // namespace dsar::delivery
