#include "services/breach_service.h"

#include "google/protobuf/timestamp.pb.h"
#include "lib/breach/breach_details.h"
#include "lib/breach/breach_register.h"
#include "lib/deadline/resource_names.h"
#include "services/call_gate.h"
#include "services/enum_conversions.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"

namespace dsar {
namespace {

// The overloads below would hide these (services/enum_conversions.h).
using ::dsar::FromProto;
using ::dsar::ToProto;

constexpr char kReport[] = "/dsar.v1.BreachService/ReportBreach";
constexpr char kUpdate[] = "/dsar.v1.BreachService/UpdateBreach";
constexpr char kNotify[] = "/dsar.v1.BreachService/RecordNotification";
constexpr char kGet[] = "/dsar.v1.BreachService/GetBreach";
constexpr char kList[] = "/dsar.v1.BreachService/ListBreaches";
constexpr char kClose[] = "/dsar.v1.BreachService/CloseBreach";
constexpr char kExport[] = "/dsar.v1.BreachService/ExportBreachReport";

// BreachDetails <-> dsar.v1.BreachDetails: field by field from
// breach::ForEachDetailField, each to the proto field of the same name (by
// reflection; breach_service_test checks both lists name the same fields).
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void Read(const Message& m, const FieldDescriptor* f, std::string* out) {
  *out = m.GetReflection()->GetString(m, f);
}
void Read(const Message& m, const FieldDescriptor* f, std::vector<std::string>* out) {
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < r->FieldSize(m, f); ++i) out->push_back(r->GetRepeatedString(m, f, i));
}
void Read(const Message& m, const FieldDescriptor* f, std::vector<breach::BreachType>* out) {
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < r->FieldSize(m, f); ++i) {
    out->push_back(FromProto(static_cast<v1::BreachType>(r->GetRepeatedEnumValue(m, f, i))));
  }
}
void Read(const Message& m, const FieldDescriptor* f, std::optional<absl::Time>* out) {
  if (!m.GetReflection()->HasField(m, f)) return;
  google::protobuf::Timestamp t;
  t.CopyFrom(m.GetReflection()->GetMessage(m, f));
  *out = FromTimestamp(t);
}
void Read(const Message& m, const FieldDescriptor* f, std::optional<int64_t>* out) {
  if (m.GetReflection()->HasField(m, f)) *out = m.GetReflection()->GetInt64(m, f);
}
void Read(const Message& m, const FieldDescriptor* f, breach::RiskAssessment* out) {
  *out = FromProto(static_cast<v1::RiskAssessment>(m.GetReflection()->GetEnumValue(m, f)));
}
void Read(const Message& m, const FieldDescriptor* f, breach::SubjectDecision* out) {
  *out = FromProto(
      static_cast<v1::SubjectNotificationDecision>(m.GetReflection()->GetEnumValue(m, f)));
}

void Write(const std::string& v, const FieldDescriptor* f, Message* m) {
  m->GetReflection()->SetString(m, f, v);
}
void Write(const std::vector<std::string>& v, const FieldDescriptor* f, Message* m) {
  for (const auto& s : v) m->GetReflection()->AddString(m, f, s);
}
void Write(const std::vector<breach::BreachType>& v, const FieldDescriptor* f, Message* m) {
  for (breach::BreachType t : v) m->GetReflection()->AddEnumValue(m, f, ToProto(t));
}
void Write(const std::optional<absl::Time>& v, const FieldDescriptor* f, Message* m) {
  if (!v) return;
  google::protobuf::Timestamp t;
  SetTimestamp(*v, &t);
  m->GetReflection()->MutableMessage(m, f)->CopyFrom(t);
}
void Write(const std::optional<int64_t>& v, const FieldDescriptor* f, Message* m) {
  if (v) m->GetReflection()->SetInt64(m, f, *v);
}
void Write(breach::RiskAssessment v, const FieldDescriptor* f, Message* m) {
  m->GetReflection()->SetEnumValue(m, f, ToProto(v));
}
void Write(breach::SubjectDecision v, const FieldDescriptor* f, Message* m) {
  m->GetReflection()->SetEnumValue(m, f, ToProto(v));
}

const FieldDescriptor* ProtoField(const breach::DetailField& field) {
  return v1::BreachDetails::descriptor()->FindFieldByName(field.name);
}

breach::BreachDetails FromProto(const v1::BreachDetails& p) {
  breach::BreachDetails d;
  breach::ForEachDetailField([&](const breach::DetailField& field, auto member) {
    if (const FieldDescriptor* f = ProtoField(field)) Read(p, f, &(d.*member));
  });
  return d;
}

