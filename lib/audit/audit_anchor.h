// AuditAnchor: writes the audit chain's head to the log at start, every
// interval, and at shutdown, so that the log system (kept apart from the
// database) holds anchors that a rewrite of the whole chain cannot match.
// The log line is {"event":"audit_anchor","seq":N,"hash":"<hex>"}. The
// periodic thread is a delivery::BackgroundLoop.
// Thread-safe; Stop() is idempotent. A head that cannot be read is logged as
// "audit_anchor_failed" (code only) and tried again at the next interval.
#ifndef DSAR_LIB_AUDIT_AUDIT_ANCHOR_H_
#define DSAR_LIB_AUDIT_AUDIT_ANCHOR_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/delivery/background_loop.h"
#include "lib/store/store.h"

namespace dsar::audit {

class AuditAnchor {
 public:
  // `store` is not owned and must outlive the anchor. A non-positive interval
  // means the default, one hour.
  AuditAnchor(store::Store* store, absl::Duration interval)
      : store_(store),
        interval_(interval > absl::ZeroDuration() ? interval : absl::Hours(1)),
        loop_(
            [this] {
              LogNow();
              return interval_;
            },
            interval_) {}
  ~AuditAnchor() { Stop(); }

  // Logs the head now and starts the periodic thread.
  void Start();
  // Stops the thread and logs the head a last time.
  void Stop();
  // Logs the head once, on the caller's thread.
  void LogNow();

 private:
  store::Store* const store_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  delivery::BackgroundLoop loop_;
};

}  // namespace dsar::audit

#endif  // DSAR_LIB_AUDIT_AUDIT_ANCHOR_H_
