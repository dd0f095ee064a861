#include "services/audit_anchor.h"

#include "lib/audit/audit_log.h"
#include "lib/core/log.h"

namespace dsar {

void AuditAnchor::LogNow() {
  auto head = audit::ReadHead(*store_);
  if (!head.ok()) {
    log::Warn("audit_anchor_failed", {{"code", absl::StatusCodeToString(head.status().code())}});
    return;
  }
  log::Info("audit_anchor", {{"seq", head->seq}, {"hash", head->hash}});
}

void AuditAnchor::Start() {
  LogNow();
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    for (;;) {
      // Wakes at the interval, or at once when stopping.
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
      mu_.Unlock();
      LogNow();
      mu_.Lock();
    }
  });
}

void AuditAnchor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
    LogNow();
  }
}

}  // namespace dsar
