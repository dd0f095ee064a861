#include "services/deadline_service.h"

#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "lib/deadline/alert_acknowledgements.h"
#include "lib/deadline/alert_feed.h"
#include "lib/deadline/deadline_queries.h"
#include "lib/deadline/resource_names.h"
#include "services/call_gate.h"
#include "services/enum_conversions.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"
#include "services/request_bounds.h"

namespace dsar {
namespace {

using ::dsar::ToProto;  // services/enum_conversions.h

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
  out->set_deadline(deadline::DeadlineName(a.deadline_id));
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
  AlertWatcher(CallMeter meter, const deadline::DeadlineQueries* queries, deadline::AlertFeed* feed,
               AdmittedCall call, int64_t after_seq)
      : MeteredWriteReactor(meter),
        queries_(queries),
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
      absl::StatusOr<std::vector<deadline::Alert>> page =
          queries_->AlertsAfter(call_.ctx.tenant, sent_seq_, kPage);
      if (!page.ok()) {
        finished_ = true;
        lock.Release();
        Finish(ToGrpcStatus(page.status()));
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
  const deadline::DeadlineQueries* const queries_;
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
  if (!gate_->AdmitOrFinish(context, reactor, kList, *request, "", &call)) return reactor;
  deadline::DeadlineListRequest in;
  in.kind = request->kind();
  switch (request->state()) {
    case v1::DEADLINE_STATE_COMPLETED:
      in.state = deadline::DeadlineState::kCompleted;
      break;
    case v1::DEADLINE_STATE_CANCELLED:
      in.state = deadline::DeadlineState::kCancelled;
      break;
    default:
      in.state = deadline::DeadlineState::kOpen;
      break;
  }
  if (request->has_due_within()) in.due_within = FromDuration(request->due_within());
  in.overdue_only = request->overdue_only();
  in.page_size = request->page_size();
  in.page_token = request->page_token();
  absl::StatusOr<deadline::DeadlineListing> page = queries_->List(call.ctx, in);
  if (!page.ok()) {
    reactor->Finish(ToGrpcStatus(page.status()));
    return reactor;
  }
  for (const auto& d : page->deadlines) ToProto(d, page->as_of, response->add_deadlines());
  response->set_next_page_token(page->next_page_token);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* DeadlineServiceImpl::GetSlaReport(grpc::CallbackServerContext* context,
                                                            const v1::GetSlaReportRequest* request,
                                                            v1::GetSlaReportResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kSla);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kSla, *request, "", &call)) return reactor;
  deadline::SlaReportRequest in;
  in.kind = request->kind();
  in.all_tenants = request->all_tenants();
  if (request->has_start_time()) in.start = FromTimestamp(request->start_time());
  if (request->has_end_time()) in.end = FromTimestamp(request->end_time());
  absl::StatusOr<deadline::SlaReportWindow> report = queries_->SlaReportFor(call.ctx, in);
  if (!report.ok()) {
    reactor->Finish(ToGrpcStatus(report.status()));
    return reactor;
  }
  SetTimestamp(report->start, response->mutable_start_time());
  SetTimestamp(report->end, response->mutable_end_time());
  for (const auto& k : report->report.kinds) {
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
  absl::StatusOr<AdmittedCall> call = gate_->AdmitStream(*context, kWatch);
  if (!call.ok()) return new RefusedWatch(meter, call.status());
  if (absl::Status bounds = CheckRequestBounds(*request); !bounds.ok()) {
    return new RefusedWatch(meter, bounds);
  }
  return new AlertWatcher(meter, queries_, feed_, std::move(*call), request->after_sequence());
}

grpc::ServerUnaryReactor* DeadlineServiceImpl::AcknowledgeAlert(
    grpc::CallbackServerContext* context, const v1::AcknowledgeAlertRequest* request,
    v1::AcknowledgeAlertResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kAck);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kAck, *request, request->request_id(), &call)) {
    return reactor;
  }
  acknowledgements_->Acknowledge(
      call.ctx, request->name(),
      [reactor, response, slot = std::move(call.slot)](absl::StatusOr<deadline::Alert> alert) {
        if (!alert.ok()) {
          reactor->Finish(ToGrpcStatus(alert.status()));
          return;
        }
        ToProto(*alert, response->mutable_alert());
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace dsar
