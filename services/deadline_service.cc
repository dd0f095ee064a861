#include "services/deadline_service.h"

#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "lib/deadline/alerts.h"
#include "lib/deadline/deadline_module.h"
#include "lib/deadline/sla_report.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"

namespace dsar {
namespace {

constexpr char kList[] = "/dsar.v1.DeadlineService/ListDeadlines";
constexpr char kSla[] = "/dsar.v1.DeadlineService/GetSlaReport";
constexpr char kWatch[] = "/dsar.v1.DeadlineService/WatchAlerts";
constexpr char kAck[] = "/dsar.v1.DeadlineService/AcknowledgeAlert";

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

absl::Duration FromDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

v1::DeadlineState ToProto(deadline::DeadlineState s) {
  switch (s) {
    case deadline::DeadlineState::kOpen:
      return v1::DEADLINE_STATE_OPEN;
    case deadline::DeadlineState::kCompleted:
      return v1::DEADLINE_STATE_COMPLETED;
    case deadline::DeadlineState::kCancelled:
      return v1::DEADLINE_STATE_CANCELLED;
  }
  return v1::DEADLINE_STATE_UNSPECIFIED;
}

v1::AlertLevel ToProto(deadline::AlertLevel l) {
  switch (l) {
    case deadline::AlertLevel::kWarning:
      return v1::ALERT_LEVEL_WARNING;
    case deadline::AlertLevel::kDue:
      return v1::ALERT_LEVEL_DUE;
    case deadline::AlertLevel::kOverdue:
      return v1::ALERT_LEVEL_OVERDUE;
  }
  return v1::ALERT_LEVEL_UNSPECIFIED;
}

void ToProto(const deadline::Deadline& d, absl::Time now, v1::Deadline* out) {
  out->set_name(d.name());
  out->set_kind(d.kind);
  out->set_resource(d.resource);
  out->set_state(ToProto(d.state));
  SetTimestamp(d.started_at, out->mutable_start_time());
  SetTimestamp(d.due_at, out->mutable_due_time());
  SetTimestamp(d.initial_due_at, out->mutable_initial_due_time());
  out->set_paused(d.paused());
  SetDuration(d.paused_total + (d.paused() ? now - *d.paused_at : absl::ZeroDuration()),
              out->mutable_paused_duration());
  out->set_extension_count(d.extension_count);
  out->set_extension_reason(d.extension_reason);
  if (d.next_alert_at) SetTimestamp(*d.next_alert_at, out->mutable_next_alert_time());
  out->set_alerts_fired(d.levels_fired);
  if (d.closed_at) SetTimestamp(*d.closed_at, out->mutable_close_time());
  out->set_overdue(d.OverdueAt(now));
}

void ToProto(const deadline::Alert& a, v1::Alert* out) {
  out->set_name(a.name());
  out->set_sequence(a.seq);
  out->set_deadline("deadlines/" + a.deadline_id);
  out->set_kind(a.kind);
  out->set_resource(a.resource);
  out->set_level(ToProto(a.level()));
  SetDuration(a.offset, out->mutable_offset());
  out->set_level_label(deadline::LevelLabel(a.offset));
  SetTimestamp(a.due_at, out->mutable_due_time());
  SetTimestamp(a.fire_at, out->mutable_scheduled_time());
  SetTimestamp(a.fired_at, out->mutable_fire_time());
  if (a.acknowledged_at) SetTimestamp(*a.acknowledged_at, out->mutable_acknowledge_time());
  out->set_acknowledged_by(a.acknowledged_by);
}

// Streams a tenant's alerts after a sequence number: stored ones first, then
// new ones as the feed announces them. One write in flight at a time; rows are
// read in small pages, so a slow client holds no more than a page in memory.
class AlertWatcher final : public MeteredWriteReactor<v1::WatchAlertsResponse>,
                           public deadline::AlertFeed::Subscriber {
 public:
  AlertWatcher(CallMeter meter, store::Store* store, deadline::AlertFeed* feed, AdmittedCall call,
               int64_t after_seq)
      : MeteredWriteReactor(meter),
        store_(store),
        feed_(feed),
        call_(std::move(call)),
        sent_seq_(after_seq) {
    feed_->Subscribe(this);  // before the first read, so no alert falls between
    Pump();
  }

  void OnAlertsAvailable(int64_t last_seq) override {
    {
      absl::MutexLock lock(&mu_);
      if (last_seq <= sent_seq_) return;
      maybe_more_ = true;
    }
    Pump();
  }

  void OnFeedClosed() override {
    {
      absl::MutexLock lock(&mu_);
      closing_ = true;
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) cancelled_ = true;
    }
    Pump();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    Pump();
  }

