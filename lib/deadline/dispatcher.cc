#include "lib/deadline/dispatcher.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <sodium.h>

#include <algorithm>

#include "lib/core/log.h"
#include "lib/core/status_macros.h"

namespace dsar::deadline {
namespace {

struct Outcome {
  int64_t seq;
  std::string state;  // delivered | pending | failed
  int attempts;
  absl::Time next_attempt;
  std::string error;
};

}  // namespace

AlertDispatcher::AlertDispatcher(store::Store& store, Clock& clock,
                                 std::vector<std::unique_ptr<AlertSink>> sinks,
                                 DispatcherOptions options)
    : store_(store), clock_(clock), options_(options) {
  for (auto& sink : sinks) {
    auto w = std::make_unique<Worker>();
    w->sink = std::move(sink);
    workers_.push_back(std::move(w));
  }
}

AlertDispatcher::~AlertDispatcher() { Stop(); }

std::vector<std::string> AlertDispatcher::sink_names() const {
  std::vector<std::string> names;
  for (const auto& w : workers_) names.push_back(w->sink->name());
  return names;
}

DispatcherStats AlertDispatcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

absl::Duration AlertDispatcher::Backoff(int attempt) const {
  absl::Duration d = options_.initial_backoff;
  for (int i = 1; i < attempt && d < options_.max_backoff; ++i) d *= 2;
  d = std::min(d, options_.max_backoff);
  // Jitter: 75%..125%, so many failed deliveries do not retry in lockstep.
  const double factor = 0.75 + 0.5 * (randombytes_uniform(10001) / 10000.0);
  return d * factor;
}

absl::StatusOr<int> AlertDispatcher::RunSinkPass(Worker& w, bool* more) {
  *more = false;
  const absl::Time now = clock_.Now();
  if (now < w.blocked_until) return 0;
  std::vector<AlertDelivery> due;
  RETURN_IF_ERROR(store_.Read([&](store::ReadTxn& txn) -> absl::Status {
    SQLite::Statement& select = txn.Prepare(
        "SELECT d.alert_seq, d.attempts, a.alert_id, a.tenant_id, a.deadline_id, a.kind, "
        "a.offset_us, a.payload FROM deadline_alert_deliveries d "
        "JOIN deadline_alerts a ON a.seq = d.alert_seq AND a.tenant_id = d.tenant_id "
        "WHERE d.sink = ? AND d.state = 'pending' AND d.next_attempt_us <= ? "
        "ORDER BY d.next_attempt_us, d.alert_seq LIMIT ?");
    select.bind(1, w.sink->name());
    select.bind(2, static_cast<int64_t>(absl::ToUnixMicros(now)));
    select.bind(3, options_.batch);
    while (select.executeStep()) {
      AlertDelivery d;
      d.seq = select.getColumn(0).getInt64();
      d.attempt = select.getColumn(1).getInt() + 1;
      d.alert_id = select.getColumn(2).getString();
      d.tenant = select.getColumn(3).getString();
      d.deadline_id = select.getColumn(4).getString();
      d.kind = select.getColumn(5).getString();
      d.offset_seconds = select.getColumn(6).getInt64() / 1000000;
      d.payload = select.getColumn(7).getString();
      due.push_back(std::move(d));
    }
    select.reset();
    return absl::OkStatus();
  }));
  if (due.empty()) return 0;

  std::vector<Outcome> outcomes;
  bool blocked = false;
  DispatcherStats delta;
  for (const AlertDelivery& d : due) {
    absl::Status s = w.sink->Deliver(d);
    const absl::Time at = clock_.Now();
    if (s.ok()) {
      outcomes.push_back({d.seq, "delivered", d.attempt, at, ""});
      ++delta.delivered;
      continue;
    }
    std::string error(s.message().substr(0, 500));
    const bool out_of_attempts = options_.max_attempts > 0 && d.attempt >= options_.max_attempts;
    if (s.code() == absl::StatusCode::kInvalidArgument || out_of_attempts) {
      outcomes.push_back({d.seq, "failed", d.attempt, at, error});
      ++delta.failed;
      log::Error("deadline_alert_undeliverable",
                 {{"alert_id", d.alert_id}, {"sink", w.sink->name()}, {"attempts", d.attempt},
                  {"code", absl::StatusCodeToString(s.code())}});
      continue;
    }
    const absl::Time next = at + Backoff(d.attempt);
    outcomes.push_back({d.seq, "pending", d.attempt, next, error});
    ++delta.retried;
    log::Warn("deadline_alert_delivery_retry",
              {{"alert_id", d.alert_id}, {"sink", w.sink->name()}, {"attempt", d.attempt},
               {"code", absl::StatusCodeToString(s.code())},
               {"retry_in_ms", absl::ToInt64Milliseconds(next - at)}});
    // The receiver is probably down: leave the rest until this retry.
    w.blocked_until = next;
    blocked = true;
    break;
  }
  const std::string sink = w.sink->name();
  RETURN_IF_ERROR(store_.WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    for (const Outcome& o : outcomes) {
      SQLite::Statement& update = txn.Prepare(
          "UPDATE deadline_alert_deliveries SET state = ?, attempts = ?, next_attempt_us = ?, "
          "last_error = ?, delivered_at_us = CASE WHEN ? = 'delivered' THEN ? ELSE NULL END "
          "WHERE alert_seq = ? AND sink = ? AND state = 'pending'");
      const int64_t at_us = absl::ToUnixMicros(o.next_attempt);
      update.bind(1, o.state);
      update.bind(2, o.attempts);
      update.bind(3, at_us);
      update.bind(4, o.error);
      update.bind(5, o.state);
      update.bind(6, at_us);
      update.bind(7, o.seq);
      update.bind(8, sink);
      update.exec();
    }
    return absl::OkStatus();
  }));
  {
    absl::MutexLock lock(&mu_);
    stats_.delivered += delta.delivered;
    stats_.retried += delta.retried;
    stats_.failed += delta.failed;
  }
  *more = !blocked && static_cast<int>(due.size()) == options_.batch;
  return static_cast<int>(outcomes.size());
}

