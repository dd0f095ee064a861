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
    // The feed is closing (dsard shuts down): end the stream so the client
    // reconnects elsewhere. Same rules as OnAlertsAvailable.
    virtual void OnFeedClosed() = 0;
  };

  // After Close(), a new subscriber is told OnFeedClosed at once.
  void Subscribe(Subscriber* subscriber);
  void Unsubscribe(Subscriber* subscriber);
  void OnAlertsFired(int64_t last_seq) override;
  // Tells every subscriber, present and future, that the feed is closing.
  void Close();
  int64_t last_seq() const;
  size_t subscriber_count() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<Subscriber*> subscribers_ ABSL_GUARDED_BY(mu_);
  int64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_ALERT_FEED_H_
