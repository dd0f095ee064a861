#include "lib/connector/backoff.h"

#include <algorithm>

namespace dsar::connector {

absl::Duration BackoffCeiling(const BackoffPolicy& policy, int retry) {
  absl::Duration ceiling = policy.initial;
  for (int i = 1; i < retry && ceiling < policy.max; ++i) ceiling *= 2;
  return std::min(ceiling, policy.max);
}

absl::Duration BackoffDelay(const BackoffPolicy& policy, int retry, double u) {
  u = std::clamp(u, 0.0, 1.0);
  return absl::Microseconds(
      static_cast<int64_t>(absl::ToDoubleMicroseconds(BackoffCeiling(policy, retry)) * u));
}

}  // namespace dsar::connector