void ToProto(const breach::BreachDetails& d, v1::BreachDetails* out) {
  breach::ForEachDetailField([&](const breach::DetailField& field, auto member) {
    if (const FieldDescriptor* f = ProtoField(field)) Write(d.*member, f, out);
  });
}

void ToProto(const breach::Notification& n, v1::BreachNotification* out) {
  out->set_name(n.name());
  out->set_tenant(n.tenant);
  out->set_recipient(ToProto(n.recipient));
  SetTimestamp(n.notified_at, out->mutable_notify_time());
  out->set_channel(n.channel);
  out->set_reference(n.reference);
  out->set_content_version(n.content_version);
  out->set_delay_reason(n.delay_reason);
  out->set_late(n.late);
  out->set_recorded_by(n.recorded_by);
  SetTimestamp(n.recorded_at, out->mutable_record_time());
}

void ToProto(const breach::TenantClock& c, breach::ClockState state, v1::BreachClock* out) {
  out->set_state(ToProto(state));
  if (!c.deadline_id.empty()) out->set_deadline(deadline::DeadlineName(c.deadline_id));
  if (c.start_at) SetTimestamp(*c.start_at, out->mutable_start_time());
  if (c.due_at) SetTimestamp(*c.due_at, out->mutable_due_time());
  if (c.exempt_at) SetTimestamp(*c.exempt_at, out->mutable_exempt_time());
}

void ToProto(const breach::Breach& b, v1::Breach* out) {
  out->set_name(b.name());
  out->set_state(ToProto(b.state));
  SetTimestamp(b.aware_at, out->mutable_aware_time());
  SetTimestamp(b.reported_at, out->mutable_report_time());
  out->set_reported_by(b.reported_by);
  out->set_processor_reported(b.processor_reported);
  out->set_version(b.version);
  ToProto(b.details, out->mutable_details());
  SetTimestamp(b.version_recorded_at, out->mutable_update_time());
  for (const auto& t : b.affected_tenants) {
    auto* at = out->add_affected_tenants();
    at->set_tenant(t.tenant);
    SetTimestamp(t.aware_at, at->mutable_aware_time());
    SetTimestamp(t.due_at, at->mutable_notification_due_time());
    if (!t.deadline_id.empty()) at->set_deadline(deadline::DeadlineName(t.deadline_id));
    if (t.controller_notified_at) {
      SetTimestamp(*t.controller_notified_at, at->mutable_controller_notify_time());
    }
    if (t.authority_notified_at) {
      SetTimestamp(*t.authority_notified_at, at->mutable_authority_notify_time());
    }
    if (t.subjects_notified_at) {
      SetTimestamp(*t.subjects_notified_at, at->mutable_subjects_notify_time());
    }
    at->set_notification_overdue(t.overdue);
    ToProto(t.authority, breach::AuthorityClockState(t), at->mutable_authority_clock());
    ToProto(t.subjects, breach::SubjectClockState(t, b.current_risk), at->mutable_subject_clock());
  }
  out->set_notification_overdue(b.notification_overdue);
  for (const auto& n : b.notifications) ToProto(n, out->add_notifications());
  for (const auto& v : b.versions) {
    auto* pv = out->add_versions();
    pv->set_version(v.version);
    ToProto(v.details, pv->mutable_details());
    for (const auto& f : v.changed_fields) pv->add_changed_fields(f);
    pv->set_change_note(v.change_note);
    pv->set_author(v.author);
    SetTimestamp(v.recorded_at, pv->mutable_record_time());
  }
  if (b.closed_at) SetTimestamp(*b.closed_at, out->mutable_close_time());
  out->set_closed_by(b.closed_by);
  out->set_close_note(b.close_note);
}

// Finishes `reactor` with the breach written into `out`, or the error.
template <typename Slot>
breach::BreachRegister::BreachDone FinishWithBreach(MeteredReactor* reactor, v1::Breach* out,
                                                    Slot slot) {
  return [reactor, out, slot = std::move(slot)](absl::StatusOr<breach::Breach> b) {
    if (!b.ok()) {
      reactor->Finish(ToGrpcStatus(b.status()));
      return;
    }
    ToProto(*b, out);
    reactor->Finish(grpc::Status::OK);
  };
}

}  // namespace

grpc::ServerUnaryReactor* BreachServiceImpl::ReportBreach(grpc::CallbackServerContext* context,
                                                          const v1::ReportBreachRequest* request,
                                                          v1::ReportBreachResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kReport);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kReport, *request, request->request_id(), &call)) {
    return reactor;
  }
  breach::ReportInput in;
  if (request->has_aware_time()) in.aware_at = FromTimestamp(request->aware_time());
  in.details = FromProto(request->details());
  in.affected_tenants.assign(request->affected_tenants().begin(),
                             request->affected_tenants().end());
  register_->Report(call.ctx, std::move(in),
                    FinishWithBreach(reactor, response->mutable_breach(), std::move(call.slot)));
  return reactor;
}