absl::StatusOr<int> AlertDispatcher::RunSink(Worker& w) {
  int total = 0;
  bool more = true;
  while (more) {
    ASSIGN_OR_RETURN(int n, RunSinkPass(w, &more));
    total += n;
  }
  return total;
}

absl::StatusOr<int> AlertDispatcher::RunOnce() {
  int total = 0;
  for (auto& w : workers_) {
    ASSIGN_OR_RETURN(int n, RunSink(*w));
    total += n;
  }
  return total;
}

void AlertDispatcher::Poke() {
  absl::MutexLock lock(&mu_);
  for (auto& w : workers_) w->poked = true;
}

absl::Time AlertDispatcher::NextAttempt(const Worker& w) {
  absl::Time next = absl::InfiniteFuture();
  store_
      .Read([&](store::ReadTxn& txn) -> absl::Status {
        SQLite::Statement& select = txn.Prepare(
            "SELECT MIN(next_attempt_us) FROM deadline_alert_deliveries "
            "WHERE sink = ? AND state = 'pending'");
        select.bind(1, w.sink->name());
        if (select.executeStep() && !select.getColumn(0).isNull()) {
          next = absl::FromUnixMicros(select.getColumn(0).getInt64());
        }
        select.reset();
        return absl::OkStatus();
      })
      .IgnoreError();
  return std::max(next, w.blocked_until);
}

void AlertDispatcher::Start() {
  absl::MutexLock lock(&mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  for (auto& w : workers_) {
    w->poked = true;  // deliver what a previous run left pending
    Worker* worker = w.get();
    w->thread = std::thread([this, worker] { Loop(*worker); });
  }
}

void AlertDispatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return;
    stopping_ = true;
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  absl::MutexLock lock(&mu_);
  running_ = false;
}

void AlertDispatcher::Loop(Worker& w) {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      w.poked = false;
    }
    absl::StatusOr<int> n = RunSink(w);
    absl::Duration wait;
    const absl::Time now = clock_.Now();
    if (!n.ok()) {
      log::Warn("deadline_dispatcher_run_failed",
                {{"sink", w.sink->name()}, {"code", absl::StatusCodeToString(n.status().code())}});
      wait = absl::Seconds(1);
    } else {
      const absl::Time next = std::min(NextAttempt(w), now + options_.idle_check);
      wait = std::max(next - now, absl::ZeroDuration());
    }
    Worker* worker = &w;
    absl::MutexLock lock(&mu_);
    struct Args {
      AlertDispatcher* self;
      Worker* w;
    } args{this, worker};
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                               return a->self->stopping_ || a->w->poked;
                             },
                             &args),
                         wait);
  }
}

}  // namespace dsar::deadline
