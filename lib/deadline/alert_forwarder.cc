#include "lib/deadline/alert_forwarder.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lib/core/log.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/alert_delivery_rows.h"
#include "lib/delivery/attempt.h"
#include "lib/delivery/delivery_rows.h"

namespace dsar::deadline {

using internal::DueDelivery;

namespace {

// What became of one attempt of an alert.
struct DeliveryOutcome {
  int64_t seq = 0;
  delivery::AttemptOutcome outcome;
  std::string tenant;
  bool retry = false;  // a row of the deliveries table; else a fresh alert
};

}  // namespace

AlertForwarder::AlertForwarder(store::Store& store, Clock& clock,
                               std::vector<std::unique_ptr<AlertSink>> sinks,
                               AlertForwarderOptions options, delivery::RandomSource* random)
    : store_(store),
      clock_(clock),
      options_(options),
      retry_{options.initial_backoff, options.max_backoff, delivery::RetryPolicy::Jitter::kSpread,
             options.max_attempts},
      own_random_(random == nullptr ? std::make_unique<delivery::DefaultRandomSource>() : nullptr),
      random_(random == nullptr ? own_random_.get() : random) {
  for (auto& sink : sinks) {
    auto w = std::make_unique<Worker>();
    w->sink = std::move(sink);
    workers_.push_back(std::move(w));
  }
}

AlertForwarder::~AlertForwarder() { Stop(); }

std::vector<std::string> AlertForwarder::sink_names() const {
  std::vector<std::string> names;
  for (const auto& w : workers_) names.push_back(w->sink->name());
  return names;
}

AlertForwarderStats AlertForwarder::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

absl::Status AlertForwarder::Drain(InFlightQueue* in_flight, size_t keep) {
  absl::Status first_error;
  while (in_flight->size() > keep) {
    in_flight->front()->done.WaitForNotification();
    if (first_error.ok()) first_error = in_flight->front()->status;
    in_flight->pop_front();
  }
  return first_error;
}

absl::StatusOr<int> AlertForwarder::RunSinkPass(Worker& w, bool* more, int64_t* after_seq,
                                                InFlightQueue* in_flight) {
  *more = false;
  const absl::Time now = clock_.Now();
  if (now < w.blocked_until) return 0;
  const int batch = options_.batch > 0 ? options_.batch : std::max(1, w.sink->max_batch());
  const bool needs_payload = w.sink->needs_payload();
  const std::string sink = w.sink->name();
  // Retries that are due (rows of deadline_alert_deliveries) and fresh alerts
  // after the sink's cursor (in seq order), merged by when each became due
  // (a retry's next attempt, an alert's firing), so one alert that keeps
  // failing does not hold up the others.
  std::vector<DueDelivery> retries, fresh;
  RETURN_IF_ERROR(store_.Read([&](store::ReadTxn& txn) -> absl::Status {
    retries = internal::DueRetries(txn, sink, now, batch, needs_payload);
    fresh = internal::FreshAlerts(txn, sink, *after_seq, batch, needs_payload);
    return absl::OkStatus();
  }));
  struct Due {
    AlertDelivery* d;
    bool retry;
  };
  std::vector<Due> due;
  for (size_t i = 0, j = 0;
       static_cast<int>(due.size()) < batch && (i < retries.size() || j < fresh.size());) {
    const bool take_retry =
        j == fresh.size() ||
        (i < retries.size() && std::tie(retries[i].due_us, retries[i].delivery.seq) <
                                   std::tie(fresh[j].due_us, fresh[j].delivery.seq));
    if (take_retry) {
      due.push_back({&retries[i++].delivery, true});
    } else {
      due.push_back({&fresh[j++].delivery, false});
    }
  }
  if (due.empty()) return 0;

  std::vector<DeliveryOutcome> outcomes;
  bool blocked = false;
  AlertForwarderStats delta;
  for (const Due& next_due : due) {
    const AlertDelivery& d = *next_due.d;
    const absl::Status s = w.sink->Deliver(d);
    const delivery::AttemptOutcome o =
        delivery::JudgeAttempt(retry_, d.attempt, s, clock_.Now(), random_->Uniform());
    outcomes.push_back({d.seq, o, d.tenant, next_due.retry});
    switch (o.state) {
      case delivery::DeliveryState::kDelivered:
        ++delta.delivered;
        continue;
      case delivery::DeliveryState::kFailed:
        ++delta.failed;
        log::Error("deadline_alert_undeliverable", {{"alert_id", d.alert_id},
                                                    {"sink", sink},
                                                    {"attempts", d.attempt},
                                                    {"code", absl::StatusCodeToString(s.code())}});
        continue;
      case delivery::DeliveryState::kPending:
        break;
    }
    ++delta.retried;
    log::Warn("deadline_alert_delivery_retry",
              {{"alert_id", d.alert_id},
               {"sink", sink},
               {"attempt", d.attempt},
               {"code", absl::StatusCodeToString(s.code())},
               {"retry_in_ms", absl::ToInt64Milliseconds(o.at - clock_.Now())}});
    // The receiver is probably down: leave the rest until this retry.
    w.blocked_until = o.at;
    blocked = true;
    break;
  }
  w.sink->Flush();
  // Only fresh alerts, all delivered: the record may follow while the next
  // pass reads on (nothing of it is read back before it commits but the
  // cursor, which *after_seq stands in for).
  const bool pipelined =
      std::all_of(outcomes.begin(), outcomes.end(), [](const DeliveryOutcome& o) {
        return !o.retry && o.outcome.state == delivery::DeliveryState::kDelivered;
      });
  const int attempted = static_cast<int>(outcomes.size());
  int64_t last_fresh_seq = 0;
  for (const DeliveryOutcome& o : outcomes) {
    if (!o.retry) last_fresh_seq = std::max(last_fresh_seq, o.seq);
  }
  auto record = [this, sink, outcomes = std::move(outcomes)](store::WriteTxn& txn) -> absl::Status {
    namespace rows = delivery::delivery_rows;
    const std::string channel = rows::AlertsChannel(sink);
    // Retries: rows updated, deliveries set-based.
    std::vector<rows::Delivered> delivered;
    for (const DeliveryOutcome& o : outcomes) {
      if (!o.retry) continue;
      if (o.outcome.state == delivery::DeliveryState::kDelivered) {
        delivered.push_back({o.seq, o.outcome.attempts, o.outcome.at});
      } else {
        rows::RecordOutcome(txn, channel, o.seq, o.outcome);
      }
    }
    rows::MarkDelivered(txn, channel, delivered);
    // Fresh alerts (attempted in seq order): the cursor moves past every one
    // attempted; those not delivered get a row (pending retry, or failed).
    int64_t last_fresh = -1;
    for (const DeliveryOutcome& o : outcomes) {
      if (o.retry) continue;
      last_fresh = o.seq;
      if (o.outcome.state != delivery::DeliveryState::kDelivered) {
        rows::InsertOutcome(txn, channel, o.seq, o.tenant, o.outcome);
      }
    }
    if (last_fresh >= 0) internal::AdvanceCursor(txn, sink, last_fresh, clock_.Now());
    return absl::OkStatus();
  };
  auto count = [this, delta] {
    absl::MutexLock lock(&mu_);
    stats_.delivered += delta.delivered;
    stats_.retried += delta.retried;
    stats_.failed += delta.failed;
  };
  if (pipelined) {
    RETURN_IF_ERROR(Drain(in_flight, kMaxInFlight - 1));
    auto pending = std::make_unique<InFlight>();
    InFlight* p = pending.get();
    in_flight->push_back(std::move(pending));
    store_.Write(std::move(record), [p, count](absl::Status s) {
      if (s.ok()) count();
      p->status = std::move(s);
      p->done.Notify();
    });
    *after_seq = std::max(*after_seq, last_fresh_seq);
  } else {
    // Retry rows are read back by later passes: their record commits first.
    RETURN_IF_ERROR(Drain(in_flight, 0));
    RETURN_IF_ERROR(store_.WriteAndWait(std::move(record)));
    count();
  }
  *more = !blocked && static_cast<int>(due.size()) == batch;
  return attempted;
}

absl::StatusOr<int> AlertForwarder::RunSink(Worker& w) {
  int total = 0;
  bool more = true;
  int64_t after_seq = 0;
  InFlightQueue in_flight;
  absl::Status status;
  while (more && status.ok()) {
    absl::StatusOr<int> n = RunSinkPass(w, &more, &after_seq, &in_flight);
    if (n.ok()) {
      total += *n;
    } else {
      status = n.status();
    }
  }
  // Every record waited for, also after an error (they reference nothing of
  // this frame, but the run's outcome includes theirs).
  absl::Status drained = Drain(&in_flight, 0);
  if (status.ok()) status = drained;
  if (!status.ok()) return status;
  return total;
}

absl::StatusOr<int> AlertForwarder::RunOnce() {
  int total = 0;
  for (auto& w : workers_) {
    ASSIGN_OR_RETURN(int n, RunSink(*w));
    total += n;
  }
  return total;
}

void AlertForwarder::Poke() {
  absl::MutexLock lock(&mu_);
  for (auto& w : workers_) {
    if (w->loop != nullptr) w->loop->Wake();
  }
}

absl::Time AlertForwarder::NextAttempt(const Worker& w) {
  absl::Time next = absl::InfiniteFuture();
  store_
      .Read([&](store::ReadTxn& txn) -> absl::Status {
        if (internal::AnyFreshAlert(txn, w.sink->name())) {
          next = absl::InfinitePast();
        } else if (auto earliest = delivery::delivery_rows::EarliestDue(
                       txn, delivery::delivery_rows::AlertsChannel(w.sink->name()))) {
          next = *earliest;
        }
        return absl::OkStatus();
      })
      .IgnoreError();
  return std::max(next, w.blocked_until);
}

void AlertForwarder::Start() {
  absl::MutexLock lock(&mu_);
  if (running_) return;
  running_ = true;
  for (auto& w : workers_) {
    // The first pass runs at once: it delivers what a previous run left.
    Worker* worker = w.get();
    w->loop =
        std::make_unique<delivery::BackgroundLoop>([this, worker] { return LoopPass(*worker); });
    w->loop->Start();
  }
}

void AlertForwarder::Stop() {
  std::vector<std::unique_ptr<delivery::BackgroundLoop>> loops;
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return;
    running_ = false;
    for (auto& w : workers_) loops.push_back(std::move(w->loop));
  }
  // Joined without mu_: a pass takes it to count its outcome.
  for (auto& loop : loops) loop->Stop();
}

absl::Duration AlertForwarder::LoopPass(Worker& w) {
  absl::StatusOr<int> n = RunSink(w);
  if (!n.ok()) {
    log::Warn("deadline_dispatcher_run_failed",
              {{"sink", w.sink->name()}, {"code", absl::StatusCodeToString(n.status().code())}});
    return absl::Seconds(1);
  }
  const absl::Time now = clock_.Now();
  const absl::Time next = std::min(NextAttempt(w), now + options_.idle_check);
  return std::max(next - now, absl::ZeroDuration());
}

}  // namespace dsar::deadline
