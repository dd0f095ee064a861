// WorkQueue: a fixed pool of threads running closures, each no earlier than
// its due time.
//
// Connector servers' gRPC handlers (callback API) must not block gRPC's
// threads, so they hand their database work here; injected latency (refbackend) is a due time
// in the future rather than a sleeping thread, so a slow backend still serves
// many calls at once. Thread-safe.
#ifndef DSAR_SERVICES_CONNECTOR_KIT_WORK_QUEUE_H_
#define DSAR_SERVICES_CONNECTOR_KIT_WORK_QUEUE_H_

#include <cstdint>
#include <queue>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dsar::connector_kit {

class WorkQueue {
 public:
  explicit WorkQueue(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkQueue() { Stop(); }
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Runs `fn` on a pool thread once `delay` has passed. After Stop(), `fn` is
  // dropped.
  void Schedule(absl::Duration delay, absl::AnyInvocable<void()> fn) {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    items_.push(Item{absl::Now() + delay, seq_++, std::move(fn)});
    cv_.SignalAll();  // the new item may be due before what sleepers wait for
  }

  // From now on runs every item at once, ignoring due times (shutdown: calls
  // waiting on injected latency finish now instead of holding the server).
  void Hurry() {
    absl::MutexLock lock(&mu_);
    hurry_ = true;
    cv_.SignalAll();
  }

  // Refuses new items, runs the queued ones at once, joins the threads.
  // Idempotent.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
      hurry_ = true;
      cv_.SignalAll();
    }
    for (auto& t : threads_) t.join();
  }

 private:
  struct Item {
    absl::Time due;
    uint64_t seq;
    mutable absl::AnyInvocable<void()> fn;
    bool operator>(const Item& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };

  void Loop() {
    for (;;) {
      absl::AnyInvocable<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        for (;;) {
          if (!items_.empty() && (hurry_ || items_.top().due <= absl::Now())) break;
          if (stopping_ && items_.empty()) return;
          if (items_.empty() || hurry_) {
            cv_.Wait(&mu_);
          } else {
            cv_.WaitWithDeadline(&mu_, items_.top().due);
          }
        }
        fn = std::move(items_.top().fn);
        items_.pop();
      }
      fn();
    }
  }

  absl::Mutex mu_;
  absl::CondVar cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> items_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool hurry_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace dsar::connector_kit

#endif  // DSAR_SERVICES_CONNECTOR_KIT_WORK_QUEUE_H_
