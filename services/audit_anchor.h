// AuditAnchor: writes the audit chain's head to the log at start, every
// interval, and at shutdown, so that the log system (kept apart from the
// database) holds anchors that a rewrite of the whole chain cannot match.
// The log line is {"event":"audit_anchor","seq":N,"hash":"<hex>"}.
// Thread-safe; Stop() is idempotent.
#ifndef DSAR_SERVICES_AUDIT_ANCHOR_H_
#define DSAR_SERVICES_AUDIT_ANCHOR_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dsar {

namespace store {
class Store;
}

class AuditAnchor {
 public:
  // A non-positive interval means the default, one hour.
  AuditAnchor(store::Store* store, absl::Duration interval)
      : store_(store), interval_(interval > absl::ZeroDuration() ? interval : absl::Hours(1)) {}
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
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_AUDIT_ANCHOR_H_
