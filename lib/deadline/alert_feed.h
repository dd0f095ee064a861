// AlertFeed: tells live WatchAlerts streams that new alerts were committed.
//
// The feed carries only "alerts up to seq N exist"; subscribers read the rows
// themselves (seq > their last), so a slow or reconnecting reader never loses
// an alert and the feed holds no alert data. Thread-safe: OnAlertsFired may be
// called from any thread; after Unsubscribe returns, the subscriber is never
// called again.
#ifndef DSAR_LIB_DEADLINE_ALERT_FEED_H_
#define DSAR_LIB_DEADLINE_ALERT_FEED_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "lib/deadline/scheduler.h"

namespace dsar::deadline {

class AlertFeed final : public AlertListener {
 public:
  class Subscriber {
   public:
    virtual ~Subscriber() = default;
    // Called with the feed's lock held: do not call back into the feed, and
    // keep it short.
    virtual void OnAlertsAvailable(int64_t last_seq) = 0;
  };

  void Subscribe(Subscriber* subscriber);
  void Unsubscribe(Subscriber* subscriber);
  void OnAlertsFired(int64_t last_seq) override;
  int64_t last_seq() const;
  size_t subscriber_count() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<Subscriber*> subscribers_ ABSL_GUARDED_BY(mu_);
  int64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_ALERT_FEED_H_
