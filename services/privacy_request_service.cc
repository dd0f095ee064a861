#include "services/privacy_request_service.h"

#include <memory>

#include "lib/privacy_requests/privacy_requests.h"
#include "services/call_gate.h"
#include "services/enum_conversions.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"
#include "services/request_bounds.h"
#include "services/subject_proto.h"

namespace dsar {
namespace {

using ::dsar::FromProto;  // services/enum_conversions.h
using ::dsar::ToProto;    // services/enum_conversions.h

using privacy_requests::PrivacyRequest;

constexpr char kCreate[] = "/dsar.v1.PrivacyRequestService/CreatePrivacyRequest";
constexpr char kGet[] = "/dsar.v1.PrivacyRequestService/GetPrivacyRequest";
constexpr char kList[] = "/dsar.v1.PrivacyRequestService/ListPrivacyRequests";
constexpr char kVerify[] = "/dsar.v1.PrivacyRequestService/VerifyIdentity";
constexpr char kExtend[] = "/dsar.v1.PrivacyRequestService/ExtendPrivacyRequest";
constexpr char kReject[] = "/dsar.v1.PrivacyRequestService/RejectPrivacyRequest";
constexpr char kCancel[] = "/dsar.v1.PrivacyRequestService/CancelPrivacyRequest";
constexpr char kDownload[] = "/dsar.v1.PrivacyRequestService/DownloadExport";

void ToProto(const PrivacyRequest& r, v1::PrivacyRequest* out) {
  out->set_name(r.name());
  out->set_type(ToProto(r.type));
  out->set_state(ToProto(r.state));
  out->set_source(ToProto(r.source));
  out->mutable_requester()->set_relation(ToProto(r.requester.relation));
  out->mutable_requester()->set_channel(r.requester.channel);
  out->mutable_requester()->set_reference(r.requester.reference);
  for (auto t : r.identifier_types) out->add_identifier_types(ToProto(t));
  out->set_status_callback_url(r.callback_url);
  out->set_creator(r.creator);
  SetTimestamp(r.received_at, out->mutable_receive_time());
  SetTimestamp(r.created_at, out->mutable_create_time());
  SetTimestamp(r.updated_at, out->mutable_update_time());
  if (r.closed_at) SetTimestamp(*r.closed_at, out->mutable_close_time());
  SetTimestamp(r.due_at(), out->mutable_due_time());
  SetTimestamp(r.gdpr_due_at, out->mutable_gdpr_due_time());
  out->set_clock_paused(r.clock_paused);
  if (r.verification) {
    auto* v = out->mutable_verification();
    v->set_method(ToProto(r.verification->method));
    v->set_note(r.verification->note);
    v->set_verifier(r.verification->verifier);
    SetTimestamp(r.verification->verified_at, v->mutable_verify_time());
  }
  if (r.extension_count > 0) {
    auto* e = out->mutable_extension();
    e->set_count(r.extension_count);
    e->set_reason(r.extension_reason);
    if (r.subject_informed_at)
      SetTimestamp(*r.subject_informed_at, e->mutable_subject_notify_time());
  }
  if (r.rejection_reason != privacy_requests::RejectionReason::kUnspecified) {
    out->mutable_rejection()->set_reason(ToProto(r.rejection_reason));
    out->mutable_rejection()->set_detail(r.rejection_detail);
  }
  out->set_cancel_reason(r.cancel_reason);
  out->set_failure_reason(r.failure_reason);
  out->set_duplicate_count(r.duplicate_count);
  for (const auto& system : r.only_systems) out->add_only_systems(system);
  for (const auto& s : r.systems) {
    auto* p = out->add_systems();
    p->set_connector(s.connector);
    p->set_phase(ToProto(s.phase));
    p->set_task_id(s.task_id);
    p->set_state(ToProto(s.state));
    p->set_attempts(s.attempts);
    p->set_record_count(s.records);
    p->set_deleted_count(s.deleted);
    p->set_anonymised_count(s.anonymised);
    for (const auto& k : s.kept) {
      auto* kept = p->add_kept_records();
      kept->set_record_id(k.record_id);
      kept->set_category(k.category);
      kept->set_reason(k.reason);
      kept->set_detail(k.detail);
    }
    p->set_skip_reason(s.skip_reason);
    p->set_last_error(s.last_error);
    for (IdentifierType t : s.matched_types) p->add_matched_identifier_types(ToProto(t));
  }
  if (r.export_info) {
    auto* e = out->mutable_export_bundle();
    e->set_state(r.export_info->available ? v1::EXPORT_BUNDLE_STATE_AVAILABLE
                 : r.export_info->erased  ? v1::EXPORT_BUNDLE_STATE_ERASED
                                          : v1::EXPORT_BUNDLE_STATE_EXPIRED);
    e->set_size_bytes(r.export_info->size_bytes);
    e->set_sha256(r.export_info->sha256_hex);
    e->set_record_count(r.export_info->records);
    SetTimestamp(r.export_info->created_at, e->mutable_create_time());
    SetTimestamp(r.export_info->expires_at, e->mutable_expire_time());
    e->set_download_count(r.export_info->downloads);
  }
  for (const auto& d : r.disclosures) {
    auto* p = out->add_disclosures();
    p->set_disclosure_id(d.disclosure_id);
    p->set_what(d.what);
    p->set_recipient(ToProto(d.recipient));
    p->set_recipient_name(d.recipient_name);
    p->set_principal(d.principal);
    SetTimestamp(d.disclosed_at, p->mutable_disclose_time());
  }
  for (const auto& c : r.history) {
    auto* p = out->add_history();
    p->set_from_state(ToProto(c.from));
    p->set_to_state(ToProto(c.to));
    p->set_actor(c.actor);
    p->set_detail(c.detail);
    SetTimestamp(c.at, p->mutable_change_time());
  }
}

privacy_requests::Verification FromProto(const v1::IdentityVerification& v) {
  privacy_requests::Verification out;
  out.method = FromProto(v.method());
  out.note = v.note();
  return out;
}

// Answers a unary call with the request the domain returned.
template <typename Response>
auto Answer(MeteredReactor* reactor, Response* response, std::shared_ptr<void> slot) {
  return [reactor, response, slot = std::move(slot)](absl::StatusOr<PrivacyRequest> r) {
    if (!r.ok()) {
      reactor->Finish(ToGrpcStatus(r.status()));
      return;
    }
    ToProto(*r, response->mutable_privacy_request());
    reactor->Finish(grpc::Status::OK);
  };
}

// Streams one export bundle; deletes itself when the call is done.
class ExportStreamer final : public MeteredWriteReactor<v1::DownloadExportResponse> {
 public:
  ExportStreamer(CallMeter meter, privacy_requests::PrivacyRequests* requests, AdmittedCall call,
                 privacy_requests::DownloadInput input)
      : MeteredWriteReactor(meter), call_(std::move(call)) {
    requests->Download(call_.ctx, std::move(input),
                       [this](absl::StatusOr<std::unique_ptr<privacy_requests::ExportDownload>> d) {
                         if (!d.ok()) {
                           Finish(ToGrpcStatus(d.status()));
                           return;
                         }
                         download_ = std::move(*d);
                         WriteNext();
                       });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client stopped reading"));
      return;
    }
    WriteNext();
  }
  void OnDone() override {
    RecordDone();
    delete this;
  }

