// Scheduler: fires deadline alert levels when they come due, exactly once.
//
// The deadlines table is the truth; the scheduler keeps an in-memory queue of
// the near horizon (levels due before now + horizon), refilled from the
// deadlines_next_fire index in pages, never by scanning the table. Deadlines
// scheduled or moved while running reach the queue through ScheduleObserver
// (and wake the background thread early). The queue only says when to run:
// what fires is read from the index by FireDue, up to `fire_batch` deadlines
// per write transaction that writes their alerts set-based (by its fast path,
// one INSERT ... SELECT, while batches hold nothing but levels due for the
// first time; after a batch that did not, the next is fired the general way
// until one is simple again), so
// a stale queue entry fires nothing and a crash either fires a level
// completely or not at all. Once nothing more is due, the fired deadlines are
// moved to their next level (AdvanceFired) in further transactions: the
// alerts of a burst wait for nothing but each other. Levels are fired oldest first, also
// when several levels of one deadline came due during downtime. After each
// fired batch commits, listeners (the WatchAlerts feed, the delivery
// forwarder) are told the last alert seq.
//
// RunDue() does all the work synchronously and is what tests call after moving
// a FakeClock; Start() runs it on a background thread that sleeps until the
// next queued level (or `idle_check`), woken early by new deadlines or Poke().
//
// Thread-safe. Must outlive nothing it is given: the Store, Clock and
// Deadlines must outlive it.
#ifndef DSAR_LIB_DEADLINE_SCHEDULER_H_
#define DSAR_LIB_DEADLINE_SCHEDULER_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/clock.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/firing.h"
#include "lib/store/store.h"

namespace dsar::deadline {

// Told after alerts commit. Called on the scheduler's thread; must not block.
class AlertListener {
 public:
  virtual ~AlertListener() = default;
  virtual void OnAlertsFired(int64_t last_seq) = 0;
};

struct SchedulerOptions {
  // Levels due before now + horizon are kept in memory.
  absl::Duration horizon = absl::Hours(1);
  // Most queue entries loaded from the database at a time.
  int max_queued = 200000;
  // Deadlines fired per write transaction (each with all its due levels).
  // On the fast path a batch costs ~3-4 us per alert plus ~4 ms per commit
  // (WAL write and fsync): 4096 keeps the commits to a tenth of a burst's
  // time and a batch's hold on the writer to ~15-20 ms.
  int fire_batch = 4096;
  // Longest the background thread sleeps between checks of the database.
  absl::Duration idle_check = absl::Minutes(1);
  // Sinks every fired alert is pending for (see AlertForwarder).
  std::vector<std::string> sinks;
};

struct SchedulerStats {
  int64_t fired = 0;           // alerts fired by this scheduler
  int64_t stale_skipped = 0;   // due queue entries whose deadline had moved or closed
  int64_t refills = 0;         // pages read from the deadlines_next_fire index
  int64_t swept = 0;           // due deadlines fired that the queue did not hold
  int64_t fast_batches = 0;    // batches fired by FireDue's fast path
  int64_t fast_fallbacks = 0;  // batches where the fast path failed (fired the general way)
  size_t queued = 0;           // current queue size
};

class Scheduler final : public ScheduleObserver {
 public:
  // Registers itself as `deadlines`' observer.
  Scheduler(store::Store& store, Clock& clock, Deadlines& deadlines, SchedulerOptions options);
  ~Scheduler() override;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Before Start() / the first RunDue(). Not owned.
  void AddListener(AlertListener* listener);

  // Fires every level due at clock.Now(), oldest first; returns how many.
  // Errors are the store's (the levels stay due and fire on the next run).
  absl::StatusOr<int> RunDue();

  // Runs RunDue on a background thread until Stop(). Errors are logged and
  // retried with backoff.
  void Start();
  // Stops and joins the background thread. Idempotent.
  void Stop();
  // Wakes the background thread to run now (e.g. after a FakeClock moved).
  void Poke();

  // When the earliest queued level is due (InfiniteFuture when none).
  absl::Time NextQueuedTime() const;
  SchedulerStats stats() const;

  // ScheduleObserver.
  void OnNextAlert(absl::string_view tenant, absl::string_view deadline_id,
                   absl::Time fire_at) override;

 private:
  struct Entry {
    int64_t fire_us;
    std::string tenant;
    std::string deadline_id;
    bool operator<(const Entry& o) const {
      return std::tie(fire_us, tenant, deadline_id) < std::tie(o.fire_us, o.tenant, o.deadline_id);
    }
    bool operator>(const Entry& o) const { return o < *this; }
  };

  absl::Status MaybeRefill(absl::Time now);
  // Fires up to options_.fire_batch due deadlines after `after` in one write
  // transaction (FireDue) and tells the listeners.
  absl::StatusOr<FireDueResult> FireBatch(absl::Time now, const std::optional<DueKey>& after,
                                          bool try_fast);
  // AdvanceFired in transactions of up to options_.fire_batch deadlines.
  absl::Status Advance(const std::vector<PendingAdvance>& advances);
  void Insert(Entry e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  store::Store& store_;
  Clock& clock_;
  Deadlines& deadlines_;
  const SchedulerOptions options_;
  std::vector<AlertListener*> listeners_;

  absl::Mutex run_mu_;  // one RunDue at a time
  mutable absl::Mutex mu_;
  std::set<Entry> queue_ ABSL_GUARDED_BY(mu_);
  // Every row with next_fire_at_us <= loaded_until_us_ was in the queue when
  // last read (later changes arrive through OnNextAlert).
  int64_t loaded_until_us_ ABSL_GUARDED_BY(mu_);
  // Set when the last refill stopped at max_queued: the next page starts after it.
  std::optional<Entry> cursor_ ABSL_GUARDED_BY(mu_);
  SchedulerStats stats_ ABSL_GUARDED_BY(mu_);
  // Background thread state.
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time wake_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_SCHEDULER_H_