  void OnDone() override {
    feed_->Unsubscribe(this);
    RecordDone();
    delete this;
  }

 private:
  // Starts the next write, reading the next page when the buffer is empty, or
  // finishes the call once cancelled and idle.
  void Pump() {
    absl::ReleasableMutexLock lock(&mu_);
    if (writing_ || finished_) return;
    if (cancelled_) {
      finished_ = true;
      lock.Release();
      Finish(grpc::Status::CANCELLED);
      return;
    }
    if (closing_) {
      finished_ = true;
      lock.Release();
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "dsard is shutting down; reconnect with after_sequence set to the "
                          "last sequence received"));
      return;
    }
    if (buffer_.empty() && maybe_more_) {
      absl::StatusOr<std::vector<deadline::Alert>> page = absl::UnknownError("not read");
      absl::Status read = store_->Read([&](store::ReadTxn& txn) {
        page = deadline::ListAlertsAfter(txn, call_.ctx.tenant, sent_seq_, kPage);
        return page.status();
      });
      if (!read.ok()) {
        finished_ = true;
        lock.Release();
        Finish(ToGrpcStatus(read));
        return;
      }
      maybe_more_ = static_cast<int>(page->size()) == kPage;
      for (auto& a : *page) buffer_.push_back(std::move(a));
    }
    if (buffer_.empty()) return;  // wait for the feed
    const deadline::Alert& next = buffer_.front();
    response_.Clear();
    ToProto(next, response_.mutable_alert());
    sent_seq_ = next.seq;
    buffer_.pop_front();
    writing_ = true;
    lock.Release();
    StartWrite(&response_);
  }

  static constexpr int kPage = 100;
  store::Store* const store_;
  deadline::AlertFeed* const feed_;
  const AdmittedCall call_;  // holds the call's concurrency slot until done
  absl::Mutex mu_;
  int64_t sent_seq_ ABSL_GUARDED_BY(mu_);
  bool maybe_more_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<deadline::Alert> buffer_ ABSL_GUARDED_BY(mu_);
  v1::WatchAlertsResponse response_;  // owned by the write in flight
};

// A stream refused before it started.
class RefusedWatch final : public MeteredWriteReactor<v1::WatchAlertsResponse> {
 public:
  RefusedWatch(CallMeter meter, const absl::Status& status) : MeteredWriteReactor(meter) {
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override {
    RecordDone();
    delete this;
  }
};

}  // namespace