 private:
  void WriteNext() {
    std::string chunk;
    absl::StatusOr<bool> more = download_->Next(&chunk);
    if (!more.ok()) {
      Finish(ToGrpcStatus(more.status()));
      return;
    }
    response_.Clear();
    if (*more) {
      response_.set_chunk(std::move(chunk));
      StartWrite(&response_);
      return;
    }
    auto* digest = response_.mutable_digest();
    digest->set_sha256(download_->info().sha256_hex);
    digest->set_size_bytes(download_->bytes_sent());
    digest->set_record_count(download_->info().records);
    digest->set_disclosure_id(download_->disclosure_id());
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  const AdmittedCall call_;  // holds the concurrency slot until done
  std::unique_ptr<privacy_requests::ExportDownload> download_;
  v1::DownloadExportResponse response_;
};

class RefusedDownload final : public MeteredWriteReactor<v1::DownloadExportResponse> {
 public:
  RefusedDownload(CallMeter meter, const absl::Status& status) : MeteredWriteReactor(meter) {
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override {
    RecordDone();
    delete this;
  }
};

}  // namespace

grpc::ServerUnaryReactor* PrivacyRequestServiceImpl::CreatePrivacyRequest(
    grpc::CallbackServerContext* context, const v1::CreatePrivacyRequestRequest* request,
    v1::CreatePrivacyRequestResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kCreate);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kCreate, *request, request->request_id(), &call)) {
    return reactor;
  }
  if (request->type() == v1::PRIVACY_REQUEST_TYPE_ERASURE && request->has_verification()) {
    // An erasure that skips verification cannot be undone: an explicit permission.
    if (absl::Status s = gate_->Authorize(*context, call, kPermissionPreVerifiedErasure); !s.ok()) {
      reactor->Finish(ToGrpcStatus(s));
      return reactor;
    }
  }
  privacy_requests::CreateInput in;
  in.type = FromProto(request->type());
  for (const auto& id : request->identifiers()) in.identifiers.push_back(FromProto(id));
  in.requester.relation = FromProto(request->requester().relation());
  in.requester.channel = request->requester().channel();
  in.requester.reference = request->requester().reference();
  in.callback_url = request->status_callback_url();
  if (request->has_receive_time()) in.received_at = FromTimestamp(request->receive_time());
  if (request->has_verification()) in.verification = FromProto(request->verification());
  requests_->Create(call.ctx, std::move(in),
                    [reactor, response, slot = std::move(call.slot)](
                        absl::StatusOr<privacy_requests::Created> created) {
                      if (!created.ok()) {
                        reactor->Finish(ToGrpcStatus(created.status()));
                        return;
                      }
                      ToProto(created->request, response->mutable_privacy_request());
                      response->set_duplicate(created->duplicate);
                      reactor->Finish(grpc::Status::OK);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* PrivacyRequestServiceImpl::GetPrivacyRequest(
    grpc::CallbackServerContext* context, const v1::GetPrivacyRequestRequest* request,
    v1::GetPrivacyRequestResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kGet);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kGet, *request, "", &call)) return reactor;
  auto id = privacy_requests::ParseRequestName(request->name());
  if (!id.ok()) {
    reactor->Finish(ToGrpcStatus(id.status()));
    return reactor;
  }
  auto r = requests_->Get(call.ctx, *id);
  if (!r.ok()) {
    reactor->Finish(ToGrpcStatus(r.status()));
    return reactor;
  }
  ToProto(*r, response->mutable_privacy_request());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* PrivacyRequestServiceImpl::ListPrivacyRequests(
    grpc::CallbackServerContext* context, const v1::ListPrivacyRequestsRequest* request,
    v1::ListPrivacyRequestsResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kList);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kList, *request, "", &call)) return reactor;
  privacy_requests::ListInput in;
  in.state = FromProto(request->state());
  in.type = FromProto(request->type());
  if (request->has_due_before()) in.due_before = FromTimestamp(request->due_before());
  in.page_size = request->page_size();
  in.page_token = request->page_token();
  if (request->has_subject()) in.subject = FromProto(request->subject());
  auto page = requests_->List(call.ctx, in);
  if (!page.ok()) {
    reactor->Finish(ToGrpcStatus(page.status()));
    return reactor;
  }
  for (const auto& r : page->requests) ToProto(r, response->add_privacy_requests());
  response->set_next_page_token(page->next_page_token);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* PrivacyRequestServiceImpl::VerifyIdentity(
    grpc::CallbackServerContext* context, const v1::VerifyIdentityRequest* request,
    v1::VerifyIdentityResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kVerify);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kVerify, *request, request->request_id(), &call)) {
    return reactor;
  }
  auto id = privacy_requests::ParseRequestName(request->name());
  if (!id.ok()) {
    reactor->Finish(ToGrpcStatus(id.status()));
    return reactor;
  }
  requests_->Verify(call.ctx, *id, FromProto(request->verification()),
                    Answer(reactor, response, std::move(call.slot)));
  return reactor;
}

