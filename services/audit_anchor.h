// AuditAnchor: writes the audit chain's head to the log at start, every
// interval, and at shutdown, so that the log system (kept apart from the
// database) holds anchors that a rewrite of the whole chain cannot match.
// The log line is {"event":"audit_anchor","seq":N,"hash":"<hex>"}. The
// periodic thread is a delivery::BackgroundLoop.
// Thread-safe; Stop() is idempotent.
#ifndef DSAR_SERVICES_AUDIT_ANCHOR_H_
#define DSAR_SERVICES_AUDIT_ANCHOR_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/delivery/background_loop.h"

namespace dsar {

namespace store {
class Store;
}

class AuditAnchor {
 public:
  // A non-positive interval means the default, one hour.
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
  void LogNow();

 private:
  store::Store* const store_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  delivery::BackgroundLoop loop_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_AUDIT_ANCHOR_H_