grpc::ServerUnaryReactor* DeadlineServiceImpl::ListDeadlines(
    grpc::CallbackServerContext* context, const v1::ListDeadlinesRequest* request,
    v1::ListDeadlinesResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kList);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kList, "", &call)) return reactor;
  const absl::Time now = clock_->Now();
  deadline::ListQuery q;
  q.tenant = call.ctx.tenant;
  q.kind = request->kind();
  switch (request->state()) {
    case v1::DEADLINE_STATE_COMPLETED:
      q.state = deadline::DeadlineState::kCompleted;
      break;
    case v1::DEADLINE_STATE_CANCELLED:
      q.state = deadline::DeadlineState::kCancelled;
      break;
    default:
      q.state = deadline::DeadlineState::kOpen;
      break;
  }
  if (request->has_due_within()) {
    const absl::Duration within = FromDuration(request->due_within());
    if (within < absl::ZeroDuration()) {
      reactor->Finish(ToGrpcStatus(InvalidField("due_within", "must not be negative")));
      return reactor;
    }
    q.due_before = now + within;
  }
  q.overdue_only = request->overdue_only();
  q.page_size = request->page_size();
  q.page_token = request->page_token();
  absl::StatusOr<deadline::DeadlinePage> page = absl::UnknownError("not read");
  absl::Status s = store_->Read([&](store::ReadTxn& txn) {
    page = engine_->deadlines().List(txn, q, now);
    return page.status();
  });
  if (!s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  for (const auto& d : page->deadlines) ToProto(d, now, response->add_deadlines());
  response->set_next_page_token(page->next_page_token);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* DeadlineServiceImpl::GetSlaReport(grpc::CallbackServerContext* context,
                                                            const v1::GetSlaReportRequest* request,
                                                            v1::GetSlaReportResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kSla);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kSla, "", &call)) return reactor;
  const absl::Time now = clock_->Now();
  deadline::SlaQuery q;
  q.tenant = call.ctx.tenant;
  q.kind = request->kind();
  if (request->all_tenants()) {
    if (!call.ctx.all_tenants) {
      reactor->Finish(ToGrpcStatus(WithErrorInfo(
          absl::PermissionDeniedError("only a principal of all tenants may report on all tenants"),
          "TENANT_NOT_ALLOWED")));
      return reactor;
    }
    q.all_tenants = true;
    q.tenants = tenants_;
  }
  q.end = request->has_end_time() ? FromTimestamp(request->end_time()) : now;
  q.start = request->has_start_time() ? FromTimestamp(request->start_time())
                                      : q.end - absl::Hours(24 * 30);
  absl::StatusOr<deadline::SlaReport> report = absl::UnknownError("not read");
  absl::Status s = store_->Read([&](store::ReadTxn& txn) {
    report = deadline::BuildSlaReport(txn, q, now);
    return report.status();
  });
  if (!s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  SetTimestamp(q.start, response->mutable_start_time());
  SetTimestamp(q.end, response->mutable_end_time());
  for (const auto& k : report->kinds) {
    auto* out = response->add_kinds();
    out->set_tenant(k.tenant);
    out->set_kind(k.kind);
    out->set_request_type(k.request_type);
    out->set_completed_count(k.completed);
    out->set_completed_on_time_count(k.completed_on_time);
    out->set_on_time_rate(k.on_time_rate);
    out->set_cancelled_count(k.cancelled);
    out->set_open_count(k.open);
    out->set_overdue_count(k.overdue);
    SetDuration(k.time_to_close_p50, out->mutable_time_to_close_p50());
    SetDuration(k.time_to_close_p90, out->mutable_time_to_close_p90());
    SetDuration(k.time_to_close_p99, out->mutable_time_to_close_p99());
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchAlertsResponse>* DeadlineServiceImpl::WatchAlerts(
    grpc::CallbackServerContext* context, const v1::WatchAlertsRequest* request) {
  const CallMeter meter = gate_->Meter(kWatch);
  absl::StatusOr<AdmittedCall> call = gate_->Admit(*context, kWatch);
  if (!call.ok()) return new RefusedWatch(meter, call.status());
  if (request->after_sequence() < 0) {
    return new RefusedWatch(meter, InvalidField("after_sequence", "must not be negative"));
  }
  return new AlertWatcher(meter, store_, &engine_->feed(), std::move(*call),
                          request->after_sequence());
}

grpc::ServerUnaryReactor* DeadlineServiceImpl::AcknowledgeAlert(
    grpc::CallbackServerContext* context, const v1::AcknowledgeAlertRequest* request,
    v1::AcknowledgeAlertResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kAck);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kAck, request->request_id(), &call)) {
    return reactor;
  }
  const std::string& name = request->name();
  if (!absl::StartsWith(name, "alerts/") || name.size() == 7) {
    reactor->Finish(ToGrpcStatus(InvalidField("name", "must be alerts/{alert_id}")));
    return reactor;
  }
  auto result = std::make_shared<absl::StatusOr<deadline::Alert>>(absl::UnknownError(""));
  const absl::Time now = clock_->Now();
  CallContext ctx = call.ctx;
  std::string alert_id = name.substr(7);
  store_->Write(
      [result, ctx, alert_id, now](store::WriteTxn& txn) {
        *result = deadline::AcknowledgeAlert(txn, ctx, alert_id, now);
        return result->status();
      },
      [reactor, response, result, slot = std::move(call.slot)](absl::Status s) {
        if (!s.ok()) {
          reactor->Finish(ToGrpcStatus(s));
          return;
        }
        ToProto(**result, response->mutable_alert());
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace dsar