grpc::ServerUnaryReactor* PrivacyRequestServiceImpl::ExtendPrivacyRequest(
    grpc::CallbackServerContext* context, const v1::ExtendPrivacyRequestRequest* request,
    v1::ExtendPrivacyRequestResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kExtend);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kExtend, *request, request->request_id(), &call)) {
    return reactor;
  }
  auto id = privacy_requests::ParseRequestName(request->name());
  if (!id.ok()) {
    reactor->Finish(ToGrpcStatus(id.status()));
    return reactor;
  }
  privacy_requests::ExtendInput in;
  in.request_id = *id;
  in.reason = request->reason();
  if (request->has_subject_notify_time()) {
    in.subject_informed_at = FromTimestamp(request->subject_notify_time());
  }
  if (request->has_gdpr_due_time()) in.gdpr_due = FromTimestamp(request->gdpr_due_time());
  if (request->has_processor_due_time()) {
    in.processor_due = FromTimestamp(request->processor_due_time());
  }
  requests_->Extend(call.ctx, std::move(in), Answer(reactor, response, std::move(call.slot)));
  return reactor;
}

grpc::ServerUnaryReactor* PrivacyRequestServiceImpl::RejectPrivacyRequest(
    grpc::CallbackServerContext* context, const v1::RejectPrivacyRequestRequest* request,
    v1::RejectPrivacyRequestResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kReject);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kReject, *request, request->request_id(), &call)) {
    return reactor;
  }
  auto id = privacy_requests::ParseRequestName(request->name());
  if (!id.ok()) {
    reactor->Finish(ToGrpcStatus(id.status()));
    return reactor;
  }
  requests_->Reject(call.ctx, *id, FromProto(request->reason()), request->detail(),
                    Answer(reactor, response, std::move(call.slot)));
  return reactor;
}

