// Attempt: what one delivery attempt comes to, decided once for every
// durable-delivery path (connector tasks, alerts to sinks, status callbacks).
//
// An attempt's status is judged so:
//   OK                       delivered;
//   a transient code         (IsTransient: UNAVAILABLE, DEADLINE_EXCEEDED,
//                            RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN,
//                            CANCELLED) tried again after the RetryPolicy's
//                            backoff, unless the policy's attempts are spent;
//   anything else            given up at once: the target rejected it for
//                            good (SignedHttpPoster answers INVALID_ARGUMENT
//                            for a permanent HTTP rejection; a connector's
//                            INVALID_ARGUMENT, NOT_FOUND, ...), or it cannot
//                            be sent (FAILED_PRECONDITION: no secret).
// Each path keeps its own rows and names for the three states (a connector
// task that is given up is "dead"), but not its own rules. Pure functions.
#ifndef DSAR_LIB_DELIVERY_ATTEMPT_H_
#define DSAR_LIB_DELIVERY_ATTEMPT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/delivery/retry_policy.h"

namespace dsar::delivery {

enum class DeliveryState { kPending, kDelivered, kFailed };

// "pending", "delivered", "failed": the names stored in the deliveries table.
const char* DeliveryStateName(DeliveryState state);

// Whether a failed attempt with this code may succeed when tried again.
bool IsTransient(absl::StatusCode code);

struct AttemptOutcome {
  DeliveryState state = DeliveryState::kPending;
  int attempts = 0;  // made so far, this one included
  // kDelivered: when it was delivered; kPending: the next attempt;
  // kFailed: when it was given up.
  absl::Time at;
  std::string error;      // the failure's message (at most 500 bytes); empty when delivered
  bool rejected = false;  // kFailed because the target refused it (not out of attempts)
};

// Judges attempt number `attempt` (1-based) that ended at `at` with
// `result`; `u` is a uniform draw in [0, 1) for the backoff's jitter.
AttemptOutcome JudgeAttempt(const RetryPolicy& policy, int attempt, const absl::Status& result,
                            absl::Time at, double u);

}  // namespace dsar::delivery

#endif  // DSAR_LIB_DELIVERY_ATTEMPT_H_