grpc::ServerUnaryReactor* BreachServiceImpl::UpdateBreach(grpc::CallbackServerContext* context,
                                                          const v1::UpdateBreachRequest* request,
                                                          v1::UpdateBreachResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kUpdate);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kUpdate, *request, request->request_id(), &call)) {
    return reactor;
  }
  breach::UpdateInput in;
  in.name = request->name();
  in.details = FromProto(request->details());
  in.update_mask.assign(request->update_mask().paths().begin(),
                        request->update_mask().paths().end());
  in.add_affected_tenants.assign(request->add_affected_tenants().begin(),
                                 request->add_affected_tenants().end());
  in.change_note = request->change_note();
  register_->Update(call.ctx, std::move(in),
                    FinishWithBreach(reactor, response->mutable_breach(), std::move(call.slot)));
  return reactor;
}

grpc::ServerUnaryReactor* BreachServiceImpl::RecordNotification(
    grpc::CallbackServerContext* context, const v1::RecordNotificationRequest* request,
    v1::RecordNotificationResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kNotify);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kNotify, *request, request->request_id(), &call)) {
    return reactor;
  }
  breach::NotificationInput in;
  in.name = request->name();
  in.tenant = request->tenant();
  in.recipient = FromProto(request->recipient());
  if (request->has_notify_time()) in.notified_at = FromTimestamp(request->notify_time());
  in.channel = request->channel();
  in.reference = request->reference();
  in.content_version = request->content_version();
  in.delay_reason = request->delay_reason();
  register_->RecordNotification(
      call.ctx, std::move(in),
      [reactor, response, slot = std::move(call.slot)](absl::StatusOr<breach::Notification> n) {
        if (!n.ok()) {
          reactor->Finish(ToGrpcStatus(n.status()));
          return;
        }
        ToProto(*n, response->mutable_notification());
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* BreachServiceImpl::GetBreach(grpc::CallbackServerContext* context,
                                                       const v1::GetBreachRequest* request,
                                                       v1::GetBreachResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kGet);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kGet, *request, "", &call)) return reactor;
  register_->Get(call.ctx, request->name(),
                 FinishWithBreach(reactor, response->mutable_breach(), std::move(call.slot)));
  return reactor;
}

grpc::ServerUnaryReactor* BreachServiceImpl::ListBreaches(grpc::CallbackServerContext* context,
                                                          const v1::ListBreachesRequest* request,
                                                          v1::ListBreachesResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kList);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kList, *request, "", &call)) return reactor;
  breach::ListInput in;
  in.state = FromProto(request->state());
  in.tenant = request->tenant();
  in.overdue_only = request->notification_overdue_only();
  in.page_size = request->page_size();
  in.page_token = request->page_token();
  register_->List(
      call.ctx, std::move(in),
      [reactor, response, slot = std::move(call.slot)](absl::StatusOr<breach::BreachPage> page) {
        if (!page.ok()) {
          reactor->Finish(ToGrpcStatus(page.status()));
          return;
        }
        for (const auto& b : page->breaches) ToProto(b, response->add_breaches());
        response->set_next_page_token(page->next_page_token);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* BreachServiceImpl::CloseBreach(grpc::CallbackServerContext* context,
                                                         const v1::CloseBreachRequest* request,
                                                         v1::CloseBreachResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kClose);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kClose, *request, request->request_id(), &call)) {
    return reactor;
  }
  breach::CloseInput in;
  in.name = request->name();
  in.close_note = request->close_note();
  register_->Close(call.ctx, std::move(in),
                   FinishWithBreach(reactor, response->mutable_breach(), std::move(call.slot)));
  return reactor;
}

grpc::ServerUnaryReactor* BreachServiceImpl::ExportBreachReport(
    grpc::CallbackServerContext* context, const v1::ExportBreachReportRequest* request,
    v1::ExportBreachReportResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kExport);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kExport, *request, "", &call)) return reactor;
  breach::ExportInput in;
  in.name = request->name();
  in.format = FromProto(request->format());
  in.tenant = request->tenant();
  register_->Export(call.ctx, std::move(in),
                    [reactor, response,
                     slot = std::move(call.slot)](absl::StatusOr<breach::RenderedReport> report) {
                      if (!report.ok()) {
                        reactor->Finish(ToGrpcStatus(report.status()));
                        return;
                      }
                      response->set_content(std::move(report->content));
                      response->set_media_type(report->media_type);
                      response->set_file_name(report->file_name);
                      reactor->Finish(grpc::Status::OK);
                    });
  return reactor;
}

}  // namespace dsar
