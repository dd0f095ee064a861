#include "lib/delivery/retry_policy.h"

#include <algorithm>

namespace dsar::delivery {

double DefaultRandomSource::Uniform() {
  absl::MutexLock lock(&mu_);
  return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
}

absl::Duration RetryPolicy::Ceiling(int retry) const {
  absl::Duration ceiling = initial;
  for (int i = 1; i < retry && ceiling < max; ++i) ceiling *= 2;
  return std::min(ceiling, max);
}

absl::Duration RetryPolicy::Delay(int retry, double u) const {
  u = std::clamp(u, 0.0, 1.0);
  const double ceiling_us = absl::ToDoubleMicroseconds(Ceiling(retry));
  double factor = 1.0;
  switch (jitter) {
    case Jitter::kFull:
      factor = u;
      break;
    case Jitter::kSpread:
      factor = 0.75 + 0.5 * u;
      break;
    case Jitter::kNone:
      break;
  }
  return absl::Microseconds(static_cast<int64_t>(ceiling_us * factor));
}

}  // namespace dsar::delivery
