// AlertForwarder: delivers fired alerts to their sinks from the stored outbox.
//
// Each sink has a cursor (deadline_alert_sinks.delivered_seq): every alert
// after it is pending for the sink, so firing writes nothing per alert and
// sink. A pass hands the sink the retries that are due (rows of lib/delivery's
// deliveries table, channel "alerts/<sink>"), then fresh alerts after the
// cursor in seq order, and records the outcome in one write: the cursor moves
// past the fresh alerts attempted; one that was not delivered gets a row,
// retried after an exponential backoff with jitter, or failed for good
// (delivery::JudgeAttempt: the receiver rejected it, or max_attempts was
// reached); retries update their row.
// Because the outcome is recorded only after the sink answered, a crash in
// between delivers the alerts again after restart (at least once, same alert
// id). A sink that fails is left alone until its backoff has passed, so a
// receiver that is down is not hammered. While passes only deliver fresh
// alerts successfully (a burst), the next pass does not wait for the previous
// one's record to commit: it reads on from the last alert attempted, with up
// to kMaxInFlight records queued to the writer, and the run waits for all of
// them before it ends (a record that fails ends the run with its error, and
// the next run starts again from the stored cursor). Deliveries by state, counting both
// kinds: the view deadline_alert_delivery_counts.
//
// RunOnce() delivers everything due at clock.Now() on the calling thread (for
// tests with FakeClock); Start() runs one thread per sink (a
// delivery::BackgroundLoop), woken by OnAlertsFired (the scheduler's
// listener) or Poke(). Thread-safe.
#ifndef DSAR_LIB_DEADLINE_ALERT_FORWARDER_H_
#define DSAR_LIB_DEADLINE_ALERT_FORWARDER_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "lib/core/clock.h"
#include "lib/deadline/alert_sink.h"
#include "lib/deadline/scheduler.h"
#include "lib/delivery/background_loop.h"
#include "lib/delivery/retry_policy.h"
#include "lib/store/store.h"

namespace dsar::deadline {

// The retry knobs make a delivery::RetryPolicy with Jitter::kSpread (a
// retry after n failures waits 75-125 % of min(max_backoff,
// initial_backoff * 2^(n-1))).
struct AlertForwarderOptions {
  int batch = 0;  // deliveries read per pass; 0: the sink's max_batch()
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  int max_attempts = 0;  // 0: retry until delivered
  absl::Duration idle_check = absl::Minutes(1);
};

struct AlertForwarderStats {
  int64_t delivered = 0;
  int64_t retried = 0;
  int64_t failed = 0;  // rejected or out of attempts
};

class AlertForwarder final : public AlertListener {
 public:
  // `random` draws the backoff jitter (null: a DefaultRandomSource of its own).
  AlertForwarder(store::Store& store, Clock& clock, std::vector<std::unique_ptr<AlertSink>> sinks,
                 AlertForwarderOptions options, delivery::RandomSource* random = nullptr);
  ~AlertForwarder() override;
  AlertForwarder(const AlertForwarder&) = delete;
  AlertForwarder& operator=(const AlertForwarder&) = delete;

  // Names to pass in SchedulerOptions::sinks.
  std::vector<std::string> sink_names() const;

  // Delivers every pending delivery due at clock.Now(), sink by sink; returns
  // how many deliveries were attempted.
  absl::StatusOr<int> RunOnce();

  void Start();
  void Stop();  // idempotent
  void Poke();
  void OnAlertsFired(int64_t last_seq) override { Poke(); }
  AlertForwarderStats stats() const;

 private:
  struct Worker {
    std::unique_ptr<AlertSink> sink;
    absl::Time blocked_until = absl::InfinitePast();  // used by one thread at a time
    std::unique_ptr<delivery::BackgroundLoop> loop;   // guarded by mu_; set while running
  };

  // A pass's record, queued to the writer without waiting.
  struct InFlight {
    absl::Notification done;
    absl::Status status;
  };
  using InFlightQueue = std::deque<std::unique_ptr<InFlight>>;
  static constexpr size_t kMaxInFlight = 4;

  // One pass over `w`'s due deliveries (at most options_.batch). Sets
  // *more when a full batch was read and the sink is not blocked. Fresh
  // alerts are read after the stored cursor and *after_seq (the last one
  // attempted by a pass whose record is in `in_flight`), which it advances.
  absl::StatusOr<int> RunSinkPass(Worker& w, bool* more, int64_t* after_seq,
                                  InFlightQueue* in_flight);
  // Waits until at most `keep` records are in flight; the first error of
  // those waited for.
  static absl::Status Drain(InFlightQueue* in_flight, size_t keep);
  absl::StatusOr<int> RunSink(Worker& w);
  absl::Time NextAttempt(const Worker& w);
  // The loop's pass: RunSink, then the wait until the sink's next attempt.
  absl::Duration LoopPass(Worker& w);

  store::Store& store_;
  Clock& clock_;
  const AlertForwarderOptions options_;
  const delivery::RetryPolicy retry_;
  std::unique_ptr<delivery::RandomSource> own_random_;
  delivery::RandomSource* const random_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  AlertForwarderStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_ALERT_FORWARDER_H_
