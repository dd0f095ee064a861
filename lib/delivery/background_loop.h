// BackgroundLoop: one thread that runs a pass, then waits for as long as the
// pass asked or until Wake(), and runs it again, until Stop().
//
// It replaces the hand-written stop flag + condition variable + thread of the
// periodic jobs: IdempotencyKeySweeper, AuditAnchor, BackupManager,
// RetentionJob, connector::Dispatcher's health prober, the alert webhooks'
// per-sink loops (AlertForwarder) and the status callbacks (RequestWorker).
// Loops that do not fit and keep their own: SqliteStore's writer and
// completer (a queue of writes, not a pass), connector::Dispatcher's claim
// loop (its Stop gives calls in flight a grace period and wakes on freed
// slots counted under its own lock), deadline::Scheduler (a timer queue fed
// by ScheduleObserver under its lock), RequestWorker's step loop (a wake-up
// from inside a transaction first waits for that commit) and WorkerPool.
//
// Waits are real elapsed time (a condition variable cannot wait on a
// FakeClock). A pass that deals in clock time computes its wait from its
// injected Clock (e.g. next_retry - clock->Now()); tests drive the owner's
// RunOnce-style method with a FakeClock, or Wake() and WaitForPasses(),
// never sleeping.
//
// Thread-safe. The pass runs on the loop's thread only; Stop() must not be
// called from inside the pass.
#ifndef DSAR_LIB_DELIVERY_BACKGROUND_LOOP_H_
#define DSAR_LIB_DELIVERY_BACKGROUND_LOOP_H_

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dsar::delivery {

class BackgroundLoop {
 public:
  // One pass; returns the wait before the next one (zero or less: at once;
  // absl::InfiniteDuration(): only when woken).
  using Pass = absl::AnyInvocable<absl::Duration()>;

  // The first pass runs `first_wait` after Start() (zero: at once).
  explicit BackgroundLoop(Pass pass, absl::Duration first_wait = absl::ZeroDuration());
  ~BackgroundLoop();  // Stop()
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Starts the thread. Idempotent; does nothing after Stop().
  void Start();
  // The next pass starts without waiting (after the running one, if any).
  void Wake();
  // No pass starts after this; waits for the running one and joins the
  // thread. Idempotent.
  void Stop();

  // Stop() was called (for passes that check between steps).
  bool stopping() const;
  // Passes completed since Start().
  int64_t passes() const;
  // Waits until at least `n` passes completed, or `timeout` passed; returns
  // whether they had.
  bool WaitForPasses(int64_t n, absl::Duration timeout) const;

 private:
  void Run();

  Pass pass_;
  const absl::Duration first_wait_;
  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  int64_t passes_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace dsar::delivery

#endif  // DSAR_LIB_DELIVERY_BACKGROUND_LOOP_H_
