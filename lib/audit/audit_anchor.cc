#include "lib/audit/audit_anchor.h"

#include "lib/audit/audit_log.h"
#include "lib/core/log.h"

namespace dsar::audit {

void AuditAnchor::LogNow() {
  auto head = ReadHead(*store_);
  if (!head.ok()) {
    log::Warn("audit_anchor_failed", {{"code", absl::StatusCodeToString(head.status().code())}});
    return;
  }
  log::Info("audit_anchor", {{"seq", head->seq}, {"hash", head->hash}});
}

void AuditAnchor::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_ || stopped_) return;
    started_ = true;
  }
  LogNow();
  loop_.Start();
}

void AuditAnchor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;
  }
  loop_.Stop();
  LogNow();
}

}  // namespace dsar::audit
