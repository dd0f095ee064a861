#include "lib/deadline/scheduler.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <queue>

#include "lib/core/log.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadline_rows.h"
#include "lib/deadline/firing.h"

namespace dsar::deadline {
namespace {

int64_t Us(absl::Time t) {
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  return absl::ToUnixMicros(t);
}

}  // namespace

Scheduler::Scheduler(store::Store& store, Clock& clock, Deadlines& deadlines,
                     SchedulerOptions options)
    : store_(store),
      clock_(clock),
      deadlines_(deadlines),
      options_(std::move(options)),
      loaded_until_us_(std::numeric_limits<int64_t>::min()) {
  deadlines_.set_observer(this);
}

Scheduler::~Scheduler() {
  deadlines_.clear_observer(this);
  // A writer-thread call to OnNextAlert that loaded the observer before it was
  // cleared has finished once a later write has run.
  store_.WriteAndWait([](store::WriteTxn&) { return absl::OkStatus(); }).IgnoreError();
  Stop();
}

void Scheduler::AddListener(AlertListener* listener) { listeners_.push_back(listener); }

void Scheduler::Insert(Entry e) {
  // Entries beyond the loaded window (plus one horizon, which the next refill
  // reads anyway) are left to the refill, so far-future deadlines never crowd
  // the queue. Before the first refill the window starts at now.
  const int64_t horizon_us = absl::ToInt64Microseconds(options_.horizon);
  const int64_t base = std::max(loaded_until_us_, Us(clock_.Now()));
  const int64_t window = base > std::numeric_limits<int64_t>::max() - horizon_us
                             ? std::numeric_limits<int64_t>::max()
                             : base + horizon_us;
  if (e.fire_us > window && !(cursor_.has_value() && !(*cursor_ < e))) return;
  queue_.insert(std::move(e));
}

void Scheduler::OnNextAlert(absl::string_view tenant, absl::string_view deadline_id,
                            absl::Time fire_at) {
  absl::MutexLock lock(&mu_);
  Insert(Entry{Us(fire_at), std::string(tenant), std::string(deadline_id)});
  if (fire_at < wake_at_) poked_ = true;
}

void Scheduler::Poke() {
  absl::MutexLock lock(&mu_);
  poked_ = true;
}

absl::Time Scheduler::NextQueuedTime() const {
  absl::MutexLock lock(&mu_);
  if (queue_.empty()) return absl::InfiniteFuture();
  return absl::FromUnixMicros(queue_.begin()->fire_us);
}

SchedulerStats Scheduler::stats() const {
  absl::MutexLock lock(&mu_);
  SchedulerStats s = stats_;
  s.queued = queue_.size();
  return s;
}

absl::Status Scheduler::MaybeRefill(absl::Time now) {
  const int64_t target = Us(now + options_.horizon);
  std::optional<Entry> cursor;
  int64_t from = 0;
  int room = 0;
  {
    absl::MutexLock lock(&mu_);
    if (cursor_.has_value()) {
      if (static_cast<int>(queue_.size()) >= options_.max_queued / 2) return absl::OkStatus();
    } else if (loaded_until_us_ >= Us(now + options_.horizon / 2)) {
      return absl::OkStatus();
    }
    room = options_.max_queued - static_cast<int>(queue_.size());
    if (room <= 0) return absl::OkStatus();
    cursor = cursor_;
    from = loaded_until_us_;
  }
  std::vector<Entry> rows;
  RETURN_IF_ERROR(store_.Read([&](store::ReadTxn& txn) -> absl::Status {
    std::optional<internal::FireRow> after;
    if (cursor.has_value())
      after = internal::FireRow{cursor->fire_us, cursor->tenant, cursor->deadline_id};
    std::vector<internal::FireRow> due = internal::NextToFire(txn, after, from, target, room);
    rows.reserve(due.size());
    for (internal::FireRow& r : due) {
      rows.push_back(Entry{r.fire_us, std::move(r.tenant), std::move(r.deadline_id)});
    }
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&mu_);
  ++stats_.refills;
  const bool full_page = static_cast<int>(rows.size()) == room;
  if (full_page) {
    cursor_ = rows.back();
    loaded_until_us_ = std::max(loaded_until_us_, rows.back().fire_us - 1);
  } else {
    cursor_.reset();
    loaded_until_us_ = std::max(loaded_until_us_, target);
  }
  for (Entry& e : rows) queue_.insert(std::move(e));
  return absl::OkStatus();
}

absl::StatusOr<FireDueResult> Scheduler::FireBatch(absl::Time now,
                                                   const std::optional<DueKey>& after,
                                                   bool try_fast) {
  FireDueResult result;
  const AlertLevels& levels = deadlines_.options().levels;
  RETURN_IF_ERROR(store_.WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    // The actual firing time; at or after `now`, which decided what is due.
    const absl::Time fire_now = std::max(now, clock_.Now());
    result = FireDue(txn, levels, fire_now, options_.fire_batch, options_.sinks, after, try_fast);
    return absl::OkStatus();
  }));
  if (result.fired > 0) {
    for (AlertListener* listener : listeners_) listener->OnAlertsFired(result.last_seq);
  }
  return result;
}

absl::Status Scheduler::Advance(const std::vector<PendingAdvance>& advances) {
  const size_t batch = static_cast<size_t>(std::max(1, options_.fire_batch));
  for (size_t first = 0; first < advances.size(); first += batch) {
    const size_t last = std::min(advances.size(), first + batch);
    RETURN_IF_ERROR(store_.WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
      AdvanceFired(txn,
                   std::vector<PendingAdvance>(advances.begin() + first, advances.begin() + last),
                   clock_.Now());
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Scheduler::RunDue() {
  absl::MutexLock run(&run_mu_);
  const absl::Time now = clock_.Now();
  const int64_t now_us = Us(now);
  RETURN_IF_ERROR(MaybeRefill(now));
  // Queued entries that are due only say that something is due: what fires is
  // read from the deadlines_next_fire index (FireDue), in batches, oldest
  // first. Entries that fire nothing were stale (the deadline moved or
  // closed). A deadline that comes due while this runs is inserted after this
  // and pokes the background thread, so it is never dropped.
  std::set<Entry> hinted;
  {
    absl::MutexLock lock(&mu_);
    while (!queue_.empty() && queue_.begin()->fire_us <= now_us) {
      hinted.insert(hinted.end(), std::move(queue_.extract(queue_.begin()).value()));
    }
  }
  int fired = 0;
  int64_t swept = 0;
  // First every due alert, batch after batch through the index; then the
  // deadlines' bookkeeping (AdvanceFired), which no alert waits for.
  std::vector<PendingAdvance> advances;
  std::optional<DueKey> after;
  // Alerts fired by the fast path (seq ranges): their deadlines are read back
  // once the burst is fired.
  std::vector<std::pair<int64_t, int64_t>> fast_ranges;
  int64_t fast_batches = 0, fast_fallbacks = 0;
  bool try_fast = true;
  auto take_fired = [&](std::vector<FiredDeadline>& deadlines) {
    for (FiredDeadline& d : deadlines) {
      Entry key{d.fire_us, std::move(d.tenant), std::move(d.deadline_id)};
      auto it = hinted.find(key);
      if (it != hinted.end()) {
        hinted.erase(it);
      } else {
        ++swept;
      }
      if (d.next_fire_us.has_value()) {
        key.fire_us = *d.next_fire_us;
        absl::MutexLock lock(&mu_);
        Insert(std::move(key));
      }
    }
  };
  for (;;) {
    ASSIGN_OR_RETURN(FireDueResult r, FireBatch(now, after, try_fast));
    fired += r.fired;
    if (r.fast) {
      ++fast_batches;
      fast_ranges.emplace_back(r.first_seq, r.last_seq);
    }
    if (r.fell_back) ++fast_fallbacks;
    // After a batch that was not simple (catch-up, levels fired before a
    // crash), the general path goes on until a batch is simple again.
    try_fast = r.fast || r.simple;
    advances.insert(advances.end(), std::make_move_iterator(r.advances.begin()),
                    std::make_move_iterator(r.advances.end()));
    take_fired(r.deadlines);
    if (!r.more) break;
    after = std::move(r.last);
    RETURN_IF_ERROR(MaybeRefill(now));
  }
  if (!fast_ranges.empty()) {
    std::vector<FiredDeadline> fast_fired;
    fast_fired.reserve(static_cast<size_t>(fast_batches) *
                       static_cast<size_t>(std::max(1, options_.fire_batch)));
    const AlertLevels& levels = deadlines_.options().levels;
    RETURN_IF_ERROR(store_.Read([&](store::ReadTxn& txn) -> absl::Status {
      for (const auto& [first, last] : fast_ranges) {
        CollectFastFired(txn, levels, first, last, &fast_fired, &advances);
      }
      return absl::OkStatus();
    }));
    take_fired(fast_fired);
  }
  {
    absl::MutexLock lock(&mu_);
    stats_.fast_batches += fast_batches;
    stats_.fast_fallbacks += fast_fallbacks;
    stats_.fired += fired;
    stats_.swept += swept;
    stats_.stale_skipped += static_cast<int64_t>(hinted.size());
  }
  // A failure here leaves alerts fired and deadlines behind them: the next
  // run reads those again, fires nothing twice and advances them then.
  RETURN_IF_ERROR(Advance(advances));
  return fired;
}

void Scheduler::Start() {
  absl::MutexLock lock(&mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  running_ = false;
}

void Scheduler::Loop() {
  absl::Duration backoff = absl::Milliseconds(100);
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      poked_ = false;
    }
    absl::StatusOr<int> fired = RunDue();
    absl::Duration wait;
    if (!fired.ok()) {
      log::Warn("deadline_scheduler_run_failed",
                {{"code", absl::StatusCodeToString(fired.status().code())},
                 {"retry_ms", absl::ToInt64Milliseconds(backoff)}});
      wait = backoff;
      backoff = std::min(backoff * 2, absl::Seconds(30));
    } else {
      backoff = absl::Milliseconds(100);
      const absl::Time now = clock_.Now();
      const absl::Time next = std::min(NextQueuedTime(), now + options_.idle_check);
      wait = std::max(next - now, absl::ZeroDuration());
    }
    absl::MutexLock lock(&mu_);
    wake_at_ = clock_.Now() + wait;
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](Scheduler* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
                               return s->stopping_ || s->poked_;
                             },
                             this),
                         wait);
    wake_at_ = absl::InfiniteFuture();
  }
}

}  // namespace dsar::deadline