grpc::ServerUnaryReactor* PrivacyRequestServiceImpl::CancelPrivacyRequest(
    grpc::CallbackServerContext* context, const v1::CancelPrivacyRequestRequest* request,
    v1::CancelPrivacyRequestResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kCancel);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kCancel, *request, request->request_id(), &call)) {
    return reactor;
  }
  auto id = privacy_requests::ParseRequestName(request->name());
  if (!id.ok()) {
    reactor->Finish(ToGrpcStatus(id.status()));
    return reactor;
  }
  requests_->Cancel(call.ctx, *id, request->reason(),
                    Answer(reactor, response, std::move(call.slot)));
  return reactor;
}

grpc::ServerWriteReactor<v1::DownloadExportResponse>* PrivacyRequestServiceImpl::DownloadExport(
    grpc::CallbackServerContext* context, const v1::DownloadExportRequest* request) {
  const CallMeter meter = gate_->Meter(kDownload);
  absl::StatusOr<AdmittedCall> call = gate_->AdmitStream(*context, kDownload);
  if (!call.ok()) return new RefusedDownload(meter, call.status());
  if (absl::Status bounds = CheckRequestBounds(*request); !bounds.ok()) {
    return new RefusedDownload(meter, bounds);
  }
  auto id = privacy_requests::ParseRequestName(request->name());
  if (!id.ok()) return new RefusedDownload(meter, id.status());
  privacy_requests::DownloadInput in;
  in.request_id = *id;
  in.recipient = FromProto(request->recipient());
  in.recipient_name = request->recipient_name();
  return new ExportStreamer(meter, requests_, std::move(*call), std::move(in));
}

}  // namespace dsar
