#include "lib/connector/dispatcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/core/ids.h"
#include "lib/core/log.h"
#include "lib/delivery/attempt.h"

namespace dsar::connector {

// Per-connector state. `info`, `client`, `breaker` and `pool` are fixed after
// construction; the rest is guarded by the dispatcher's mu_.
struct Dispatcher::Runtime {
  Runtime(const ConnectorInfo* i, ConnectorClient* c, Clock* clock)
      : info(i), client(c), breaker(i->breaker, clock), pool(i->max_concurrency) {}
  const ConnectorInfo* info;
  ConnectorClient* client;
  delivery::CircuitBreaker breaker;
  WorkerPool pool;
  int in_flight = 0;
  std::deque<bool> window;  // recent calls, true = failed
  int window_failures = 0;
  ConnectorHealth health;
};

// The result of one attempt, before it is written.
struct Dispatcher::Outcome {
  TaskState state = TaskState::kDone;
  TaskResult result;
  absl::Status status;  // the call's status (OK for done/waiting/skipped)
  bool breaker_failure = false;
  absl::Time next_attempt = absl::InfiniteFuture();
};

namespace {

std::string ErrorText(const absl::Status& s) {
  // Code and a bounded message: connectors' messages name fields, not people,
  // but the length is capped all the same.
  std::string message(s.message().substr(0, 200));
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", message);
}

// Counts records and drops them (when no ExportSinkFactory is wired).
class CountingSink final : public ExportSink {
 public:
  absl::Status Add(ExportedRecord) override { return absl::OkStatus(); }
  absl::Status Close() override { return absl::OkStatus(); }
};

const char* OperationName(TaskKind kind) {
  switch (kind) {
    case TaskKind::kConsentApply:
      return "ApplyConsentChange";
    case TaskKind::kSubjectExport:
      return "ExportSubjectData";
    case TaskKind::kSubjectErase:
      return "EraseSubjectData";
  }
  return "";
}

}  // namespace

Dispatcher::Dispatcher(DispatcherDeps deps, DispatcherOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {
  if (options_.owner.empty()) options_.owner = NewId("dsp");
  for (const ConnectorInfo& info : deps_.outbox->registry().connectors()) {
    auto it = deps_.clients.find(info.name);
    if (it == deps_.clients.end() || it->second == nullptr) continue;
    auto rt = std::make_unique<Runtime>(&info, it->second, deps_.clock);
    rt->health.name = info.name;
    runtimes_.push_back(std::move(rt));
  }
}

Dispatcher::~Dispatcher() { Stop(absl::ZeroDuration()); }

absl::Status Dispatcher::Recover() {
  std::vector<std::string> known;
  for (const auto& rt : runtimes_) known.push_back(rt->info->name);
  const absl::Time now = deps_.clock->Now();
  int recovered = 0, skipped = 0;
  absl::Status s = deps_.store->WriteAndWait([&](store::WriteTxn& txn) {
    recovered = task_store::RecoverLeases(txn, now);
    skipped = task_store::SkipUnknownConnectors(txn, known, now);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  // Last success per connector survives restarts through the table.
  s = deps_.store->Read([&](store::ReadTxn& txn) {
    for (auto& rt : runtimes_) {
      std::optional<absl::Time> last = task_store::LastDone(txn, rt->info->name);
      if (last.has_value()) {
        absl::MutexLock lock(&mu_);
        rt->health.last_success = *last;
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  log::Info("outbox_recovered", {{"re_leased", recovered},
                                 {"skipped_unconfigured", skipped},
                                 {"connectors", static_cast<int>(runtimes_.size())}});
  return absl::OkStatus();
}

absl::Status Dispatcher::Start() {
  if (absl::Status s = Recover(); !s.ok()) return s;
  deps_.outbox->SetWakeup([this] { Wake(); });
  started_ = true;
  loop_ = std::thread([this] { Loop(); });
  if (options_.health_interval > absl::ZeroDuration()) {
    prober_ = std::make_unique<delivery::BackgroundLoop>([this] {
      ProbeOnce();
      return options_.health_interval;
    });
    prober_->Start();
  }
  return absl::OkStatus();
}

void Dispatcher::Stop(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.SignalAll();
  }
  if (started_) deps_.outbox->SetWakeup(nullptr);
  if (loop_.joinable()) loop_.join();
  {
    absl::MutexLock lock(&mu_);
    absl::Time until = absl::Now() + grace;
    while (in_flight_ > 0 && !cv_.WaitWithDeadline(&mu_, until)) {
    }
  }
  // Cancels what is left: task calls past the grace, and a health probe of
  // an unresponsive backend (otherwise shutdown waits its call timeout).
  for (auto& rt : runtimes_) rt->client->CancelAll();
  if (prober_ != nullptr) prober_->Stop();
  WaitIdle();
  for (auto& rt : runtimes_) rt->pool.Stop();
}

void Dispatcher::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
  cv_.SignalAll();
}

void Dispatcher::WaitIdle() {
  absl::MutexLock lock(&mu_);
  while (in_flight_ > 0) cv_.Wait(&mu_);
}

void Dispatcher::Loop() {
  for (;;) {
    RunOnce();
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (!wake_) {
      // Until woken, the next known retry, or the poll interval.
      absl::Duration wait = options_.poll_interval;
      if (next_due_ != absl::InfiniteFuture()) {
        wait = std::min(wait, std::max(absl::ZeroDuration(), next_due_ - deps_.clock->Now()));
      }
      for (const auto& rt : runtimes_) {
        absl::Time open_until = rt->breaker.open_until();
        if (open_until != absl::InfinitePast()) {
          wait = std::min(wait, std::max(absl::Milliseconds(1), open_until - deps_.clock->Now()));
        }
      }
      if (wait > absl::ZeroDuration()) cv_.WaitWithTimeout(&mu_, wait);
    }
    wake_ = false;
    if (next_due_ <= deps_.clock->Now()) next_due_ = absl::InfiniteFuture();
    if (stopping_) return;
  }
}

void Dispatcher::ProbeOnce() {
  for (auto& rt : runtimes_) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    auto d = rt->client->Describe(rt->info->call_timeout);
    absl::MutexLock lock(&mu_);
    rt->health.probed = true;
    rt->health.last_probe = deps_.clock->Now();
    rt->health.reachable = d.ok();
    if (d.ok()) {
      rt->health.description = std::move(*d);
      rt->health.probe_error.clear();
    } else {
      rt->health.probe_error = absl::StatusCodeToString(d.status().code());
    }
  }
}

int Dispatcher::RunOnce() {
  struct Plan {
    Runtime* rt;
    delivery::CircuitBreaker::Grant grant;
    std::vector<task_store::ClaimedTask> claimed;
  };
  std::vector<Plan> plans;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return 0;
    for (auto& rt : runtimes_) {
      int free = rt->info->max_concurrency - rt->in_flight;
      if (free <= 0) continue;
      delivery::CircuitBreaker::Grant grant = rt->breaker.Acquire(free);
      if (grant.calls > 0) plans.push_back({rt.get(), grant, {}});
    }
  }
  if (plans.empty()) return 0;
  const absl::Time now = deps_.clock->Now();
  absl::Status claimed = deps_.store->WriteAndWait([&](store::WriteTxn& txn) {
    for (Plan& p : plans) {
      absl::Duration call = std::max(p.rt->info->call_timeout, p.rt->info->export_timeout);
      p.claimed = task_store::Claim(txn, p.rt->info->name, options_.owner, now,
                                    now + call + options_.lease_margin, p.grant.calls);
    }
    return absl::OkStatus();
  });
  int started = 0;
  for (Plan& p : plans) {
    if (!claimed.ok()) p.claimed.clear();
    for (int i = static_cast<int>(p.claimed.size()); i < p.grant.calls; ++i) {
      p.rt->breaker.Cancel(p.grant.probe);
    }
    if (p.claimed.empty()) continue;
    {
      absl::MutexLock lock(&mu_);
      p.rt->in_flight += static_cast<int>(p.claimed.size());
      p.rt->health.in_flight = p.rt->in_flight;
      in_flight_ += static_cast<int>(p.claimed.size());
    }
    for (auto& task : p.claimed) {
      ++started;
      Runtime* rt = p.rt;
      bool probe = p.grant.probe;
      rt->pool.Submit([this, rt, probe, task = std::move(task)]() mutable {
        Execute(rt, std::move(task), probe);
      });
    }
  }
  if (!claimed.ok()) {
    log::Warn("outbox_claim_failed", {{"code", absl::StatusCodeToString(claimed.code())}});
  }
  return started;
}

Dispatcher::Outcome Dispatcher::Call(Runtime* rt, const task_store::ClaimedTask& task) {
  Outcome out;
  const TaskInfo& info = task.info;
  auto payload = deps_.sealer->Open(task.payload, info.task_id);
  absl::Status status;
  if (!payload.ok()) {
    status = payload.status();
  } else {
    SubjectCall call{info.task_id, info.tenant, payload->subject};
    switch (info.kind) {
      case TaskKind::kSubjectErase: {
        auto r = rt->client->Erase(call, rt->info->call_timeout);
        if (!(status = r.status()).ok()) break;
        out.state = r->in_progress ? TaskState::kWaiting : TaskState::kDone;
        out.result.deleted = r->deleted;
        out.result.anonymised = r->anonymised;
        out.result.kept = std::move(r->kept);
        out.result.replayed = r->replayed;
        out.result.resolved = std::move(r->resolved);
        break;
      }
      case TaskKind::kConsentApply: {
        ConsentCall consent{call, payload->purpose, payload->consent_given, payload->change_time};
        auto r = rt->client->ApplyConsentChange(consent, rt->info->call_timeout);
        if (!(status = r.status()).ok()) break;
        out.state = r->in_progress ? TaskState::kWaiting
                    : r->no_match  ? TaskState::kNoMatch
                                   : TaskState::kDone;
        out.result.affected = r->affected;
        out.result.replayed = r->replayed;
        break;
      }
      case TaskKind::kSubjectExport: {
        std::unique_ptr<ExportSink> sink;
        if (deps_.exports != nullptr) {
          auto opened = deps_.exports->Open(info);
          if (!(status = opened.status()).ok()) break;
          sink = std::move(*opened);
        } else {
          sink = std::make_unique<CountingSink>();
        }
        int64_t records = 0;
        status = rt->client->Export(
            call, rt->info->export_timeout,
            [&](ExportedRecord r) {
              ++records;
              return sink->Add(std::move(r));
            },
            &out.result.resolved);
        if (status.ok()) status = sink->Close();
        if (!status.ok()) break;
        out.state = TaskState::kDone;
        out.result.records = records;
        break;
      }
    }
  }
  out.status = status;
  const absl::Time now = deps_.clock->Now();
  if (status.ok()) {
    if (out.state == TaskState::kWaiting) out.next_attempt = now + options_.waiting_poll;
    return out;
  }
  out.result = TaskResult();
  if (status.code() == absl::StatusCode::kUnimplemented) {
    out.state = TaskState::kSkipped;
    out.result.skip_reason =
        absl::StrCat("connector does not implement ", OperationName(info.kind));
    out.status = absl::OkStatus();
    return out;
  }
  // Judged as every delivery is: a transient failure is retried after the
  // connector's backoff until its attempts are spent; anything else is
  // permanent (retrying cannot help). Given up means dead here.
  const delivery::AttemptOutcome judged = delivery::JudgeAttempt(
      rt->info->backoff, info.attempts, status, now, deps_.random->Uniform());
  out.breaker_failure = delivery::IsTransient(status.code());
  if (judged.state == delivery::DeliveryState::kPending) {
    out.state = TaskState::kFailed;
    out.next_attempt = judged.at;
  } else {
    out.state = TaskState::kDead;
  }
  return out;
}

void Dispatcher::Execute(Runtime* rt, task_store::ClaimedTask task, bool probe) {
  Outcome outcome = Call(rt, task);
  if (outcome.breaker_failure) {
    rt->breaker.RecordFailure(probe);
  } else {
    rt->breaker.RecordSuccess(probe);
  }
  Record(rt, std::move(task.info), std::move(outcome));
}

void Dispatcher::Record(Runtime* rt, TaskInfo info, Outcome outcome) {
  const absl::Time now = deps_.clock->Now();
  info.state = outcome.state;
  info.result = outcome.result;
  info.last_error = outcome.status.ok() ? "" : ErrorText(outcome.status);
  info.next_attempt = outcome.next_attempt;
  info.updated = now;
  const int64_t next_us = outcome.next_attempt == absl::InfiniteFuture()
                              ? task_store::kNever
                              : absl::ToUnixMicros(outcome.next_attempt);
  const bool failed = !outcome.status.ok();
  const absl::Status call_status = outcome.status;
  auto write = [this, info, next_us](store::WriteTxn& txn) -> absl::Status {
    if (!task_store::Finish(
            txn, info.task_id, options_.owner, info.state, info.result, info.last_error, next_us,
            info.updated,
            /*wipe_payload=*/info.state == TaskState::kDone || info.state == TaskState::kNoMatch)) {
      return absl::AbortedError("lease lost");
    }
    if (info.state == TaskState::kDead && deps_.dead_letters != nullptr) {
      if (absl::Status s = deps_.dead_letters->OnDeadLettered(txn, info, info.updated); !s.ok()) {
        return s;
      }
    }
    if (Finished(info.state) && deps_.results != nullptr) {
      if (absl::Status s = deps_.results->OnTaskFinished(txn, info, info.updated); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  };
  auto done = [this, rt, info, failed, call_status](absl::Status written) {
    // Counters and slots first: whoever reads the log line below sees
    // health and in-flight counts that already include this call.
    CallEnded(rt, failed, call_status);
    {
      absl::MutexLock lock(&mu_);
      --rt->in_flight;
      rt->health.in_flight = rt->in_flight;
      --in_flight_;
      if (info.next_attempt != absl::InfiniteFuture() && written.ok()) {
        next_due_ = std::min(next_due_, info.next_attempt);
      }
      wake_ = true;
      cv_.SignalAll();
    }
    if (!written.ok()) {
      log::Warn("connector_task_write_failed",
                {{"task_id", info.task_id}, {"code", absl::StatusCodeToString(written.code())}});
    } else {
      switch (info.state) {
        case TaskState::kDead:
          log::Error("connector_task_dead_lettered",
                     {{"task_id", info.task_id},
                      {"tenant", info.tenant},
                      {"connector", info.connector},
                      {"kind", TaskKindName(info.kind)},
                      {"attempts", info.attempts},
                      {"code", absl::StatusCodeToString(call_status.code())}});
          break;
        case TaskState::kFailed:
          log::Warn("connector_task_attempt_failed",
                    {{"task_id", info.task_id},
                     {"connector", info.connector},
                     {"attempts", info.attempts},
                     {"code", absl::StatusCodeToString(call_status.code())},
                     {"retry_in_ms", absl::ToInt64Milliseconds(info.next_attempt - info.updated)}});
          break;
        default:
          log::Info("connector_task_finished", {{"task_id", info.task_id},
                                                {"connector", info.connector},
                                                {"kind", TaskKindName(info.kind)},
                                                {"state", TaskStateName(info.state)},
                                                {"attempts", info.attempts},
                                                {"deleted", info.result.deleted},
                                                {"anonymised", info.result.anonymised},
                                                {"replayed", info.result.replayed}});
      }
    }
  };
  deps_.store->Write(std::move(write), std::move(done));
}

void Dispatcher::CallEnded(Runtime* rt, bool failed, const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  ConnectorHealth& h = rt->health;
  ++h.calls;
  rt->window.push_back(failed);
  if (failed) {
    ++h.failures;
    ++rt->window_failures;
    h.last_failure = deps_.clock->Now();
    h.last_error = absl::StatusCodeToString(status.code());
  } else {
    h.last_success = deps_.clock->Now();
  }
  while (static_cast<int>(rt->window.size()) > options_.error_window) {
    if (rt->window.front()) --rt->window_failures;
    rt->window.pop_front();
  }
}

std::vector<ConnectorHealth> Dispatcher::Health() const {
  std::vector<ConnectorHealth> out;
  for (const auto& rt : runtimes_) {
    auto h = HealthOf(rt->info->name);
    if (h.ok()) out.push_back(std::move(*h));
  }
  return out;
}

absl::StatusOr<ConnectorHealth> Dispatcher::HealthOf(absl::string_view name) const {
  for (const auto& rt : runtimes_) {
    if (rt->info->name != name) continue;
    ConnectorHealth h;
    {
      absl::MutexLock lock(&mu_);
      h = rt->health;
      h.window_calls = static_cast<int64_t>(rt->window.size());
      h.error_rate = rt->window.empty() ? 0.0
                                        : static_cast<double>(rt->window_failures) /
                                              static_cast<double>(rt->window.size());
    }
    h.breaker = rt->breaker.state();
    h.breaker_open_until = rt->breaker.open_until();
    h.breaker_opened = rt->breaker.times_opened();
    return h;
  }
  return absl::NotFoundError(absl::StrCat("connectors/", name, " is not configured"));
}

}  // namespace dsar::connector
