#include "lib/deadline/alert_forwarder.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lib/core/log.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/alerts.h"

namespace dsar::deadline {
namespace {

struct Outcome {
  int64_t seq;
  std::string state;  // delivered | pending | failed
  int attempts;
  absl::Time next_attempt;
  std::string error;
  std::string tenant;
  bool retry;  // a row of deadline_alert_deliveries; else a fresh alert
};

// "<head>(?,?,?),(?,?,?)...<tail>": `rows` tuples of three parameters.
std::string ThreeColumnRows(absl::string_view head, size_t rows, absl::string_view tail) {
  std::string sql(head);
  for (size_t r = 0; r < rows; ++r) sql.append(r == 0 ? "(?,?,?)" : ",(?,?,?)");
  sql.append(tail.data(), tail.size());
  return sql;
}

// Marks `delivered` (pending rows of `sink`) delivered, with multi-row
// UPDATEs of at most 64 rows (shorter tails in powers of two, so few
// statements are ever prepared).
void RecordDelivered(store::WriteTxn& txn, const std::string& sink,
                     const std::vector<const Outcome*>& delivered) {
  for (size_t first = 0; first < delivered.size();) {
    size_t n = 64;
    while (n > delivered.size() - first) n /= 2;
    // v.column1..3: alert seq, attempts, delivery time.
    SQLite::Statement& update = txn.Prepare(ThreeColumnRows(
        "UPDATE deadline_alert_deliveries SET state = 'delivered', attempts = v.column2, "
        "next_attempt_us = v.column3, last_error = '', delivered_at_us = v.column3 "
        "FROM (VALUES ",
        n, ") AS v WHERE alert_seq = v.column1 AND sink = ? AND state = 'pending'"));
    int p = 1;
    for (size_t i = first; i < first + n; ++i) {
      update.bind(p++, delivered[i]->seq);
      update.bind(p++, delivered[i]->attempts);
      update.bind(p++, static_cast<int64_t>(absl::ToUnixMicros(delivered[i]->next_attempt)));
    }
    update.bind(p, sink);  // the last parameter, after the rows'
    update.exec();
    first += n;
  }
}

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

namespace {

// The columns ReadDelivery expects, for an alert `a` joined with its deadline
// `dl`; the first two are the seq and the attempts made so far.
constexpr char kDeliveryColumns[] =
    "a.legacy_alert_id, a.tenant_id, a.deadline_id, dl.kind, a.offset_us, a.legacy_payload, "
    "dl.resource, a.due_version, a.due_at_us, a.fire_at_us, a.fired_at_us";

AlertDelivery ReadDelivery(SQLite::Statement& select, bool needs_payload) {
  AlertDelivery d;
  d.seq = select.getColumn(0).getInt64();
  d.attempt = select.getColumn(1).getInt() + 1;
  d.tenant = select.getColumn(3).getString();
  d.deadline_id = select.getColumn(4).getString();
  d.kind = select.getColumn(5).getString();
  const int64_t offset_us = select.getColumn(6).getInt64();
  d.offset_seconds = offset_us / 1000000;
  const int due_version = select.getColumn(9).getInt();
  d.alert_id = select.getColumn(2).isNull()
                   ? AlertIdFor(d.deadline_id, due_version, absl::Microseconds(offset_us))
                   : select.getColumn(2).getString();
  if (!needs_payload) return d;
  if (!select.getColumn(7).isNull()) {
    d.payload = select.getColumn(7).getString();
    return d;
  }
  // Alerts store no body: it is a pure function of the row and its deadline,
  // so every attempt sends the same bytes.
  Alert a;
  a.alert_id = d.alert_id;
  a.tenant = d.tenant;
  a.deadline_id = d.deadline_id;
  a.kind = d.kind;
  a.resource = select.getColumn(8).getString();
  a.due_version = due_version;
  a.offset = absl::Microseconds(offset_us);
  a.due_at = absl::FromUnixMicros(select.getColumn(10).getInt64());
  a.fire_at = absl::FromUnixMicros(select.getColumn(11).getInt64());
  a.fired_at = absl::FromUnixMicros(select.getColumn(12).getInt64());
  d.payload = AlertPayload(a);
  return d;
}

}  // namespace

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
  std::vector<AlertDelivery> retries, fresh;
  std::vector<int64_t> retry_at, fresh_at;
  RETURN_IF_ERROR(store_.Read([&](store::ReadTxn& txn) -> absl::Status {
    SQLite::Statement& select_retries = txn.Prepare(absl::StrCat(
        "SELECT d.alert_seq, d.attempts, ", kDeliveryColumns,
        ", d.next_attempt_us FROM deadline_alert_deliveries d "
        "JOIN deadline_alerts a ON a.seq = d.alert_seq AND a.tenant_id = d.tenant_id "
        "LEFT JOIN deadlines dl ON dl.tenant_id = a.tenant_id AND dl.deadline_id = a.deadline_id "
        "WHERE d.sink = ? AND d.state = 'pending' AND d.next_attempt_us <= ? "
        "ORDER BY d.next_attempt_us, d.alert_seq LIMIT ?"));
    select_retries.bind(1, sink);
    select_retries.bind(2, static_cast<int64_t>(absl::ToUnixMicros(now)));
    select_retries.bind(3, batch);
    while (select_retries.executeStep()) {
      retries.push_back(ReadDelivery(select_retries, needs_payload));
      retry_at.push_back(select_retries.getColumn(13).getInt64());
    }
    select_retries.reset();
    SQLite::Statement& select_fresh = txn.Prepare(absl::StrCat(
        "SELECT a.seq, 0, ", kDeliveryColumns,
        ", a.fired_at_us FROM deadline_alert_sinks s "
        "JOIN deadline_alerts a ON a.seq > MAX(s.delivered_seq, ?3) "
        "LEFT JOIN deadlines dl ON dl.tenant_id = a.tenant_id AND dl.deadline_id = a.deadline_id "
        "WHERE s.sink = ?1 ORDER BY a.seq LIMIT ?2"));
    select_fresh.bind(1, sink);
    select_fresh.bind(2, batch);
    select_fresh.bind(3, *after_seq);
    while (select_fresh.executeStep()) {
      fresh.push_back(ReadDelivery(select_fresh, needs_payload));
      fresh_at.push_back(select_fresh.getColumn(13).getInt64());
    }
    select_fresh.reset();
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
        j == fresh.size() || (i < retries.size() && std::tie(retry_at[i], retries[i].seq) <
                                                        std::tie(fresh_at[j], fresh[j].seq));
    if (take_retry) {
      due.push_back({&retries[i++], true});
    } else {
      due.push_back({&fresh[j++], false});
    }
  }
  if (due.empty()) return 0;

  std::vector<Outcome> outcomes;
  bool blocked = false;
  AlertForwarderStats delta;
  for (const Due& next_due : due) {
    const AlertDelivery& d = *next_due.d;
    absl::Status s = w.sink->Deliver(d);
    const absl::Time at = clock_.Now();
    if (s.ok()) {
      outcomes.push_back({d.seq, "delivered", d.attempt, at, "", d.tenant, next_due.retry});
      ++delta.delivered;
      continue;
    }
    std::string error(s.message().substr(0, 500));
    const bool out_of_attempts = retry_.OutOfAttempts(d.attempt);
    if (s.code() == absl::StatusCode::kInvalidArgument || out_of_attempts) {
      outcomes.push_back({d.seq, "failed", d.attempt, at, error, d.tenant, next_due.retry});
      ++delta.failed;
      log::Error("deadline_alert_undeliverable", {{"alert_id", d.alert_id},
                                                  {"sink", sink},
                                                  {"attempts", d.attempt},
                                                  {"code", absl::StatusCodeToString(s.code())}});
      continue;
    }
    const absl::Time next = at + retry_.Delay(d.attempt, random_->Uniform());
    outcomes.push_back({d.seq, "pending", d.attempt, next, error, d.tenant, next_due.retry});
    ++delta.retried;
    log::Warn("deadline_alert_delivery_retry",
              {{"alert_id", d.alert_id},
               {"sink", sink},
               {"attempt", d.attempt},
               {"code", absl::StatusCodeToString(s.code())},
               {"retry_in_ms", absl::ToInt64Milliseconds(next - at)}});
    // The receiver is probably down: leave the rest until this retry.
    w.blocked_until = next;
    blocked = true;
    break;
  }
  w.sink->Flush();
  // Only fresh alerts, all delivered: the record may follow while the next
  // pass reads on (nothing of it is read back before it commits but the
  // cursor, which *after_seq stands in for).
  const bool pipelined = std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) {
    return !o.retry && o.state == "delivered";
  });
  const int attempted = static_cast<int>(outcomes.size());
  int64_t last_fresh_seq = 0;
  for (const Outcome& o : outcomes) {
    if (!o.retry) last_fresh_seq = std::max(last_fresh_seq, o.seq);
  }
  auto record = [this, sink, outcomes = std::move(outcomes)](store::WriteTxn& txn) -> absl::Status {
    // Retries: rows updated, deliveries set-based.
    std::vector<const Outcome*> delivered;
    for (const Outcome& o : outcomes) {
      if (o.retry && o.state == "delivered") delivered.push_back(&o);
    }
    RecordDelivered(txn, sink, delivered);
    for (const Outcome& o : outcomes) {
      if (!o.retry || o.state == "delivered") continue;
      SQLite::Statement& update = txn.Prepare(
          "UPDATE deadline_alert_deliveries SET state = ?, attempts = ?, next_attempt_us = ?, "
          "last_error = ?, delivered_at_us = NULL "
          "WHERE alert_seq = ? AND sink = ? AND state = 'pending'");
      update.bind(1, o.state);
      update.bind(2, o.attempts);
      update.bind(3, static_cast<int64_t>(absl::ToUnixMicros(o.next_attempt)));
      update.bind(4, o.error);
      update.bind(5, o.seq);
      update.bind(6, sink);
      update.exec();
    }
    // Fresh alerts (attempted in seq order): the cursor moves past every one
    // attempted; those not delivered get a row (pending retry, or failed).
    int64_t last_fresh = -1;
    for (const Outcome& o : outcomes) {
      if (o.retry) continue;
      last_fresh = o.seq;
      if (o.state == "delivered") continue;
      SQLite::Statement& insert = txn.Prepare(
          "INSERT INTO deadline_alert_deliveries (alert_seq, sink, tenant_id, state, attempts, "
          "next_attempt_us, last_error) VALUES (?, ?, ?, ?, ?, ?, ?)");
      insert.bind(1, o.seq);
      insert.bind(2, sink);
      insert.bind(3, o.tenant);
      insert.bind(4, o.state);
      insert.bind(5, o.attempts);
      insert.bind(6, static_cast<int64_t>(absl::ToUnixMicros(o.next_attempt)));
      insert.bind(7, o.error);
      insert.exec();
    }
    if (last_fresh >= 0) {
      SQLite::Statement& cursor = txn.Prepare(
          "UPDATE deadline_alert_sinks SET delivered_seq = ?1, updated_at_us = ?2 "
          "WHERE sink = ?3 AND delivered_seq < ?1");
      cursor.bind(1, last_fresh);
      cursor.bind(2, static_cast<int64_t>(absl::ToUnixMicros(clock_.Now())));
      cursor.bind(3, sink);
      cursor.exec();
    }
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
        SQLite::Statement& fresh = txn.Prepare(
            "SELECT EXISTS (SELECT 1 FROM deadline_alert_sinks s JOIN deadline_alerts a "
            "ON a.seq > s.delivered_seq WHERE s.sink = ?)");
        fresh.bind(1, w.sink->name());
        const bool any_fresh = fresh.executeStep() && fresh.getColumn(0).getInt() != 0;
        fresh.reset();
        if (any_fresh) {
          next = absl::InfinitePast();
          return absl::OkStatus();
        }
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
