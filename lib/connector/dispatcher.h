// Dispatcher: runs the outbox's connector tasks until each is done, skipped or
// dead-lettered.
//
// A loop thread claims due tasks in one write transaction per round (state
// running, lease owner and expiry), so no two workers ever run the same task,
// and hands them to the connector's own worker pool (bounded concurrency per
// connector). Each call has a deadline. Its outcome is written in one
// transaction with any hook's rows: done (payload wiped), skipped with a
// reason, waiting (asynchronous backend, asked again later), failed (retry
// after exponential backoff with full jitter), or dead after the connector's
// attempt budget or a permanent error — the DeadLetterHook then raises an alert
// in that same transaction. Every connector has a circuit breaker: while it is
// open, nothing is claimed for that connector. A restarted dsard re-leases the
// tasks its predecessor left running; connectors see the same task id and
// answer idempotently, so an erasure's effect is counted once.
//
// Time comes from the injected Clock and randomness from the injected
// RandomSource. Tests drive it without threads: RunOnce() claims and starts a
// round, WaitIdle() waits for the calls and their writes. Thread-safe.
#ifndef DSAR_LIB_CONNECTOR_DISPATCHER_H_
#define DSAR_LIB_CONNECTOR_DISPATCHER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/connector/connector_client.h"
#include "lib/connector/outbox.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/connector/task.h"
#include "lib/connector/task_store.h"
#include "lib/connector/worker_pool.h"
#include "lib/core/clock.h"
#include "lib/delivery/background_loop.h"
#include "lib/delivery/circuit_breaker.h"
#include "lib/delivery/retry_policy.h"
#include "lib/store/store.h"

namespace dsar::connector {

// Told when a task is dead-lettered, inside the transaction that marks it
// dead (e.g. the deadline engine raises an alert there, exactly once). An
// error rolls the dead-lettering back; the task is then re-run after its lease.
class DeadLetterHook {
 public:
  virtual ~DeadLetterHook() = default;
  virtual absl::Status OnDeadLettered(store::WriteTxn& txn, const TaskInfo& task,
                                      absl::Time now) = 0;
};

// Told when a task is done or skipped, inside the transaction that records it
// (e.g. a privacy request advances when its last task is done).
class TaskResultHook {
 public:
  virtual ~TaskResultHook() = default;
  virtual absl::Status OnTaskFinished(store::WriteTxn& txn, const TaskInfo& task,
                                      absl::Time now) = 0;
};

// Where a subject.export task's records go (the privacy-request module
// supplies an encrypted bundle writer). Close() is called once every record
// arrived; a sink destroyed without Close() must discard what it got, since
// the export will be retried from the start.
class ExportSink {
 public:
  virtual ~ExportSink() = default;
  virtual absl::Status Add(ExportedRecord record) = 0;
  virtual absl::Status Close() = 0;
};

class ExportSinkFactory {
 public:
  virtual ~ExportSinkFactory() = default;
  virtual absl::StatusOr<std::unique_ptr<ExportSink>> Open(const TaskInfo& task) = 0;
};

struct DispatcherOptions {
  absl::Duration poll_interval = absl::Seconds(1);     // re-read the table at least this often
  absl::Duration health_interval = absl::Seconds(10);  // Describe probes (0: never)
  absl::Duration waiting_poll = absl::Seconds(2);      // re-ask an asynchronous backend
  absl::Duration lease_margin = absl::Seconds(30);     // lease = call deadline + margin
  int error_window = 100;                              // recent calls for the error rate
  std::string owner;                                   // lease owner; default a new id
};

// What GetConnectorHealth shows. Counters cover this process's lifetime;
// last_success is also read from the table at start.
struct ConnectorHealth {
  std::string name;
  bool probed = false;     // a Describe probe has completed
  bool reachable = false;  // the last probe succeeded
  absl::Time last_probe = absl::InfinitePast();
  std::string probe_error;  // status code of the last failed probe
  Description description;  // from the last successful probe
  delivery::CircuitBreaker::State breaker = delivery::CircuitBreaker::State::kClosed;
  absl::Time breaker_open_until = absl::InfinitePast();
  int64_t breaker_opened = 0;
  absl::Time last_success = absl::InfinitePast();
  absl::Time last_failure = absl::InfinitePast();
  std::string last_error;  // status code of the last failed call
  double error_rate = 0;   // failed / calls over the last `error_window` calls
  int64_t window_calls = 0;
  int in_flight = 0;
  int64_t calls = 0;
  int64_t failures = 0;
};

struct DispatcherDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  Outbox* outbox = nullptr;  // registry and wake-ups
  const PayloadSealer* sealer = nullptr;
  // One client per registry entry, by connector name. Not owned.
  absl::flat_hash_map<std::string, ConnectorClient*> clients;
  delivery::RandomSource* random = nullptr;
  DeadLetterHook* dead_letters = nullptr;  // optional
  TaskResultHook* results = nullptr;       // optional
  ExportSinkFactory* exports = nullptr;    // optional: records are counted and dropped
};

class Dispatcher {
 public:
  // Every pointer in `deps` must outlive the dispatcher.
  Dispatcher(DispatcherDeps deps, DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Makes tasks left running by a previous process claimable now and skips
  // tasks of connectors that are no longer configured. Start() calls it.
  absl::Status Recover();
  // Recover(), then the claim loop and the health prober.
  absl::Status Start();
  // Stops claiming, gives calls in flight `grace`, cancels the rest and waits
  // for their outcomes to be written. Tasks still running are re-leased by the
  // next Start(). Idempotent.
  void Stop(absl::Duration grace);

  // Claims due tasks for every connector with free slots and a breaker that
  // lets calls through, and starts them. Returns how many started.
  int RunOnce();
  // Waits until no call is in flight and every outcome is written.
  void WaitIdle();
  // Probes every connector with Describe once.
  void ProbeOnce();
  // Wakes the loop (new tasks, a freed slot).
  void Wake();

  std::vector<ConnectorHealth> Health() const;
  // NOT_FOUND for an unknown connector.
  absl::StatusOr<ConnectorHealth> HealthOf(absl::string_view name) const;

  const std::string& owner() const { return options_.owner; }

 private:
  struct Runtime;
  struct Outcome;

  void Loop();
  void Execute(Runtime* rt, task_store::ClaimedTask task, bool probe);
  Outcome Call(Runtime* rt, const task_store::ClaimedTask& task);
  void Record(Runtime* rt, TaskInfo info, Outcome outcome);
  void CallEnded(Runtime* rt, bool failed, const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);

  DispatcherDeps deps_;
  DispatcherOptions options_;
  std::vector<std::unique_ptr<Runtime>> runtimes_;  // one per connector, fixed after ctor

  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // wake-ups, idleness
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // claimed and not yet written back
  absl::Time next_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread loop_;
  std::unique_ptr<delivery::BackgroundLoop> prober_;  // Describe every health_interval
  bool started_ = false;
};

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_DISPATCHER_H_
