#include "lib/deadline/alert_feed.h"

#include <algorithm>

namespace dsar::deadline {

void AlertFeed::Subscribe(Subscriber* subscriber) {
  absl::MutexLock lock(&mu_);
  subscribers_.push_back(subscriber);
  if (closed_) subscriber->OnFeedClosed();
}

void AlertFeed::Close() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  closed_ = true;
  for (Subscriber* s : subscribers_) s->OnFeedClosed();
}

void AlertFeed::Unsubscribe(Subscriber* subscriber) {
  absl::MutexLock lock(&mu_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), subscriber),
                     subscribers_.end());
}

void AlertFeed::OnAlertsFired(int64_t last_seq) {
  absl::MutexLock lock(&mu_);
  last_seq_ = std::max(last_seq_, last_seq);
  for (Subscriber* s : subscribers_) s->OnAlertsAvailable(last_seq_);
}

int64_t AlertFeed::last_seq() const {
  absl::MutexLock lock(&mu_);
  return last_seq_;
}

size_t AlertFeed::subscriber_count() const {
  absl::MutexLock lock(&mu_);
  return subscribers_.size();
}

}  // namespace dsar::deadline
