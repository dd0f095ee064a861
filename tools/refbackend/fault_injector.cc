#include "tools/refbackend/fault_injector.h"

#include <unistd.h>

#include "lib/core/log.h"

namespace dsar::refbackend {

absl::Status FaultInjector::BeforeDataCall() {
  int64_t n = ++calls_;
  if (options_.crash_after > 0 && n > options_.crash_after) {
    log::Warn("crash_injected", {{"data_calls", n - 1}});
    _exit(3);
  }
  if (options_.error_rate > 0) {
    absl::MutexLock lock(&mu_);
    // 53 random bits -> [0, 1).
    double u = static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);
    if (u < options_.error_rate) return absl::UnavailableError("injected fault");
  }
  return absl::OkStatus();
}

}  // namespace dsar::refbackend
